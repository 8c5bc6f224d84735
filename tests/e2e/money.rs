//! End-to-end tests: the money ceiling. Every amount that enters (prices, orders,
//! payments, refunds, charges) is at most 10^12 minor units, or the lower configured
//! ceiling; above it the answer is 422 `amount_too_large` and nothing is written, and the
//! ledger keeps answering and balancing.

use crate::helpers::{json_of, money, TestMarket};
use reqwest::Method;
use serde_json::{json, Value};
use shared::config::ServiceName;
use shared::ids::{OrderId, ProductId, SellerId, StoreId};
use shared::messages::Message;
use shared::money::{Currency, Money, MAX_AMOUNT};

/// The amounts an attacker tries: the largest `i64`, and one past the ceiling.
const HOSTILE: [i64; 2] = [i64::MAX, MAX_AMOUNT + 1];

struct Shop {
    seller: SellerId,
    token: String,
    store: StoreId,
    product: ProductId,
}

async fn shop(m: &TestMarket, extra: Value) -> Shop {
    let union = m.create_union("North union", "north").await;
    let (seller, token) = m.create_seller("Ceiling Tools").await;
    let store = m.create_store(&token, &union, "Ceiling corner", "tools").await;
    let product = m.create_product(&m.operator, "Drill D-1", "drill", json!({"watts": 800}), 1_000).await;
    m.put_offer(&token, &store, &product, 1_000, 5, true, extra).await;
    Shop { seller, token, store, product }
}

async fn offer(m: &TestMarket, s: &Shop) -> Value {
    m.get(&format!("{}/v1/stores/{}/offers/{}", m.broker, s.store, s.product), Some(&s.token)).await.expect(200)
}

/// The ledger as the operator sees it; it must answer and balance.
async fn books(m: &TestMarket) -> (Value, Value) {
    let tb = m.get(&format!("{}/v1/ledger/trial-balance", m.settlement), Some(&m.operator)).await.expect(200);
    assert_eq!(tb["balanced"], true, "{tb}");
    assert_eq!(tb["total_debits"], tb["total_credits"], "{tb}");
    let rec = m.get(&format!("{}/v1/ledger/reconciliation", m.settlement), Some(&m.operator)).await.expect(200);
    assert_eq!(rec["clean"], true, "{rec}");
    (tb, rec)
}

#[tokio::test]
async fn prices_and_orders_above_the_money_ceiling_are_refused_and_change_nothing() {
    let m = TestMarket::spawn().await;
    let s = shop(&m, json!({})).await;
    let offer_url = format!("{}/v1/stores/{}/offers/{}", m.broker, s.store, s.product);
    let before = offer(&m, &s).await;
    for amount in HOSTILE {
        let body = json!({"price": money(amount), "stock": 5, "sellable": true});
        m.put(&offer_url, Some(&s.token), body).await.expect_problem(422, "amount_too_large");
        let urgent = format!("{}/v1/seller/stores/{}/offers/{}/urgent-price", m.broker, s.store, s.product);
        let until = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
        m.put(&urgent, Some(&s.token), json!({"price": money(amount), "until": until}))
            .await
            .expect_problem(422, "amount_too_large");
        let group = json!({"product_id": s.product, "group": {"min_points": 1}, "price": money(amount)});
        m.put(&format!("{}/v1/stores/{}/group-prices", m.broker, s.store), Some(&s.token), group)
            .await
            .expect_problem(422, "amount_too_large");
        let product = json!({"name": "Gold drill", "kind": "drill", "list_price": money(amount)});
        m.post(&format!("{}/v1/products", m.broker), Some(&m.operator), product)
            .await
            .expect_problem(422, "amount_too_large");
    }
    assert_eq!(offer(&m, &s).await, before, "a refused price changed the offer");
    let found = m.get(&format!("{}/v1/search?kind=drill", m.broker), None).await.expect(200);
    assert_eq!(found["results"][0]["price"], money(1_000), "{found}");

    // At the ceiling a price is fine; two of them are not an order.
    let ceiling = json!({"price": money(MAX_AMOUNT), "stock": 5, "sellable": true});
    m.put(&offer_url, Some(&s.token), ceiling).await.expect(200);
    let order = json!({"store_id": s.store, "product_id": s.product, "quantity": 2});
    m.post(&format!("{}/v1/orders", m.broker), None, order).await.expect_problem(422, "amount_too_large");
    assert_eq!(offer(&m, &s).await["stock"], 5, "a refused order moved stock");
    let seller_orders = m.get(&format!("{}/v1/seller/orders", m.broker), Some(&s.token)).await.expect(200);
    assert_eq!(seller_orders["orders"].as_array().map(Vec::len), Some(0), "{seller_orders}");

    // A price confirmation may not raise an order past the ceiling either.
    let confirm_offer =
        json!({"price": money(1_000), "stock": 5, "sellable": true, "requires_price_confirmation": true});
    m.put(&offer_url, Some(&s.token), confirm_offer).await.expect(200);
    let order = json!({"store_id": s.store, "product_id": s.product, "quantity": 2});
    let placed = m.post(&format!("{}/v1/orders", m.broker), None, order).await.expect(201);
    let order_id = json_of(&placed, "order_id");
    let confirm = format!("{}/v1/orders/{order_id}/confirm", m.broker);
    for unit in [i64::MAX, MAX_AMOUNT + 1, MAX_AMOUNT / 2 + 1] {
        m.post(&confirm, Some(&s.token), json!({"price": money(unit)})).await.expect_problem(422, "amount_too_large");
    }
    let cap = m.capability_for(&order_id);
    let read = m.get(&format!("{}/v1/orders/{order_id}", m.broker), Some(&cap)).await.expect(200);
    assert_eq!(read["status"], "awaiting_confirmation", "{read}");
    assert_eq!(read["amount"], money(2_000), "{read}");

    books(&m).await;
    let token = m.seller_token_for(&s.seller);
    let balance = format!("{}/v1/seller/balance?store_id={}", m.settlement, s.store);
    m.eventually("settlement to know the store", || async {
        (m.get(&balance, Some(&token)).await.status.as_u16() == 200).then_some(())
    })
    .await;
}

async fn to_settlement(m: &TestMarket, message: Message) -> u16 {
    m.send_message(ServiceName::Broker, ServiceName::Settlement, message).await
}

fn payable(order: &OrderId, store: &StoreId, amount: Money) -> Message {
    Message::plain_payable(order.clone(), store.clone(), ProductId::generate(), amount)
}

async fn post_keyed(m: &TestMarket, path: &str, token: &str, body: Value) -> crate::helpers::Answer {
    let key = shared::ids::random_hex128();
    m.call(Method::POST, &format!("{}{path}", m.settlement), Some(token), Some(&body), &[("Idempotency-Key", &key)])
        .await
}

#[tokio::test]
async fn payments_refunds_and_charges_above_the_money_ceiling_move_no_money() {
    let m = TestMarket::spawn().await;
    let seller = SellerId::generate();
    let store = StoreId::generate();
    let registered = Message::StoreRegistered {
        store_id: store.clone(),
        seller_id: Some(seller.clone()),
        manufacturer_id: None,
        union_id: None,
        name: "Ceiling shop".into(),
        category: "tools".into(),
        region: "north".into(),
    };
    assert_eq!(to_settlement(&m, registered).await, 204);
    let partners = format!("{}/v1/partners", m.settlement);
    let partner = m.post(&partners, Some(&m.operator), json!({"name": "Pay Co"})).await.expect(201);
    let key = json_of(&partner, "api_key");
    let order = OrderId::generate();
    assert_eq!(to_settlement(&m, payable(&order, &store, Money::new(1_000, Currency::EUR))).await, 204);
    let (empty, _) = books(&m).await;

    // An order announced above the ceiling never reaches the books.
    let huge = OrderId::generate();
    let hostile = payable(&huge, &store, Money::new(i64::MAX, Currency::EUR));
    assert_eq!(to_settlement(&m, hostile).await, 422);

    for amount in HOSTILE {
        for o in [&order, &huge] {
            let body = json!({"order_id": o, "amount": money(amount), "partner_reference": "r"});
            post_keyed(&m, "/v1/payments", &key, body).await.expect_problem(422, "amount_too_large");
        }
    }
    let (tb, _) = books(&m).await;
    assert_eq!(tb, empty, "a refused payment moved money");

    let body = json!({"order_id": order, "amount": money(1_000), "partner_reference": "r"});
    let paid = post_keyed(&m, "/v1/payments", &key, body).await.expect(201);
    assert_eq!(paid["status"], "captured", "{paid}");
    let payment_id = json_of(&paid, "payment_id");
    let (after_payment, _) = books(&m).await;
    for amount in HOSTILE {
        let body = json!({"payment_id": payment_id, "amount": money(amount), "reason": "r"});
        post_keyed(&m, "/v1/refunds", &key, body.clone()).await.expect_problem(422, "amount_too_large");
        post_keyed(&m, "/v1/refunds", &m.operator, body).await.expect_problem(422, "amount_too_large");
    }

    // The broker's internal charge route is bounded too.
    let ring = shared::crypto::KeyRing::load_or_create(&m.config.data_dir, ServiceName::Broker.as_str()).unwrap();
    let broker = shared::auth::TokenSigner::new(ServiceName::Broker, &ring).service_token(ServiceName::Settlement);
    let broker = broker.unwrap();
    for amount in HOSTILE {
        let body = json!({"purchase_id": format!("pur-{amount}"), "store_id": store, "amount": money(amount)});
        m.post(&format!("{}/internal/v1/charges", m.settlement), Some(&broker), body)
            .await
            .expect_problem(422, "amount_too_large");
    }
    let (tb, _) = books(&m).await;
    assert_eq!(tb, after_payment, "a refused refund or charge moved money");

    // Everything that read the books before still answers.
    let token = m.seller_token_for(&seller);
    let balance =
        m.get(&format!("{}/v1/seller/balance?store_id={store}", m.settlement), Some(&token)).await.expect(200);
    assert_eq!(balance["escrow"], money(1_000), "{balance}");
    let cap = m.capability_for(&huge);
    let view = m.get(&format!("{}/v1/orders/{huge}/settlement", m.settlement), Some(&cap)).await;
    assert_eq!(view.status.as_u16(), 404, "the hostile order was never stored");
}

#[tokio::test]
async fn a_lower_configured_ceiling_holds_everywhere() {
    let m = TestMarket::spawn_with(|c| c.money.max_amount_minor = 50_000).await;
    let s = shop(&m, json!({})).await;
    let offer_url = format!("{}/v1/stores/{}/offers/{}", m.broker, s.store, s.product);
    m.put(&offer_url, Some(&s.token), json!({"price": money(50_001), "stock": 5, "sellable": true}))
        .await
        .expect_problem(422, "amount_too_large");
    m.put(&offer_url, Some(&s.token), json!({"price": money(25_000), "stock": 5, "sellable": true})).await.expect(200);
    let order = json!({"store_id": s.store, "product_id": s.product, "quantity": 3});
    m.post(&format!("{}/v1/orders", m.broker), None, order).await.expect_problem(422, "amount_too_large");
    assert_eq!(offer(&m, &s).await["stock"], 5);
    let order = json!({"store_id": s.store, "product_id": s.product, "quantity": 2});
    let placed = m.post(&format!("{}/v1/orders", m.broker), None, order).await.expect(201);
    assert_eq!(placed["amount"], money(50_000));
    let partners = format!("{}/v1/partners", m.settlement);
    let partner = m.post(&partners, Some(&m.operator), json!({"name": "Pay Co"})).await.expect(201);
    let key = json_of(&partner, "api_key");
    let body = json!({"order_id": placed["order_id"], "amount": money(50_001), "partner_reference": "r"});
    post_keyed(&m, "/v1/payments", &key, body).await.expect_problem(422, "amount_too_large");
    books(&m).await;
}
