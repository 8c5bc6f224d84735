//! What many tests do on the way to what they test: goods at a branch, a courier, a
//! payment partner, the buyer's address and payment, the shipment's progress and the
//! courier's steps, and a store's balance funded at settlement.

#![allow(dead_code)]

use crate::helpers::{eur, Answer, Expect, TestMarket};
use client::broker::orders::OrderStatus;
use client::delivery::{AddressInput, CourierBody, EventBody, InventoryBody, LoginBody, NodeBody, TrackingView};
pub use client::settlement::OrderStatus as SettledAs;
use client::settlement::{NewPartner, PaymentAnswer, PaymentBody, PaymentStatus, SettlementView};
use serde_json::json;
use shared::config::ServiceName;
use shared::ids::{NodeId, OrderId, ProductId, ShipmentId, StoreId};
use shared::messages::Message;

pub const ADDRESS_LINE: &str = "17 Quiet Privacy Lane";
pub const RECIPIENT: &str = "Ada Recipientname";

/// A delivery address for `RECIPIENT` at `ADDRESS_LINE`.
pub fn address(city: &str, postal_code: &str, region: &str, country: &str) -> AddressInput {
    AddressInput {
        name: RECIPIENT.into(),
        line1: ADDRESS_LINE.into(),
        line2: None,
        city: city.into(),
        postal_code: postal_code.into(),
        region: region.into(),
        country: country.into(),
        position: None,
    }
}

/// The address in the north most checkouts deliver to.
pub fn north_address() -> AddressInput {
    address("Northtown", "20095", "north", "DE")
}

impl TestMarket {
    /// The north's branch (`North 1`), holding `quantity` of `product`.
    pub async fn branch_with_stock(&self, product: &ProductId, quantity: i64) -> NodeId {
        let operator = self.delivery_as(Some(&self.operator));
        let body = NodeBody::branch("North 1", "north", (53.5, 10.0), 1);
        let node = operator.create_node(&body).await.done().id;
        operator.set_stock(node.as_str(), product.as_str(), &InventoryBody { quantity }).await.done();
        node
    }

    /// A courier account, signed in: its access token.
    pub async fn courier(&self, name: &str, email: &str) -> String {
        let password = "courier password 1";
        let body = CourierBody { name: name.into(), email: email.into(), password: password.into(), region: None };
        self.delivery_as(Some(&self.operator)).create_courier(&body).await.done();
        let login = LoginBody { email: email.into(), password: password.into() };
        self.delivery_as(None).sign_in(&login).await.done().access_token
    }

    /// A payment partner's API key.
    pub async fn partner_key(&self) -> String {
        let body = NewPartner { name: "Pay Co".into(), webhook_url: None };
        self.settlement_as(Some(&self.operator)).create_partner(&body).await.done().api_key
    }

    /// The buyer gives delivery the order's address.
    pub async fn give_address(&self, order: &OrderId, capability: &str, address: &AddressInput) {
        self.delivery_as(Some(capability)).set_address(order.as_str(), address).await.done();
    }

    /// The partner pays `price` for the order, retrying with the same key while settlement
    /// has not heard of the order yet; the first accepted payment.
    pub async fn pay(&self, api_key: &str, order: &OrderId, price: i64, reference: &str) -> PaymentAnswer {
        let key = format!("pay-{order}");
        let payment =
            PaymentBody { order_id: order.to_string(), amount: eur(price), partner_reference: reference.into() };
        let partner = self.settlement_as(Some(api_key));
        self.eventually("settlement to know the order", || async { partner.pay(&payment, &key).await.ok() }).await
    }

    /// The partner pays the order in full: captured.
    pub async fn pay_in_full(&self, api_key: &str, order: &OrderId, price: i64, reference: &str) -> PaymentAnswer {
        let paid = self.pay(api_key, order, price, reference).await;
        assert_eq!(paid.status, PaymentStatus::Captured, "{paid:?}");
        paid
    }

    /// A refund of `amount` of the payment, asked by `token` (its partner, or the operator)
    /// under a fresh key: the answer as it is, for the refusals.
    pub async fn refund(&self, token: &str, payment: impl std::fmt::Display, amount: i64) -> Answer {
        let key = shared::ids::random_hex128();
        let body = json!({"payment_id": payment.to_string(), "amount": eur(amount), "reason": "customer request"});
        let url = format!("{}/v1/refunds", self.settlement);
        self.call(reqwest::Method::POST, &url, Some(token), Some(&body), &[("Idempotency-Key", &key)]).await
    }

    /// The order's shipment as its buyer tracks it now.
    pub async fn tracking(&self, order: &OrderId, capability: &str) -> TrackingView {
        self.delivery_as(Some(capability)).shipment(order.as_str()).await.done()
    }

    /// The order's shipment once `ready` holds for it.
    pub async fn tracking_until(
        &self,
        what: &str,
        order: &OrderId,
        capability: &str,
        ready: impl Fn(&TrackingView) -> bool,
    ) -> TrackingView {
        let delivery = self.delivery_as(Some(capability));
        self.eventually(what, || async { delivery.shipment(order.as_str()).await.ok().filter(|t| ready(t)) }).await
    }

    /// The order's shipment once delivery has routed it.
    pub async fn routed(&self, order: &OrderId, capability: &str) -> TrackingView {
        let routed = |t: &TrackingView| t.status == client::delivery::ShipmentStatus::Routed;
        self.tracking_until("the shipment to be routed", order, capability, routed).await
    }

    /// The courier reports each of `events` (`picked_up`, `delivered`, ...) on its leg,
    /// `delivered` with the PIN the buyer would tell them.
    pub async fn courier_steps(&self, courier: &str, shipment: &ShipmentId, events: &[&str]) {
        let delivery = self.delivery_as(Some(courier));
        for event in events {
            let pin = (*event == "delivered").then(|| self.delivery_pin(shipment));
            let body = EventBody { kind: event.to_string(), reason: None, pin };
            delivery.report(shipment.as_str(), &body).await.done();
        }
    }

    /// The shipment's delivery PIN, which its buyer reads on `GET /v1/shipments/{order_id}`;
    /// derived here from delivery's key in the market's data directory, for flows that
    /// have no buyer at hand.
    pub fn delivery_pin(&self, shipment: &ShipmentId) -> String {
        let key = self.data_dir.path().join("keys").join("delivery-pin");
        delivery::shipments::pin::Pins::load_or_create(&key).expect("delivery's PIN key").of(shipment)
    }

    /// Waits until settlement shows the order in `status`; the order as it shows it then.
    pub async fn settled(&self, order: &OrderId, capability: &str, status: SettledAs) -> SettlementView {
        let buyer = self.settlement_as(Some(capability));
        self.eventually(&format!("settlement to show the order {status:?}"), || async {
            buyer.order_settlement(order.as_str()).await.ok().filter(|v| v.status == status)
        })
        .await
    }

    /// The buyer accepts the order once the broker knows it is delivered; settlement then releases its escrow and the
    /// broker completes it.
    pub async fn accept_and_complete(&self, order: &OrderId, capability: &str) -> SettlementView {
        self.broker_shows(order, capability, OrderStatus::Delivered).await;
        let accepted = self.broker_as(Some(capability)).accept(order.as_str()).await.done();
        assert!(accepted.accepted_at.is_some(), "{accepted:?}");
        let released = self.settled(order, capability, SettledAs::Released).await;
        self.broker_shows(order, capability, OrderStatus::Completed).await;
        released
    }

    /// Waits until the broker shows the order in `status`.
    pub async fn broker_shows(&self, order: &OrderId, capability: &str, status: OrderStatus) {
        let broker = self.broker_as(Some(capability));
        self.eventually(&format!("the broker to show the order {}", status.words()), || async {
            broker.order(order.as_str()).await.ok().filter(|o| o.status == status).map(|_| ())
        })
        .await
    }

    /// Credits a store's available balance at settlement with `amount` less the fee: an
    /// order of `product` paid by a new partner and delivered. The order's id.
    pub async fn fund_store(&self, store: &StoreId, product: &ProductId, amount: i64) -> OrderId {
        let order = OrderId::generate();
        let payable = Message::plain_payable(order.clone(), store.clone(), product.clone(), eur(amount));
        // Settlement may not know the store yet: the broker's message about it is on its way.
        self.eventually("settlement to know the store", || {
            let payable = payable.clone();
            async move {
                (self.send_message(ServiceName::Broker, ServiceName::Settlement, payable).await == 204).then_some(())
            }
        })
        .await;
        let api_key = self.partner_key().await;
        self.pay_in_full(&api_key, &order, amount, "funding").await;
        let delivered = Message::OrderDelivered { order_id: order.clone() };
        assert_eq!(self.send_message(ServiceName::Delivery, ServiceName::Settlement, delivered).await, 204);
        let accepted = Message::OrderAccepted { order_id: order.clone() };
        assert_eq!(self.send_message(ServiceName::Broker, ServiceName::Settlement, accepted).await, 204);
        order
    }
}
