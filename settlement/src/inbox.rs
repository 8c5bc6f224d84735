//! Messages from the other services, applied once each (the inbox dedupes by message id;
//! each effect is also guarded by the order's state, so a repeated fact changes nothing).

use crate::escrow::workflow::{learn, Fact};
use crate::refunds::workflow::{refund_order, OrderRefund};
use crate::State;
use shared::config::FeeConfig;
use shared::db::AnyConnection;
use shared::messages::{Envelope, Message};

/// The deadline of an order announced without one (the broker's own default).
const DEFAULT_PAY_WITHIN_SECS: i64 = 30 * 60;

impl shared::outbox::Inbox for State {
    type Error = shared::Error;

    fn core(&self) -> &shared::server::Core {
        &self.core
    }

    fn applier(&self) -> impl FnOnce(&mut AnyConnection, &Envelope) -> Result<(), shared::Error> + Send + 'static {
        let fees = self.core.config.fees.clone();
        move |c, e| apply(c, e, &fees)
    }
}

pub fn apply(conn: &mut AnyConnection, envelope: &Envelope, fees: &FeeConfig) -> Result<(), shared::Error> {
    tracing::debug!(kind = envelope.message.kind(), "message received");
    let result = match &envelope.message {
        Message::StoreRegistered { store_id, seller_id, manufacturer_id, union_id, name, category, region } => {
            crate::stores::store::upsert_store(
                conn,
                &crate::stores::store::NewStore {
                    store_id,
                    seller_id: seller_id.as_ref(),
                    manufacturer_id: manufacturer_id.as_ref(),
                    union_id: union_id.as_ref(),
                    name,
                    category,
                    region,
                },
            )
        }
        Message::SellabilityChanged { store_id, product_id, sellable, reason } => {
            crate::stores::store::set_sellability(conn, store_id, product_id, *sellable, reason.as_deref())
        }
        Message::OrderPayable { amount, .. } if shared::money::Ceiling::MAX.admit(*amount).is_err() => {
            // Nothing can be paid against it (none, or above the money ceiling, which the
            // broker never sends); retrying would not change that.
            tracing::error!(message = %envelope.id, "order_payable without an admissible amount ignored");
            Ok(())
        }
        Message::OrderPayable {
            order_id,
            amount,
            store_id,
            product_id,
            referral_store_id,
            shipper_store_id,
            pay_by,
            points_discount,
            public_amount,
            group_discount,
        } => crate::orders::store::insert(
            conn,
            &crate::orders::store::NewOrder {
                order_id,
                amount: *amount,
                store_id,
                product_id,
                referral_store_id: referral_store_id.as_ref(),
                shipper_store_id: shipper_store_id.as_ref(),
                // A broker that sent no deadline gets the default one: no order waits
                // for payment for ever.
                pay_by: pay_by
                    .or_else(|| Some(shared::time::now() + chrono::Duration::seconds(DEFAULT_PAY_WITHIN_SECS))),
            },
        )
        .and_then(|_| {
            let pricing = crate::orders::pricing::Pricing::from_message(
                *amount,
                *points_discount,
                *public_amount,
                *group_discount,
            );
            crate::orders::pricing::record(conn, order_id, store_id, &pricing)
        }),
        Message::OrderCancelled { order_id, reason } => {
            refund_order(conn, order_id, OrderRefund::Cancelled, reason).map(|_| ())
        }
        Message::CancelDecided { order_id, accepted: true } => {
            refund_order(conn, order_id, OrderRefund::Undeliverable, "cancelled").map(|_| ())
        }
        Message::ShipmentAbandoned { order_id, reason } => {
            refund_order(conn, order_id, OrderRefund::Undeliverable, reason).map(|_| ())
        }
        Message::OrderDelivered { order_id } => learn(conn, order_id, Fact::Delivered, fees).map(|_| ()),
        Message::OrderAccepted { order_id } => learn(conn, order_id, Fact::Accepted, fees).map(|_| ()),
        Message::DisputeOpened { order_id, .. } => crate::escrow::dispute::opened(conn, order_id),
        // With a return required nothing moves until the goods are back (not yet built).
        Message::DisputeDecided { return_required: true, .. } => Ok(()),
        Message::DisputeDecided { dispute_id, order_id, refund, .. } => {
            crate::escrow::dispute::execute(conn, dispute_id, order_id, *refund, fees).map(|_| ())
        }
        Message::StoreSuspended { store_id, suspended } => {
            crate::stores::store::set_suspended(conn, store_id, *suspended)
        }
        Message::OperatorAccess { operator_id, disabled } => {
            Ok(shared::audit::set_disabled(conn, operator_id, *disabled)?)
        }
        _ => Ok(()),
    };
    result.map_err(|e| match e {
        crate::error::SettlementError::Shared(e) => e,
        other => shared::Error::Internal(other.to_string()),
    })
}
