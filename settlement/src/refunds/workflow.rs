//! Booking refunds.

use crate::error::{Result, SettlementError};
use crate::events::{store as events, EventData};
use crate::ledger::{store as ledger, Account, Transaction};
use crate::orders::{store as orders, OrderRow, OrderStatus};
use crate::payments::domain::PaymentStatus;
use crate::payments::store::{self as payments, PaymentRow};
use super::domain::RefundStatus;
use serde::{Deserialize, Serialize};
use shared::config::ServiceName;
use shared::db::AnyConnection;
use shared::ids::{OrderId, PartnerId, PaymentId, RefundId};
use shared::messages::Message;
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

/// Records one refund of `amount` from `payment` and adds its money movement to `txn`
/// (posted once by the caller, so that a refund of several payments takes its account
/// locks in one go); returns the order's new paid total. Money comes out of escrow, or out
/// of the payee store's balance once escrow was released (which may leave it negative; the
/// next remittance recovers it).
#[allow(clippy::too_many_arguments)]
fn refund_one(
    conn: &mut AnyConnection,
    order: &OrderRow,
    paid: i64,
    payment: &PaymentRow,
    amount: Money,
    reason: &str,
    txn: &mut Transaction,
    pending: &mut events::Pending,
) -> Result<(RefundAnswer, i64)> {
    if amount.currency != payment.currency {
        return Err(shared::Error::Money(shared::money::MoneyError::CurrencyMismatch(
            amount.currency,
            payment.currency,
        ))
        .into());
    }
    if amount.amount > payment.refundable() || !payments::add_refund(conn, &payment.id, amount.amount)? {
        return Err(SettlementError::RefundExceedsPayment {
            refundable: Money::new(payment.refundable(), amount.currency),
        });
    }
    let refund_id = RefundId::generate();
    let source = match order.status {
        OrderStatus::Released => Account::Store(order.store_id.clone()),
        _ => Account::Escrow(order.order_id.clone()),
    };
    txn.add(source, Account::Refunds, amount);
    txn.add(Account::Refunds, Account::PartnerClearing(payment.partner_id.clone()), amount);
    crate::refunds::store::insert(conn, &refund_id, &payment.id, amount, reason)?;
    if payment.refunded + amount.amount == payment.captured {
        payments::set_status(conn, &payment.id, PaymentStatus::Refunded)?;
    }
    pending.push(
        payment.partner_id.clone(),
        "refund.succeeded",
        EventData {
            payment_id: payment.id.clone(),
            order_id: order.order_id.clone(),
            amount,
            status: RefundStatus::Succeeded.to_string(),
            reason: Some(reason.to_string()),
        },
    );
    let answer = RefundAnswer { refund_id, status: RefundStatus::Succeeded, payment_id: payment.id.clone(), amount };
    Ok((answer, paid - amount.amount))
}

/// `POST /v1/refunds`: a partner refunds (part of) one of its payments; the operator any.
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
    let mut pending = events::Pending::default();
    let mut txn = Transaction::new(crate::ledger::TransactionKind::Refund, amount.currency).order(&order.order_id);
    let (answer, paid) = refund_one(conn, &order, order.paid, &payment, amount, reason, &mut txn, &mut pending)?;
    ledger::post(conn, &txn.reference(&answer.refund_id))?;
    pending.emit(conn)?;
    let (id, status) = (&order.order_id, order.status);
    if paid == 0 {
        match status {
            OrderStatus::Partial => orders::set_state(conn, id, OrderStatus::AwaitingPayment, 0, None)?,
            OrderStatus::Captured | OrderStatus::Released => {
                orders::set_state(conn, id, OrderStatus::Refunded, 0, None)?;
                tell_refunded(conn, id, reason, status == OrderStatus::Captured)?;
            }
            _ => orders::set_state(conn, id, status, 0, order.partial_since)?,
        }
    } else {
        orders::set_state(conn, id, status, paid, order.partial_since)?;
    }
    Ok(answer)
}

/// Why a whole order is refunded, and where it ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRefund {
    /// The broker cancelled before payment: partial payments go back; `cancelled`.
    Cancelled,
    /// Delivery accepted a cancel or abandoned the shipment: all goes back; `refunded`.
    Undeliverable,
    /// A partial payment waited too long: it goes back; the order can be paid again.
    /// (Orders announced without a deadline only.)
    PartialExpired,
    /// `pay_by` passed: any partial payment goes back and the order takes no more; `expired`.
    Expired,
}

/// Refunds everything still refundable on the order, once: a second message finds the
/// order already moved on and changes nothing.
pub fn refund_order(conn: &mut AnyConnection, order_id: &OrderId, why: OrderRefund, reason: &str) -> Result<bool> {
    let Some(order) = orders::lock(conn, order_id)? else {
        return Ok(false);
    };
    let status = order.status;
    let (applies, end) = match (why, status) {
        (OrderRefund::Cancelled, OrderStatus::AwaitingPayment | OrderStatus::Partial) => (true, OrderStatus::Cancelled),
        // Paid in the meantime: the money cannot stay for an order the broker cancelled.
        (OrderRefund::Cancelled, OrderStatus::Captured) => (true, OrderStatus::Refunded),
        (OrderRefund::Undeliverable, OrderStatus::Captured) => (true, OrderStatus::Refunded),
        (OrderRefund::PartialExpired, OrderStatus::Partial) => (true, OrderStatus::AwaitingPayment),
        (OrderRefund::Expired, OrderStatus::AwaitingPayment | OrderStatus::Partial) => (true, OrderStatus::Expired),
        _ => (false, status),
    };
    if !applies {
        return Ok(false);
    }
    let currency = order.currency;
    let mut paid = order.paid;
    let mut pending = events::Pending::default();
    let mut txn = Transaction::new(crate::ledger::TransactionKind::OrderRefund, currency).order(order_id);
    for payment in payments::of_order(conn, order_id)? {
        if payment.refundable() > 0 {
            let amount = Money::new(payment.refundable(), currency);
            paid = refund_one(conn, &order, paid, &payment, amount, reason, &mut txn, &mut pending)?.1;
        }
    }
    if !txn.lines.is_empty() {
        ledger::post(conn, &txn)?;
    }
    pending.emit(conn)?;
    orders::set_state(conn, order_id, end, paid, None)?;
    if end == OrderStatus::Refunded {
        // Delivery asked for an undeliverable order's refund itself.
        let stop_shipment = status == OrderStatus::Captured && why != OrderRefund::Undeliverable;
        tell_refunded(conn, order_id, reason, stop_shipment)?;
    }
    if end == OrderStatus::Expired {
        let expired = Message::OrderExpired { order_id: order_id.clone() };
        shared::outbox::send(conn, ServiceName::Settlement, ServiceName::Broker, expired)?;
    }
    Ok(true)
}

/// The broker ends the order; when the money was still in escrow (nothing delivered yet),
/// delivery also stops a shipment that has not left.
fn tell_refunded(conn: &mut AnyConnection, order_id: &OrderId, reason: &str, stop_shipment: bool) -> Result<()> {
    let refunded = Message::OrderRefunded { order_id: order_id.clone(), reason: reason.to_string() };
    if stop_shipment {
        shared::outbox::send(conn, ServiceName::Settlement, ServiceName::Delivery, refunded.clone())?;
    }
    shared::outbox::send(conn, ServiceName::Settlement, ServiceName::Broker, refunded)?;
    Ok(())
}
