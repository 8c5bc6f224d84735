//! The messages the services send each other through their outboxes. Each one names the
//! order it concerns, carries only what its receiver may know (see DESIGN.md), and is
//! applied at most once by the receiver's inbox.

use crate::config::ServiceName;
use crate::ids::{DisputeId, ManufacturerId, MessageId, OperatorId, OrderId, ProductId, SellerId, StoreId, UnionId};
use crate::money::Money;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub id: MessageId,
    pub source: String,
    #[serde(flatten)]
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Message {
    // ---- broker → settlement
    /// A store exists. Settlement needs its owner (for balances) and its public category
    /// and region (for the finance analyses). A manufacturer's own store (the seller of
    /// back-orders) names the manufacturer instead of a seller.
    StoreRegistered {
        store_id: StoreId,
        seller_id: Option<SellerId>,
        manufacturer_id: Option<ManufacturerId>,
        /// `None` for a manufacturer's own store, which belongs to no regional union.
        union_id: Option<UnionId>,
        name: String,
        category: String,
        region: String,
    },
    /// The broker's sellability rule for one offer changed; settlement keeps a snapshot to
    /// re-check before it captures.
    SellabilityChanged { store_id: StoreId, product_id: ProductId, sellable: bool, reason: Option<String> },
    /// The order reached `awaiting_payment`: its price is final.
    OrderPayable {
        order_id: OrderId,
        amount: Money,
        /// The payee.
        store_id: StoreId,
        product_id: ProductId,
        /// The store that redirected the buyer here (earns the referral fee).
        referral_store_id: Option<StoreId>,
        /// Another store of the union that ships for the payee (earns the fulfilment fee).
        shipper_store_id: Option<StoreId>,
        /// Until when settlement takes payment; at this time it expires the order and tells
        /// the broker (`order_expired`). `None` only from brokers older than deadlines.
        #[serde(default, with = "crate::time::rfc3339::option")]
        pay_by: Option<Timestamp>,
        /// What the buyer's points took off the price: the points liability pays it to the
        /// payee on release. `None` from a broker that predates it (no points).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        points_discount: Option<Money>,
        /// The public offer price times the quantity, what the seller is shown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public_amount: Option<Money>,
        /// What a group price took off the public amount (funded by the store, shown to it
        /// only aggregated per statement).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group_discount: Option<Money>,
    },
    /// The order was cancelled before payment (settlement refunds any partial payment).
    OrderCancelled { order_id: OrderId, reason: String },
    /// An admin suspended a store (or lifted its suspension): settlement holds its
    /// remittances meanwhile.
    StoreSuspended { store_id: StoreId, suspended: bool },
    /// The buyer accepted the delivered goods, or the acceptance window ended with no
    /// dispute open. Settlement releases escrow once it has this and delivery's
    /// `order_delivered`, in either order: neither service alone can move the money.
    OrderAccepted { order_id: OrderId },
    /// The buyer opened a dispute: escrow stays held (past the window too) until its
    /// decision.
    DisputeOpened { dispute_id: DisputeId, order_id: OrderId },
    /// The dispute is decided: settlement refunds `refund` (at most what is still
    /// refundable) and releases the rest, once per dispute id; with `return_required`
    /// nothing moves until the goods are back.
    DisputeDecided { dispute_id: DisputeId, order_id: OrderId, refund: Money, return_required: bool },

    // ---- broker → delivery
    /// What to move once the order is paid. Sent with `OrderPayable`; delivery creates the
    /// shipment when both this and `OrderPaid` have arrived, in either order. Delivery
    /// turns the stores into the nodes that may supply the goods and keeps only those: it
    /// knows sources, not sellers (a `seller_id` that older brokers sent is ignored).
    ShipmentRequested {
        order_id: OrderId,
        product_id: ProductId,
        quantity: i64,
        /// The selling store, whose own node may ship.
        store_id: StoreId,
        /// Another store of the union that ships for the selling store.
        shipper_store_id: Option<StoreId>,
        /// The product's manufacturer, delivery's last resort when routing.
        manufacturer_id: Option<ManufacturerId>,
        /// A back-order: the manufacturer ships from its own node.
        backorder: bool,
    },
    /// The buyer or seller asked to cancel a paid order; delivery decides.
    CancelRequested { order_id: OrderId, reason: String },

    // ---- broker → settlement, delivery
    /// An admin disabled (or enabled again) an operator account: the other services refuse
    /// (or take again) its tokens, which they verify without asking the broker.
    OperatorAccess { operator_id: OperatorId, disabled: bool },

    // ---- settlement → broker, delivery
    /// Payment captured in escrow.
    OrderPaid { order_id: OrderId },
    /// Settlement refused a payment because the product is no longer sellable at the
    /// store; the broker redirects the buyer.
    PaymentRefused { order_id: OrderId, reason: String },
    /// `pay_by` passed with the order unpaid: settlement refunded any partial payment and
    /// takes no more; the broker gives the stock back.
    OrderExpired { order_id: OrderId },
    /// The order's money went back to the payer. To the broker always; to delivery too
    /// while it was in escrow, so that goods not yet picked up stay where they are.
    OrderRefunded {
        order_id: OrderId,
        reason: String,
        /// What went back; `None` from settlements older than disputes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<Money>,
        /// Only part went back (a dispute's split, a partner's partial refund after
        /// release): the rest stays with the store.
        #[serde(default)]
        partial: bool,
    },

    // ---- settlement → broker
    /// Escrow went to the store (and the fees): the order is complete.
    EscrowReleased { order_id: OrderId },
    /// A store's payout account was set or changed. The broker, which holds the store's
    /// contact address (settlement does not), mails the seller; no account digits travel.
    PayoutAccountChanged {
        store_id: StoreId,
        #[serde(with = "crate::time::rfc3339")]
        changed_at: Timestamp,
        /// Remittances to the store are held until then; `None` when holds are off.
        #[serde(with = "crate::time::rfc3339::option")]
        hold_until: Option<Timestamp>,
    },

    // ---- delivery → broker, settlement
    /// Delivery's answer to `CancelRequested`: accepted (nothing picked up yet) or not.
    CancelDecided { order_id: OrderId, accepted: bool },
    /// The first leg was picked up.
    OrderShipped { order_id: OrderId },
    /// The final leg was delivered: the broker's acceptance window starts; settlement
    /// releases escrow once the broker's `order_accepted` is in too.
    OrderDelivered { order_id: OrderId },
    /// The shipment cannot be completed (`unroutable` after the wait, or `returned` after
    /// three failed attempts): settlement refunds in full.
    ShipmentAbandoned { order_id: OrderId, reason: String },
}

impl Message {
    /// `OrderPayable` for a plain order: no referral, shipper, deadline or discount.
    pub fn plain_payable(order_id: OrderId, store_id: StoreId, product_id: ProductId, amount: Money) -> Message {
        Message::OrderPayable {
            order_id,
            amount,
            store_id,
            product_id,
            referral_store_id: None,
            shipper_store_id: None,
            pay_by: None,
            points_discount: None,
            public_amount: None,
            group_discount: None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Message::StoreRegistered { .. } => "store_registered",
            Message::SellabilityChanged { .. } => "sellability_changed",
            Message::OrderPayable { .. } => "order_payable",
            Message::OrderCancelled { .. } => "order_cancelled",
            Message::StoreSuspended { .. } => "store_suspended",
            Message::OrderAccepted { .. } => "order_accepted",
            Message::DisputeOpened { .. } => "dispute_opened",
            Message::DisputeDecided { .. } => "dispute_decided",
            Message::EscrowReleased { .. } => "escrow_released",
            Message::ShipmentRequested { .. } => "shipment_requested",
            Message::CancelRequested { .. } => "cancel_requested",
            Message::OperatorAccess { .. } => "operator_access",
            Message::OrderPaid { .. } => "order_paid",
            Message::PaymentRefused { .. } => "payment_refused",
            Message::OrderExpired { .. } => "order_expired",
            Message::OrderRefunded { .. } => "order_refunded",
            Message::PayoutAccountChanged { .. } => "payout_account_changed",
            Message::CancelDecided { .. } => "cancel_decided",
            Message::OrderShipped { .. } => "order_shipped",
            Message::OrderDelivered { .. } => "order_delivered",
            Message::ShipmentAbandoned { .. } => "shipment_abandoned",
        }
    }

    /// Who may say what: the one service that sends this kind, and the services it is
    /// sent to. Every inbox refuses a kind from any other sender (see
    /// [`crate::outbox::receive`]), so a stolen key speaks only for its own service.
    pub fn route(&self) -> Route {
        use ServiceName::{Broker, Delivery, Settlement};
        let (from, to): (ServiceName, &'static [ServiceName]) = match self {
            Message::StoreRegistered { .. } => (Broker, &[Settlement, Delivery]),
            Message::SellabilityChanged { .. } => (Broker, &[Settlement]),
            Message::OrderPayable { .. } => (Broker, &[Settlement]),
            Message::OrderCancelled { .. } => (Broker, &[Settlement]),
            Message::StoreSuspended { .. } => (Broker, &[Settlement]),
            Message::OrderAccepted { .. } => (Broker, &[Settlement]),
            Message::DisputeOpened { .. } => (Broker, &[Settlement]),
            Message::DisputeDecided { .. } => (Broker, &[Settlement]),
            Message::EscrowReleased { .. } => (Settlement, &[Broker]),
            Message::ShipmentRequested { .. } => (Broker, &[Delivery]),
            Message::CancelRequested { .. } => (Broker, &[Delivery]),
            Message::OperatorAccess { .. } => (Broker, &[Settlement, Delivery]),
            Message::OrderPaid { .. } => (Settlement, &[Broker, Delivery]),
            Message::PaymentRefused { .. } => (Settlement, &[Broker]),
            Message::OrderExpired { .. } => (Settlement, &[Broker]),
            Message::OrderRefunded { .. } => (Settlement, &[Broker, Delivery]),
            Message::CancelDecided { .. } => (Delivery, &[Broker, Settlement]),
            Message::OrderShipped { .. } => (Delivery, &[Broker]),
            Message::OrderDelivered { .. } => (Delivery, &[Broker, Settlement]),
            Message::ShipmentAbandoned { .. } => (Delivery, &[Broker, Settlement]),
            Message::PayoutAccountChanged { .. } => (Settlement, &[Broker]),
        };
        Route { from, to }
    }

    /// Messages with the same key reach one receiver in the order they were written.
    pub fn ordering_key(&self) -> String {
        match self {
            // After the store's registration, which it builds on.
            Message::StoreRegistered { store_id, .. } | Message::StoreSuspended { store_id, .. } => {
                store_id.to_string()
            }
            Message::PayoutAccountChanged { store_id, .. } => format!("payout/{store_id}"),
            Message::OperatorAccess { operator_id, .. } => operator_id.to_string(),
            Message::SellabilityChanged { store_id, product_id, .. } => format!("{store_id}/{product_id}"),
            Message::OrderPayable { order_id, .. }
            | Message::OrderCancelled { order_id, .. }
            | Message::ShipmentRequested { order_id, .. }
            | Message::CancelRequested { order_id, .. }
            | Message::OrderPaid { order_id }
            | Message::OrderAccepted { order_id }
            | Message::DisputeOpened { order_id, .. }
            | Message::DisputeDecided { order_id, .. }
            | Message::EscrowReleased { order_id }
            | Message::PaymentRefused { order_id, .. }
            | Message::OrderExpired { order_id }
            | Message::OrderRefunded { order_id, .. }
            | Message::CancelDecided { order_id, .. }
            | Message::OrderShipped { order_id }
            | Message::OrderDelivered { order_id }
            | Message::ShipmentAbandoned { order_id, .. } => order_id.to_string(),
        }
    }
}

/// The sender and the receivers of a message kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub from: ServiceName,
    pub to: &'static [ServiceName],
}

/// Why an inbox refuses a message before applying anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a service speaks for itself only: the envelope says `{claimed}`, the caller is {caller}")]
    NotItsOwnSource { claimed: String, caller: ServiceName },
    #[error("{caller} does not send `{kind}`")]
    NotItsKind { kind: &'static str, caller: ServiceName },
    #[error("`{kind}` is not sent to {receiver}")]
    NotForThisService { kind: &'static str, receiver: ServiceName },
}

impl Envelope {
    /// The inbox rule: the body's `source` is the signed caller, the caller is the one
    /// service that sends this kind, and `receiver` is among those it is sent to.
    pub fn admit(&self, caller: ServiceName, receiver: ServiceName) -> Result<(), Refusal> {
        let route = self.message.route();
        if self.source != caller.as_str() {
            // Bounded: the claim is the caller's text and reaches the answer and the log.
            let claimed = self.source.chars().take(32).collect();
            return Err(Refusal::NotItsOwnSource { claimed, caller });
        }
        if route.from != caller {
            return Err(Refusal::NotItsKind { kind: self.message.kind(), caller });
        }
        if !route.to.contains(&receiver) {
            return Err(Refusal::NotForThisService { kind: self.message.kind(), receiver });
        }
        Ok(())
    }
}

/// The internal route every service serves for messages from the others.
pub const INBOX_PATH: &str = "/internal/v1/messages";

pub fn destination(service: ServiceName) -> &'static str {
    service.as_str()
}

/// One message of every kind, for the inbox tests of every service: a new kind belongs
/// here as well as in [`Message::route`].
#[doc(hidden)]
pub fn one_of_each() -> Vec<Message> {
    let o = || OrderId::generate();
    vec![
        Message::StoreRegistered {
            store_id: StoreId::generate(),
            seller_id: None,
            manufacturer_id: None,
            union_id: None,
            name: "s".into(),
            category: "c".into(),
            region: "r".into(),
        },
        Message::SellabilityChanged {
            store_id: StoreId::generate(),
            product_id: ProductId::generate(),
            sellable: false,
            reason: None,
        },
        Message::plain_payable(
            o(),
            StoreId::generate(),
            ProductId::generate(),
            Money::new(100, crate::money::Currency::EUR),
        ),
        Message::OrderCancelled { order_id: o(), reason: "r".into() },
        Message::StoreSuspended { store_id: StoreId::generate(), suspended: true },
        Message::ShipmentRequested {
            order_id: o(),
            product_id: ProductId::generate(),
            quantity: 1,
            store_id: StoreId::generate(),
            shipper_store_id: None,
            manufacturer_id: None,
            backorder: false,
        },
        Message::CancelRequested { order_id: o(), reason: "r".into() },
        Message::OperatorAccess { operator_id: crate::ids::OperatorId::generate(), disabled: true },
        Message::OrderPaid { order_id: o() },
        Message::PaymentRefused { order_id: o(), reason: "r".into() },
        Message::OrderExpired { order_id: o() },
        Message::OrderRefunded { order_id: o(), reason: "r".into(), amount: None, partial: false },
        Message::CancelDecided { order_id: o(), accepted: true },
        Message::OrderShipped { order_id: o() },
        Message::OrderDelivered { order_id: o() },
        Message::OrderAccepted { order_id: o() },
        Message::DisputeOpened { dispute_id: crate::ids::DisputeId::generate(), order_id: o() },
        Message::DisputeDecided {
            dispute_id: crate::ids::DisputeId::generate(),
            order_id: o(),
            refund: Money::new(100, crate::money::Currency::EUR),
            return_required: false,
        },
        Message::EscrowReleased { order_id: o() },
        Message::ShipmentAbandoned { order_id: o(), reason: "r".into() },
        Message::PayoutAccountChanged {
            store_id: StoreId::generate(),
            changed_at: crate::time::now(),
            hold_until: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_wire_format() {
        let order_id = OrderId::generate();
        let env = Envelope {
            id: MessageId::generate(),
            source: "delivery".into(),
            message: Message::OrderDelivered { order_id: order_id.clone() },
        };
        let v = serde_json::to_value(&env).unwrap();
        assert_eq!(v["kind"], "order_delivered");
        assert_eq!(v["data"]["order_id"], order_id.as_str());
        let back: Envelope = serde_json::from_value(v).unwrap();
        assert_eq!(back.message, env.message);
        assert_eq!(back.message.kind(), "order_delivered");
    }

    #[test]
    fn each_kind_has_one_sender_that_is_not_among_its_receivers() {
        let kinds: std::collections::HashSet<_> = one_of_each().iter().map(Message::kind).collect();
        assert_eq!(kinds.len(), one_of_each().len(), "one message per kind");
        for m in one_of_each() {
            let route = m.route();
            assert!(!route.to.is_empty(), "{}", m.kind());
            assert!(!route.to.contains(&route.from), "{}", m.kind());
        }
    }

    #[test]
    fn an_envelope_is_admitted_only_from_its_kinds_sender_speaking_for_itself() {
        for m in one_of_each() {
            let route = m.route();
            for caller in ServiceName::ALL {
                for source in ServiceName::ALL {
                    for receiver in ServiceName::ALL {
                        let env =
                            Envelope { id: MessageId::generate(), source: source.as_str().into(), message: m.clone() };
                        let admitted = env.admit(caller, receiver).is_ok();
                        let rightful = caller == route.from && source == caller && route.to.contains(&receiver);
                        assert_eq!(admitted, rightful, "{} from {caller} as {source} to {receiver}", m.kind());
                    }
                }
            }
        }
    }

    #[test]
    fn order_payable_without_the_price_parts_still_parses() {
        // What a broker that predates points discounts and public amounts sends.
        let old = serde_json::json!({"kind": "order_payable", "data": {
            "order_id": OrderId::generate(), "amount": {"amount": 700, "currency": "EUR"},
            "store_id": StoreId::generate(), "product_id": ProductId::generate(),
            "referral_store_id": null, "shipper_store_id": null}});
        let m: Message = serde_json::from_value(old).unwrap();
        let Message::OrderPayable { points_discount, public_amount, group_discount, .. } = &m else { panic!("{m:?}") };
        assert_eq!((points_discount, public_amount, group_discount), (&None, &None, &None));
        // Absent parts are not written either.
        let v = serde_json::to_value(&m).unwrap();
        assert!(v["data"].get("points_discount").is_none(), "{v}");
    }

    #[test]
    fn a_shipment_request_with_the_seller_id_of_older_brokers_still_parses() {
        let order_id = OrderId::generate();
        let old = serde_json::json!({"kind": "shipment_requested", "data": {
            "order_id": order_id, "product_id": ProductId::generate(), "quantity": 2,
            "store_id": StoreId::generate(), "seller_id": "sel_0123456789abcdef0123456789abcdef",
            "shipper_store_id": null, "manufacturer_id": null, "backorder": false}});
        let m: Message = serde_json::from_value(old).unwrap();
        assert!(matches!(&m, Message::ShipmentRequested { quantity: 2, .. }), "{m:?}");
        assert_eq!(m.ordering_key(), order_id.as_str());
        // What is sent now names no seller.
        let v = serde_json::to_value(&m).unwrap();
        assert!(v["data"].get("seller_id").is_none(), "{v}");
    }
}
