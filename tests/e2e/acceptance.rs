//! Acceptance: a delivered order's escrow stays held until the buyer accepts or the
//! acceptance window ends; settlement releases only with both delivery's and the broker's
//! word, and the order is then `completed`.

use crate::flows::{north_address, SettledAs};
use crate::helpers::{Expect, Shop, TestMarket};
use client::broker::orders::OrderStatus;
use shared::config::ServiceName;
use shared::ids::OrderId;
use shared::messages::Message;
use shared::money::{Currency, Money};

const PRICE: i64 = 4_000;

struct Delivered {
    shop: Shop,
    order: OrderId,
    capability: String,
}

/// An order placed, addressed, paid and carried to the buyer by a courier.
async fn delivered(m: &TestMarket, name: &str) -> Delivered {
    let shop = m.shop(name, "kettle", PRICE, 5).await;
    m.branch_with_stock(&shop.product, 3).await;
    let courier = m.courier(&format!("{name} courier"), &format!("{}@couriers.example", name.to_lowercase())).await;
    let placed = m.place(&shop.store, &shop.product, 1).await;
    let (order, capability) = (placed.order_id, placed.capability);
    m.give_address(&order, &capability, &north_address()).await;
    let key = m.partner_key().await;
    m.pay_in_full(&key, &order, PRICE, name).await;
    let shipment = m.routed(&order, &capability).await.shipment_id;
    m.courier_steps(&courier, &shipment, &["picked_up", "delivered"]).await;
    m.broker_shows(&order, &capability, OrderStatus::Delivered).await;
    Delivered { shop, order, capability }
}

async fn available(m: &TestMarket, shop: &Shop) -> Money {
    m.settlement_as(Some(&shop.seller_token)).balance(shop.store.as_str()).await.done().available
}

#[tokio::test]
async fn escrow_waits_for_the_buyers_accept_which_counts_once() {
    let m = TestMarket::spawn().await;
    let d = delivered(&m, "Accept").await;
    let buyer = m.broker_as(Some(&d.capability));

    // Delivered: the window is open and the money held.
    let view = buyer.order(d.order.as_str()).await.done();
    let (accept_by, updated) = (view.accept_by.expect("a window"), view.updated_at);
    let days = (accept_by - updated).num_hours();
    assert!((7 * 24 - 1..=7 * 24).contains(&days), "a seven-day window: {view:?}");
    assert!(view.accepted_at.is_none());
    assert_eq!(m.settled(&d.order, &d.capability, SettledAs::Captured).await.paid.amount, PRICE);
    assert_eq!(available(&m, &d.shop).await, Money::zero(Currency::EUR));

    // Neither the store nor another order's buyer may accept for this one.
    m.broker_as(Some(&d.shop.seller_token)).accept(d.order.as_str()).await.refused(403, "forbidden");
    let other = m.place(&d.shop.store, &d.shop.product, 1).await;
    m.broker_as(Some(&other.capability)).accept(d.order.as_str()).await.refused(403, "forbidden");
    // A read-only token for the order is not its buyer either.
    let narrow = m.capability_scoped(&d.order, &["read"]);
    m.broker_as(Some(&narrow)).accept(d.order.as_str()).await.refused(403, "forbidden");
    m.broker_as(Some(&narrow)).renew_capability(d.order.as_str()).await.refused(403, "forbidden");
    // Nothing to accept before delivery.
    m.broker_as(Some(&other.capability)).accept(other.order_id.as_str()).await.refused(409, "not_delivered");

    // The buyer accepts (with a capability issued before acceptance existed): the escrow
    // goes to the store, less the 3 % fee, once, however often they press.
    let earlier = m.capability_for(&d.order);
    let accepted = m.broker_as(Some(&earlier)).accept(d.order.as_str()).await.done();
    let at = accepted.accepted_at.expect("accepted");
    m.accept_and_complete(&d.order, &d.capability).await;
    let again = buyer.accept(d.order.as_str()).await.done();
    assert_eq!((again.status, again.accepted_at), (OrderStatus::Completed, Some(at)));
    assert_eq!(available(&m, &d.shop).await, Money::new(PRICE - 120, Currency::EUR));
    m.balanced_trial_balance().await;

    // A fresh capability for the same order works like the first.
    let fresh = buyer.renew_capability(d.order.as_str()).await.done();
    assert_eq!(fresh.order_id, d.order);
    let seen = m.broker_as(Some(&fresh.capability)).order(d.order.as_str()).await.done();
    assert_eq!(seen.status, OrderStatus::Completed);
    m.broker_as(Some(&fresh.capability)).renew_capability(other.order_id.as_str()).await.refused(403, "forbidden");
}

#[tokio::test]
async fn the_windows_end_accepts_for_the_buyer_and_survives_a_restart() {
    let mut m = TestMarket::spawn_with(|c| {
        let broker = toml::from_str("acceptance_window_secs = 2\nacceptance_sweep_secs = 1").unwrap();
        c.settings.insert("broker".into(), toml::Value::Table(broker));
    })
    .await;
    let d = delivered(&m, "Window").await;
    // The broker stops before the window ends and starts again after: the sweep picks up
    // what is due from the database.
    m.stop_service(ServiceName::Broker).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    m.start_service(ServiceName::Broker);
    m.broker_shows(&d.order, &d.capability, OrderStatus::Completed).await;
    let view = m.broker_as(Some(&d.capability)).order(d.order.as_str()).await.done();
    assert!(view.accepted_at.is_some_and(|at| at >= view.accept_by.unwrap()), "{view:?}");
    m.settled(&d.order, &d.capability, SettledAs::Released).await;
    assert_eq!(available(&m, &d.shop).await, Money::new(PRICE - 120, Currency::EUR));
    assert_eq!(m.broker_sent("order_accepted", &d.order), 1, "accepted once");
}

#[tokio::test]
async fn neither_delivery_nor_the_broker_alone_releases_escrow() {
    let m = TestMarket::spawn().await;
    let shop = m.shop("Alone", "kettle", PRICE, 5).await;
    let placed = m.place(&shop.store, &shop.product, 1).await;
    let key = m.partner_key().await;
    m.pay_in_full(&key, &placed.order_id, PRICE, "alone").await;
    let (order, cap) = (placed.order_id.clone(), placed.capability.clone());

    // A stolen delivery key says "delivered": money stays in escrow.
    let delivered = Message::OrderDelivered { order_id: order.clone() };
    assert_eq!(m.send_message(ServiceName::Delivery, ServiceName::Settlement, delivered).await, 204);
    // Nor can that key speak for the broker's acceptance.
    let accepted = Message::OrderAccepted { order_id: order.clone() };
    m.send_envelope(ServiceName::Delivery, ServiceName::Settlement, "broker", accepted.clone())
        .await
        .expect_problem(403, "forbidden");
    m.send_envelope(ServiceName::Delivery, ServiceName::Settlement, "delivery", accepted.clone())
        .await
        .expect_problem(403, "forbidden");
    assert_eq!(m.settled(&order, &cap, SettledAs::Captured).await.paid.amount, PRICE);
    assert_eq!(available(&m, &shop).await, Money::zero(Currency::EUR));

    // Another order: a stolen broker key accepts, delivery never said a word.
    let other = m.place(&shop.store, &shop.product, 1).await;
    m.pay_in_full(&key, &other.order_id, PRICE, "alone-2").await;
    let accepted = Message::OrderAccepted { order_id: other.order_id.clone() };
    assert_eq!(m.send_message(ServiceName::Broker, ServiceName::Settlement, accepted).await, 204);
    assert_eq!(m.settled(&other.order_id, &other.capability, SettledAs::Captured).await.paid.amount, PRICE);
    assert_eq!(available(&m, &shop).await, Money::zero(Currency::EUR));

    // Both facts, in the other order: released.
    let delivered = Message::OrderDelivered { order_id: other.order_id.clone() };
    assert_eq!(m.send_message(ServiceName::Delivery, ServiceName::Settlement, delivered).await, 204);
    m.settled(&other.order_id, &other.capability, SettledAs::Released).await;
    assert_eq!(available(&m, &shop).await, Money::new(PRICE - 120, Currency::EUR));
}
