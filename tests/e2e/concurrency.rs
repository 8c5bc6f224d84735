//! Races: many buyers for the last units, many payments for one order (with different
//! keys and with one key), many refunds of one payment. Each service runs several workers
//! so the requests really overlap; the outcome must be the same as one at a time.

use crate::helpers::{json_of, kind_balance, money, Answer, TestMarket};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const PRICE: i64 = 4_200;

async fn market() -> TestMarket {
    TestMarket::spawn_with(|c| {
        for s in shared::config::ServiceName::ALL {
            c.service_mut(s).workers = 4;
            c.service_mut(s).pool_size = 8;
        }
    })
    .await
}

/// A store selling one product with `stock` units: `(store_id, product_id, seller token)`.
async fn shop(m: &TestMarket, stock: i64) -> (String, String, String) {
    let union = m.create_union("Race union", "north").await;
    let (_, seller) = m.create_seller("Race seller").await;
    let store = m.create_store(&seller, &union, "Race store", "tools").await;
    let product = m.create_product(&m.operator, "Last drill", "drill", json!({"volt": "18"}), PRICE).await;
    m.put_offer(&seller, &store, &product, PRICE, stock, true, json!({})).await;
    (store.into_string(), product.into_string(), seller)
}

async fn place(m: &TestMarket, store: &str, product: &str) -> Answer {
    m.post(&format!("{}/v1/orders", m.broker), None, json!({"store_id": store, "product_id": product, "quantity": 1}))
        .await
}

/// An order that settlement knows and a partner: `(order_id, capability, partner key)`.
async fn payable_order(m: &TestMarket) -> (String, String, String) {
    let (store, product, _) = shop(m, 10).await;
    let order = place(m, &store, &product).await.expect(201);
    let (id, cap) = (json_of(&order, "order_id"), json_of(&order, "capability"));
    let url = format!("{}/v1/orders/{id}/settlement", m.settlement);
    m.eventually("settlement to learn the order", || async {
        (m.get(&url, Some(&cap)).await.status == 200).then_some(())
    })
    .await;
    let partner =
        m.post(&format!("{}/v1/partners", m.settlement), Some(&m.operator), json!({"name": "Race pay"})).await;
    (id, cap, json_of(&partner.expect(201), "api_key"))
}

async fn pay(m: &TestMarket, key: &str, idempotency_key: &str, order: &str, amount: i64) -> Answer {
    let body = json!({"order_id": order, "amount": money(amount), "partner_reference": idempotency_key});
    m.call(
        Method::POST,
        &format!("{}/v1/payments", m.settlement),
        Some(key),
        Some(&body),
        &[("Idempotency-Key", idempotency_key)],
    )
    .await
}

async fn settlement_view(m: &TestMarket, order: &str, cap: &str) -> Value {
    m.get(&format!("{}/v1/orders/{order}/settlement", m.settlement), Some(cap)).await.expect(200)
}

async fn assert_balanced(m: &TestMarket) -> Value {
    let tb = m.get(&format!("{}/v1/ledger/trial-balance", m.settlement), Some(&m.operator)).await.expect(200);
    assert_eq!(tb["total_debits"], tb["total_credits"], "{tb}");
    assert_eq!(tb["balanced"], true, "{tb}");
    let report = settlement::reconcile(&m.config).expect("reconcile runs");
    assert!(report.is_clean(), "{report:?}");
    tb
}

#[tokio::test]
async fn buyers_racing_for_the_last_units_get_exactly_the_stock() {
    // The race is for the stock itself: unpaid orders may hold all of it here (the
    // share they may hold has tests of its own, in `holds`).
    let m = TestMarket::spawn_with(|c| {
        for s in shared::config::ServiceName::ALL {
            c.service_mut(s).workers = 4;
            c.service_mut(s).pool_size = 8;
        }
        let all = shared::config::Config::from_toml("[settings.broker]\nunpaid_share_percent = 100\n").unwrap();
        c.settings.extend(all.settings);
    })
    .await;
    const STOCK: i64 = 5;
    const BUYERS: usize = 40;
    let (store, product, seller) = shop(&m, STOCK).await;
    let answers = join_all((0..BUYERS).map(|_| place(&m, &store, &product))).await;
    let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
    let mut orders = BTreeSet::new();
    for a in answers {
        match a.status.as_u16() {
            201 => {
                orders.insert(json_of(&a.body, "order_id"));
                *by_code.entry("201".into()).or_default() += 1;
            }
            _ => {
                let body = a.expect_problem(409, "out_of_stock");
                assert!(body["alternatives"].is_array(), "{body}");
                *by_code.entry("409 out_of_stock".into()).or_default() += 1;
            }
        }
    }
    assert_eq!(orders.len() as i64, STOCK, "{by_code:?}");
    assert_eq!(by_code.get("409 out_of_stock").copied().unwrap_or(0), BUYERS - STOCK as usize, "{by_code:?}");
    // Nothing is left, and the seller sees exactly the orders that were confirmed.
    place(&m, &store, &product).await.expect_problem(409, "out_of_stock");
    let selection = m.select(&store, &product, 1).await;
    assert_eq!(selection.reason, Some(shared::rules::Unsellable::OutOfStock), "{selection:?}");
    let listed = m.get(&format!("{}/v1/seller/orders", m.broker), Some(&seller)).await.expect(200);
    let listed: BTreeSet<String> =
        listed["orders"].as_array().unwrap().iter().map(|o| o["order_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, orders);
}

#[tokio::test]
async fn concurrent_payments_with_different_keys_capture_once_and_refund_the_rest() {
    let m = market().await;
    let (order, cap, partner) = payable_order(&m).await;
    const PAYERS: usize = 16;
    let keys: Vec<String> = (0..PAYERS).map(|_| shared::ids::random_hex128()).collect();
    let answers = join_all(keys.iter().map(|k| pay(&m, &partner, k, &order, PRICE))).await;
    let mut captured = Vec::new();
    for a in answers {
        let body = a.expect(201);
        match body["status"].as_str() {
            Some("captured") => captured.push(json_of(&body, "payment_id")),
            Some("rejected") => {
                assert_eq!(body["reason"], "already_paid", "{body}");
                assert_eq!(body["refund"]["amount"]["amount"].as_i64(), Some(PRICE), "all of it goes back: {body}");
            }
            _ => panic!("unexpected answer {body}"),
        }
    }
    assert_eq!(captured.len(), 1, "captures: {captured:?}");
    let view = settlement_view(&m, &order, &cap).await;
    assert_eq!((view["status"].as_str(), view["paid"]["amount"].as_i64()), (Some("captured"), Some(PRICE)), "{view}");
    let tb = assert_balanced(&m).await;
    assert_eq!(kind_balance(&tb, "escrow"), -PRICE, "only one payment is held: {tb}");
}

#[tokio::test]
async fn concurrent_payments_with_one_key_have_one_effect() {
    let m = market().await;
    let (order, cap, partner) = payable_order(&m).await;
    let key = shared::ids::random_hex128();
    let answers = join_all((0..16).map(|_| pay(&m, &partner, &key, &order, PRICE))).await;
    let mut payment_ids = BTreeSet::new();
    for a in answers {
        match a.status.as_u16() {
            201 => {
                assert_eq!(a.body["status"], "captured", "{}", a.body);
                payment_ids.insert(json_of(&a.body, "payment_id"));
            }
            // The API lets a request that finds its key still in progress say so.
            _ => {
                assert!(a.headers.contains_key("retry-after"));
                a.expect_problem(409, "idempotency_key_in_use");
            }
        }
    }
    assert_eq!(payment_ids.len(), 1, "one key, one payment: {payment_ids:?}");
    // Once done, a replay answers the stored answer and says so.
    let replay = pay(&m, &partner, &key, &order, PRICE).await;
    assert_eq!(replay.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(replay.expect(201)["payment_id"].as_str(), payment_ids.iter().next().map(String::as_str));
    let view = settlement_view(&m, &order, &cap).await;
    assert_eq!(view["paid"]["amount"].as_i64(), Some(PRICE), "{view}");
    let tb = assert_balanced(&m).await;
    assert_eq!(kind_balance(&tb, "escrow"), -PRICE, "{tb}");
}

#[tokio::test]
async fn concurrent_refunds_never_exceed_the_capture() {
    let m = market().await;
    let (order, cap, partner) = payable_order(&m).await;
    let paid = pay(&m, &partner, &shared::ids::random_hex128(), &order, PRICE).await.expect(201);
    assert_eq!(paid["status"], "captured");
    let payment = json_of(&paid, "payment_id");
    // 24 refunds of a quarter each, from the partner and the operator at once: four fit.
    const PART: i64 = PRICE / 4;
    let answers = join_all((0..24).map(|i| {
        let token = if i % 2 == 0 { partner.clone() } else { m.operator.clone() };
        let (m, payment) = (&m, payment.clone());
        async move { m.refund(&token, &payment, PART).await }
    }))
    .await;
    let mut succeeded = 0;
    for a in answers {
        if a.status == 201 {
            assert_eq!(a.body["status"], "succeeded", "{}", a.body);
            succeeded += 1;
        } else {
            a.expect_problem(422, "refund_exceeds_payment");
        }
    }
    assert_eq!(succeeded, 4, "exactly the captured amount is refunded");
    let shown = m.get(&format!("{}/v1/payments/{payment}", m.settlement), Some(&partner)).await.expect(200);
    assert_eq!(shown["refunded"]["amount"].as_i64(), Some(4 * PART), "{shown}");
    assert_eq!(shown["captured"]["amount"].as_i64(), Some(PRICE), "{shown}");
    m.refund(&partner, &payment, 1).await.expect_problem(422, "refund_exceeds_payment");
    let view = settlement_view(&m, &order, &cap).await;
    assert_eq!(view["status"], "refunded", "{view}");
    let tb = assert_balanced(&m).await;
    assert_eq!(kind_balance(&tb, "escrow"), 0, "{tb}");
}
