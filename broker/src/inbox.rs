//! Messages from the other services, applied once each (the inbox records the message id
//! in the same transaction). Each is also tolerant of order: a message that arrives before
//! the one it depends on (a pickup before the payment) answers an error, so the sender
//! retries it later; a message overtaken by a later one changes nothing.

use crate::error::BrokerError;
use crate::orders::domain::{Event, OrderStatus, Step};
use crate::orders::{store, workflow};
use crate::State;
use shared::config::ServiceName;
use shared::db::AnyConnection;
use shared::ids::OrderId;
use shared::messages::{Envelope, Message};

impl shared::outbox::Inbox for State {
    type Error = BrokerError;

    fn core(&self) -> &shared::server::Core {
        &self.core
    }

    fn applier(&self) -> impl FnOnce(&mut AnyConnection, &Envelope) -> Result<(), BrokerError> + Send + 'static {
        let settings = crate::orders::settings::of(self);
        move |c, e| apply(c, e, &settings)
    }
}

fn apply(
    conn: &mut AnyConnection,
    envelope: &Envelope,
    settings: &crate::orders::settings::OrderSettings,
) -> Result<(), BrokerError> {
    let message = &envelope.message;
    tracing::debug!(kind = message.kind(), "message received");
    if let Message::PayoutAccountChanged { store_id, changed_at, hold_until } = message {
        crate::stores::payout_notice::queue(conn, store_id, *changed_at, *hold_until)?;
        return Ok(());
    }
    let (order_id, event, note): (&OrderId, Event, Option<String>) = match message {
        Message::OrderPaid { order_id } => (order_id, Event::Paid, None),
        Message::PaymentRefused { order_id, reason } => {
            (order_id, Event::PaymentRefused, Some(format!("{}: {reason}", crate::orders::domain::PAYMENT_REFUSED)))
        }
        Message::OrderRefunded { order_id, reason, partial, .. } => {
            (order_id, Event::Refunded { partial: *partial }, Some(format!("refunded: {reason}")))
        }
        Message::OrderExpired { order_id } => (order_id, Event::Expired, None),
        Message::CancelDecided { order_id, accepted } => (order_id, Event::CancelDecided { accepted: *accepted }, None),
        Message::OrderShipped { order_id } => (order_id, Event::Shipped, None),
        Message::OrderDelivered { order_id } => (order_id, Event::Delivered, None),
        Message::EscrowReleased { order_id } => (order_id, Event::Released, None),
        Message::ShipmentAbandoned { order_id, reason } => {
            // The refund that follows from settlement ends the order; this only explains it.
            if store::get(conn, order_id)?.is_some() {
                store::set_note(conn, order_id, &format!("shipment abandoned: {reason}"))?;
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    // A message for an order we do not know is early: the order is placed here before any
    // other service can hear of it, so it is on its way (a 409 `not_yet`, retried).
    let not_yet = || shared::Error::NotYet(format!("{} for an order not known yet", message.kind()));
    let order = store::get(conn, order_id)?.ok_or_else(not_yet)?;
    // A cancellation the buyer or seller asked for keeps their reason.
    let reason = match event {
        _ if order.reason.is_some() => None,
        Event::PaymentRefused => Some("the store can no longer sell this product; choose another store"),
        Event::Refunded { .. } => Some("refunded"),
        Event::Expired => Some(crate::orders::expiry::NOT_PAID),
        _ => None,
    };
    if let Some(n) = &note {
        store::set_note(conn, order_id, n)?;
    }
    if event == Event::Paid && order.status == OrderStatus::Cancelled {
        // Paid after the order ended: settlement refunds it (it knows of the cancellation),
        // and delivery, which heard of the payment too, must not ship it.
        let m = Message::CancelRequested { order_id: order_id.clone(), reason: "paid after cancellation".into() };
        shared::outbox::send(conn, ServiceName::Broker, ServiceName::Delivery, m)?;
    }
    let (moved, step) = workflow::apply(conn, settings, order_id, event, reason)?;
    if order.status == OrderStatus::Disputed && step != Step::NotYet && moved.status != OrderStatus::Disputed {
        crate::disputes::workflow::executed(conn, order_id)?;
    }
    if step == Step::NotYet {
        // Roll back and let the sender retry once the prerequisite is here.
        // A 409, not a 5xx: nothing is wrong, it is just early.
        return Err(shared::Error::NotYet(format!("{} arrived before its prerequisite", message.kind())).into());
    }
    Ok(())
}
