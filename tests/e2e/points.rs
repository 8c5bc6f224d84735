//! Collection points funded when minted, and sellers who see public prices only. Played
//! over HTTP as a dishonest seller would: minting without a store, at a store the operator
//! never enabled, without the money to fund it, twice with one code, past the daily cap;
//! then points spent at another store, which must be paid from the points liability.

use crate::helpers::{json_of, money, Answer, TestMarket};
use serde_json::{json, Value};
use shared::config::{Config, ServiceName};
use shared::ids::{OrderId, ProductId, StoreId, UnionId};
use shared::messages::Message;

const PASSWORD: &str = "buyer password 1";

fn broker(m: &TestMarket, path: &str) -> String {
    format!("{}{path}", m.broker)
}

fn settlement(m: &TestMarket, path: &str) -> String {
    format!("{}{path}", m.settlement)
}

struct Shop {
    token: String,
    store: StoreId,
    product: ProductId,
}

/// A seller with one store offering one product at `price`, known to settlement.
async fn shop(m: &TestMarket, union: &UnionId, name: &str, price: i64) -> Shop {
    let (_, token) = m.create_seller(name).await;
    let store = m.create_store(&token, union, &format!("{name} store"), "office").await;
    let product = m.create_product(&m.operator, &format!("{name} toner"), "toner", json!({}), price).await;
    m.put_offer(&token, &store, &product, price, 100, true, json!({})).await;
    m.eventually("the store reaches settlement", || async {
        (m.get(&settlement(m, &format!("/v1/seller/balance?store_id={store}")), Some(&token)).await.status == 200)
            .then_some(())
    })
    .await;
    Shop { token, store, product }
}

async fn available(m: &TestMarket, s: &Shop) -> i64 {
    let url = settlement(m, &format!("/v1/seller/balance?store_id={}", s.store));
    m.get(&url, Some(&s.token)).await.expect(200)["available"]["amount"].as_i64().unwrap()
}

/// The partner pays `amount` for the order, retrying while settlement has not heard of it.
async fn pay(m: &TestMarket, api_key: &str, order: &str, amount: i64) {
    m.pay_in_full(api_key, &OrderId::parse(order).unwrap(), amount, "ref").await;
}

/// Delivery's word that the order arrived and the broker's that it was accepted:
/// settlement releases its escrow.
async fn release(m: &TestMarket, order: &str) {
    let order_id = OrderId::parse(order).unwrap();
    let delivered = Message::OrderDelivered { order_id: order_id.clone() };
    assert_eq!(m.send_message(ServiceName::Delivery, ServiceName::Settlement, delivered).await, 204);
    let accepted = Message::OrderAccepted { order_id };
    assert_eq!(m.send_message(ServiceName::Broker, ServiceName::Settlement, accepted).await, 204);
}

/// Credits `amount` less the 3 % fee to the shop's balance: an order paid and delivered.
async fn fund(m: &TestMarket, s: &Shop, amount: i64) {
    let before = available(m, s).await;
    m.fund_store(&s.store, &s.product, amount).await;
    assert!(available(m, s).await > before);
}

async fn buyer(m: &TestMarket, handle: &str) -> String {
    m.post(&broker(m, "/v1/buyers"), None, json!({"handle": handle, "password": PASSWORD})).await.expect(201);
    let s = m
        .post(&broker(m, "/v1/buyer-sessions"), None, json!({"handle": handle, "password": PASSWORD}))
        .await
        .expect(200);
    json_of(&s, "access_token")
}

async fn points(m: &TestMarket, buyer: &str) -> i64 {
    m.get(&broker(m, "/v1/buyer"), Some(buyer)).await.expect(200)["points"].as_i64().unwrap()
}

async fn code(m: &TestMarket, buyer: &str) -> String {
    json_of(&m.post(&broker(m, "/v1/buyer/collection-codes"), Some(buyer), json!({})).await.expect(201), "code")
}

async fn collect(m: &TestMarket, seller: &str, store: &StoreId, code: &str, items: i64) -> Answer {
    let body = json!({"store_id": store, "code": code, "items": items});
    m.post(&broker(m, "/v1/seller/collections"), Some(seller), body).await
}

async fn enable(m: &TestMarket, token: &str, store: &StoreId, enabled: bool) -> Answer {
    m.put(&broker(m, &format!("/v1/stores/{store}/collection-point")), Some(token), json!({"enabled": enabled})).await
}

/// What the points liability owes (credits minus debits), 0 when it has no account yet.
fn liability(tb: &Value) -> i64 {
    tb["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "points_liability")
        .map(|a| -a["balance"]["amount"].as_i64().unwrap())
        .sum()
}

async fn reconciles(m: &TestMarket) {
    let r = m.get(&settlement(m, "/v1/ledger/reconciliation"), Some(&m.operator)).await.expect(200);
    assert_eq!(r["clean"], true, "{r}");
    assert!(settlement::reconcile(&m.config).expect("reconcile runs").is_clean());
}

fn with_broker_settings(toml_text: &str) -> impl FnOnce(&mut Config) + '_ {
    move |config: &mut Config| {
        let parsed = Config::from_toml(toml_text).expect("settings parse");
        for (k, v) in parsed.settings {
            config.settings.insert(k, v);
        }
    }
}

#[tokio::test]
async fn only_an_enabled_and_funded_collection_point_of_ones_own_mints_and_each_code_once() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North", "north").await;
    let a = shop(&m, &union, "Alpha", 1_000).await;
    let buyer = buyer(&m, "returner").await;
    let code = code(&m, &buyer).await;

    // A seller who just signed up, without a store: another's store is not theirs, an
    // unknown one does not exist, a body without `store_id` is refused.
    let (_, fresh) = m.create_seller("Fresh").await;
    collect(&m, &fresh, &a.store, &code, 1_000).await.expect_problem(403, "forbidden");
    collect(&m, &fresh, &StoreId::generate(), &code, 1_000).await.expect_problem(404, "not_found");
    let bare = m.post(&broker(&m, "/v1/seller/collections"), Some(&fresh), json!({"code": code, "items": 1_000})).await;
    assert!(bare.status.is_client_error(), "{:?}", bare.body);

    // Its own store, never enabled by the operator.
    collect(&m, &a.token, &a.store, &code, 3).await.expect_problem(409, "not_a_collection_point");
    // Only the operator enables a collection point.
    enable(&m, &a.token, &a.store, true).await.expect_problem(403, "forbidden");
    enable(&m, &m.operator, &StoreId::generate(), true).await.expect_problem(404, "not_found");
    assert_eq!(points(&m, &buyer).await, 0);
    assert_eq!(liability(&m.balanced_trial_balance().await), 0);

    // Enabled, but the store has no balance: nothing is minted, nothing moves.
    let on = enable(&m, &m.operator, &a.store, true).await.expect(200);
    assert_eq!(on["collection_point"], true);
    collect(&m, &a.token, &a.store, &code, 3).await.expect_problem(409, "insufficient_balance");
    assert_eq!(points(&m, &buyer).await, 0);
    assert_eq!(available(&m, &a).await, 0);
    assert_eq!(liability(&m.balanced_trial_balance().await), 0);

    // Funded: the value of the points (3 items × 50 points × 1 minor unit) leaves the
    // store's balance for the points liability before the points exist.
    fund(&m, &a, 10_000).await;
    let before = available(&m, &a).await;
    let minted = collect(&m, &a.token, &a.store, &code, 3).await.expect(200);
    assert_eq!(minted["points"], 150);
    assert_eq!(points(&m, &buyer).await, 150);
    assert_eq!(available(&m, &a).await, before - 150);
    assert_eq!(liability(&m.balanced_trial_balance().await), 150);

    // The same code again mints nothing.
    collect(&m, &a.token, &a.store, &code, 3).await.expect_problem(422, "unknown_code");
    assert_eq!(points(&m, &buyer).await, 150);
    assert_eq!(available(&m, &a).await, before - 150);

    // Disabled again: no more mints there.
    enable(&m, &m.operator, &a.store, false).await.expect(200);
    let other = self::code(&m, &buyer).await;
    collect(&m, &a.token, &a.store, &other, 1).await.expect_problem(409, "not_a_collection_point");
    assert_eq!(liability(&m.balanced_trial_balance().await), 150);
    reconciles(&m).await;
}

#[tokio::test]
async fn a_collection_point_mints_at_most_its_daily_cap() {
    let m =
        TestMarket::spawn_with(with_broker_settings("[settings.broker]\ncollection_daily_points_cap = 200\n")).await;
    let union = m.create_union("North", "north").await;
    let a = shop(&m, &union, "Alpha", 1_000).await;
    enable(&m, &m.operator, &a.store, true).await.expect(200);
    fund(&m, &a, 10_000).await;
    let buyer = buyer(&m, "returner").await;

    collect(&m, &a.token, &a.store, &code(&m, &buyer).await, 3).await.expect(200);
    let after_first = available(&m, &a).await;
    let refused = code(&m, &buyer).await;
    collect(&m, &a.token, &a.store, &refused, 2).await.expect_problem(409, "collection_cap_reached");
    assert_eq!((points(&m, &buyer).await, available(&m, &a).await), (150, after_first));
    // Up to the cap exactly, and the refused code still works within it.
    collect(&m, &a.token, &a.store, &refused, 1).await.expect(200);
    assert_eq!(points(&m, &buyer).await, 200);
    assert_eq!(liability(&m.balanced_trial_balance().await), 200);
    reconciles(&m).await;
}

/// The reproduced attack, now funded: 50 000 points minted at one store, a 14.20 order at
/// another store paid with 0.01. The other store is paid in full from the liability.
#[tokio::test]
async fn points_spent_at_another_store_are_paid_to_it_from_the_points_liability() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North", "north").await;
    let a = shop(&m, &union, "Alpha", 1_000).await;
    let b = shop(&m, &union, "Beta", 1_420).await;
    let api_key = m.partner_key().await;
    enable(&m, &m.operator, &a.store, true).await.expect(200);
    fund(&m, &a, 100_000).await;
    let a_before = available(&m, &a).await;
    let buyer = buyer(&m, "returner").await;
    collect(&m, &a.token, &a.store, &code(&m, &buyer).await, 1_000).await.expect(200);
    assert_eq!(points(&m, &buyer).await, 50_000);
    assert_eq!(available(&m, &a).await, a_before - 50_000);
    assert_eq!(liability(&m.balanced_trial_balance().await), 50_000);

    let body = json!({"store_id": b.store, "product_id": b.product, "quantity": 1, "points": 50_000});
    let placed = m.post(&broker(&m, "/v1/orders"), Some(&buyer), body).await.expect(201);
    assert_eq!(placed["amount"], money(1));
    let order = json_of(&placed, "order_id");
    assert_eq!(points(&m, &buyer).await, 50_000 - 1_419);
    // The seller sees the public price, not what points made of it.
    let seen = m.get(&broker(&m, &format!("/v1/orders/{order}")), Some(&b.token)).await.expect(200);
    assert_eq!((&seen["unit_price"], &seen["amount"]), (&money(1_420), &money(1_420)), "{seen}");
    assert!(seen.get("discount").is_none() && seen.get("points").is_none(), "{seen}");

    pay(&m, &api_key, &order, 1).await;
    release(&m, &order).await;
    // 14.20 less the 3 % fee (42.6 → 43), of which 14.19 came from the liability.
    assert_eq!(available(&m, &b).await, 1_420 - 43);
    let tb = m.balanced_trial_balance().await;
    assert_eq!(liability(&tb), 50_000 - 1_419);
    reconciles(&m).await;
    // A second delivery message moves nothing more.
    release(&m, &order).await;
    assert_eq!(available(&m, &b).await, 1_420 - 43);
    assert_eq!(liability(&m.balanced_trial_balance().await), 50_000 - 1_419);
}

#[tokio::test]
async fn sellers_see_public_prices_and_one_group_discounts_line_per_statement() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North", "north").await;
    let b = shop(&m, &union, "Beta", 1_000).await;
    let api_key = m.partner_key().await;
    let group_prices = broker(&m, &format!("/v1/stores/{}/group-prices", b.store));
    m.put(
        &group_prices,
        Some(&b.token),
        json!({"product_id": b.product, "group": {"equipment": "X-100"}, "price": money(800)}),
    )
    .await
    .expect(200);
    // A small public list: at most five tiers per product.
    for p in 1..=4 {
        let body = json!({"product_id": b.product, "group": {"min_points": p * 1_000}, "price": money(990 - p)});
        m.put(&group_prices, Some(&b.token), body).await.expect(200);
    }
    let sixth = json!({"product_id": b.product, "group": {"min_points": 9_999}, "price": money(900)});
    m.put(&group_prices, Some(&b.token), sixth).await.expect_problem(409, "too_many_group_prices");
    // Replacing a tier's price is not a new tier.
    let again = json!({"product_id": b.product, "group": {"equipment": "X-100"}, "price": money(800)});
    m.put(&group_prices, Some(&b.token), again).await.expect(200);
    let listed = m.get(&group_prices, None).await.expect(200);
    assert_eq!(listed["group_prices"].as_array().unwrap().len(), 5, "{listed}");

    let buyer = buyer(&m, "owner.x100").await;
    m.put(&broker(&m, "/v1/buyer/equipment"), Some(&buyer), json!({"equipment": ["X-100"]})).await.expect(200);
    let body = json!({"store_id": b.store, "product_id": b.product, "quantity": 2});
    let placed = m.post(&broker(&m, "/v1/orders"), Some(&buyer), body.clone()).await.expect(201);
    let order = json_of(&placed, "order_id");
    let capability = json_of(&placed, "capability");
    assert_eq!(placed["amount"], money(1_600));
    // An anonymous order at the public price, for comparison.
    let plain = m.post(&broker(&m, "/v1/orders"), None, body).await.expect(201);
    let plain_id = json_of(&plain, "order_id");

    // The buyer sees what they pay; the seller, everywhere, the public price × quantity.
    let own = m.get(&broker(&m, &format!("/v1/orders/{order}")), Some(&capability)).await.expect(200);
    assert_eq!((&own["unit_price"], &own["amount"]), (&money(800), &money(1_600)));
    let seen = m.get(&broker(&m, &format!("/v1/orders/{order}")), Some(&b.token)).await.expect(200);
    assert_eq!((&seen["unit_price"], &seen["amount"]), (&money(1_000), &money(2_000)), "{seen}");
    let list = m.get(&broker(&m, "/v1/seller/orders"), Some(&b.token)).await.expect(200);
    let rows = list["orders"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!((&row["unit_price"], &row["amount"]), (&money(1_000), &money(2_000)), "{row}");
    }
    let text = list.to_string();
    assert!(!text.contains("\"amount\":800") && !text.contains("\"amount\":1600"), "{list}");

    for (id, amount) in [(order.as_str(), 1_600), (plain_id.as_str(), 2_000)] {
        pay(&m, &api_key, id, amount).await;
        release(&m, id).await;
    }
    // Fees on what was paid: 3 % of 1 600 and of 2 000.
    assert_eq!(available(&m, &b).await, 1_600 - 48 + 2_000 - 60);
    let statement =
        m.get(&settlement(&m, &format!("/v1/seller/statement?store_id={}", b.store)), Some(&b.token)).await.expect(200);
    let lines = statement["lines"].as_array().unwrap();
    let line = |kind: &str| {
        let found: Vec<&Value> = lines.iter().filter(|l| l["kind"] == kind).collect();
        assert_eq!(found.len(), 1, "one {kind} line: {statement}");
        found[0]["amount"]["amount"].as_i64().unwrap()
    };
    assert_eq!(line("gross_sales"), 4_000);
    assert_eq!(line("group_discounts"), -400);
    assert_eq!(line("fees"), -108);
    assert_eq!(statement["net"], money(3_492));
    assert_eq!(statement["orders"], 2);
    let text = statement.to_string();
    assert!(!text.contains(&order) && !text.contains(&plain_id), "never per order: {statement}");
    m.balanced_trial_balance().await;
    reconciles(&m).await;

    // Another seller reads no one else's statement.
    let (_, other) = m.create_seller("Other").await;
    m.get(&settlement(&m, &format!("/v1/seller/statement?store_id={}", b.store)), Some(&other))
        .await
        .expect_problem(403, "forbidden");
}
