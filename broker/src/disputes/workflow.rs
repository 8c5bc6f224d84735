//! What each step of a dispute does inside the order's transaction: the dispute's own
//! move, the order's, the thread, and the messages to settlement. A dispute and the end of
//! the acceptance window write the same order row under conditions only one can meet, so
//! they never both win.

use super::domain::{self, Closed, DisputeReason, DisputeStatus, Next, OrderFacts, Outcome};
use super::store::{self as disputes, DisputeRow};
use crate::error::{BrokerError, Code, Result};
use crate::orders::domain::Notice;
use crate::orders::settings::OrderSettings;
use crate::orders::store as orders;
use shared::config::ServiceName;
use shared::db::AnyConnection;
use shared::ids::{DisputeId, OrderId};
use shared::messages::Message;
use shared::money::Money;
use shared::time::now;

/// A message for the thread: 1 to 2 000 characters, trimmed.
pub fn checked_text(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 2_000 {
        return Err(BrokerError::refused(Code::InvalidMessage, "a message of 1 to 2000 characters"));
    }
    Ok(text.to_string())
}

/// The buyer opens the order's dispute.
pub fn open(
    conn: &mut AnyConnection,
    settings: &OrderSettings,
    order_id: &OrderId,
    reason: DisputeReason,
    message: &str,
) -> Result<DisputeRow> {
    let message = checked_text(message)?;
    let order = orders::get(conn, order_id)?.ok_or(BrokerError::NotFound("order"))?;
    if disputes::of_order(conn, order_id)?.is_some() {
        return Err(BrokerError::refused(Code::DisputeExists, "this order has a dispute already"));
    }
    let at = now();
    let facts = OrderFacts {
        status: order.status,
        accept_by: order.accept_by,
        accepted_at: order.accepted_at,
        not_received_from: order.created_at + settings.not_received_after(),
    };
    domain::may_open(reason, &facts, at).map_err(|closed| match closed {
        Closed::WindowClosed => BrokerError::refused(Code::DisputeWindowClosed, "the order can no longer be disputed"),
        Closed::TooEarly => BrokerError::refused(
            Code::DisputeTooEarly,
            "the goods are still on their way; a dispute opens once the promised delivery has passed",
        ),
    })?;
    let id = DisputeId::generate();
    // Only while nobody accepted: the window's sweep writes the same row.
    if !orders::mark_disputed(conn, order_id, order.status, &id)? {
        return Err(BrokerError::refused(Code::OrderChanged, "the order changed meanwhile; try again"));
    }
    if !disputes::open(conn, &id, order_id, reason, at + settings.dispute_answer_within(), order.amount.currency)? {
        return Err(BrokerError::refused(Code::DisputeExists, "this order has a dispute already"));
    }
    disputes::add_message(conn, &id, "buyer", &message)?;
    let m = Message::DisputeOpened { dispute_id: id.clone(), order_id: order_id.clone() };
    shared::outbox::send(conn, ServiceName::Broker, ServiceName::Settlement, m)?;
    crate::orders::workflow::notify(conn, settings, order_id, Notice::Dispute(DisputeStatus::Open))?;
    disputes::get(conn, &id)?.ok_or(BrokerError::NotFound("dispute"))
}

/// Applies a step the rules allowed: the dispute's move, and for a decision what
/// settlement is told to execute.
pub fn apply(
    conn: &mut AnyConnection,
    settings: &OrderSettings,
    dispute: &DisputeRow,
    next: Next,
    outcome: Option<Outcome>,
    return_required: bool,
) -> Result<DisputeRow> {
    let to = match next {
        Next::Offered { .. } => DisputeStatus::Offered,
        Next::Escalated => DisputeStatus::Escalated,
        Next::Decided { .. } if return_required => DisputeStatus::AwaitingReturn,
        Next::Decided { .. } => DisputeStatus::Decided,
    };
    if !disputes::move_status(conn, &dispute.id, dispute.status, to)? {
        return Err(BrokerError::refused(Code::OrderChanged, "the dispute changed meanwhile; try again"));
    }
    match next {
        Next::Offered { percent } => {
            disputes::set_offer(conn, &dispute.id, percent, now() + settings.dispute_answer_within())?;
        }
        Next::Escalated => {}
        Next::Decided { refund } => {
            let outcome = outcome.unwrap_or(if refund.amount == 0 { Outcome::Release } else { Outcome::Split });
            disputes::set_decision(conn, &dispute.id, outcome, refund, return_required)?;
            let m = Message::DisputeDecided {
                dispute_id: dispute.id.clone(),
                order_id: dispute.order_id.clone(),
                refund,
                return_required,
            };
            shared::outbox::send(conn, ServiceName::Broker, ServiceName::Settlement, m)?;
        }
    }
    crate::orders::workflow::notify(conn, settings, &dispute.order_id, Notice::Dispute(to))?;
    disputes::get(conn, &dispute.id)?.ok_or(BrokerError::NotFound("dispute"))
}

/// What the buyer paid for the order: what a full refund gives back.
pub fn paid(conn: &mut AnyConnection, dispute: &DisputeRow) -> Result<Money> {
    Ok(orders::get(conn, &dispute.order_id)?.ok_or(BrokerError::NotFound("order"))?.amount)
}

/// The order left `disputed` (settlement carried out the decision, or a partner's refund or
/// an undeliverable shipment refunded it first): its dispute closes, whatever step it was
/// at, so nothing escalates or waits for an arbiter over money that already moved.
pub fn executed(conn: &mut AnyConnection, order_id: &OrderId) -> Result<()> {
    if let Some(d) = disputes::of_order(conn, order_id)? {
        if d.status != DisputeStatus::Closed {
            disputes::move_status(conn, &d.id, d.status, DisputeStatus::Closed)?;
        }
    }
    Ok(())
}

/// Hands to the arbiter the disputes the store left unanswered past `respond_by` and the
/// offers that lapsed; returns how many. Each is its own transaction and a conditional
/// move, so copies of the broker sweep side by side and a restart loses nothing.
pub async fn escalate_overdue(core: &shared::server::Core, settings: &OrderSettings) -> Result<usize> {
    let due = core.db.read(|c| Ok::<_, BrokerError>(disputes::overdue(c, now(), 100)?)).await?;
    let mut escalated = 0;
    for id in due {
        let settings = settings.clone();
        let moved = core
            .db
            .write(move |c| {
                let Some(d) = disputes::get(c, &id)? else { return Ok(false) };
                let at = now();
                let overdue = match d.status {
                    DisputeStatus::Open => d.respond_by <= at,
                    DisputeStatus::Offered => d.offer_expires_at.is_some_and(|t| t <= at),
                    _ => false,
                };
                if !overdue {
                    return Ok(false);
                }
                let Ok(next) = domain::escalate(d.status) else { return Ok(false) };
                match apply(c, &settings, &d, next, None, false) {
                    Ok(_) => Ok(true),
                    // Another copy or a party moved it first.
                    Err(BrokerError::Refused { code: Code::OrderChanged, .. }) => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await?;
        escalated += usize::from(moved);
    }
    Ok(escalated)
}
