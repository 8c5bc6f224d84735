//! Booking refunds: each use case reads the order under its lock and its payments once,
//! decides in `refunds::domain`, and writes the decision with [`write`].

pub use super::domain::OrderRefund;
use super::domain::{self, Plan, RefundStatus, Refusal};
use crate::error::{Result, SettlementError};
use crate::events::store as events;
use crate::ledger::store as ledger;
use crate::orders::store as orders;
use crate::payments::domain::PaymentStatus;
use crate::payments::store as payments;
use serde::{Deserialize, Serialize};
use shared::config::ServiceName;
use shared::db::AnyConnection;
use shared::ids::{OrderId, PartnerId, PaymentId, RefundId};
use shared::money::Money;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundAnswer {
    pub refund_id: RefundId,
    /// `succeeded`.
    #[schema(value_type = String)]
    pub status: RefundStatus,
    pub payment_id: PaymentId,
    pub amount: Money,
}

/// `POST /v1/refunds`: a partner refunds (part of) one of its payments; the operator any.
/// After release it is a chargeback, its fees returned (see `refunds::chargeback`).
pub fn refund_payment(
    conn: &mut AnyConnection,
    caller: Option<&PartnerId>,
    payment_id: &PaymentId,
    amount: Money,
    reason: &str,
) -> Result<RefundAnswer> {
    let payment = payments::find(conn, payment_id)?.ok_or(SettlementError::UnknownPayment)?;
    if caller.is_some_and(|p| *p != payment.partner_id) {
        // Another partner's payment does not exist, as far as this caller can tell.
        return Err(SettlementError::UnknownPayment);
    }
    let order = orders::lock(conn, &payment.order_id)?.ok_or(SettlementError::UnknownPayment)?;
    // Read again under the order's lock: a concurrent refund may have just committed.
    let payment = payments::find(conn, payment_id)?.ok_or(SettlementError::UnknownPayment)?;
    let released = if domain::after_release(&order) { Some(super::store::release_of(conn, &order)?) } else { None };
    let plan =
        domain::payment_refund(&order, &payment, amount, reason, released.as_ref()).map_err(
            |refusal| match refusal {
                Refusal::Currency { payment } => {
                    shared::Error::Money(shared::money::MoneyError::CurrencyMismatch(amount.currency, payment)).into()
                }
                Refusal::Exceeds { refundable } => SettlementError::RefundExceedsPayment { refundable },
            },
        )?;
    write(conn, &plan)?;
    let refund = &plan.refunds[0];
    Ok(RefundAnswer {
        refund_id: refund.refund_id.clone(),
        status: RefundStatus::Succeeded,
        payment_id: refund.payment_id.clone(),
        amount: refund.amount,
    })
}

/// Refunds everything still refundable on the order, once: a second message finds the
/// order already moved on and changes nothing.
pub fn refund_order(conn: &mut AnyConnection, order_id: &OrderId, why: OrderRefund, reason: &str) -> Result<bool> {
    let Some(order) = orders::lock(conn, order_id)? else {
        return Ok(false);
    };
    let Some(plan) = domain::order_refund(&order, &payments::of_order(conn, order_id)?, why, reason) else {
        return Ok(false);
    };
    write(conn, &plan)?;
    Ok(true)
}

/// Writes a refund plan: each refund (never beyond what its payment captured), the money
/// movement, the partners' events, the order's new state, and the messages.
pub fn write(conn: &mut AnyConnection, plan: &Plan) -> Result<()> {
    let mut pending = events::Pending::default();
    for refund in &plan.refunds {
        if !payments::add_refund(conn, &refund.payment_id, refund.amount.amount)? {
            // Read under the order's lock, so only a write outside it could get here.
            return Err(SettlementError::RefundExceedsPayment { refundable: Money::zero(refund.amount.currency) });
        }
        super::store::insert(conn, &refund.refund_id, &refund.payment_id, refund.amount, &plan.reason)?;
        if refund.closes_payment {
            payments::set_status(conn, &refund.payment_id, PaymentStatus::Refunded)?;
        }
        pending.push(refund.partner.clone(), "refund.succeeded", refund.event(&plan.order_id, &plan.reason));
    }
    if !plan.txn.lines.is_empty() {
        ledger::post(conn, &plan.txn)?;
    }
    if let Some(chargeback) = &plan.chargeback {
        super::store::insert_chargeback(conn, &plan.order_id, chargeback)?;
    }
    pending.emit(conn)?;
    orders::set_state(conn, &plan.order_id, plan.status, plan.paid, plan.partial_since)?;
    for (to, message) in &plan.messages {
        shared::outbox::send(conn, ServiceName::Settlement, *to, message.clone())?;
    }
    Ok(())
}
