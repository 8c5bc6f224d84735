//! A refund's status, and what refunding a payment or a whole order does, decided over the
//! rows read under the order's lock (no database here).

use super::chargeback::{self, Chargeback, Released};
use crate::events::EventData;
use crate::ledger::{Account, Transaction, TransactionKind};
use crate::orders::{OrderRow, OrderStatus};
use crate::payments::store::PaymentRow;
use shared::config::ServiceName;
use shared::ids::{OrderId, PartnerId, PaymentId, RefundId};
use shared::messages::Message;
use shared::money::Money;
use shared::time::Timestamp;

shared::text_enum! {
    /// Where a refund stands, stored as text; an unknown stored status is a read error.
    pub enum RefundStatus {
        /// Booked: the money is on its way back through the partner.
        Succeeded,
    }
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

/// One payment's refund, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub partner: PartnerId,
    pub amount: Money,
    /// The payment's whole capture is then refunded: it becomes `refunded`.
    pub closes_payment: bool,
}

impl Refund {
    /// The `refund.succeeded` event for the payment's partner.
    pub fn event(&self, order: &OrderId, reason: &str) -> EventData {
        EventData {
            payment_id: self.payment_id.clone(),
            order_id: order.clone(),
            amount: self.amount,
            status: RefundStatus::Succeeded.to_string(),
            reason: Some(reason.to_string()),
        }
    }
}

/// Why a refund of one payment is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The amount is in another currency than the payment.
    Currency { payment: shared::money::Currency },
    /// More than is still refundable on the payment.
    Exceeds { refundable: Money },
}

/// What a refund does to the order and who is told, once the refunds are booked.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub order_id: OrderId,
    pub reason: String,
    pub refunds: Vec<Refund>,
    /// Every refund's money movement, posted once so that its account locks are taken in
    /// one go.
    pub txn: Transaction,
    /// The order afterwards: status, paid total, first partial payment.
    pub status: OrderStatus,
    pub paid: i64,
    pub partial_since: Option<Timestamp>,
    pub messages: Vec<(ServiceName, Message)>,
    /// A refund after release, recorded beside it.
    pub chargeback: Option<Chargeback>,
}

/// A refund of `amount` of `payment`, checked against what the payment still holds.
fn checked(payment: &PaymentRow, amount: Money) -> Result<Refund, Refusal> {
    if amount.currency != payment.currency {
        return Err(Refusal::Currency { payment: payment.currency });
    }
    if amount.amount > payment.refundable() {
        return Err(Refusal::Exceeds { refundable: payment.money(payment.refundable()) });
    }
    Ok(Refund {
        refund_id: RefundId::generate(),
        payment_id: payment.id.clone(),
        partner: payment.partner_id.clone(),
        amount,
        closes_payment: payment.refunded + amount.amount == payment.captured,
    })
}

/// The refunded money's way out: through the refunds pass-through to the partner.
fn to_partner(one: &Refund, txn: &mut Transaction) {
    txn.add(Account::Refunds, Account::PartnerClearing(one.partner.clone()), one.amount);
}

/// Refunds `amount` of `payment` out of the order's escrow and adds its money movement to
/// `txn`.
fn refund(order: &OrderRow, payment: &PaymentRow, amount: Money, txn: &mut Transaction) -> Result<Refund, Refusal> {
    let one = checked(payment, amount)?;
    txn.add(Account::Escrow(order.order_id.clone()), Account::Refunds, amount);
    to_partner(&one, txn);
    Ok(one)
}

/// What the broker is told of a refund of `amount` (`partial` when the store keeps the
/// rest); when the money was still in escrow (nothing delivered yet), delivery also stops a
/// shipment that has not left.
pub fn refunded(
    order: &OrderId,
    reason: &str,
    amount: Money,
    partial: bool,
    stop_shipment: bool,
) -> Vec<(ServiceName, Message)> {
    let refunded =
        Message::OrderRefunded { order_id: order.clone(), reason: reason.to_string(), amount: Some(amount), partial };
    let mut out = Vec::new();
    if stop_shipment {
        out.push((ServiceName::Delivery, refunded.clone()));
    }
    out.push((ServiceName::Broker, refunded));
    out
}

/// Whether the order's escrow was released: a refund then is a chargeback.
pub fn after_release(order: &OrderRow) -> bool {
    matches!(order.status, OrderStatus::Released | OrderStatus::PartiallyRefunded)
}

/// A partner's (or the operator's) refund of part of one payment. Once escrow was
/// released (`released` is then what the release split, see [`after_release`]) it is a
/// chargeback: the store gives back the refunded part less its fees, which return with it.
pub fn payment_refund(
    order: &OrderRow,
    payment: &PaymentRow,
    amount: Money,
    reason: &str,
    released: Option<&Released>,
) -> Result<Plan, Refusal> {
    let kind = if released.is_some() { TransactionKind::Chargeback } else { TransactionKind::Refund };
    let mut txn = Transaction::new(kind, amount.currency).order(&order.order_id);
    let mut chargeback = None;
    let one = match released {
        Some(released) => {
            let one = checked(payment, amount)?;
            let back = chargeback::fees_back(released, amount);
            chargeback::movement(order, &back, &mut txn);
            to_partner(&one, &mut txn);
            chargeback =
                Some(Chargeback { refund_id: one.refund_id.clone(), store_id: order.store_id.clone(), amount, back });
            one
        }
        None => refund(order, payment, amount, &mut txn)?,
    };
    let txn = txn.reference(&one.refund_id);
    let paid = order.paid - amount.amount;
    let (status, partial_since, messages) = match order.status {
        OrderStatus::Partial if paid == 0 => (OrderStatus::AwaitingPayment, None, Vec::new()),
        from @ (OrderStatus::Captured
        | OrderStatus::Disputed
        | OrderStatus::Released
        | OrderStatus::PartiallyRefunded)
            if paid == 0 =>
        {
            let whole = Money::new(order.paid, order.currency);
            (
                OrderStatus::Refunded,
                None,
                refunded(&order.order_id, reason, whole, false, from == OrderStatus::Captured),
            )
        }
        // A chargeback after release: the store keeps the rest, the broker's order shows it.
        OrderStatus::Released | OrderStatus::PartiallyRefunded => (
            OrderStatus::PartiallyRefunded,
            None,
            refunded(&order.order_id, reason, Money::new(order.paid - paid, order.currency), true, false),
        ),
        same => (same, order.partial_since, Vec::new()),
    };
    Ok(Plan {
        order_id: order.order_id.clone(),
        reason: reason.to_string(),
        refunds: vec![one],
        txn,
        status,
        paid,
        partial_since,
        messages,
        chargeback,
    })
}

/// Up to `amount` of what is still refundable on a disputed order, payment by payment, as
/// a dispute's decision says. Nobody else is told here: the dispute's outcome reaches the
/// broker as one message once the rest is released.
pub fn dispute_refund(order: &OrderRow, payments: &[PaymentRow], amount: Money, reason: &str) -> Plan {
    let mut txn = Transaction::new(TransactionKind::Refund, order.currency).order(&order.order_id);
    // A partner's own refund during the dispute counts towards the decided amount.
    let refunded_before: i64 = payments.iter().filter(|p| p.currency == amount.currency).map(|p| p.refunded).sum();
    let mut left = (amount.amount - refunded_before).clamp(0, order.paid);
    let mut paid = order.paid;
    let mut refunds = Vec::new();
    for payment in payments.iter().filter(|p| p.refundable() > 0 && p.currency == amount.currency) {
        if left == 0 {
            break;
        }
        let take = left.min(payment.refundable());
        if let Ok(one) = refund(order, payment, payment.money(take), &mut txn) {
            left -= take;
            paid -= take;
            refunds.push(one);
        }
    }
    let status = if paid == 0 { OrderStatus::Refunded } else { order.status };
    Plan {
        order_id: order.order_id.clone(),
        reason: reason.to_string(),
        refunds,
        txn,
        status,
        paid,
        partial_since: None,
        messages: Vec::new(),
        chargeback: None,
    }
}

/// Everything still refundable on the order, when `why` applies to where it stands; `None`
/// when it does not (the order moved on: a repeated message changes nothing).
pub fn order_refund(order: &OrderRow, payments: &[PaymentRow], why: OrderRefund, reason: &str) -> Option<Plan> {
    let from = order.status;
    let end = match (why, from) {
        (OrderRefund::Cancelled, OrderStatus::AwaitingPayment | OrderStatus::Partial) => OrderStatus::Cancelled,
        // Paid in the meantime: the money cannot stay for an order the broker cancelled.
        (OrderRefund::Cancelled, OrderStatus::Captured) => OrderStatus::Refunded,
        // Never delivered: a dispute opened meanwhile ("not received") changes nothing.
        (OrderRefund::Undeliverable, OrderStatus::Captured | OrderStatus::Disputed) => OrderStatus::Refunded,
        (OrderRefund::PartialExpired, OrderStatus::Partial) => OrderStatus::AwaitingPayment,
        (OrderRefund::Expired, OrderStatus::AwaitingPayment | OrderStatus::Partial) => OrderStatus::Expired,
        _ => return None,
    };
    let mut txn = Transaction::new(TransactionKind::OrderRefund, order.currency).order(&order.order_id);
    let mut paid = order.paid;
    let mut refunds = Vec::new();
    for payment in payments.iter().filter(|p| p.refundable() > 0) {
        // The whole refundable amount, in the payment's own currency: never refused.
        let one = refund(order, payment, payment.money(payment.refundable()), &mut txn).ok()?;
        paid -= one.amount.amount;
        refunds.push(one);
    }
    let mut messages = Vec::new();
    if end == OrderStatus::Refunded {
        // Delivery asked for an undeliverable order's refund itself.
        let stop_shipment = from == OrderStatus::Captured && why != OrderRefund::Undeliverable;
        let whole = Money::new(order.paid - paid, order.currency);
        messages = refunded(&order.order_id, reason, whole, false, stop_shipment);
    }
    if end == OrderStatus::Expired {
        messages.push((ServiceName::Broker, Message::OrderExpired { order_id: order.order_id.clone() }));
    }
    Some(Plan {
        order_id: order.order_id.clone(),
        reason: reason.to_string(),
        refunds,
        txn,
        status: end,
        paid,
        partial_since: None,
        messages,
        chargeback: None,
    })
}
