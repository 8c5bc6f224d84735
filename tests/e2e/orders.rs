//! End-to-end tests: anonymous orders, pairing, the workflow and its mail, the message
//! relay, buyer accounts, and the messages to settlement and delivery.

use crate::helpers::{json_of, money, page_text, TestMarket};
use serde_json::{json, Value};
use shared::config::{Config, ServiceName};
use shared::ids::{OrderId, ProductId, StoreId};
use shared::messages::Message;

const PASSWORD: &str = "correct horse battery";
const BUYER_MAIL: &str = "reader@buyers.example";

/// A union with three stores: A cannot sell the printer toner, B can, C is another
/// store of the union; the seller tokens and the product.
struct World {
    m: TestMarket,
    union_id: String,
    a: String,
    a_token: String,
    b: String,
    b_token: String,
    c: String,
    c_token: String,
    product: String,
}

async fn world() -> World {
    world_with(TestMarket::spawn().await).await
}

async fn world_with(m: TestMarket) -> World {
    let union_id = m.create_union("North Offices", "north").await;
    let (_, a_token) = m.create_seller("Alpha").await;
    let (_b_seller, b_token) = m.create_seller("Beta").await;
    let (_, c_token) = m.create_seller("Gamma").await;
    let a = m.create_store(&a_token, &union_id, "Alpha Office", "office").await;
    let b = m.create_store(&b_token, &union_id, "Beta Office", "office").await;
    let c = m.create_store(&c_token, &union_id, "Gamma Office", "office").await;
    let product = m.create_product(&m.operator, "Toner TX-1", "toner", json!({"colour": "black"}), 1_100).await;
    m.put_offer(&a_token, &a, &product, 1_000, 5, false, json!({"reason": "no licence"})).await;
    m.put_offer(&b_token, &b, &product, 1_000, 10, true, json!({})).await;
    let (union_id, product) = (union_id.into_string(), product.into_string());
    let (a, b, c) = (a.into_string(), b.into_string(), c.into_string());
    World { m, union_id, a, a_token, b, b_token, c, c_token, product }
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.m.broker)
    }

    async fn order(&self, body: Value) -> crate::helpers::Answer {
        self.m.post(&self.url("/v1/orders"), None, body).await
    }

    /// Places an order that must succeed: `(order_id, capability, answer)`.
    async fn place(&self, store: &str, product: &str, quantity: i64, extra: Value) -> (String, String, Value) {
        let mut body = json!({"store_id": store, "product_id": product, "quantity": quantity});
        body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        let v = self.order(body).await.expect(201);
        (json_of(&v, "order_id"), json_of(&v, "capability"), v)
    }

    async fn read(&self, order: &str, token: &str) -> crate::helpers::Answer {
        self.m.get(&self.url(&format!("/v1/orders/{order}")), Some(token)).await
    }

    async fn status(&self, order: &str, token: &str) -> String {
        json_of(&self.read(order, token).await.expect(200), "status")
    }

    async fn stock(&self, store: &str) -> i64 {
        self.stock_of(store, &self.product).await
    }

    /// Offer stock, read by the store's own seller.
    async fn stock_of(&self, store: &str, product: &str) -> i64 {
        let token = [(&self.a, &self.a_token), (&self.b, &self.b_token), (&self.c, &self.c_token)]
            .into_iter()
            .find(|(s, _)| s.as_str() == store)
            .map(|(_, t)| t.clone())
            .expect("a store of the world");
        let v = self.m.get(&self.url(&format!("/v1/stores/{store}/offers/{product}")), Some(&token)).await.expect(200);
        v["stock"].as_i64().unwrap_or_else(|| panic!("no stock in {v}"))
    }

    async fn cancel(&self, order: &str, token: &str, reason: &str) -> crate::helpers::Answer {
        self.m.post(&self.url(&format!("/v1/orders/{order}/cancel")), Some(token), json!({"reason": reason})).await
    }

    fn db(&self) -> shared::db::Db {
        shared::db::Db::open(&self.m.config.database_url(ServiceName::Broker), 2, broker::MIGRATIONS).unwrap()
    }

    /// The messages the broker queued for `to` about `order`.
    fn sent(&self, to: ServiceName, order: &str) -> Vec<(String, Message)> {
        broker::orders::inspect::queued_messages(&self.db())
            .unwrap()
            .into_iter()
            .filter(|(dest, _, e)| dest == to.as_str() && e.message.ordering_key() == order)
            .map(|(_, status, e)| (status, e.message))
            .collect()
    }

    async fn tell(&self, from: ServiceName, message: Message) -> u16 {
        self.m.send_message(from, ServiceName::Broker, message).await
    }

    /// Mails whose text contains every one of `needles`, once the outbox has sent them.
    async fn mails_with(&self, needles: &[&str]) -> Vec<String> {
        self.m
            .eventually(&format!("a mail with {needles:?}"), || async {
                // Long header lines arrive folded: unfold them before matching.
                let found: Vec<String> = self
                    .m
                    .mails()
                    .into_iter()
                    .map(|t| t.replace("\r\n", "\n").replace("\n ", " ").replace("\n\t", " "))
                    .filter(|t| needles.iter().all(|n| t.contains(n)))
                    .collect();
                (!found.is_empty()).then_some(found)
            })
            .await
    }
}

fn oid(s: &str) -> OrderId {
    OrderId::parse(s).unwrap()
}

#[tokio::test]
async fn a_redirected_buyer_orders_reads_with_the_capability_and_the_store_sees_only_a_handle() {
    let w = world().await;
    // At A the toner is non-sellable: 409 with B among the alternatives.
    let refused = w
        .order(json!({"store_id": w.a, "product_id": w.product, "quantity": 2}))
        .await
        .expect_problem(409, "non_sellable");
    assert!(refused["alternatives"].as_array().unwrap().iter().any(|a| a["store_id"] == w.b.as_str()), "{refused}");

    let referral = refused["alternatives"]
        .as_array()
        .and_then(|alts| alts.iter().find(|a| a["store_id"] == w.b.as_str()))
        .and_then(|a| a["referral"].as_str())
        .unwrap_or_else(|| panic!("the alternative carries a referral token: {refused}"))
        .to_string();

    // The referral token from A's alternative earns A the referral.
    let sales_before = broker::orders::inspect::sales_count(&w.db()).unwrap();
    let (order, cap, placed) = w
        .place(
            &w.b,
            &w.product,
            2,
            json!({"referral": referral, "expected_price": money(1_000), "contact": BUYER_MAIL}),
        )
        .await;
    assert_eq!(placed["status"], "awaiting_payment");
    assert_eq!(placed["amount"], money(2_000));
    assert_eq!(placed["store"], json!({"id": w.b, "name": "Beta Office"}));
    assert_eq!(w.stock(&w.b).await, 8, "two units reserved");
    assert_eq!(broker::orders::inspect::sales_count(&w.db()).unwrap(), sales_before + 1, "the sale is registered");

    // The capability reads the order; the buyer sees the store's display name only.
    let mine = w.read(&order, &cap).await.expect(200);
    assert_eq!((mine["order_id"].as_str(), mine["quantity"].as_i64()), (Some(order.as_str()), Some(2)));
    assert_eq!(mine["store"]["name"], "Beta Office");
    for hidden in ["buyer_handle", "seller_id", "email"] {
        assert!(mine.get(hidden).is_none(), "{hidden} shown to the buyer: {mine}");
    }

    // Forged, expired and other-order capabilities.
    let stranger = tempfile::tempdir().unwrap();
    let ring = shared::crypto::KeyRing::load_or_create(stranger.path(), "broker").unwrap();
    let mut claims =
        shared::auth::Claims::new(ServiceName::Broker, &order, shared::auth::Role::Capability, &ServiceName::ALL, 600);
    claims.scope = vec!["read".into()];
    let forged = shared::auth::TokenSigner::new(ServiceName::Broker, &ring).sign(&claims).unwrap();
    w.read(&order, &forged).await.expect_problem(401, "unauthorized");
    let own_ring = shared::crypto::KeyRing::load_or_create(&w.m.config.data_dir, "broker").unwrap();
    claims.exp = shared::time::unix_seconds() - 300;
    let expired = shared::auth::TokenSigner::new(ServiceName::Broker, &own_ring).sign(&claims).unwrap();
    w.read(&order, &expired).await.expect_problem(401, "token_expired");
    let (other, other_cap, _) = w.place(&w.b, &w.product, 1, json!({})).await;
    w.read(&order, &other_cap).await.expect_problem(403, "forbidden");
    w.read(&other, &cap).await.expect_problem(403, "forbidden");
    w.m.get(&w.url(&format!("/v1/orders/{order}")), None).await.expect_problem(401, "unauthorized");

    // Pairing: B's seller lists the order under a per-order handle; A's seller may not read it.
    let list = w.m.get(&w.url("/v1/seller/orders"), Some(&w.b_token)).await.expect(200);
    let orders = list["orders"].as_array().unwrap();
    let row = orders.iter().find(|o| o["order_id"] == order.as_str()).expect("the order is listed");
    let other_row = orders.iter().find(|o| o["order_id"] == other.as_str()).expect("the other order is listed");
    let handle = row["buyer_handle"].as_str().unwrap();
    assert!(handle.starts_with("buyer-"));
    assert_ne!(handle, other_row["buyer_handle"].as_str().unwrap(), "handles link nothing across orders");
    assert_eq!((row["product_id"].as_str(), row["quantity"].as_i64()), (Some(w.product.as_str()), Some(2)));
    assert_eq!((&row["amount"], &row["status"]), (&money(2_000), &json!("awaiting_payment")));
    assert_eq!(row["shipment_status"], "not_requested");
    assert_eq!(row["referral_store_id"], w.a.as_str());
    w.read(&order, &w.a_token).await.expect_problem(403, "forbidden");
    assert_eq!(w.read(&order, &w.b_token).await.expect(200)["buyer_handle"], handle);
    let a_list = w.m.get(&w.url("/v1/seller/orders"), Some(&w.a_token)).await.expect(200);
    assert_eq!(a_list["orders"], json!([]));

    // Settlement learns the price, payee and referrer; delivery what to move.
    let to_settlement = w.sent(ServiceName::Settlement, &order);
    assert!(
        to_settlement.iter().any(|(_, m)| matches!(m, Message::OrderPayable { amount, store_id, referral_store_id, shipper_store_id: None, .. }
            if amount.amount == 2_000 && store_id.as_str() == w.b && referral_store_id.as_ref().map(|s| s.as_str()) == Some(w.a.as_str()))),
        "{to_settlement:?}"
    );
    let to_delivery = w.sent(ServiceName::Delivery, &order);
    assert!(
        to_delivery
            .iter()
            .any(|(_, m)| matches!(m, Message::ShipmentRequested { quantity: 2, store_id, backorder: false, .. }
            if store_id.as_str() == w.b)),
        "{to_delivery:?}"
    );

    // Both services take them: the outbox marks them delivered, and settlement answers
    // the buyer's capability with the expected value.
    w.m.eventually("order_payable and shipment_requested delivered", || async {
        let done = |to| w.sent(to, &order).iter().all(|(status, _)| status == "delivered");
        (done(ServiceName::Settlement) && done(ServiceName::Delivery)).then_some(())
    })
    .await;
    let settlement = w.m.get(&format!("{}/v1/orders/{order}/settlement", w.m.settlement), Some(&cap)).await;
    assert_eq!(settlement.expect(200)["expected"], money(2_000));

    // Mail: the seller hears of the order, the buyer (who opted in) too; neither mail
    // carries the buyer's address in its text.
    let seller_mail = w.mails_with(&[&format!("New order {order}"), "Quantity: 2", "Price: 20.00 EUR"]).await;
    assert!(seller_mail.iter().all(|t| !t.contains(BUYER_MAIL)), "{seller_mail:?}");
    let buyer_mail = w.mails_with(&[&format!("Order {order} received"), &format!("To: {BUYER_MAIL}")]).await;
    assert!(buyer_mail[0].contains("Status: placed"), "{}", buyer_mail[0]);
    assert!(!buyer_mail[0].contains("Beta Office") && !buyer_mail[0].contains("20.00"), "{}", buyer_mail[0]);
    let db = w.db();
    assert!(broker::orders::inspect::contact_exists(&db, &oid(&order)).unwrap());

    // Paid, shipped, delivered by message; the contact is shredded when the order closes.
    assert_eq!(w.tell(ServiceName::Settlement, Message::OrderPaid { order_id: oid(&order) }).await, 204);
    assert_eq!(w.status(&order, &cap).await, "paid");
    assert_eq!(w.tell(ServiceName::Delivery, Message::OrderShipped { order_id: oid(&order) }).await, 204);
    assert_eq!(w.status(&order, &cap).await, "shipped");
    let late = w.m.post(&w.url(&format!("/v1/orders/{order}/cancel")), Some(&cap), json!({"reason": "too late"})).await;
    assert_eq!(late.expect_problem(409, "invalid_transition")["status"], "shipped");
    assert_eq!(w.tell(ServiceName::Delivery, Message::OrderDelivered { order_id: oid(&order) }).await, 204);
    assert_eq!(w.status(&order, &cap).await, "delivered");
    assert!(!broker::orders::inspect::contact_exists(&db, &oid(&order)).unwrap(), "contact shredded");
    w.mails_with(&[&format!("Order {order} delivered"), &format!("To: {BUYER_MAIL}")]).await;
    // A message from the wrong service is refused.
    assert_ne!(w.tell(ServiceName::Delivery, Message::OrderPaid { order_id: oid(&other) }).await, 204);
    assert_eq!(w.status(&other, &other_cap).await, "awaiting_payment");
}

/// A product that needs the manufacturer's approval, offered by B with price confirmation.
async fn approval_product(w: &World) -> (String, String, String) {
    let (maker, _store, maker_token) = w.m.create_manufacturer("Tonerworks").await;
    let v =
        w.m.post(
            &w.url("/v1/products"),
            Some(&w.m.operator),
            json!({"name": "Drum DR-9", "kind": "drum", "attributes": {}, "list_price": money(2_500),
                   "manufacturer_id": maker, "requires_approval": true}),
        )
        .await
        .expect(201);
    let product = json_of(&v, "id");
    w.m.put_offer(&w.b_token, &w.b, &product, 2_000, 4, true, json!({"requires_price_confirmation": true})).await;
    (product, maker.into_string(), maker_token)
}

#[tokio::test]
async fn the_seller_confirms_the_manufacturer_approves_and_the_buyer_cancels_with_mail_to_both() {
    let w = world().await;
    let (product, _maker, maker_token) = approval_product(&w).await;
    let (order, cap, placed) = w.place(&w.b, &product, 2, json!({"contact": BUYER_MAIL})).await;
    assert_eq!(placed["status"], "awaiting_confirmation");
    assert!(w.sent(ServiceName::Settlement, &order).is_empty(), "nothing is payable before the price is final");
    w.mails_with(&[&format!("Order {order}: please confirm the price")]).await;

    // Only the store confirms, only the manufacturer approves, each in its turn.
    let url = |step: &str| w.url(&format!("/v1/orders/{order}/{step}"));
    w.m.post(&url("confirm"), Some(&cap), json!({})).await.expect_problem(403, "forbidden");
    w.m.post(&url("confirm"), Some(&w.a_token), json!({})).await.expect_problem(403, "forbidden");
    let early = w.m.post(&url("approve"), Some(&maker_token), json!({})).await;
    assert_eq!(early.expect_problem(409, "invalid_transition")["status"], "awaiting_confirmation");
    let confirmed = w.m.post(&url("confirm"), Some(&w.b_token), json!({"price": money(1_900)})).await.expect(200);
    assert_eq!((&confirmed["status"], &confirmed["amount"]), (&json!("awaiting_approval"), &money(3_800)));
    w.m.post(&url("confirm"), Some(&w.b_token), json!({})).await.expect_problem(409, "invalid_transition");

    let waiting = w.m.get(&w.url("/v1/manufacturer/orders"), Some(&maker_token)).await.expect(200);
    assert!(waiting["orders"].as_array().unwrap().iter().any(|o| o["order_id"] == order.as_str()), "{waiting}");
    w.mails_with(&[&format!("Order {order}: approval requested")]).await;
    w.m.post(&url("approve"), Some(&w.b_token), json!({})).await.expect_problem(403, "forbidden");
    let approved = w.m.post(&url("approve"), Some(&maker_token), json!({})).await.expect(200);
    assert_eq!(approved["status"], "awaiting_payment");
    assert!(w
        .sent(ServiceName::Settlement, &order)
        .iter()
        .any(|(_, m)| matches!(m, Message::OrderPayable { amount, .. } if amount.amount == 3_800)));

    // The approval mail carries what the seed lists to the store; the buyer's, the order
    // number and its status only.
    let date = json_of(&w.read(&order, &cap).await.expect(200), "created_at");
    let mail = w.mails_with(&[&format!("Subject: Order {order} approved"), BUYER_MAIL]).await;
    assert!(mail[0].contains(&format!("Order number: {order}")) && mail[0].contains("Status: awaiting_payment"));
    for detail in ["Drum DR-9", "38.00", "Beta Office", "Quantity", date.as_str()] {
        assert!(!mail[0].contains(detail), "the buyer's mail tells `{detail}`: {}", mail[0]);
    }
    let mail = w.mails_with(&[&format!("Subject: Order {order} approved"), "@sellers.example"]).await;
    for field in [
        format!("Order number: {order}"),
        format!("Order date: {date}"),
        "Item: Drum DR-9".into(),
        "Quantity: 2".into(),
        "Price: 38.00 EUR".into(),
        "Delivery time: within 3 days".into(),
        "Store: Beta Office".into(),
        "Store contact:".into(),
    ] {
        assert!(mail[0].contains(&field), "{field} missing: {}", mail[0]);
    }

    // The buyer cancels before paying: at once, stock back, settlement told, both mailed.
    assert_eq!(w.stock_of(&w.b, &product).await, 2);
    w.m.post(&url("cancel"), Some(&cap), json!({"reason": ""})).await.expect_problem(422, "invalid_reason");
    let cancelled = w.m.post(&url("cancel"), Some(&cap), json!({"reason": "found it cheaper"})).await.expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(w.stock_of(&w.b, &product).await, 4, "the reserved stock is back");
    assert!(w
        .sent(ServiceName::Settlement, &order)
        .iter()
        .any(|(_, m)| matches!(m, Message::OrderCancelled { reason, .. } if reason == "found it cheaper")));
    let mail = w.mails_with(&[&format!("Subject: Order {order} cancelled"), "@sellers.example"]).await;
    assert!(mail[0].contains("Reason: found it cheaper") && mail[0].contains("Item: Drum DR-9"), "{}", mail[0]);
    let mail = w.mails_with(&[&format!("Subject: Order {order} cancelled"), BUYER_MAIL]).await;
    assert!(mail[0].contains("Status: cancelled") && !mail[0].contains("Drum DR-9"), "{}", mail[0]);
    let again = w.m.post(&url("cancel"), Some(&w.b_token), json!({"reason": "twice"})).await;
    assert_eq!(again.expect_problem(409, "invalid_transition")["status"], "cancelled");
    // A cancelled order cannot be paid: a late payment changes nothing.
    assert_eq!(w.tell(ServiceName::Settlement, Message::OrderPaid { order_id: oid(&order) }).await, 204);
    assert_eq!(w.status(&order, &cap).await, "cancelled");
}

#[tokio::test]
async fn the_manufacturer_may_refuse_and_the_seller_may_cancel() {
    let w = world().await;
    let (product, _maker, maker_token) = approval_product(&w).await;
    let (order, cap, _) = w.place(&w.b, &product, 1, json!({})).await;
    w.m.post(&w.url(&format!("/v1/orders/{order}/confirm")), Some(&w.b_token), json!({})).await.expect(200);
    let refused =
        w.m.post(&w.url(&format!("/v1/orders/{order}/refuse")), Some(&maker_token), json!({"reason": "price mistake"}))
            .await
            .expect(200);
    assert_eq!((&refused["status"], &refused["reason"]), (&json!("cancelled"), &json!("price mistake")));
    assert!(w.sent(ServiceName::Settlement, &order).is_empty(), "settlement never heard of it");
    w.mails_with(&[&format!("Order {order} cancelled"), "Reason: price mistake"]).await;
    assert_eq!(w.status(&order, &cap).await, "cancelled");

    let (second, _, _) = w.place(&w.b, &w.product, 1, json!({})).await;
    let by_store =
        w.m.post(&w.url(&format!("/v1/orders/{second}/cancel")), Some(&w.b_token), json!({"reason": "cannot deliver"}))
            .await
            .expect(200);
    assert_eq!(by_store["status"], "cancelled");
    assert_eq!(w.stock(&w.b).await, 10);
}

#[tokio::test]
async fn a_paid_order_is_cancelled_only_as_delivery_decides_and_messages_may_come_out_of_order() {
    let w = world().await;
    let (order, cap, _) = w.place(&w.b, &w.product, 3, json!({})).await;
    let id = oid(&order);
    // A pickup reported before the payment is refused for now and applied after it.
    assert_ne!(w.tell(ServiceName::Delivery, Message::OrderShipped { order_id: id.clone() }).await, 204);
    assert_eq!(w.status(&order, &cap).await, "awaiting_payment");
    assert_eq!(w.tell(ServiceName::Settlement, Message::OrderPaid { order_id: id.clone() }).await, 204);
    assert_eq!(w.status(&order, &cap).await, "paid");
    assert_eq!(w.stock(&w.b).await, 7);

    // Paid: the cancel is a request to delivery, which decides. Delivery (the real one)
    // has picked nothing up, so it accepts, and the order ends with its stock restored.
    let asked = w.cancel(&order, &cap, "changed my mind").await.expect(202);
    assert_eq!(asked["status"], "cancel_requested");
    assert!(w
        .sent(ServiceName::Delivery, &order)
        .iter()
        .any(|(_, m)| matches!(m, Message::CancelRequested { reason, .. } if reason == "changed my mind")));
    w.m.eventually("delivery's decision", || async { (w.status(&order, &cap).await == "cancelled").then_some(()) })
        .await;
    assert_eq!(w.stock(&w.b).await, 10, "stock restored once");
    let v = w.read(&order, &cap).await.expect(200);
    assert_eq!(v["reason"], "changed my mind");
    // The refund that follows, repeats and late decisions change nothing more.
    let refunded =
        Message::OrderRefunded { order_id: id.clone(), reason: "cancelled".into(), amount: None, partial: false };
    assert_eq!(w.tell(ServiceName::Settlement, refunded.clone()).await, 204);
    assert_eq!(w.tell(ServiceName::Settlement, refunded).await, 204);
    assert_eq!(
        w.tell(ServiceName::Delivery, Message::CancelDecided { order_id: id.clone(), accepted: false }).await,
        204
    );
    assert_eq!(w.status(&order, &cap).await, "cancelled");
    assert_eq!(w.stock(&w.b).await, 10);

    // A decision with no request pending changes nothing; from the first pickup a cancel is
    // 409. (A refused request going back to `paid` is in the state machine's unit tests:
    // the real delivery, with nothing picked up, always accepts.)
    let (second, second_cap, _) = w.place(&w.b, &w.product, 1, json!({})).await;
    let sid = oid(&second);
    assert_eq!(w.tell(ServiceName::Settlement, Message::OrderPaid { order_id: sid.clone() }).await, 204);
    assert_eq!(
        w.tell(ServiceName::Delivery, Message::CancelDecided { order_id: sid.clone(), accepted: false }).await,
        204
    );
    assert_eq!(w.status(&second, &second_cap).await, "paid", "a decision without a request changes nothing");
    let seller_view = w.read(&second, &w.b_token).await.expect(200);
    assert_eq!(seller_view["shipment_status"], "awaiting_pickup");
    assert_eq!(w.tell(ServiceName::Delivery, Message::OrderShipped { order_id: sid.clone() }).await, 204);
    let late = w.cancel(&second, &w.b_token, "too late").await;
    assert_eq!(late.expect_problem(409, "invalid_transition")["status"], "shipped");

    // A refused payment ends an unpaid order, says why and shows where else to buy.
    w.m.put_offer(&w.c_token, &w.c, &w.product, 1_050, 6, true, json!({})).await;
    let (third, third_cap, _) = w.place(&w.b, &w.product, 1, json!({})).await;
    let refused = Message::PaymentRefused { order_id: oid(&third), reason: "non_sellable".into() };
    assert_eq!(w.tell(ServiceName::Settlement, refused).await, 204);
    let v = w.read(&third, &third_cap).await.expect(200);
    assert_eq!(v["status"], "cancelled");
    assert!(v["note"].as_str().unwrap().contains("non_sellable"), "{v}");
    let offered = v["alternatives"].as_array().unwrap_or_else(|| panic!("no alternatives: {v}"));
    assert!(offered.iter().any(|a| a["store_id"] == w.c.as_str()), "the buyer is sent to C: {v}");
    assert_eq!(w.stock(&w.b).await, 9, "the third order's unit is back; the shipped one is gone");
    assert!(w.sent(ServiceName::Settlement, &third).iter().any(|(_, m)| matches!(m, Message::OrderCancelled { .. })));
}

#[tokio::test]
async fn bad_orders_are_refused_with_a_stable_code_and_leave_nothing_behind() {
    let w = world().await;
    let before = broker::orders::inspect::sales_count(&w.db()).unwrap();
    let base = |extra: Value| {
        let mut b = json!({"store_id": w.b, "product_id": w.product, "quantity": 1});
        b.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap());
        b
    };
    let drift = w.order(base(json!({"expected_price": money(900)}))).await.expect_problem(409, "price_changed");
    assert_eq!(drift["current_price"], money(1_000));
    w.order(base(json!({"quantity": 0}))).await.expect_problem(422, "invalid_quantity");
    w.order(base(json!({"quantity": 1_000_000}))).await.expect_problem(422, "invalid_quantity");
    w.order(base(json!({"contact": "not an address"}))).await.expect_problem(422, "invalid_contact");
    w.order(base(json!({"points": 10}))).await.expect_problem(401, "unauthorized");
    w.order(base(json!({"store_id": "sto_00000000000000000000000000000000"}))).await.expect_problem(404, "not_found");
    w.order(base(json!({"store_id": "nope"}))).await.expect_problem(422, "invalid_body");
    w.order(base(json!({"quantity": 11}))).await.expect_problem(409, "out_of_stock");
    assert_eq!(w.stock(&w.b).await, 10);
    assert_eq!(broker::orders::inspect::sales_count(&w.db()).unwrap(), before);
    assert_eq!(w.m.get(&w.url("/v1/seller/orders"), Some(&w.b_token)).await.expect(200)["orders"], json!([]));
}

#[tokio::test]
async fn a_union_store_ships_when_the_seller_is_short_and_the_seller_keeps_the_sale() {
    let w = world().await;
    w.m.put_offer(&w.c_token, &w.c, &w.product, 1_050, 10, true, json!({})).await;
    // B is short but opted in to union fulfilment; A's stores are left out (non-sellable).
    w.m.put_offer(&w.b_token, &w.b, &w.product, 1_000, 1, true, json!({"union_fulfilment": true})).await;
    let (order, _, placed) = w.place(&w.b, &w.product, 4, json!({})).await;
    assert_eq!(placed["amount"], money(4_000), "the selling store's price");
    assert_eq!(placed["store"]["id"], w.b.as_str());
    assert_eq!(w.stock(&w.c).await, 6, "the shipper's stock is reserved");
    assert_eq!(w.stock(&w.b).await, 1);
    let row = w.read(&order, &w.b_token).await.expect(200);
    assert_eq!(row["shipper_store_id"], w.c.as_str());
    assert!(w.sent(ServiceName::Settlement, &order).iter().any(|(_, m)| matches!(m,
        Message::OrderPayable { store_id, shipper_store_id: Some(s), .. } if store_id.as_str() == w.b && s.as_str() == w.c)));
    // Without the opt-in, a short store is 409 with alternatives.
    w.m.put_offer(&w.b_token, &w.b, &w.product, 1_000, 1, true, json!({})).await;
    let short = w
        .order(json!({"store_id": w.b, "product_id": w.product, "quantity": 2}))
        .await
        .expect_problem(409, "out_of_stock");
    assert!(short["alternatives"].as_array().unwrap().iter().any(|a| a["store_id"] == w.c.as_str()));
    let _ = &w.union_id;
}

#[tokio::test]
async fn buyer_and_store_talk_through_the_relay_without_learning_who_the_other_is() {
    let w = world().await;
    let (order, cap, _) = w.place(&w.b, &w.product, 1, json!({})).await;
    let url = w.url(&format!("/v1/orders/{order}/messages"));
    let sent = w.m.post(&url, Some(&cap), json!({"body": "Can you gift-wrap it?"})).await.expect(201);
    assert_eq!(sent["author"], "buyer");
    w.m.post(&url, Some(&w.b_token), json!({"body": "Yes, gladly."})).await.expect(201);
    w.m.post(&url, Some(&w.a_token), json!({"body": "spam"})).await.expect_problem(403, "forbidden");
    w.m.post(&url, Some(&cap), json!({"body": "   "})).await.expect_problem(422, "invalid_message");
    let (_, other_cap, _) = w.place(&w.b, &w.product, 1, json!({})).await;
    w.m.get(&url, Some(&other_cap)).await.expect_problem(403, "forbidden");
    for token in [&cap, &w.b_token] {
        let list = w.m.get(&url, Some(token)).await.expect(200);
        let msgs = list["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!((&msgs[0]["author"], &msgs[0]["body"]), (&json!("buyer"), &json!("Can you gift-wrap it?")));
        assert_eq!((&msgs[1]["author"], &msgs[1]["body"]), (&json!("store"), &json!("Yes, gladly.")));
        assert_eq!(msgs[0].as_object().unwrap().len(), 4, "seq, author, body, created_at only: {}", msgs[0]);
    }
    let note = w.mails_with(&[&format!("Order {order}: a message from the buyer"), "@sellers.example"]).await;
    assert!(!note[0].contains("gift-wrap"), "the text stays in the relay");
}

async fn buyer_account(w: &World, handle: &str) -> (String, String) {
    let v = w.m.post(&w.url("/v1/buyers"), None, json!({"handle": handle, "password": PASSWORD})).await.expect(201);
    let s =
        w.m.post(&w.url("/v1/buyer-sessions"), None, json!({"handle": handle, "password": PASSWORD})).await.expect(200);
    assert_eq!(s["token_type"], "Bearer");
    (json_of(&v, "id"), json_of(&s, "access_token"))
}

#[tokio::test]
async fn buyer_accounts_hold_equipment_group_prices_and_collection_points_but_orders_stay_anonymous() {
    let w = world().await;
    let (buyer_id, token) = buyer_account(&w, "toner.fan").await;
    w.m.post(&w.url("/v1/buyers"), None, json!({"handle": "Toner.Fan", "password": PASSWORD}))
        .await
        .expect_problem(409, "handle_taken");
    w.m.post(&w.url("/v1/buyers"), None, json!({"handle": "x@y.example", "password": PASSWORD}))
        .await
        .expect_problem(422, "invalid_handle");
    w.m.post(&w.url("/v1/buyer-sessions"), None, json!({"handle": "toner.fan", "password": "wrong password!"}))
        .await
        .expect_problem(401, "unauthorized");

    // Equipment: the broker shows only compatible products.
    let fits = w
        .m
        .post(
            &w.url("/v1/products"),
            Some(&w.m.operator),
            json!({"name": "Toner X1", "kind": "toner", "attributes": {}, "list_price": money(900), "compatible_with": ["X-100"]}),
        )
        .await
        .expect(201);
    let fits = json_of(&fits, "id");
    w.m.put(&w.url("/v1/buyer/equipment"), Some(&token), json!({"equipment": ["X-100"]})).await.expect(200);
    let shown = w.m.get(&w.url("/v1/buyer/products"), Some(&token)).await.expect(200);
    let ids: Vec<&str> =
        shown["products"].as_array().unwrap().iter().map(|p| p["product_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![fits.as_str()], "only the compatible product: {shown}");

    // A price for owners of X-100 (a group, never an account).
    w.m.put(
        &w.url(&format!("/v1/stores/{}/group-prices", w.b)),
        Some(&w.b_token),
        json!({"product_id": w.product, "group": {"equipment": "X-100"}, "price": money(800)}),
    )
    .await
    .expect(200);
    w.m.put(
        &w.url(&format!("/v1/stores/{}/group-prices", w.b)),
        Some(&w.a_token),
        json!({"product_id": w.product, "group": {"min_points": 1}, "price": money(1)}),
    )
    .await
    .expect_problem(403, "forbidden");
    let body = json!({"store_id": w.b, "product_id": w.product, "quantity": 1});
    let anonymous = w.order(body.clone()).await.expect(201);
    assert_eq!(anonymous["amount"], money(1_000));

    // Collection points: a one-time code handed in with three returned cartridges at a
    // store the operator enabled as a collection point, whose balance funds the points.
    let code = w.m.post(&w.url("/v1/buyer/collection-codes"), Some(&token), json!({})).await.expect(201);
    let code = json_of(&code, "code");
    w.m.put(&w.url(&format!("/v1/stores/{}/collection-point", w.c)), Some(&w.m.operator), json!({"enabled": true}))
        .await
        .expect(200);
    w.m.fund_store(&StoreId::parse(&w.c).unwrap(), &ProductId::parse(&w.product).unwrap(), 1_000).await;
    let collection = json!({"store_id": w.c, "code": code, "items": 3});
    let redeemed = w.m.post(&w.url("/v1/seller/collections"), Some(&w.c_token), collection.clone()).await.expect(200);
    assert_eq!(redeemed["points"], 150);
    assert!(!redeemed.to_string().contains("toner.fan") && !redeemed.to_string().contains(&buyer_id));
    w.m.post(&w.url("/v1/seller/collections"), Some(&w.c_token), collection).await.expect_problem(422, "unknown_code");
    let me = w.m.get(&w.url("/v1/buyer"), Some(&token)).await.expect(200);
    assert_eq!((&me["points"], &me["equipment"]), (&json!(150), &json!(["x-100"])));

    // Logged in: the group price, less 100 points.
    let mut with_points = body.clone();
    with_points["points"] = json!(100);
    let placed = w.m.post(&w.url("/v1/orders"), Some(&token), with_points.clone()).await.expect(201);
    assert_eq!((&placed["unit_price"], &placed["amount"]), (&money(800), &money(700)));
    with_points["points"] = json!(1_000);
    w.m.post(&w.url("/v1/orders"), Some(&token), with_points).await.expect_problem(409, "insufficient_points");
    assert_eq!(w.m.get(&w.url("/v1/buyer"), Some(&token)).await.expect(200)["points"], 50);
    // Still paired anonymously: the store sees a handle that is not the account's.
    let order = json_of(&placed, "order_id");
    let row = w.read(&order, &w.b_token).await.expect(200);
    let text = row.to_string();
    assert!(!text.contains("toner.fan") && !text.contains(&buyer_id), "{text}");
    // Cancelled: the points come back.
    let cap = json_of(&placed, "capability");
    w.m.post(&w.url(&format!("/v1/orders/{order}/cancel")), Some(&cap), json!({"reason": "oops"})).await.expect(200);
    assert_eq!(w.m.get(&w.url("/v1/buyer"), Some(&token)).await.expect(200)["points"], 150);
}

#[tokio::test]
async fn no_route_a_seller_can_call_returns_a_capability_an_address_or_a_buyer_account_field() {
    let w = world().await;
    let (buyer_id, token) = buyer_account(&w, "quiet.buyer").await;
    let placed =
        w.m.post(
            &w.url("/v1/orders"),
            Some(&token),
            json!({"store_id": w.b, "product_id": w.product, "quantity": 1, "contact": BUYER_MAIL}),
        )
        .await
        .expect(201);
    let (order, cap) = (json_of(&placed, "order_id"), json_of(&placed, "capability"));
    w.m.post(&w.url(&format!("/v1/orders/{order}/messages")), Some(&cap), json!({"body": "hello"})).await.expect(201);
    assert_eq!(w.tell(ServiceName::Settlement, Message::OrderPaid { order_id: oid(&order) }).await, 204);

    let b = &w.b;
    let p = &w.product;
    let gets = [
        "/v1/seller/orders".to_string(),
        format!("/v1/orders/{order}"),
        format!("/v1/orders/{order}/messages"),
        "/v1/seller/stores".to_string(),
        format!("/v1/seller/stores/{b}/unmet-demand"),
        format!("/v1/seller/stores/{b}/stock-movements"),
        format!("/v1/seller/stores/{b}/suppliers"),
        format!("/v1/stores/{b}"),
        format!("/v1/stores/{b}/offers"),
        format!("/v1/stores/{b}/offers/{p}"),
    ];
    let mut answers = Vec::new();
    for path in &gets {
        let answer = w.m.get(&w.url(path), Some(&w.b_token)).await;
        assert_eq!(answer.status.as_u16(), 200, "{path}: {}", answer.body);
        answers.push((path.clone(), answer.body));
    }
    // The other services' seller routes, with the same broker-issued token.
    for url in [
        format!("{}/v1/seller/reports/catalogue", w.m.broker),
        format!("{}/v1/seller/balance?store_id={b}", w.m.settlement),
        format!("{}/v1/seller/nodes", w.m.delivery),
        format!("{}/v1/seller/dispatches", w.m.delivery),
    ] {
        let answer = w.m.get(&url, Some(&w.b_token)).await;
        assert!(![401, 403].contains(&answer.status.as_u16()), "{url}: {}", answer.body);
        answers.push((url.clone(), answer.body));
    }
    // The shipment's status at delivery, through the broker's view token for the order.
    let answer = w.m.seller_shipment(&order, &w.b_token).await;
    assert!(![401, 403].contains(&answer.status.as_u16()), "shipment view: {}", answer.body);
    answers.push(("shipment view".into(), answer.body));
    let reply =
        w.m.post(&w.url(&format!("/v1/orders/{order}/messages")), Some(&w.b_token), json!({"body": "hi"})).await;
    answers.push(("POST messages".into(), reply.body));
    let cancel =
        w.m.post(&w.url(&format!("/v1/orders/{order}/cancel")), Some(&w.b_token), json!({"reason": "no stock"})).await;
    assert_eq!(cancel.status.as_u16(), 202);
    answers.push(("POST cancel".into(), cancel.body));

    fn keys(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let forbidden_keys = ["capability", "address", "contact", "buyer_id", "handle", "email", "line1", "postal_code"];
    for (path, body) in &answers {
        let text = body.to_string();
        for secret in [cap.as_str(), BUYER_MAIL, "quiet.buyer", buyer_id.as_str()] {
            assert!(!text.contains(secret), "{path} leaks {secret}: {text}");
        }
        let mut found = Vec::new();
        keys(body, &mut found);
        for k in forbidden_keys {
            assert!(!found.iter().any(|f| f == k), "{path} has a `{k}` field: {text}");
        }
    }
    // And the store's mail never carries the buyer's address or account.
    let mails = w.mails_with(&[&format!("New order {order}"), "@sellers.example"]).await;
    assert!(mails.iter().all(|t| !t.contains(BUYER_MAIL) && !t.contains("quiet.buyer")));
}

#[tokio::test]
async fn unpaid_orders_expire_at_settlements_deadline_and_give_their_stock_back_paid_ones_stay() {
    let m = TestMarket::spawn_with(|c| {
        let quick = shared::config::Config::from_toml(
            "[settings.broker]\npay_within_secs = 2\nexpiry_sweep_secs = 1\n[settings.settlement]\nsweep_interval_secs = 1\n",
        );
        c.settings.extend(quick.unwrap().settings);
    })
    .await;
    let w = world_with(m).await;
    let (unpaid, unpaid_cap, placed) = w.place(&w.b, &w.product, 2, json!({"contact": BUYER_MAIL})).await;
    assert!(placed["pay_by"].is_string(), "the buyer sees the deadline: {placed}");
    let (paid, paid_cap, _) = w.place(&w.b, &w.product, 3, json!({})).await;
    assert_eq!(w.tell(ServiceName::Settlement, Message::OrderPaid { order_id: oid(&paid) }).await, 204);
    w.m.eventually("the unpaid order expires", || async {
        (w.status(&unpaid, &unpaid_cap).await == "expired").then_some(())
    })
    .await;
    assert_eq!(w.read(&unpaid, &unpaid_cap).await.expect(200)["reason"], "not paid in time");
    assert_eq!(w.stock(&w.b).await, 7, "the unpaid order's two units are back, the paid three are not");
    // Settlement decided: the broker sent no cancellation of its own.
    assert!(!w.sent(ServiceName::Settlement, &unpaid).iter().any(|(_, m)| matches!(m, Message::OrderCancelled { .. })));
    let s = w.m.get(&format!("{}/v1/orders/{unpaid}/settlement", w.m.settlement), Some(&unpaid_cap)).await.expect(200);
    assert_eq!(s["status"], "expired", "{s}");
    // The buyer hears of it; afterwards no sealed copy of the contact is left anywhere.
    w.mails_with(&[&format!("Order {unpaid} expired"), &format!("To: {BUYER_MAIL}"), "not paid in time"]).await;
    let db = w.db();
    assert!(!broker::orders::inspect::contact_exists(&db, &oid(&unpaid)).unwrap());
    w.m.eventually("sent buyer mail redacted", || async {
        (broker::orders::inspect::unredacted_buyer_mail(&db, &oid(&unpaid)).unwrap() == 0).then_some(())
    })
    .await;
    assert_eq!(w.status(&paid, &paid_cap).await, "paid");
}

#[tokio::test]
async fn a_back_order_is_sold_and_shipped_by_the_manufacturer() {
    let w = world().await;
    let (maker, maker_store, maker_token) = w.m.create_manufacturer("Tonerworks").await;
    let (maker, maker_store) = (maker.into_string(), maker_store.into_string());
    let v =
        w.m.post(
            &w.url("/v1/products"),
            Some(&w.m.operator),
            json!({"name": "Toner TX-2", "kind": "toner", "attributes": {}, "list_price": money(1_500),
                   "manufacturer_id": maker, "backorder_days": 10}),
        )
        .await
        .expect(201);
    let product = json_of(&v, "id");
    w.m.put_offer(&w.a_token, &w.a, &product, 1_400, 0, true, json!({})).await;
    // A is empty: the refusal offers the manufacturer's back-order.
    let short = w
        .order(json!({"store_id": w.a, "product_id": product, "quantity": 2}))
        .await
        .expect_problem(409, "out_of_stock");
    assert_eq!(short["backorder"]["store_id"], maker_store.as_str(), "{short}");
    let (order, cap, placed) = w.place(&maker_store, &product, 2, json!({"contact": BUYER_MAIL})).await;
    assert_eq!((&placed["status"], &placed["amount"]), (&json!("awaiting_payment"), &money(3_000)));
    assert!(w.sent(ServiceName::Delivery, &order).iter().any(|(_, m)| matches!(m,
        Message::ShipmentRequested { backorder: true, manufacturer_id: Some(mid), .. } if mid.as_str() == maker)));
    // The manufacturer is this order's seller: it reads it under a handle, mailed at its address.
    let seen = w.read(&order, &maker_token).await.expect(200);
    assert!(seen["buyer_handle"].as_str().unwrap().starts_with("buyer-") && seen["backorder"] == true, "{seen}");
    w.read(&order, &w.b_token).await.expect_problem(403, "forbidden");
    let listed = w.m.get(&w.url("/v1/manufacturer/orders"), Some(&maker_token)).await.expect(200);
    assert!(listed["orders"].as_array().unwrap().iter().any(|o| o["order_id"] == order.as_str()), "{listed}");
    w.mails_with(&[&format!("New order {order}"), "@makers.example", "Delivery time: within 10 days"]).await;
    let msg = w.url(&format!("/v1/orders/{order}/messages"));
    w.m.post(&msg, Some(&maker_token), json!({"body": "Made to order, ten days."})).await.expect(201);
    let list = w.m.get(&msg, Some(&cap)).await.expect(200);
    assert_eq!(list["messages"][0]["author"], "store");
}

// ---- idempotency keys on `POST /v1/orders`

impl World {
    async fn order_keyed(&self, key: &str, body: &Value) -> crate::helpers::Answer {
        self.m.call(reqwest::Method::POST, &self.url("/v1/orders"), None, Some(body), &[("Idempotency-Key", key)]).await
    }

    fn orders_count(&self) -> i64 {
        broker::orders::inspect::orders_count(&self.db()).unwrap()
    }
}

fn replayed(a: &crate::helpers::Answer) -> bool {
    a.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()) == Some("true")
}

#[tokio::test]
async fn an_idempotency_key_answers_its_first_order_again_with_a_fresh_capability() {
    let w = world().await;
    let key = shared::ids::random_hex128();
    let body = json!({"store_id": w.b, "product_id": w.product, "quantity": 2, "contact": BUYER_MAIL});
    let first = w.order_keyed(&key, &body).await;
    assert!(!replayed(&first), "a first answer is not a replay");
    let first = first.expect(201);
    let again = w.order_keyed(&key, &body).await;
    assert!(replayed(&again), "the second answer says it is a replay: {:?}", again.headers);
    let again = again.expect(201);
    for field in ["order_id", "amount", "unit_price", "quantity", "product_id", "status", "store"] {
        assert_eq!(first[field], again[field], "{field} differs: {first} / {again}");
    }
    let order = json_of(&first, "order_id");
    let cap = json_of(&again, "capability");
    assert_eq!(w.read(&order, &cap).await.expect(200)["order_id"], order.as_str(), "the replayed capability works");
    assert_eq!((w.stock(&w.b).await, w.orders_count()), (8, 1), "one order, its stock taken once");

    // What is kept: a hash of the key with the order and its answer, never the key, the
    // capability or the contact.
    let rows = broker::orders::inspect::order_keys(&w.db()).unwrap();
    assert_eq!(rows.len(), 1);
    let (key_hash, request_hash, order_id, answer) = &rows[0];
    assert_eq!(key_hash, &shared::crypto::sha256_hex(key.as_bytes()));
    assert_eq!(order_id.as_deref(), Some(order.as_str()));
    let stored = format!("{key_hash}{request_hash}{}", answer.as_deref().unwrap_or_default());
    for secret in [key.as_str(), json_of(&first, "capability").as_str(), cap.as_str(), BUYER_MAIL, "capability"] {
        assert!(!stored.contains(secret), "{secret} is stored: {stored}");
    }

    // Without a key every request is a new order, as before.
    let plain = json!({"store_id": w.b, "product_id": w.product, "quantity": 1});
    let a = json_of(&w.order(plain.clone()).await.expect(201), "order_id");
    let b = json_of(&w.order(plain).await.expect(201), "order_id");
    assert_ne!(a, b);
    assert_eq!(w.orders_count(), 3);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_and_refusals_do_not_use_a_key_up() {
    let w = world().await;
    let key = shared::ids::random_hex128();
    let body = json!({"store_id": w.b, "product_id": w.product, "quantity": 1});
    let order = json_of(&w.order_keyed(&key, &body).await.expect(201), "order_id");
    let sales = broker::orders::inspect::sales_count(&w.db()).unwrap();
    let other = json!({"store_id": w.b, "product_id": w.product, "quantity": 2});
    w.order_keyed(&key, &other).await.expect_problem(422, "idempotency_key_reused");
    let with_contact = json!({"store_id": w.b, "product_id": w.product, "quantity": 1, "contact": BUYER_MAIL});
    w.order_keyed(&key, &with_contact).await.expect_problem(422, "idempotency_key_reused");
    assert_eq!((w.stock(&w.b).await, w.orders_count()), (9, 1), "nothing placed");
    assert_eq!(broker::orders::inspect::sales_count(&w.db()).unwrap(), sales);
    // Another caller is another request, even with the same body: a signed-in buyer does
    // not get the anonymous order's capability.
    let (_, buyer) = buyer_account(&w, "keyholder").await;
    let url = w.url("/v1/orders");
    let theirs = w.m.call(reqwest::Method::POST, &url, Some(&buyer), Some(&body), &[("Idempotency-Key", &key)]).await;
    theirs.expect_problem(422, "idempotency_key_reused");
    // The first body still replays.
    assert_eq!(json_of(&w.order_keyed(&key, &body).await.expect(201), "order_id"), order);

    // A refusal places nothing and keeps nothing under its key: the same key may place the
    // order once it can be placed.
    let short = shared::ids::random_hex128();
    let eleven = json!({"store_id": w.b, "product_id": w.product, "quantity": 11});
    w.order_keyed(&short, &eleven).await.expect_problem(409, "out_of_stock");
    let drift = json!({"store_id": w.b, "product_id": w.product, "quantity": 1, "expected_price": money(900)});
    w.order_keyed(&short, &drift).await.expect_problem(409, "price_changed");
    assert_eq!((w.stock(&w.b).await, w.orders_count()), (9, 1));
    assert_eq!(broker::orders::inspect::order_keys(&w.db()).unwrap().len(), 1, "only the placed order's key");
    let placed = w.order_keyed(&short, &body).await;
    assert!(!replayed(&placed));
    assert_ne!(json_of(&placed.expect(201), "order_id"), order);
    assert_eq!((w.stock(&w.b).await, w.orders_count()), (8, 2));
}

#[tokio::test]
async fn ten_concurrent_requests_with_one_key_place_exactly_one_order() {
    let w = world().await;
    let key = shared::ids::random_hex128();
    let body = json!({"store_id": w.b, "product_id": w.product, "quantity": 3});
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (client, url, key, body) = (w.m.client.clone(), w.url("/v1/orders"), key.clone(), body.clone());
        tasks.spawn(async move {
            let r = client.post(url).header("Idempotency-Key", key).json(&body).send().await.expect("sent");
            let replayed = r.headers().get("idempotent-replayed").is_some();
            let status = r.status().as_u16();
            (status, replayed, r.json::<Value>().await.unwrap_or(Value::Null))
        });
    }
    let mut ids = Vec::new();
    let mut replays = 0;
    while let Some(done) = tasks.join_next().await {
        let (status, was_replayed, v) = done.unwrap();
        assert_eq!(status, 201, "every request answers with the order: {v}");
        replays += usize::from(was_replayed);
        ids.push(json_of(&v, "order_id"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one order id for all: {ids:?}");
    assert_eq!(replays, 9, "the first placed it, nine replayed it");
    assert_eq!((w.stock(&w.b).await, w.orders_count()), (7, 1), "stock drops by the quantity once");
    let listed = w.m.get(&w.url("/v1/seller/orders"), Some(&w.b_token)).await.expect(200);
    assert_eq!(listed["orders"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(
        broker::orders::inspect::queued_messages(&w.db())
            .unwrap()
            .iter()
            .filter(|(to, _, e)| {
                to == ServiceName::Settlement.as_str() && matches!(e.message, Message::OrderPayable { .. })
            })
            .count(),
        1,
        "settlement hears of one order"
    );
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_400_and_places_nothing() {
    let w = world().await;
    let body = json!({"store_id": w.b, "product_id": w.product, "quantity": 1});
    let long = "k".repeat(256);
    let hex31 = &shared::ids::random_hex128()[..31];
    let weak = [
        // Sixteen of one character passed once, and opened its order for good.
        "aaaaaaaaaaaaaaaa",
        // Long enough, but three different characters.
        "xyzxyzxyzxyzxyzxyzxyzx",
        // 124 bits of hex.
        hex31,
        "0123456789abcdef",
    ];
    for key in weak.into_iter().chain(["", "too-short-key", long.as_str(), "0123456789 abcdef", "0123456789\tabcdef"]) {
        w.order_keyed(key, &body).await.expect_problem(400, "idempotency_key_invalid");
    }
    // Not ASCII, and two keys at once.
    let url = w.url("/v1/orders");
    let odd = reqwest::header::HeaderValue::from_bytes("0123456789abcdéf".as_bytes()).unwrap();
    let r = w.m.client.post(&url).header("Idempotency-Key", odd).json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r =
        w.m.client
            .post(&url)
            .header("Idempotency-Key", shared::ids::random_hex128())
            .header("Idempotency-Key", shared::ids::random_hex128())
            .json(&body)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "idempotency_key_invalid");
    assert_eq!((w.stock(&w.b).await, w.orders_count()), (10, 0));
    assert!(broker::orders::inspect::order_keys(&w.db()).unwrap().is_empty());

    // The header is in the published contract.
    let doc = w.m.get(&w.url("/openapi.json"), None).await.expect(200);
    let post = &doc["paths"]["/v1/orders"]["post"];
    let params = post["parameters"].as_array().cloned().unwrap_or_default();
    assert!(params.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"), "{post}");
    assert!(post["responses"]["201"]["headers"]["Idempotent-Replayed"].is_object(), "{post}");
}

#[tokio::test]
async fn a_key_replayed_after_the_window_answers_the_order_id_and_status_only() {
    let m = TestMarket::spawn_with(|c| {
        c.settings.extend(Config::from_toml("[settings.broker]\norder_key_replay_secs = 1\n").unwrap().settings)
    })
    .await;
    let w = world_with(m).await;
    let key = shared::ids::random_hex128();
    let body = json!({"store_id": w.b, "product_id": w.product, "quantity": 1, "contact": BUYER_MAIL});
    let first = w.order_keyed(&key, &body).await.expect(201);
    let order = json_of(&first, "order_id");
    // The storefront's form, posted once now and again later.
    let form_key = shared::ids::random_hex128();
    let form = [
        ("idempotency_key", form_key.as_str()),
        ("store_id", w.b.as_str()),
        ("product_id", w.product.as_str()),
        ("quantity", "1"),
        ("contact", ""),
    ];
    let from_form = post_order_form(&w.m.broker, &form).await;
    // A reload at once: the same order, and a capability that works.
    let again = w.order_keyed(&key, &body).await;
    assert!(replayed(&again));
    let cap = json_of(&again.expect(201), "capability");
    assert_eq!(w.read(&order, &cap).await.expect(200)["order_id"], order.as_str());

    // Later the key names the order and its status, and opens nothing.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let late = w.order_keyed(&key, &body).await;
    assert!(replayed(&late), "{:?}", late.headers);
    let late = late.expect(200);
    let fields: Vec<&String> = late.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["order_id", "status"], "{late}");
    assert_eq!(late["order_id"], order.as_str());
    assert_eq!(late["status"], "awaiting_payment");
    // The form's page says the order was placed, and shows no receipt code again.
    let page = reqwest::Client::new().post(format!("{}/shop/order", w.m.broker)).form(&form).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("id=\"placed-earlier\"") && page.contains(&from_form), "{page}");
    assert!(!page.contains("id=\"capability\""), "a receipt code was shown again: {page}");
    // The status is the order's own, not the one it was placed with.
    w.m.post(&w.url(&format!("/v1/orders/{order}/cancel")), Some(&cap), json!({"reason": "changed my mind"}))
        .await
        .expect(200);
    assert_eq!(w.order_keyed(&key, &body).await.expect(200)["status"], "cancelled");
    assert_eq!(w.orders_count(), 2, "nothing placed again");
    // Another body under the old key is still refused, not a new order.
    let other = json!({"store_id": w.b, "product_id": w.product, "quantity": 2});
    w.order_keyed(&key, &other).await.expect_problem(422, "idempotency_key_reused");
    assert_eq!(w.orders_count(), 2);

    // The published contract names the later answer.
    let doc = w.m.get(&w.url("/openapi.json"), None).await.expect(200);
    let later = &doc["paths"]["/v1/orders"]["post"]["responses"]["200"];
    assert!(
        later["content"]["application/json"]["schema"]["$ref"].as_str().is_some_and(|r| r.ends_with("PlacedEarlier")),
        "{later}"
    );
}

/// The storefront's order form, posted as the browser posts it: the receipt's order id.
async fn post_order_form(broker: &str, fields: &[(&str, &str)]) -> String {
    let page = page_text(reqwest::Client::new().post(format!("{broker}/shop/order")).form(fields)).await;
    let id = page.split("id=\"order-id\">").nth(1).unwrap_or_else(|| panic!("no receipt: {page}"));
    assert!(page.contains("id=\"capability\""), "the receipt shows a code");
    id.split('<').next().unwrap().to_string()
}

#[tokio::test]
async fn an_idempotency_key_outlives_a_broker_restart() {
    let w = world().await;
    let key = shared::ids::random_hex128();
    let body = json!({"store_id": w.b, "product_id": w.product, "quantity": 1});
    let order = json_of(&w.order_keyed(&key, &body).await.expect(201), "order_id");
    // The storefront's form carries its own key, generated when the form was rendered.
    let form_key = shared::ids::random_hex128();
    let form = [
        ("idempotency_key", form_key.as_str()),
        ("store_id", w.b.as_str()),
        ("product_id", w.product.as_str()),
        ("quantity", "2"),
        ("contact", ""),
    ];
    let from_form = post_order_form(&w.m.broker, &form).await;
    assert_ne!(from_form, order);

    let (config, _dir) = w.m.stop().await;
    let broker = broker::start(&config, std::net::TcpListener::bind(config.broker.addr).unwrap()).unwrap();
    let base = config.broker.public_url();
    let client = reqwest::Client::new();
    let r = client.post(format!("{base}/v1/orders")).header("Idempotency-Key", &key).json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    let v: Value = r.json().await.unwrap();
    assert_eq!(json_of(&v, "order_id"), order);
    let read =
        client.get(format!("{base}/v1/orders/{order}")).bearer_auth(json_of(&v, "capability")).send().await.unwrap();
    assert_eq!(read.status().as_u16(), 200);
    // A reload of the receipt page after the restart shows the same order: the form's key
    // went with the order to the broker's database, as the API shows.
    assert_eq!(post_order_form(&base, &form).await, from_form);
    let same = json!({"store_id": w.b, "product_id": w.product, "quantity": 2});
    let r = client.post(format!("{base}/v1/orders")).header("Idempotency-Key", &form_key).json(&same).send().await;
    assert_eq!(json_of(&r.unwrap().json::<Value>().await.unwrap(), "order_id"), from_form);
    let db = shared::db::Db::open(&config.database_url(ServiceName::Broker), 2, broker::MIGRATIONS).unwrap();
    assert_eq!(broker::orders::inspect::orders_count(&db).unwrap(), 2);
    broker.stop(true).await;
}

#[tokio::test]
async fn action_routes_take_no_body_as_http_clients_send_them() {
    let w = world().await;
    let client = reqwest::Client::new();
    // As `curl -X POST …/cancel` sends it: no body, no Content-Type.
    let (order, cap, _) = w.place(&w.b, &w.product, 1, json!({})).await;
    let a = client.post(w.url(&format!("/v1/orders/{order}/cancel"))).bearer_auth(&cap).send().await.unwrap();
    assert_eq!(a.status(), 200, "{}", a.text().await.unwrap());
    assert_eq!(w.status(&order, &cap).await, "cancelled");
    // An empty body sent as JSON, as several client libraries do.
    let (order, cap, _) = w.place(&w.b, &w.product, 1, json!({})).await;
    let a = client
        .post(w.url(&format!("/v1/orders/{order}/cancel")))
        .bearer_auth(&cap)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 200);
    // A body that is there must still be JSON, and a refusal changes nothing.
    let (order, cap, _) = w.place(&w.b, &w.product, 1, json!({})).await;
    for (content_type, body, status, code) in [
        ("text/plain", r#"{"reason":"x"}"#, 415, "unsupported_media_type"),
        ("application/json", "{", 400, "malformed_json"),
        ("application/json", r#"{"reason":7}"#, 422, "invalid_body"),
    ] {
        let a = client
            .post(w.url(&format!("/v1/orders/{order}/cancel")))
            .bearer_auth(&cap)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(a.status().as_u16(), status, "{content_type} {body}");
        let v: Value = a.json().await.unwrap();
        assert_eq!(v["code"], code);
        assert_eq!(w.status(&order, &cap).await, "awaiting_payment");
    }
}
