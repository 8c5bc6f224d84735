//! End-to-end tests: settlement. The broker and delivery are played through their
//! messages, so these tests depend only on settlement.

use crate::helpers::{json_of, kind_balance, money, Answer, Expect, TestMarket};
use client::settlement::{NewPartner, PaymentAnswer, PaymentBody, PaymentStatus};
use reqwest::Method;
use serde_json::{json, Value};
use shared::config::ServiceName;
use shared::ids::{OrderId, ProductId, SellerId, StoreId};
use shared::messages::Message;
use shared::money::{Currency, Money};
use std::sync::{Arc, Mutex};

pub(crate) fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::EUR)
}

pub(crate) struct Partner {
    pub(crate) id: String,
    pub(crate) key: String,
    pub(crate) secret: String,
}

pub(crate) struct Order {
    pub(crate) id: OrderId,
    product: ProductId,
}

pub(crate) async fn partner(m: &TestMarket, webhook_url: Option<&str>) -> Partner {
    let body = NewPartner { name: "Acme Pay".into(), webhook_url: webhook_url.map(str::to_string) };
    let v = m.settlement_as(Some(&m.operator)).create_partner(&body).await.done();
    Partner { id: v.id.into_string(), key: v.api_key, secret: v.webhook_secret }
}

pub(crate) async fn to_settlement(m: &TestMarket, from: ServiceName, message: Message) {
    assert_eq!(m.send_message(from, ServiceName::Settlement, message).await, 204);
}

pub(crate) async fn register_store(m: &TestMarket, seller: &SellerId) -> StoreId {
    let store = StoreId::generate();
    to_settlement(
        m,
        ServiceName::Broker,
        Message::StoreRegistered {
            store_id: store.clone(),
            seller_id: Some(seller.clone()),
            manufacturer_id: None,
            union_id: None,
            name: "Corner shop".into(),
            category: "tools".into(),
            region: "north".into(),
        },
    )
    .await;
    store
}

pub(crate) async fn payable(
    m: &TestMarket,
    amount: i64,
    store: &StoreId,
    referral: Option<&StoreId>,
    shipper: Option<&StoreId>,
) -> Order {
    let order = Order { id: OrderId::generate(), product: ProductId::generate() };
    let mut message = Message::plain_payable(order.id.clone(), store.clone(), order.product.clone(), eur(amount));
    if let Message::OrderPayable { referral_store_id, shipper_store_id, .. } = &mut message {
        (*referral_store_id, *shipper_store_id) = (referral.cloned(), shipper.cloned());
    }
    to_settlement(m, ServiceName::Broker, message).await;
    order
}

/// A payment partner and a new seller's store, as settlement knows them.
pub(crate) struct Books {
    pub(crate) p: Partner,
    pub(crate) seller: SellerId,
    pub(crate) store: StoreId,
}

pub(crate) async fn books(m: &TestMarket) -> Books {
    let p = partner(m, None).await;
    let seller = SellerId::generate();
    let store = register_store(m, &seller).await;
    Books { p, seller, store }
}

/// An order of `amount` at `store`, paid in full by `p`, delivered and accepted: its
/// escrow released.
pub(crate) async fn delivered(m: &TestMarket, p: &Partner, store: &StoreId, amount: i64) -> Order {
    let o = payable(m, amount, store, None, None).await;
    pay(m, p, &o.id, eur(amount)).await;
    to_settlement(m, ServiceName::Delivery, Message::OrderDelivered { order_id: o.id.clone() }).await;
    to_settlement(m, ServiceName::Broker, Message::OrderAccepted { order_id: o.id.clone() }).await;
    o
}

async fn pay_raw(m: &TestMarket, p: &Partner, key: Option<&str>, body: &Value) -> Answer {
    let mut headers = Vec::new();
    if let Some(k) = key {
        headers.push(("Idempotency-Key", k));
    }
    m.call(Method::POST, &format!("{}/v1/payments", m.settlement), Some(&p.key), Some(body), &headers).await
}

pub(crate) async fn pay(m: &TestMarket, p: &Partner, order: &OrderId, amount: Money) -> PaymentAnswer {
    let body = PaymentBody { order_id: order.to_string(), amount, partner_reference: "ref-1".into() };
    m.settlement_as(Some(&p.key)).pay(&body, &shared::ids::random_hex128()).await.done()
}

/// Asserts a payment turned away whole for `reason`, all of it returned.
#[track_caller]
fn assert_rejected(a: &PaymentAnswer, reason: &str, returned: Money) {
    assert_eq!((a.status, a.reason.as_deref()), (PaymentStatus::Rejected, Some(reason)), "{a:?}");
    assert_eq!(a.refund.as_ref().map(|r| r.amount), Some(returned), "{a:?}");
}

async fn view(m: &TestMarket, order: &OrderId) -> Value {
    let cap = m.capability_for(order);
    m.get(&format!("{}/v1/orders/{order}/settlement", m.settlement), Some(&cap)).await.expect(200)
}

pub(crate) async fn balance(m: &TestMarket, seller: &SellerId, store: &StoreId) -> (i64, i64) {
    let token = m.seller_token_for(seller);
    let v = m.get(&format!("{}/v1/seller/balance?store_id={store}", m.settlement), Some(&token)).await.expect(200);
    (v["available"]["amount"].as_i64().unwrap(), v["escrow"]["amount"].as_i64().unwrap())
}

async fn set_payout_account(m: &TestMarket, seller: &SellerId, store: &StoreId) {
    let token = m.seller_token_for(seller);
    let url = format!("{}/v1/seller/payout-account?store_id={store}", m.settlement);
    let body = json!({ "holder": "Corner Shop Ltd", "iban": "GB82 WEST 1234 5698 7654 32" });
    let v = m.put(&url, Some(&token), body).await.expect(200);
    assert_eq!(v["iban_last4"], "5432");
}

/// A market whose payout account changes hold nothing, for tests of the money's flow
/// that set an account and remit at once (the hold has its own tests in `payouts`).
async fn market_without_payout_hold() -> TestMarket {
    TestMarket::spawn_with(|c| {
        c.settings.insert("payouts".into(), toml::Value::Table(toml::from_str("account_hold_hours = 0").unwrap()));
    })
    .await
}

async fn trial_balance(m: &TestMarket) -> Value {
    m.get(&format!("{}/v1/ledger/trial-balance", m.settlement), Some(&m.operator)).await.expect(200)
}

/// The ledger balances and every cached balance matches its entries.
async fn assert_ledger_sound(m: &TestMarket) -> Value {
    let tb = trial_balance(m).await;
    assert_eq!(tb["total_debits"], tb["total_credits"], "{tb}");
    assert_eq!(tb["balanced"], true);
    let report = settlement::reconcile(&m.config).expect("reconcile runs");
    assert!(report.is_clean(), "{report:?}");
    let url = format!("{}/v1/ledger/reconciliation", m.settlement);
    let live = m.get(&url, Some(&m.operator)).await.expect(200);
    assert_eq!(live["clean"], true, "{live}");
    tb
}

async fn events(m: &TestMarket, p: &Partner) -> Vec<Value> {
    let v = m.get(&format!("{}/v1/events?after=0&limit=500", m.settlement), Some(&p.key)).await.expect(200);
    v["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn exact_payment_is_captured_and_released_with_fees_once() {
    let m = market_without_payout_hold().await;
    let p = partner(&m, None).await;
    let (seller, referrer_seller, shipper_seller) = (SellerId::generate(), SellerId::generate(), SellerId::generate());
    let store = register_store(&m, &seller).await;
    let referrer = register_store(&m, &referrer_seller).await;
    let shipper = register_store(&m, &shipper_seller).await;
    let order = payable(&m, 10_000, &store, Some(&referrer), Some(&shipper)).await;
    assert_eq!(view(&m, &order.id).await["status"], "awaiting_payment");

    let a = pay(&m, &p, &order.id, eur(10_000)).await;
    assert_eq!((a.status, &a.refund, &a.reason), (PaymentStatus::Captured, &None, &None));
    let v = view(&m, &order.id).await;
    assert_eq!((v["status"].as_str(), v["paid"]["amount"].as_i64()), (Some("captured"), Some(10_000)));
    assert_eq!(balance(&m, &seller, &store).await, (0, 10_000));
    let tb = assert_ledger_sound(&m).await;
    assert_eq!(kind_balance(&tb, "escrow"), -10_000);
    assert_eq!(kind_balance(&tb, "partner_clearing"), 10_000);

    // Delivered twice (two messages with their own ids): still held, for nobody accepted.
    for _ in 0..2 {
        to_settlement(&m, ServiceName::Delivery, Message::OrderDelivered { order_id: order.id.clone() }).await;
    }
    assert_eq!(view(&m, &order.id).await["status"], "captured");
    assert_eq!(balance(&m, &seller, &store).await, (0, 10_000));
    // Accepted twice: released once.
    for _ in 0..2 {
        to_settlement(&m, ServiceName::Broker, Message::OrderAccepted { order_id: order.id.clone() }).await;
    }
    assert_eq!(view(&m, &order.id).await["status"], "released");
    assert_eq!(balance(&m, &seller, &store).await, (9_300, 0));
    assert_eq!(balance(&m, &referrer_seller, &referrer).await, (200, 0));
    assert_eq!(balance(&m, &shipper_seller, &shipper).await, (200, 0));
    let tb = assert_ledger_sound(&m).await;
    assert_eq!(kind_balance(&tb, "marketplace_fees"), -300);
    let url = format!("{}/v1/ledger/accounts?kind=store", m.settlement);
    let stores = m.get(&url, Some(&m.operator)).await.expect(200);
    let mut owed: Vec<i64> =
        stores["accounts"].as_array().unwrap().iter().map(|a| -a["balance"]["amount"].as_i64().unwrap()).collect();
    owed.sort();
    assert_eq!(owed, [200, 200, 9_300]);
    assert_eq!(kind_balance(&tb, "escrow"), 0);
    assert_eq!(kind_balance(&tb, "referral_fees"), 0);

    // Remittance pays every positive balance out, once, to a payout account: the store
    // without one keeps its balance until its seller sets one.
    set_payout_account(&m, &seller, &store).await;
    set_payout_account(&m, &referrer_seller, &referrer).await;
    let batch = m.post(&format!("{}/v1/remittances/run", m.settlement), Some(&m.operator), json!({})).await.expect(200);
    assert_eq!(batch["remittances"].as_array().unwrap().len(), 2);
    assert_eq!(batch["skipped"][0]["reason"], "no_payout_account");
    assert_eq!(balance(&m, &shipper_seller, &shipper).await, (200, 0));
    set_payout_account(&m, &shipper_seller, &shipper).await;
    let batch = m.post(&format!("{}/v1/remittances/run", m.settlement), Some(&m.operator), json!({})).await.expect(200);
    assert_eq!(batch["remittances"][0]["amount"]["amount"], 200);
    let again = m.post(&format!("{}/v1/remittances/run", m.settlement), Some(&m.operator), json!({})).await.expect(200);
    assert!(again["remittances"].as_array().unwrap().is_empty());
    assert_eq!(balance(&m, &seller, &store).await, (0, 0));
    let tb = assert_ledger_sound(&m).await;
    assert_eq!(kind_balance(&tb, "payouts"), -9_700);

    // A refund after payout (a chargeback) takes back what each party got: the store's
    // share, the referral and fulfilment fees from the stores they were passed to, the
    // marketplace fee from its revenue. Paid out already, the balances go below zero.
    let refunded = m.refund(&m.operator, &a.payment_id, 10_000).await.expect(201);
    assert_eq!(refunded["status"], "succeeded");
    assert_eq!(balance(&m, &seller, &store).await, (-9_300, 0));
    assert_eq!(balance(&m, &referrer_seller, &referrer).await, (-200, 0));
    assert_eq!(balance(&m, &shipper_seller, &shipper).await, (-200, 0));
    assert_eq!(view(&m, &order.id).await["status"], "refunded");
    m.refund(&m.operator, &a.payment_id, 1).await.expect_problem(422, "refund_exceeds_payment");
    let tb = assert_ledger_sound(&m).await;
    assert_eq!(kind_balance(&tb, "marketplace_fees"), 0);
    assert_eq!(kind_balance(&tb, "refunds"), 0);
    // The referring store's statement tells the fee it earned and gave back, and nets to
    // what its balance moved (+200 then -200).
    let url = format!("{}/v1/seller/statement?store_id={referrer}", m.settlement);
    let statement = m.get(&url, Some(&m.seller_token_for(&referrer_seller))).await.expect(200);
    let lines: Vec<(String, i64)> = statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["kind"].as_str().unwrap().to_string(), l["amount"]["amount"].as_i64().unwrap()))
        .filter(|(_, a)| *a != 0)
        .collect();
    assert_eq!(
        lines,
        [("referral_fees_earned".to_string(), 200), ("referral_fees_charged_back".to_string(), -200)],
        "{statement}"
    );
    assert_eq!((statement["orders"].as_i64(), statement["net"]["amount"].as_i64()), (Some(0), Some(0)));
}

/// A partner's refunds after release are chargebacks: the store gives back each refunded
/// part less the fees on it, the fees return, the broker hears `partially_refunded` then
/// `refunded`, and the store's statement shows them beside the sale.
#[tokio::test]
async fn chargebacks_after_release_return_the_fees_on_the_refunded_part() {
    let m = market_without_payout_hold().await;
    let Books { p, seller, store } = books(&m).await;
    let o = payable(&m, 10_000, &store, None, None).await;
    let payment = pay(&m, &p, &o.id, eur(10_000)).await.payment_id;
    to_settlement(&m, ServiceName::Delivery, Message::OrderDelivered { order_id: o.id.clone() }).await;
    to_settlement(&m, ServiceName::Broker, Message::OrderAccepted { order_id: o.id.clone() }).await;
    assert_eq!(view(&m, &o.id).await["status"], "released");
    assert_eq!(balance(&m, &seller, &store).await, (9_700, 0));

    // 40.00 back: the store gives 38.80, the marketplace fee on it (1.20) returns.
    m.refund(&p.key, &payment, 4_000).await.expect(201);
    assert_eq!(view(&m, &o.id).await["status"], "partially_refunded");
    assert_eq!(balance(&m, &seller, &store).await, (9_700 - 3_880, 0));
    let tb = assert_ledger_sound(&m).await;
    assert_eq!(kind_balance(&tb, "marketplace_fees"), -180);
    let told = sent_for(&m, &o.id);
    assert!(told.contains(&("broker".into(), "order_refunded".into())), "{told:?}");

    let token = m.seller_token_for(&seller);
    let url = format!("{}/v1/seller/statement?store_id={store}", m.settlement);
    let statement = m.get(&url, Some(&token)).await.expect(200);
    let line = |kind: &str| {
        statement["lines"].as_array().unwrap().iter().find(|l| l["kind"] == kind).map(|l| l["amount"]["amount"].clone())
    };
    assert_eq!(line("chargebacks"), Some(json!(-4_000)), "{statement}");
    assert_eq!(line("fees_returned"), Some(json!(120)), "{statement}");
    assert_eq!(statement["net"]["amount"], 9_700 - 3_880, "{statement}");

    // The rest: every fee taken has returned, the store keeps nothing of the sale.
    m.refund(&p.key, &payment, 6_000).await.expect(201);
    assert_eq!(view(&m, &o.id).await["status"], "refunded");
    assert_eq!(balance(&m, &seller, &store).await, (0, 0));
    let tb = assert_ledger_sound(&m).await;
    assert_eq!(kind_balance(&tb, "marketplace_fees"), 0);
    m.refund(&p.key, &payment, 1).await.expect_problem(422, "refund_exceeds_payment");
    // Each chargeback is its own kind of transaction, and recorded beside its refund.
    let db = shared::db::Db::open(&m.config.database_url(ServiceName::Settlement), 1, settlement::MIGRATIONS).unwrap();
    let order_id = o.id.clone();
    let (txns, records): (i64, Vec<(i64, i64)>) = db
        .read_blocking(move |c| {
            use diesel::prelude::*;
            use settlement::schema::{chargebacks, ledger_transactions as t};
            let txns =
                t::table.filter(t::order_id.eq(&order_id)).filter(t::kind.eq("chargeback")).count().get_result(c)?;
            let records = chargebacks::table
                .filter(chargebacks::order_id.eq(&order_id))
                .select((chargebacks::store_debit, chargebacks::fees_returned))
                .order(chargebacks::amount)
                .load(c)?;
            Ok::<_, shared::Error>((txns, records))
        })
        .unwrap();
    assert_eq!(txns, 2);
    assert_eq!(records, [(3_880, 120), (5_820, 180)]);
}

#[tokio::test]
async fn short_then_over_completes_and_returns_the_excess() {
    let m = TestMarket::spawn().await;
    let Books { p, seller, store } = books(&m).await;
    let order = payable(&m, 10_000, &store, None, None).await;

    let first = pay(&m, &p, &order.id, eur(4_000)).await;
    assert_eq!((first.status, &first.refund), (PaymentStatus::Partial, &None));
    let v = view(&m, &order.id).await;
    assert_eq!((v["status"].as_str(), v["paid"]["amount"].as_i64()), (Some("partial"), Some(4_000)));

    let rest = pay(&m, &p, &order.id, eur(7_000)).await;
    assert_eq!((rest.status, rest.refund.map(|r| r.amount)), (PaymentStatus::Captured, Some(eur(1_000))));
    let v = view(&m, &order.id).await;
    assert_eq!((v["status"].as_str(), v["paid"]["amount"].as_i64()), (Some("captured"), Some(10_000)));
    assert_eq!(balance(&m, &seller, &store).await, (0, 10_000));

    // The first payment became captured too, and each change is an event.
    let types: Vec<String> = events(&m, &p).await.iter().map(|e| e["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, ["payment.partial", "payment.captured", "payment.captured"]);

    // An overpayment on a fresh order: captured, excess returned.
    let o2 = payable(&m, 500, &store, None, None).await;
    let over = pay(&m, &p, &o2.id, eur(800)).await;
    assert_eq!((over.status, over.refund.map(|r| r.amount)), (PaymentStatus::Captured, Some(eur(300))));
    assert_eq!(view(&m, &o2.id).await["paid"]["amount"], 500);
    assert_ledger_sound(&m).await;
}

#[tokio::test]
async fn refused_payments_are_rejected_whole_and_move_nothing() {
    let m = TestMarket::spawn().await;
    let Books { p, store, .. } = books(&m).await;

    // Wrong currency.
    let o = payable(&m, 1_000, &store, None, None).await;
    let usd = Money::new(1_000, Currency::parse("USD").unwrap());
    let before = trial_balance(&m).await;
    let a = pay(&m, &p, &o.id, usd).await;
    assert_rejected(&a, "wrong_currency", usd);

    // Cancelled by the broker before payment.
    let c = payable(&m, 1_000, &store, None, None).await;
    to_settlement(&m, ServiceName::Broker, Message::OrderCancelled { order_id: c.id.clone(), reason: "buyer".into() })
        .await;
    let a = pay(&m, &p, &c.id, eur(1_000)).await;
    assert_rejected(&a, "order_cancelled", eur(1_000));
    assert_eq!(view(&m, &c.id).await["status"], "cancelled");

    // No longer sellable at the payee store.
    let n = payable(&m, 1_000, &store, None, None).await;
    to_settlement(
        &m,
        ServiceName::Broker,
        Message::SellabilityChanged {
            store_id: store.clone(),
            product_id: n.product.clone(),
            sellable: false,
            reason: Some("recall".into()),
        },
    )
    .await;
    let a = pay(&m, &p, &n.id, eur(1_000)).await;
    assert_rejected(&a, "non_sellable", eur(1_000));
    assert_eq!(view(&m, &n.id).await["status"], "awaiting_payment");
    assert_eq!(trial_balance(&m).await, before, "a rejected payment moved money");

    // Already paid.
    assert_eq!(pay(&m, &p, &o.id, eur(1_000)).await.status, PaymentStatus::Captured);
    assert_rejected(&pay(&m, &p, &o.id, eur(1_000)).await, "already_paid", eur(1_000));
    assert_eq!(view(&m, &o.id).await["paid"]["amount"], 1_000);
    assert_ledger_sound(&m).await;
}

#[tokio::test]
async fn bad_input_is_refused_with_a_code_and_no_entry() {
    let m = TestMarket::spawn().await;
    let Books { p, store, .. } = books(&m).await;
    let o = payable(&m, 1_000, &store, None, None).await;
    let before = trial_balance(&m).await;
    let body = |amount: Value| json!({ "order_id": o.id, "amount": amount, "partner_reference": "r" });

    pay_raw(&m, &p, None, &body(money(1_000))).await.expect_problem(400, "idempotency_key_required");
    pay_raw(&m, &p, Some("k1"), &body(money(-5))).await.expect_problem(422, "invalid_amount");
    pay_raw(&m, &p, Some("k2"), &body(money(0))).await.expect_problem(422, "invalid_amount");
    pay_raw(&m, &p, Some("k3"), &body(json!({"amount": 10.5, "currency": "EUR"})))
        .await
        .expect_problem(422, "invalid_body");
    pay_raw(&m, &p, Some("k4"), &body(json!({"amount": 1, "currency": "XYZ"})))
        .await
        .expect_problem(422, "unknown_currency");
    let huge = format!(
        r#"{{"order_id":"{}","amount":{{"amount":99999999999999999999,"currency":"EUR"}},"partner_reference":"r"}}"#,
        o.id
    );
    let resp = m
        .client
        .post(format!("{}/v1/payments", m.settlement))
        .bearer_auth(&p.key)
        .header("Idempotency-Key", "k5")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422, "an amount beyond i64 is refused");
    let stranger = Partner { id: String::new(), key: "sk_live_nope".into(), secret: String::new() };
    pay_raw(&m, &stranger, Some("k6"), &body(money(1_000))).await.expect_problem(401, "unauthorized");
    let seller = Partner { key: m.seller_token_for(SellerId::generate()), ..stranger };
    pay_raw(&m, &seller, Some("k7"), &body(money(1_000))).await.expect_problem(401, "unauthorized");
    let unknown = json!({ "order_id": OrderId::generate(), "amount": money(1_000), "partner_reference": "r" });
    pay_raw(&m, &p, Some("k8"), &unknown).await.expect_problem(404, "unknown_order");
    m.post(&format!("{}/v1/partners", m.settlement), Some(&m.operator), json!({"name": "x", "webhook_url": "ftp://x"}))
        .await
        .expect_problem(422, "invalid_webhook_url");

    assert_eq!(trial_balance(&m).await, before);
    assert_eq!(view(&m, &o.id).await["status"], "awaiting_payment");
    assert!(events(&m, &p).await.is_empty());
    // A refusal on content is stored under its key like any answer.
    let again = pay_raw(&m, &p, Some("k1"), &body(money(-5))).await;
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.expect_problem(422, "invalid_amount")["code"], "invalid_amount");
}

#[tokio::test]
async fn idempotency_keys_replay_refuse_other_bodies_and_serialize_concurrent_calls() {
    let m = TestMarket::spawn().await;
    let Books { p, store, .. } = books(&m).await;

    // Unknown order: not stored, so the same key works once the order arrives.
    let id = OrderId::generate();
    let body = json!({ "order_id": id, "amount": money(2_500), "partner_reference": "abc" });
    pay_raw(&m, &p, Some("key-early"), &body).await.expect_problem(404, "unknown_order");
    to_settlement(
        &m,
        ServiceName::Broker,
        Message::plain_payable(id.clone(), store.clone(), ProductId::generate(), eur(2_500)),
    )
    .await;
    let first = pay_raw(&m, &p, Some("key-early"), &body).await;
    assert!(first.headers.get("idempotent-replayed").is_none());
    let first = first.expect(201);
    assert_eq!(first["status"], "captured");

    // Same key and body (keys reordered): the stored answer, marked as a replay.
    let reordered = json!({ "partner_reference": "abc", "amount": money(2_500), "order_id": id });
    let replay = pay_raw(&m, &p, Some("key-early"), &reordered).await;
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(replay.expect(201), first);
    // Same key, other body.
    let other = json!({ "order_id": id, "amount": money(2_400), "partner_reference": "abc" });
    pay_raw(&m, &p, Some("key-early"), &other).await.expect_problem(422, "idempotency_key_reused");
    // Keys belong to their partner: another partner's same key is a new request.
    let q = partner(&m, None).await;
    let a = pay_raw(&m, &q, Some("key-early"), &body).await.expect(201);
    assert_eq!(a["reason"], "already_paid");

    // 20 concurrent calls with one key: one effect; the others wait (409) or replay it.
    let o = payable(&m, 7_000, &store, None, None).await;
    let body = json!({ "order_id": o.id, "amount": money(3_000), "partner_reference": "c" });
    let calls = (0..20).map(|_| pay_raw(&m, &p, Some("key-race"), &body));
    let answers = futures_util::future::join_all(calls).await;
    let mut payment_ids = std::collections::HashSet::new();
    for a in answers {
        match a.status.as_u16() {
            201 => {
                payment_ids.insert(json_of(&a.body, "payment_id"));
            }
            409 => {
                assert_eq!(a.code(), "idempotency_key_in_use");
                assert!(a.headers.get("retry-after").is_some());
            }
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
    assert_eq!(payment_ids.len(), 1, "{payment_ids:?}");
    let v = view(&m, &o.id).await;
    assert_eq!((v["status"].as_str(), v["paid"]["amount"].as_i64()), (Some("partial"), Some(3_000)));
    let partials = events(&m, &p).await.iter().filter(|e| e["data"]["order_id"] == o.id.as_str()).count();
    assert_eq!(partials, 1);
    assert_ledger_sound(&m).await;
}

/// A webhook receiver on a random port that records what arrives.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = got.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let sink = sink.clone();
        App::new().route(
            "/hooks",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let sink = sink.clone();
                async move {
                    let sig = req.headers().get("settlement-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
                    sink.lock().unwrap().push((sig.to_string(), String::from_utf8_lossy(&body).into_owned()));
                    HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (url, got)
}

#[tokio::test]
async fn webhooks_are_signed_carry_no_product_or_store_and_events_have_no_gaps() {
    let m = TestMarket::spawn().await;
    let (url, got) = receiver().await;
    let p = partner(&m, Some(&url)).await;
    let store = register_store(&m, &SellerId::generate()).await;
    let o1 = payable(&m, 1_000, &store, None, None).await;
    let o2 = payable(&m, 2_000, &store, None, None).await;
    let a = pay(&m, &p, &o1.id, eur(1_000)).await;
    pay(&m, &p, &o2.id, eur(500)).await;
    m.refund(&p.key, &a.payment_id, 400).await.expect(201);
    to_settlement(&m, ServiceName::Broker, Message::OrderCancelled { order_id: o2.id.clone(), reason: "buyer".into() })
        .await;

    let listed = events(&m, &p).await;
    let types: Vec<&str> = listed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["payment.captured", "payment.partial", "refund.succeeded", "refund.succeeded"]);
    let seqs: Vec<i64> = listed.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    let page = m.get(&format!("{}/v1/events?after=2&limit=1", m.settlement), Some(&p.key)).await.expect(200);
    assert_eq!((page["events"][0]["seq"].as_i64(), page["next_after"].as_i64()), (Some(3), Some(3)));

    let delivered = m
        .eventually("four webhooks", || {
            let got = got.clone();
            async move {
                let v = got.lock().unwrap().clone();
                (v.len() >= 4).then_some(v)
            }
        })
        .await;
    let now = shared::time::unix_seconds();
    let mut seen = Vec::new();
    for (sig, body) in &delivered {
        assert!(settlement::events::domain::verify(sig, &p.secret, body, now, 300), "bad signature {sig} on {body}");
        assert!(!settlement::events::domain::verify(sig, "whsec_wrong", body, now, 300));
        let t: i64 = sig.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
        let mac = shared::crypto::hmac_sha256_hex(p.secret.as_bytes(), format!("{t}.{body}").as_bytes());
        assert!(sig.ends_with(&format!(",v1={mac}")));
        let event: Value = serde_json::from_str(body).unwrap();
        assert!(!body.contains(store.as_str()) && !body.contains(o1.product.as_str()) && !body.contains("store"));
        let mut keys: Vec<&str> = event["data"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort();
        assert_eq!(keys, ["amount", "order_id", "payment_id", "reason", "status"]);
        // The body is the event as /v1/events lists it.
        let same = listed.iter().find(|e| e["id"] == event["id"]).expect("listed");
        assert_eq!(same, &event);
        seen.push(event["seq"].as_i64().unwrap());
    }
    assert_eq!(seen, [1, 2, 3, 4], "webhooks leave in order");
    assert!(!p.id.is_empty());
    assert_ledger_sound(&m).await;
}

#[tokio::test]
async fn refunds_follow_cancellations_and_abandonment_once_and_never_exceed_the_payment() {
    let m = TestMarket::spawn().await;
    let Books { p, seller, store } = books(&m).await;

    // Partner refunds: partial, then too much, then the rest.
    let o = payable(&m, 5_000, &store, None, None).await;
    let a = pay(&m, &p, &o.id, eur(5_000)).await;
    let pid = a.payment_id;
    m.refund(&p.key, &pid, 2_000).await.expect(201);
    let too_much = m.refund(&p.key, &pid, 3_001).await.expect_problem(422, "refund_exceeds_payment");
    assert_eq!(too_much["refundable"]["amount"], 3_000);
    assert_eq!(view(&m, &o.id).await["paid"]["amount"], 3_000);
    // Another partner cannot refund it.
    let q = partner(&m, None).await;
    m.refund(&q.key, &pid, 1).await.expect_problem(404, "unknown_payment");
    m.refund(&p.key, &pid, 3_000).await.expect(201);
    assert_eq!(view(&m, &o.id).await["status"], "refunded");

    // Delivery accepts a cancel: full refund, applied once although the message comes twice.
    let c = payable(&m, 4_000, &store, None, None).await;
    pay(&m, &p, &c.id, eur(4_000)).await;
    for _ in 0..2 {
        to_settlement(&m, ServiceName::Delivery, Message::CancelDecided { order_id: c.id.clone(), accepted: true })
            .await;
    }
    let v = view(&m, &c.id).await;
    assert_eq!((v["status"].as_str(), v["paid"]["amount"].as_i64()), (Some("refunded"), Some(0)));
    // Then a late delivery report and acceptance release nothing.
    to_settlement(&m, ServiceName::Delivery, Message::OrderDelivered { order_id: c.id.clone() }).await;
    to_settlement(&m, ServiceName::Broker, Message::OrderAccepted { order_id: c.id.clone() }).await;
    assert_eq!(balance(&m, &seller, &store).await, (0, 0));

    // A refused cancel changes nothing; an abandoned shipment refunds.
    let s = payable(&m, 3_000, &store, None, None).await;
    pay(&m, &p, &s.id, eur(3_000)).await;
    to_settlement(&m, ServiceName::Delivery, Message::CancelDecided { order_id: s.id.clone(), accepted: false }).await;
    assert_eq!(view(&m, &s.id).await["status"], "captured");
    to_settlement(
        &m,
        ServiceName::Delivery,
        Message::ShipmentAbandoned { order_id: s.id.clone(), reason: "unroutable".into() },
    )
    .await;
    assert_eq!(view(&m, &s.id).await["status"], "refunded");

    // The broker cancels an order with a partial payment: the partial payment goes back.
    let b = payable(&m, 3_000, &store, None, None).await;
    pay(&m, &p, &b.id, eur(1_000)).await;
    to_settlement(&m, ServiceName::Broker, Message::OrderCancelled { order_id: b.id.clone(), reason: "buyer".into() })
        .await;
    let v = view(&m, &b.id).await;
    assert_eq!((v["status"].as_str(), v["paid"]["amount"].as_i64()), (Some("cancelled"), Some(0)));

    let refunds: Vec<i64> = events(&m, &p)
        .await
        .iter()
        .filter(|e| e["type"] == "refund.succeeded")
        .map(|e| e["data"]["amount"]["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(refunds, [2_000, 3_000, 4_000, 3_000, 1_000]);
    let tb = assert_ledger_sound(&m).await;
    assert_eq!(kind_balance(&tb, "escrow"), 0);
    assert_eq!(kind_balance(&tb, "partner_clearing"), 0);
}

#[tokio::test]
async fn a_partial_payment_is_refunded_when_the_order_expires_at_pay_by() {
    let m = TestMarket::spawn_with(|c| {
        let given = "[settings.settlement]\nsweep_interval_secs = 1\n";
        c.settings = shared::config::Config::from_toml(given).unwrap().settings;
    })
    .await;
    let Books { p, store, .. } = books(&m).await;
    let o = Order { id: OrderId::generate(), product: ProductId::generate() };
    let pay_by = shared::time::now() + chrono::Duration::seconds(2);
    let payable = Message::OrderPayable {
        order_id: o.id.clone(),
        amount: eur(3_000),
        store_id: store.clone(),
        product_id: o.product.clone(),
        referral_store_id: None,
        shipper_store_id: None,
        pay_by: Some(pay_by),
        points_discount: None,
        public_amount: None,
        group_discount: None,
    };
    to_settlement(&m, ServiceName::Broker, payable).await;
    pay(&m, &p, &o.id, eur(1_000)).await;
    let v = m
        .eventually("the order's expiry", || async {
            let v = view(&m, &o.id).await;
            (v["status"] == "expired").then_some(v)
        })
        .await;
    assert_eq!(v["paid"]["amount"], 0);
    let last = events(&m, &p).await.pop().unwrap();
    assert_eq!((last["type"].as_str(), last["data"]["reason"].as_str()), (Some("refund.succeeded"), Some("expired")));
    // It takes no more money: the rest is turned away whole.
    let late = pay(&m, &p, &o.id, eur(2_000)).await;
    assert_eq!((late.status, late.reason.as_deref()), (PaymentStatus::Rejected, Some("expired")), "{late:?}");
    assert_ledger_sound(&m).await;
}

#[tokio::test]
async fn sellers_see_their_own_balances_only() {
    let m = TestMarket::spawn().await;
    let (seller, other) = (SellerId::generate(), SellerId::generate());
    let s1 = register_store(&m, &seller).await;
    let token = m.seller_token_for(&seller);
    let url = format!("{}/v1/seller/balance", m.settlement);
    let one = m.get(&url, Some(&token)).await.expect(200);
    assert_eq!((one["store_id"].as_str(), one["available"]["amount"].as_i64()), (Some(s1.as_str()), Some(0)));
    register_store(&m, &seller).await;
    m.get(&url, Some(&token)).await.expect_problem(400, "store_id_required");
    let theirs = register_store(&m, &other).await;
    m.get(&format!("{url}?store_id={theirs}"), Some(&token)).await.expect_problem(403, "forbidden");
    m.get(&url, None).await.expect_problem(401, "unauthorized");
    // A capability is not a seller token; another order's capability reads nothing.
    let o = payable(&m, 100, &s1, None, None).await;
    m.get(&url, Some(&m.capability_for(&o.id))).await.expect_problem(403, "forbidden");
    let stranger = m.capability_for(OrderId::generate());
    m.get(&format!("{}/v1/orders/{}/settlement", m.settlement, o.id), Some(&stranger))
        .await
        .expect_problem(403, "forbidden");
}

fn broker_token(m: &TestMarket) -> String {
    let ring = shared::crypto::KeyRing::load_or_create(&m.config.data_dir, "broker").unwrap();
    shared::auth::TokenSigner::new(ServiceName::Broker, &ring).service_token(ServiceName::Settlement).unwrap()
}

#[tokio::test]
async fn report_charges_are_idempotent_and_never_overdraw() {
    let m = TestMarket::spawn().await;
    let Books { p, seller, store } = books(&m).await;
    delivered(&m, &p, &store, 1_000).await;
    assert_eq!(balance(&m, &seller, &store).await, (970, 0));

    let token = broker_token(&m);
    let url = format!("{}/internal/v1/charges", m.settlement);
    let charge =
        |purchase: &str, amount: i64| json!({ "purchase_id": purchase, "store_id": store, "amount": money(amount) });
    m.post(&url, Some(&token), charge("pur-1", 971)).await.expect_problem(409, "insufficient_balance");
    assert_eq!(balance(&m, &seller, &store).await, (970, 0));
    let first = m.post(&url, Some(&token), charge("pur-1", 600)).await.expect(201);
    assert_eq!(m.post(&url, Some(&token), charge("pur-1", 600)).await.expect(201), first);
    assert_eq!(balance(&m, &seller, &store).await, (370, 0));
    m.post(&url, Some(&token), charge("pur-1", 500)).await.expect_problem(409, "purchase_id_reused");
    m.post(&url, Some(&token), charge("pur-2", 371)).await.expect_problem(409, "insufficient_balance");
    // Only the broker may charge.
    let seller_token = m.seller_token_for(&seller);
    m.post(&url, Some(&seller_token), charge("pur-3", 1)).await.expect_problem(403, "forbidden");

    let refund_url = format!("{}/internal/v1/charges/pur-1/refund", m.settlement);
    assert_eq!(m.post(&refund_url, Some(&token), json!({})).await.expect(200)["status"], "refunded");
    m.post(&refund_url, Some(&token), json!({})).await.expect(200);
    assert_eq!(balance(&m, &seller, &store).await, (970, 0));
    let tb = assert_ledger_sound(&m).await;
    assert_eq!(kind_balance(&tb, "report_revenue"), 0);
}

/// What settlement's outbox holds for `order`: (destination, kind) in order.
fn sent_for(m: &TestMarket, order: &OrderId) -> Vec<(String, String)> {
    let db = shared::db::Db::open(&m.config.database_url(ServiceName::Settlement), 1, settlement::MIGRATIONS).unwrap();
    db.read_blocking(|c| settlement::orders::store::messages_sent(c, order)).unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn captures_refusals_and_refunds_tell_the_broker_and_delivery() {
    let m = TestMarket::spawn().await;
    let Books { p, store, .. } = books(&m).await;

    let paid = payable(&m, 1_000, &store, None, None).await;
    pay(&m, &p, &paid.id, eur(400)).await;
    assert!(sent_for(&m, &paid.id).is_empty(), "a partial payment leaves the order unpaid");
    pay(&m, &p, &paid.id, eur(600)).await;
    to_settlement(&m, ServiceName::Delivery, Message::CancelDecided { order_id: paid.id.clone(), accepted: true })
        .await;
    to_settlement(&m, ServiceName::Delivery, Message::CancelDecided { order_id: paid.id.clone(), accepted: true })
        .await;
    assert_eq!(
        sent_for(&m, &paid.id),
        pairs(&[("broker", "order_paid"), ("delivery", "order_paid"), ("broker", "order_refunded")])
    );

    let refused = payable(&m, 1_000, &store, None, None).await;
    let change = Message::SellabilityChanged {
        store_id: store.clone(),
        product_id: refused.product.clone(),
        sellable: false,
        reason: None,
    };
    to_settlement(&m, ServiceName::Broker, change).await;
    pay(&m, &p, &refused.id, eur(1_000)).await;
    assert_eq!(sent_for(&m, &refused.id), pairs(&[("broker", "payment_refused")]));
    // Sellable again: the payment goes through.
    let change = Message::SellabilityChanged {
        store_id: store.clone(),
        product_id: refused.product.clone(),
        sellable: true,
        reason: None,
    };
    to_settlement(&m, ServiceName::Broker, change).await;
    let captured = pay(&m, &p, &refused.id, eur(1_000)).await;
    assert_eq!(captured.status, PaymentStatus::Captured);
    // The partner refunds it all while it is in escrow: delivery hears of it too, so a
    // shipment not yet picked up stops.
    m.refund(&p.key, &captured.payment_id, 1_000).await.expect(201);
    assert_eq!(
        sent_for(&m, &refused.id),
        pairs(&[
            ("broker", "payment_refused"),
            ("broker", "order_paid"),
            ("delivery", "order_paid"),
            ("delivery", "order_refunded"),
            ("broker", "order_refunded"),
        ])
    );
    assert_ledger_sound(&m).await;
}

#[tokio::test]
async fn concurrent_payments_with_different_keys_capture_an_order_once() {
    let m = TestMarket::spawn().await;
    let Books { p, store, .. } = books(&m).await;
    let o = payable(&m, 5_000, &store, None, None).await;
    let calls = (0..12).map(|i| {
        let body = json!({ "order_id": o.id, "amount": money(5_000), "partner_reference": format!("r{i}") });
        let key = format!("key-{i}");
        let m = &m;
        let p = &p;
        async move { pay_raw(m, p, Some(&key), &body).await.expect(201) }
    });
    let answers = futures_util::future::join_all(calls).await;
    let captured = answers.iter().filter(|a| a["status"] == "captured").count();
    let rejected = answers.iter().filter(|a| a["reason"] == "already_paid").count();
    assert_eq!((captured, rejected), (1, 11));
    let v = view(&m, &o.id).await;
    assert_eq!((v["status"].as_str(), v["paid"]["amount"].as_i64()), (Some("captured"), Some(5_000)));
    let tb = assert_ledger_sound(&m).await;
    assert_eq!(kind_balance(&tb, "escrow"), -5_000);
    // The partner reads its payment back; another partner cannot.
    let winner = answers.iter().find(|a| a["status"] == "captured").unwrap();
    let url = format!("{}/v1/payments/{}", m.settlement, json_of(winner, "payment_id"));
    let read = m.get(&url, Some(&p.key)).await.expect(200);
    assert_eq!((read["captured"]["amount"].as_i64(), read["refunded"]["amount"].as_i64()), (Some(5_000), Some(0)));
    let q = partner(&m, None).await;
    m.get(&url, Some(&q.key)).await.expect_problem(404, "unknown_payment");
}

#[tokio::test]
async fn strict_mode_refuses_internal_webhook_urls() {
    let m = TestMarket::spawn_with(|c| c.strict_webhooks = true).await;
    let url = format!("{}/v1/partners", m.settlement);
    for hook in ["http://127.0.0.1:9/hooks", "https://127.0.0.1/hooks", "https://10.0.0.8/x", "https://localhost/x"] {
        m.post(&url, Some(&m.operator), json!({ "name": "p", "webhook_url": hook }))
            .await
            .expect_problem(422, "invalid_webhook_url");
    }
    m.post(&url, Some(&m.operator), json!({ "name": "p", "webhook_url": "https://hooks.partner.example/x" }))
        .await
        .expect(201);
    // Only the operator creates partners.
    m.post(&url, None, json!({ "name": "p" })).await.expect_problem(401, "unauthorized");
}

#[tokio::test]
async fn failed_webhooks_are_logged_retried_and_can_be_sent_again() {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let m = TestMarket::spawn().await;
    // A receiver that fails its first two calls.
    let calls = Arc::new(Mutex::new(0u32));
    let counter = calls.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hooks", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().route(
            "/hooks",
            web::post().to(move || {
                let counter = counter.clone();
                async move {
                    let mut n = counter.lock().unwrap();
                    *n += 1;
                    if *n <= 2 {
                        HttpResponse::ServiceUnavailable().finish()
                    } else {
                        HttpResponse::NoContent().finish()
                    }
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);

    let p = partner(&m, Some(&hook)).await;
    let store = register_store(&m, &SellerId::generate()).await;
    let o = payable(&m, 100, &store, None, None).await;
    pay(&m, &p, &o.id, eur(100)).await;
    let log_url = format!("{}/v1/webhooks/deliveries", m.settlement);
    let log = m
        .eventually("the webhook delivered after retries", || async {
            let v = m.get(&log_url, Some(&p.key)).await.expect(200);
            (v["deliveries"][0]["status"] == "delivered").then_some(v)
        })
        .await;
    let d = &log["deliveries"][0];
    assert_eq!(
        (d["seq"].as_i64(), d["attempts"].as_i64(), d["type"].as_str()),
        (Some(1), Some(3), Some("payment.captured"))
    );
    assert!(d["last_error"].as_str().unwrap().contains("503"), "{d}");

    let again = m.post(&format!("{}/v1/events/1/redeliver", m.settlement), Some(&p.key), json!({})).await.expect(202);
    assert_eq!(again["seq"], 1);
    m.eventually("the redelivery", || async { (*calls.lock().unwrap() >= 4).then_some(()) }).await;
    m.post(&format!("{}/v1/events/9/redeliver", m.settlement), Some(&p.key), json!({}))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn sellers_read_their_remittance_statements() {
    let m = market_without_payout_hold().await;
    let Books { p, seller, store } = books(&m).await;
    delivered(&m, &p, &store, 2_000).await;
    let token = m.seller_token_for(&seller);
    let account_url = format!("{}/v1/seller/payout-account", m.settlement);
    m.get(&account_url, Some(&token)).await.expect_problem(404, "not_found");
    let bad = json!({ "holder": "Shop", "iban": "GB82 WEST 1234 5698 7654 33" });
    m.put(&account_url, Some(&token), bad).await.expect_problem(422, "invalid_iban");
    set_payout_account(&m, &seller, &store).await;
    let shown = m.get(&account_url, Some(&token)).await.expect(200);
    assert_eq!(shown["iban_last4"], "5432");
    assert!(!shown.to_string().contains("WEST"), "the account is shown masked: {shown}");
    m.post(&format!("{}/v1/remittances/run", m.settlement), Some(&m.operator), json!({})).await.expect(200);
    let v = m.get(&format!("{}/v1/seller/remittances", m.settlement), Some(&token)).await.expect(200);
    assert_eq!(v["remittances"].as_array().unwrap().len(), 1);
    assert_eq!(v["remittances"][0]["amount"]["amount"], 1_940);
    assert_eq!(v["remittances"][0]["iban_last4"], "5432");
    let other = m.seller_token_for(SellerId::generate());
    m.get(&format!("{}/v1/seller/remittances?store_id={store}", m.settlement), Some(&other))
        .await
        .expect_problem(403, "forbidden");
    m.post(&format!("{}/v1/remittances/run", m.settlement), Some(&token), json!({}))
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn concurrent_flows_across_orders_and_partners_keep_the_ledger_sound() {
    let m = TestMarket::spawn().await;
    let (p, q) = (partner(&m, None).await, partner(&m, None).await);
    let seller = SellerId::generate();
    let store = register_store(&m, &seller).await;
    let referrer = register_store(&m, &SellerId::generate()).await;
    let mut orders = Vec::new();
    for _ in 0..8 {
        orders.push(payable(&m, 3_000, &store, Some(&referrer), None).await);
    }
    // Each order paid in two halves by two partners, all at once.
    let halves = orders.iter().flat_map(|o| [(o, &p), (o, &q)]).map(|(o, who)| pay(&m, who, &o.id, eur(1_500)));
    let answers = futures_util::future::join_all(halves).await;
    assert!(answers.iter().all(|a| matches!(a.status, PaymentStatus::Partial | PaymentStatus::Captured)));
    for o in &orders {
        assert_eq!(view(&m, &o.id).await["status"], "captured");
    }
    // Half delivered, half cancelled by delivery, while partners refund and report charges run.
    let (delivered, cancelled) = orders.split_at(4);
    let mut jobs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>> = Vec::new();
    for o in delivered {
        jobs.push(Box::pin(to_settlement(
            &m,
            ServiceName::Delivery,
            Message::OrderDelivered { order_id: o.id.clone() },
        )));
        jobs.push(Box::pin(to_settlement(&m, ServiceName::Broker, Message::OrderAccepted { order_id: o.id.clone() })));
    }
    for o in cancelled {
        let msg = Message::CancelDecided { order_id: o.id.clone(), accepted: true };
        jobs.push(Box::pin(to_settlement(&m, ServiceName::Delivery, msg)));
    }
    for (i, a) in answers.iter().take(4).enumerate() {
        let pid = a.payment_id.clone();
        // Payments alternate between the two partners; each refunds its own.
        let key = if i % 2 == 0 { p.key.clone() } else { q.key.clone() };
        let m = &m;
        jobs.push(Box::pin(async move {
            // The refund applies, or the order was already refunded in full; never more.
            let r = m.refund(&key, &pid, 100).await;
            assert!(matches!(r.status.as_u16(), 201 | 422), "{:?}", r.body);
        }));
    }
    futures_util::future::join_all(jobs).await;
    for o in delivered {
        // Released; or released with a part refunded afterwards (a chargeback).
        let status = view(&m, &o.id).await["status"].clone();
        assert!(status == "released" || status == "partially_refunded", "{status}");
    }
    for o in cancelled {
        let v = view(&m, &o.id).await;
        assert_eq!((v["status"].as_str(), v["paid"]["amount"].as_i64()), (Some("refunded"), Some(0)));
    }
    let tb = assert_ledger_sound(&m).await;
    assert_eq!(kind_balance(&tb, "escrow"), 0);
    // Fees on each released order: 3 % marketplace of what escrow held.
    assert!(kind_balance(&tb, "marketplace_fees") < 0);
}

/// A manufacturer's own store (the seller of back-orders) is paid like any store, and the
/// manufacturer reads its balance, sets its payout account and reads its remittances;
/// a salesperson or another manufacturer cannot.
#[tokio::test]
async fn a_manufacturer_reads_its_own_stores_money() {
    let m = TestMarket::spawn().await;
    let p = partner(&m, None).await;
    let (mfr, other_mfr) = (shared::ids::ManufacturerId::generate(), shared::ids::ManufacturerId::generate());
    let store = StoreId::generate();
    let registered = Message::StoreRegistered {
        store_id: store.clone(),
        seller_id: None,
        manufacturer_id: Some(mfr.clone()),
        union_id: None,
        name: "Maker direct".into(),
        category: "tools".into(),
        region: "north".into(),
    };
    to_settlement(&m, ServiceName::Broker, registered).await;
    let o = delivered(&m, &p, &store, 2_000).await;

    let token = m.manufacturer_token_for(&mfr);
    let url = |path: &str| format!("{}{path}", m.settlement);
    let b = m.get(&url("/v1/seller/balance"), Some(&token)).await.expect(200);
    assert_eq!((b["store_id"].as_str(), b["available"]["amount"].as_i64()), (Some(store.as_str()), Some(1_940)));
    let named = m.get(&url(&format!("/v1/seller/balance?store_id={store}")), Some(&token)).await.expect(200);
    assert_eq!(named, b);
    let body = json!({"holder": "Maker GmbH", "iban": "DE89370400440532013000"});
    m.put(&url("/v1/seller/payout-account"), Some(&token), body).await.expect(200);
    m.get(&url("/v1/seller/remittances"), Some(&token)).await.expect(200);

    // Nobody else reads it.
    let other = m.manufacturer_token_for(&other_mfr);
    m.get(&url(&format!("/v1/seller/balance?store_id={store}")), Some(&other)).await.expect_problem(403, "forbidden");
    m.get(&url("/v1/seller/balance"), Some(&other)).await.expect_problem(404, "not_found");
    let seller = m.seller_token_for(SellerId::generate());
    m.get(&url(&format!("/v1/seller/balance?store_id={store}")), Some(&seller)).await.expect_problem(403, "forbidden");
    let courier_like = m.capability_for(&o.id);
    m.get(&url("/v1/seller/balance"), Some(&courier_like)).await.expect_problem(403, "forbidden");
}
