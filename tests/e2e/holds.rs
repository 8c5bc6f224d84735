//! Hostile tests of what unpaid orders may hold: a shelf cannot be emptied by orders
//! nobody pays, settlement alone decides when time is up, orders that wait for the store
//! or the manufacturer hold nothing, and placement is rate-limited per client.

use crate::helpers::{json_of, money, Answer, TestMarket};
use serde_json::{json, Value};
use shared::config::{Config, ServiceName};

/// One store with one offer of `stock` units at 10.00 EUR.
struct Shop {
    m: TestMarket,
    store: String,
    token: String,
    product: String,
}

async fn shop_with(stock: i64, settings: &str) -> Shop {
    let settings = settings.to_string();
    let m =
        TestMarket::spawn_with(move |c| c.settings.extend(Config::from_toml(&settings).expect("toml").settings)).await;
    let union_id = m.create_union("Holds", "north").await;
    let (_, token) = m.create_seller("Holder").await;
    let store = m.create_store(&token, &union_id, "Hold Store", "office").await;
    let product = m.create_product(&m.operator, "Ink IX-1", "ink", json!({"colour": "cyan"}), 1_100).await;
    m.put_offer(&token, &store, &product, 1_000, stock, true, json!({})).await;
    Shop { m, store: store.into_string(), token, product: product.into_string() }
}

impl Shop {
    async fn order(&self, quantity: i64) -> Answer {
        let body = json!({"store_id": self.store, "product_id": self.product, "quantity": quantity});
        self.m.post(&format!("{}/v1/orders", self.m.broker), None, body).await
    }

    async fn stock(&self) -> i64 {
        let url = format!("{}/v1/stores/{}/offers/{}", self.m.broker, self.store, self.product);
        self.m.get(&url, Some(&self.token)).await.expect(200)["stock"].as_i64().expect("stock")
    }

    fn db(&self) -> shared::db::Db {
        shared::db::Db::open(&self.m.config.database_url(ServiceName::Broker), 2, broker::MIGRATIONS).unwrap()
    }

    fn orders(&self) -> i64 {
        broker::orders::inspect::orders_count(&self.db()).unwrap()
    }

    async fn status(&self, order: &str, capability: &str) -> String {
        let url = format!("{}/v1/orders/{order}", self.m.broker);
        json_of(&self.m.get(&url, Some(capability)).await.expect(200), "status")
    }

    async fn partner(&self) -> String {
        let body = json!({"name": "Pay Co"});
        let partner = self.m.post(&format!("{}/v1/partners", self.m.settlement), Some(&self.m.operator), body).await;
        json_of(&partner.expect(201), "api_key")
    }

    /// A payment of `amount`, retried while settlement has not heard of the order.
    async fn pay(&self, api_key: &str, order: &str, amount: i64, key: &str) -> Value {
        let body = json!({"order_id": order, "amount": money(amount), "partner_reference": key});
        self.m
            .eventually("settlement to know the order", || {
                let body = body.clone();
                async move {
                    let a = self
                        .m
                        .call(
                            reqwest::Method::POST,
                            &format!("{}/v1/payments", self.m.settlement),
                            Some(api_key),
                            Some(&body),
                            &[("Idempotency-Key", key)],
                        )
                        .await;
                    (a.status.as_u16() == 201).then_some(a.body)
                }
            })
            .await
    }

    async fn settlement_status(&self, order: &str, capability: &str) -> Value {
        let url = format!("{}/v1/orders/{order}/settlement", self.m.settlement);
        self.m.get(&url, Some(capability)).await.expect(200)
    }

    async fn trial_balance(&self) -> Value {
        let url = format!("{}/v1/ledger/trial-balance", self.m.settlement);
        self.m.get(&url, Some(&self.m.operator)).await.expect(200)
    }
}

fn placed(a: Answer) -> (String, String) {
    let v = a.expect(201);
    (json_of(&v, "order_id"), json_of(&v, "capability"))
}

#[tokio::test]
async fn unpaid_orders_cannot_empty_a_shelf() {
    let shop = shop_with(100, "").await;
    // One order holds at most the larger of 10 units and a fifth of the stock.
    let big = shop.order(21).await.expect_problem(409, "quantity_limit");
    assert_eq!(big["max_quantity"], 20, "{big}");
    assert_eq!((shop.stock().await, shop.orders()), (100, 0), "a refused order takes nothing");

    // Together, unpaid orders hold at most half of it.
    let (first, _) = placed(shop.order(20).await);
    placed(shop.order(20).await);
    placed(shop.order(10).await);
    assert_eq!(shop.stock().await, 50);
    let held = shop.order(1).await;
    let retry = held.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    assert!(retry.is_some_and(|s| s >= 1), "stock_on_hold says when to come back");
    held.expect_problem(409, "stock_on_hold");
    assert_eq!((shop.stock().await, shop.orders()), (50, 3), "the refusal moved no stock and placed nothing");

    // Paying frees the share: a paid order no longer holds as an unpaid one.
    let key = shop.partner().await;
    let paid = shop.pay(&key, &first, 20_000, "hold-1").await;
    assert_eq!(paid["status"], "captured", "{paid}");
    shop.m
        .eventually("the broker to hear of the payment", || async {
            shop.order(10).await.status.is_success().then_some(())
        })
        .await;
}

#[tokio::test]
async fn settlement_expires_an_unpaid_order_at_pay_by_refunds_its_partial_payment_and_the_stock_comes_back() {
    let shop =
        shop_with(10, "[settings.broker]\npay_within_secs = 2\n[settings.settlement]\nsweep_interval_secs = 1\n").await;
    let key = shop.partner().await;
    let (order, cap) = placed(shop.order(3).await);
    assert_eq!(shop.stock().await, 7, "payable at once: its stock is held");
    let partial = shop.pay(&key, &order, 1_000, "part-1").await;
    assert_eq!(partial["status"], "partial", "{partial}");
    shop.m
        .eventually("settlement expires the order and the broker hears of it", || async {
            (shop.status(&order, &cap).await == "expired").then_some(())
        })
        .await;
    assert_eq!(shop.stock().await, 10, "the held units are back on the shelf");
    let s = shop.settlement_status(&order, &cap).await;
    assert_eq!((&s["status"], &s["paid"]), (&json!("expired"), &money(0)), "the partial payment went back: {s}");

    // A payment after the deadline is rejected and returned whole; the books do not move.
    let before = shop.trial_balance().await;
    let late = shop.pay(&key, &order, 2_000, "late-1").await;
    assert_eq!((&late["status"], &late["reason"]), (&json!("rejected"), &json!("expired")), "{late}");
    assert_eq!(late["refund"]["amount"], money(2_000));
    let after = shop.trial_balance().await;
    assert_eq!(before["total_debits"], after["total_debits"]);
    assert_eq!(after["total_debits"], after["total_credits"], "{after}");
    assert_eq!(shop.status(&order, &cap).await, "expired");
}

#[tokio::test]
async fn a_payment_after_pay_by_is_rejected_even_before_the_sweeper_runs() {
    // The sweeper never runs during the test: the payment itself finds the order overdue.
    let shop =
        shop_with(10, "[settings.broker]\npay_within_secs = 1\n[settings.settlement]\nsweep_interval_secs = 3600\n")
            .await;
    let key = shop.partner().await;
    let (order, cap) = placed(shop.order(2).await);
    // Wait until settlement knows the order and its deadline has passed.
    shop.m
        .eventually("settlement to know the order", || async {
            let url = format!("{}/v1/orders/{order}/settlement", shop.m.settlement);
            shop.m.get(&url, Some(&cap)).await.status.is_success().then_some(())
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let late = shop.pay(&key, &order, 2_000, "late-2").await;
    assert_eq!((&late["status"], &late["reason"]), (&json!("rejected"), &json!("expired")), "{late}");
    shop.m
        .eventually("the broker hears of the expiry from the payment's transaction", || async {
            (shop.status(&order, &cap).await == "expired").then_some(())
        })
        .await;
    assert_eq!(shop.stock().await, 10);
}

#[tokio::test]
async fn an_order_waiting_for_approval_holds_no_stock_and_ends_out_of_stock_if_the_stock_went() {
    let shop = shop_with(0, "").await;
    let (maker, _, maker_token) = shop.m.create_manufacturer("Inkworks").await;
    let product = json_of(
        &shop
            .m
            .post(
                &format!("{}/v1/products", shop.m.broker),
                Some(&shop.m.operator),
                json!({"name": "Drum DR-1", "kind": "drum", "attributes": {}, "list_price": money(2_500),
                       "manufacturer_id": maker, "requires_approval": true}),
            )
            .await
            .expect(201),
        "id",
    );
    let offer = |stock: i64| shop.m.put_offer(&shop.token, &shop.store, &product, 2_000, stock, true, json!({}));
    // What one order may ask for holds at placement, even for an order that will wait.
    offer(50).await;
    let big = json!({"store_id": shop.store, "product_id": product, "quantity": 11});
    let refused = shop.m.post(&format!("{}/v1/orders", shop.m.broker), None, big).await;
    assert_eq!(refused.expect_problem(409, "quantity_limit")["max_quantity"], 10);
    offer(4).await;
    let body = json!({"store_id": shop.store, "product_id": product, "quantity": 3, "contact": "wait@buyers.example"});
    let (order, cap) = placed(shop.m.post(&format!("{}/v1/orders", shop.m.broker), None, body).await);
    assert_eq!(shop.status(&order, &cap).await, "awaiting_approval");
    let url = format!("{}/v1/stores/{}/offers/{product}", shop.m.broker, shop.store);
    assert_eq!(shop.m.get(&url, Some(&shop.token)).await.expect(200)["stock"], 4, "waiting, it holds nothing");

    // The shelf empties while the manufacturer thinks it over.
    offer(0).await;
    let approve = format!("{}/v1/orders/{order}/approve", shop.m.broker);
    let ended = shop.m.post(&approve, Some(&maker_token), json!({})).await.expect(200);
    assert_eq!((&ended["status"], &ended["reason"]), (&json!("cancelled"), &json!("out_of_stock")), "{ended}");
    let queued = broker::orders::inspect::queued_messages(&shop.db()).unwrap();
    assert!(
        !queued.iter().any(|(dest, _, e)| dest == "settlement" && e.message.ordering_key() == order),
        "settlement never heard of an order that never became payable"
    );
    // Both sides are told.
    shop.m
        .eventually("mail to the buyer and the store", || async {
            let mails = shop.m.mails();
            let about =
                |to: &str| mails.iter().any(|t| t.contains(&format!("Order {order} cancelled")) && t.contains(to));
            (about("To: wait@buyers.example") && about("@sellers.example")).then_some(())
        })
        .await;

    // With stock back, the same kind of order takes it only once approved.
    offer(4).await;
    let body = json!({"store_id": shop.store, "product_id": product, "quantity": 3});
    let (second, cap2) = placed(shop.m.post(&format!("{}/v1/orders", shop.m.broker), None, body).await);
    let approve = format!("{}/v1/orders/{second}/approve", shop.m.broker);
    shop.m.post(&approve, Some(&maker_token), json!({})).await.expect(200);
    assert_eq!(shop.status(&second, &cap2).await, "awaiting_payment");
    assert_eq!(shop.m.get(&url, Some(&shop.token)).await.expect(200)["stock"], 1);
    let read = shop.m.get(&format!("{}/v1/orders/{second}", shop.m.broker), Some(&cap2)).await.expect(200);
    assert!(read["pay_by"].is_string(), "payable: the deadline is set {read}");
}

#[tokio::test]
async fn placement_is_rate_limited_per_client_and_a_refused_request_places_nothing() {
    // Clients come through a configured proxy (the test's loopback).
    let limits =
        "[settings.rate_limits]\nplacement = { per_minute = 1, burst = 3 }\ntrusted_proxies = [\"127.0.0.1\"]\n";
    let shop = shop_with(100, limits).await;
    for _ in 0..3 {
        placed(shop.order(1).await);
    }
    let refused = shop.order(1).await;
    let retry = refused.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    assert!(retry.is_some_and(|s| s >= 1), "Retry-After");
    refused.expect_problem(429, "rate_limited");
    assert_eq!((shop.orders(), shop.stock().await), (3, 97));
    // Another client (relayed by the configured proxy) has its own bucket.
    let body = json!({"store_id": shop.store, "product_id": shop.product, "quantity": 1});
    let other = shop
        .m
        .call(
            reqwest::Method::POST,
            &format!("{}/v1/orders", shop.m.broker),
            None,
            Some(&body),
            &[("x-forwarded-for", "198.51.100.23")],
        )
        .await;
    placed(other);
    assert_eq!(shop.orders(), 4);
}
