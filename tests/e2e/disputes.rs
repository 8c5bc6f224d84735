//! Disputes: the buyer opens one with the order's capability, the store answers (a full
//! refund, a partial offer, or a contest), the buyer takes the offer or escalates, the
//! arbiter decides from a file that names nobody, and settlement executes each decision
//! exactly once.

use crate::browser::no_redirects;
use crate::console::{console_session, csrf_of};
use crate::flows::{north_address, SettledAs, ADDRESS_LINE, RECIPIENT};
use crate::helpers::{post_form, Expect, TestMarket, PASSWORD};
use crate::operators::{operator, sign_in};
use client::broker::disputes::{
    ArbiterDecision, DisputeReason, DisputeStatus, DisputeView, OpenDispute, Outcome, StoreAction, StoreResponse,
};
use client::broker::orders::OrderStatus;
use shared::auth::OperatorRole;
use shared::config::ServiceName;
use shared::ids::{OrderId, PaymentId, ProductId, StoreId};
use shared::messages::Message;
use shared::money::{Currency, Money};

const PRICE: i64 = 4_000;
const SELLER_NAME: &str = "Dana Legalname";

struct Delivered {
    store: StoreId,
    product: ProductId,
    seller_email: String,
    seller_token: String,
    order: OrderId,
    capability: String,
    payment: PaymentId,
    partner_key: String,
}

/// An order of a store whose seller has a name and an address we know, paid and carried
/// to the buyer.
async fn delivered(m: &TestMarket, name: &str) -> Delivered {
    let union = m.create_union(&format!("{name} union"), "north").await;
    let seller_email = format!("{}@sellers.example", shared::ids::random_hex128());
    m.register_seller(SELLER_NAME, &seller_email).await;
    let seller_token = m.login(&seller_email, PASSWORD).await;
    let store = m.create_store(&seller_token, &union, &format!("{name} store"), "tools").await;
    let product =
        m.create_product(&m.operator, &format!("{name} kettle"), "kettle", serde_json::json!({}), PRICE).await;
    m.put_offer(&seller_token, &store, &product, PRICE, 5, true, serde_json::json!({})).await;
    m.branch_with_stock(&product, 3).await;
    let courier = m.courier(&format!("{name} courier"), &format!("{}@couriers.example", name.to_lowercase())).await;
    let placed = m.place(&store, &product, 1).await;
    let (order, capability) = (placed.order_id, placed.capability);
    m.give_address(&order, &capability, &north_address()).await;
    let key = m.partner_key().await;
    let payment = m.pay_in_full(&key, &order, PRICE, name).await.payment_id;
    let shipment = m.routed(&order, &capability).await.shipment_id;
    m.courier_steps(&courier, &shipment, &["picked_up", "delivered"]).await;
    m.broker_shows(&order, &capability, OrderStatus::Delivered).await;
    Delivered { store, product, seller_email, seller_token, order, capability, payment, partner_key: key }
}

fn claim(reason: DisputeReason) -> OpenDispute {
    OpenDispute { reason, message: "The lid is cracked.".into() }
}

fn answer(action: StoreAction, refund_percent: Option<i64>) -> StoreResponse {
    StoreResponse { action, refund_percent, message: "Sorry about that.".into() }
}

async fn available(m: &TestMarket, d: &Delivered) -> Money {
    m.settlement_as(Some(&d.seller_token)).balance(d.store.as_str()).await.done().available
}

async fn arbiter(m: &TestMarket, email: &str) -> String {
    let boot = m.admin_as(ServiceName::Broker, &m.operator);
    boot.create_operator(&operator("Arbiter", email, &[OperatorRole::Arbiter])).await.done();
    sign_in(m, email).await
}

/// The dispute as its buyer reads it, once it reaches `status`.
async fn dispute_shows(m: &TestMarket, d: &Delivered, dispute: &DisputeView, status: DisputeStatus) -> DisputeView {
    let buyer = m.broker_as(Some(&d.capability));
    m.eventually(&format!("the dispute to be {status}"), || async {
        buyer.dispute(d.order.as_str(), dispute.dispute_id.as_str()).await.ok().filter(|v| v.status == status)
    })
    .await
}

#[tokio::test]
async fn a_store_that_accepts_refunds_everything_once() {
    let m = TestMarket::spawn().await;
    let d = delivered(&m, "Refund").await;
    let buyer = m.broker_as(Some(&d.capability));

    // Another order's buyer and the store cannot open this order's dispute.
    let other = m.place(&d.store, &d.product, 1).await;
    m.broker_as(Some(&other.capability))
        .open_dispute(d.order.as_str(), &claim(DisputeReason::Damaged))
        .await
        .refused(403, "forbidden");
    m.broker_as(Some(&d.seller_token))
        .open_dispute(d.order.as_str(), &claim(DisputeReason::Damaged))
        .await
        .refused(403, "forbidden");
    // An empty message changes nothing.
    let empty = OpenDispute { reason: DisputeReason::Damaged, message: "  ".into() };
    buyer.open_dispute(d.order.as_str(), &empty).await.refused(422, "invalid_message");

    let opened = buyer.open_dispute(d.order.as_str(), &claim(DisputeReason::Damaged)).await.done();
    assert_eq!((opened.status, opened.messages.len()), (DisputeStatus::Open, 1));
    m.broker_shows(&d.order, &d.capability, OrderStatus::Disputed).await;
    // Once per order; and a disputed order is not accepted, by the buyer or the window.
    buyer.open_dispute(d.order.as_str(), &claim(DisputeReason::Other)).await.refused(409, "dispute_exists");
    buyer.accept(d.order.as_str()).await.refused(409, "not_delivered");
    m.settled(&d.order, &d.capability, SettledAs::Disputed).await;

    // The store's seller reads it and accepts: a full refund.
    let seller = m.broker_as(Some(&d.seller_token));
    let seen = seller.dispute(d.order.as_str(), opened.dispute_id.as_str()).await.done();
    assert_eq!(seen.messages[0].text, "The lid is cracked.");
    let (_, stranger) = m.create_seller("Stranger").await;
    m.broker_as(Some(&stranger))
        .answer_dispute(opened.dispute_id.as_str(), &answer(StoreAction::Accept, None))
        .await
        .refused(403, "forbidden");
    // A percentage goes with an offer only.
    seller
        .answer_dispute(opened.dispute_id.as_str(), &answer(StoreAction::Accept, Some(10)))
        .await
        .refused(422, "invalid_request");
    let decided = seller.answer_dispute(opened.dispute_id.as_str(), &answer(StoreAction::Accept, None)).await.done();
    let decision = decided.decision.expect("decided");
    assert_eq!((decision.outcome, decision.refund), (Outcome::Refund, Money::new(PRICE, Currency::EUR)));
    // Answering twice is refused and moves nothing.
    seller
        .answer_dispute(opened.dispute_id.as_str(), &answer(StoreAction::Contest, None))
        .await
        .refused(409, "invalid_transition");

    m.settled(&d.order, &d.capability, SettledAs::Refunded).await;
    m.broker_shows(&d.order, &d.capability, OrderStatus::Refunded).await;
    dispute_shows(&m, &d, &opened, DisputeStatus::Closed).await;
    assert_eq!(available(&m, &d).await, Money::zero(Currency::EUR));
    m.balanced_trial_balance().await;
    // The seller heard of each step by mail; the mails quote nobody's words.
    let mails: Vec<String> = m.mails().into_iter().filter(|t| t.contains(&d.seller_email)).collect();
    assert!(mails.iter().any(|t| t.contains("dispute opened")), "{mails:#?}");
    assert!(mails.iter().any(|t| t.contains("refunded")), "{mails:#?}");
    assert!(mails.iter().all(|t| !t.contains("The lid is cracked")), "{mails:#?}");
    assert_eq!(m.broker_sent("dispute_decided", &d.order), 1, "decided once");
}

#[tokio::test]
async fn an_offer_taken_refunds_its_share_and_fees_fall_on_the_rest() {
    let m = TestMarket::spawn().await;
    let d = delivered(&m, "Offer").await;
    let buyer = m.broker_as(Some(&d.capability));
    let seller = m.broker_as(Some(&d.seller_token));
    let opened = buyer.open_dispute(d.order.as_str(), &claim(DisputeReason::NotAsDescribed)).await.done();
    // A whole refund is `accept`, not an offer; nothing above what was paid.
    seller
        .answer_dispute(opened.dispute_id.as_str(), &answer(StoreAction::Offer, Some(100)))
        .await
        .refused(422, "invalid_request");
    let offered = seller.answer_dispute(opened.dispute_id.as_str(), &answer(StoreAction::Offer, Some(25))).await.done();
    let offer = offered.offer.expect("an offer");
    assert_eq!((offered.status, offer.refund), (DisputeStatus::Offered, Money::new(1_000, Currency::EUR)));
    // Only the order's buyer takes it.
    m.broker_as(Some(&d.seller_token))
        .take_offer(d.order.as_str(), opened.dispute_id.as_str())
        .await
        .refused(403, "forbidden");
    // The partner refunds 4.00 on its own meanwhile: it counts towards the 10.00.
    m.refund(&d.partner_key, &d.payment, 400).await.expect(201);
    let taken = buyer.take_offer(d.order.as_str(), opened.dispute_id.as_str()).await.done();
    assert_eq!(taken.decision.expect("decided").outcome, Outcome::Split);
    buyer.take_offer(d.order.as_str(), opened.dispute_id.as_str()).await.refused(409, "invalid_transition");

    let settled = m.settled(&d.order, &d.capability, SettledAs::PartiallyRefunded).await;
    assert_eq!(settled.paid.amount, PRICE - 1_000);
    m.broker_shows(&d.order, &d.capability, OrderStatus::PartiallyRefunded).await;
    dispute_shows(&m, &d, &opened, DisputeStatus::Closed).await;
    // 3 % of the 30.00 released, none on the 10.00 refunded.
    assert_eq!(available(&m, &d).await, Money::new(3_000 - 90, Currency::EUR));
    m.balanced_trial_balance().await;
}

#[tokio::test]
async fn the_arbiter_decides_from_a_file_that_names_nobody_and_decides_once() {
    let m = TestMarket::spawn().await;
    let d = delivered(&m, "Arbiter").await;
    let buyer = m.broker_as(Some(&d.capability));
    let opened = buyer.open_dispute(d.order.as_str(), &claim(DisputeReason::Damaged)).await.done();
    // The store answers first; its contest hands the dispute to the arbiter.
    buyer.escalate(d.order.as_str(), opened.dispute_id.as_str()).await.refused(409, "invalid_transition");
    let contested = m
        .broker_as(Some(&d.seller_token))
        .answer_dispute(opened.dispute_id.as_str(), &answer(StoreAction::Contest, None))
        .await
        .done();
    assert_eq!(contested.status, DisputeStatus::Escalated);

    // Only an arbiter reads the queue and decides: not the store, not an admin.
    let arbiter = arbiter(&m, "judge@ops.example").await;
    let boot = m.admin_as(ServiceName::Broker, &m.operator);
    boot.create_operator(&operator("Admin", "admin@ops.example", &[OperatorRole::Admin])).await.done();
    let admin = sign_in(&m, "admin@ops.example").await;
    for token in [&d.seller_token, &admin, &d.capability] {
        m.broker_as(Some(token)).dispute_queue(None).await.refused(403, "forbidden");
    }
    let release = ArbiterDecision {
        outcome: Outcome::Release,
        refund: None,
        return_required: false,
        note: "Intact on arrival.".into(),
    };
    m.broker_as(Some(&admin)).decide(opened.dispute_id.as_str(), &release).await.refused(403, "forbidden");

    // The file: what was bought and how it went, never who or where.
    let judge = m.broker_as(Some(&arbiter));
    let queue = judge.dispute_queue(None).await.done();
    let file = queue.disputes.iter().find(|f| f.dispute.dispute_id == opened.dispute_id).expect("queued");
    assert_eq!((file.order.amount, file.order.quantity), (Money::new(PRICE, Currency::EUR), 1));
    let one = judge.dispute_file(opened.dispute_id.as_str()).await.done();
    assert_eq!((&one.dispute, &one.order), (&file.dispute, &file.order));
    // One file's read tells how the shipment went, as delivery tells the arbiter; the
    // queue does not ask delivery for each.
    assert!(file.shipment.is_none());
    let shipment = one.shipment.as_ref().expect("the file's shipment");
    let kinds: Vec<&str> = shipment.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!((kinds, shipment.pin_confirmed), (vec!["picked_up", "delivered"], true));
    let delivery_audit = m.admin_as(ServiceName::Delivery, &m.operator).audit(0).await.done().entries;
    assert!(
        delivery_audit.iter().any(|e| e.action == "GET /v1/arbiter/shipments/{order_id}" && e.status == 200),
        "{delivery_audit:#?}"
    );
    let text = serde_json::to_string(&queue).unwrap() + &serde_json::to_string(&one).unwrap();
    for secret in
        [ADDRESS_LINE, RECIPIENT, SELLER_NAME, d.seller_email.as_str(), d.payment.as_str(), d.capability.as_str()]
    {
        assert!(!text.contains(secret), "{secret} in the dispute file: {text}");
    }
    let audit = m.admin_as(ServiceName::Broker, &m.operator).audit(0).await.done().entries;
    assert!(
        audit.iter().any(|e| e.action == "GET /v1/arbiter/disputes/{dispute_id}"
            && e.target == format!("dispute_id={}", opened.dispute_id)),
        "{audit:#?}"
    );

    // A split must lie strictly between nothing and what was paid.
    for refund in [PRICE, 0] {
        let split = ArbiterDecision {
            outcome: Outcome::Split,
            refund: Some(Money::new(refund, Currency::EUR)),
            return_required: false,
            note: "Half.".into(),
        };
        judge.decide(opened.dispute_id.as_str(), &split).await.refused(422, "invalid_request");
    }
    let usd = ArbiterDecision {
        outcome: Outcome::Split,
        refund: Some(Money::new(100, Currency::parse("USD").unwrap())),
        return_required: false,
        note: "Half.".into(),
    };
    judge.decide(opened.dispute_id.as_str(), &usd).await.refused(422, "invalid_request");

    // A return cannot be required yet: nothing would ever move the money.
    let with_return = ArbiterDecision { return_required: true, ..release.clone() };
    judge.decide(opened.dispute_id.as_str(), &with_return).await.refused(422, "invalid_request");
    let decided = judge.decide(opened.dispute_id.as_str(), &release).await.done();
    assert_eq!(decided.status, DisputeStatus::Decided);
    judge.decide(opened.dispute_id.as_str(), &release).await.refused(409, "invalid_transition");
    m.settled(&d.order, &d.capability, SettledAs::Released).await;
    m.broker_shows(&d.order, &d.capability, OrderStatus::Completed).await;
    let closed = dispute_shows(&m, &d, &opened, DisputeStatus::Closed).await;
    assert_eq!(closed.messages.iter().map(|m| m.from.as_str()).collect::<Vec<_>>(), ["buyer", "store", "arbiter"]);
    assert_eq!(available(&m, &d).await, Money::new(PRICE - 120, Currency::EUR));

    // The decision replayed (a broker retry, a stolen broker key) moves nothing again.
    let replay = Message::DisputeDecided {
        dispute_id: opened.dispute_id.clone(),
        order_id: d.order.clone(),
        refund: Money::new(PRICE, Currency::EUR),
        return_required: false,
    };
    assert_eq!(m.send_message(ServiceName::Broker, ServiceName::Settlement, replay).await, 204);
    // Nor does a decision for an order nobody disputes, or a key that is not the broker's.
    let forged = Message::DisputeDecided {
        dispute_id: shared::ids::DisputeId::generate(),
        order_id: d.order.clone(),
        refund: Money::new(PRICE, Currency::EUR),
        return_required: false,
    };
    assert_eq!(m.send_message(ServiceName::Broker, ServiceName::Settlement, forged.clone()).await, 204);
    m.send_envelope(ServiceName::Delivery, ServiceName::Settlement, "delivery", forged)
        .await
        .expect_problem(403, "forbidden");
    let settled = m.settled(&d.order, &d.capability, SettledAs::Released).await;
    assert_eq!(settled.paid.amount, PRICE);
    assert_eq!(available(&m, &d).await, Money::new(PRICE - 120, Currency::EUR));
    m.balanced_trial_balance().await;
}

#[tokio::test]
async fn windows_bound_disputes_and_unanswered_ones_go_to_the_arbiter() {
    let m = TestMarket::spawn_with(|c| {
        let broker = toml::from_str("dispute_answer_secs = 1\nacceptance_sweep_secs = 1").unwrap();
        c.settings.insert("broker".into(), toml::Value::Table(broker));
    })
    .await;
    let d = delivered(&m, "Silent").await;
    let buyer = m.broker_as(Some(&d.capability));

    // Nothing came yet: too early to say so before the promised delivery has passed.
    let early = m.place(&d.store, &d.product, 1).await;
    let key = m.partner_key().await;
    m.pay_in_full(&key, &early.order_id, PRICE, "early").await;
    m.broker_shows(&early.order_id, &early.capability, OrderStatus::Paid).await;
    let not_received = claim(DisputeReason::NotReceived);
    m.broker_as(Some(&early.capability))
        .open_dispute(early.order_id.as_str(), &not_received)
        .await
        .refused(409, "dispute_too_early");
    // Nor "damaged" for goods not delivered yet.
    m.broker_as(Some(&early.capability))
        .open_dispute(early.order_id.as_str(), &claim(DisputeReason::Damaged))
        .await
        .refused(409, "dispute_too_early");

    // The store stays silent: the dispute goes to the arbiter by itself.
    let opened = buyer.open_dispute(d.order.as_str(), &not_received).await.done();
    dispute_shows(&m, &d, &opened, DisputeStatus::Escalated).await;
    m.broker_as(Some(&d.seller_token))
        .answer_dispute(opened.dispute_id.as_str(), &answer(StoreAction::Accept, None))
        .await
        .refused(409, "invalid_transition");

    // An accepted order can no longer be disputed.
    let done = delivered(&m, "Accepted").await;
    m.accept_and_complete(&done.order, &done.capability).await;
    m.broker_as(Some(&done.capability))
        .open_dispute(done.order.as_str(), &claim(DisputeReason::Damaged))
        .await
        .refused(409, "dispute_window_closed");
}

#[tokio::test]
async fn the_seller_answers_on_the_desk_and_the_arbiter_decides_in_the_console() {
    let m = TestMarket::spawn().await;
    let d = delivered(&m, "Desk").await;
    let opened =
        m.broker_as(Some(&d.capability)).open_dispute(d.order.as_str(), &claim(DisputeReason::Damaged)).await.done();
    let c = no_redirects();

    // The seller's desk links the dispute; its page takes the answer.
    let signed_in = post_form(
        &c,
        format!("{}/seller/sign-in", m.broker),
        None,
        &[("email", d.seller_email.as_str()), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(signed_in.status().as_u16(), 303);
    let seller = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let desk =
        c.get(format!("{}/seller", m.broker)).header("cookie", &seller).send().await.unwrap().text().await.unwrap();
    let page_path = format!("/seller/orders/{}/disputes/{}", d.order, opened.dispute_id);
    assert!(desk.contains(&page_path), "{desk}");
    let page = c.get(format!("{}{page_path}", m.broker)).header("cookie", &seller).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("The lid is cracked.") && page.contains("dispute-answer-form"), "{page}");
    // Another origin's post answers nothing.
    let foreign = c
        .post(format!("{}{page_path}", m.broker))
        .header("cookie", &seller)
        .header("sec-fetch-site", "cross-site")
        .form(&[("action", "accept"), ("message", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    let contest = [("action", "contest"), ("refund_percent", ""), ("message", "It left here intact.")];
    let answered = post_form(&c, format!("{}{page_path}", m.broker), Some(&seller), &contest).await;
    assert_eq!(answered.status().as_u16(), 303);
    dispute_shows(&m, &d, &opened, DisputeStatus::Escalated).await;

    // The arbiter's console: the queue links the file, whose form decides a split.
    arbiter(&m, "judge@ops.example").await;
    let judge = console_session(&m, &c, "judge@ops.example").await;
    let console =
        c.get(format!("{}/console", m.broker)).header("cookie", &judge).send().await.unwrap().text().await.unwrap();
    let file_path = format!("/console/disputes/{}", opened.dispute_id);
    assert!(console.contains(&file_path), "{console}");
    let file =
        c.get(format!("{}{file_path}", m.broker)).header("cookie", &judge).send().await.unwrap().text().await.unwrap();
    assert!(file.contains("It left here intact.") && file.contains("decision-form"), "{file}");
    // How the shipment went, beside the thread: the PIN was given at the door.
    assert!(file.contains("shipment-events") && file.contains("Delivery PIN given</dt><dd>yes"), "{file}");
    for secret in [ADDRESS_LINE, RECIPIENT, SELLER_NAME, d.seller_email.as_str()] {
        assert!(!file.contains(secret) && !console.contains(secret), "{secret} in the console");
    }
    let csrf = csrf_of(&file);
    let split = [("csrf", csrf.as_str()), ("outcome", "split"), ("refund", "15.00"), ("note", "Half the damage.")];
    let decided = post_form(&c, format!("{}{file_path}/decision", m.broker), Some(&judge), &split).await;
    assert_eq!(decided.status().as_u16(), 303);
    let settled = m.settled(&d.order, &d.capability, SettledAs::PartiallyRefunded).await;
    assert_eq!(settled.paid.amount, PRICE - 1_500);
    m.broker_shows(&d.order, &d.capability, OrderStatus::PartiallyRefunded).await;
    // 3 % of the 25.00 released.
    assert_eq!(available(&m, &d).await, Money::new(2_500 - 75, Currency::EUR));
}
