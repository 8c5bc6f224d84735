//! Taking a payment: the amount check, the capture into escrow, and what it tells the
//! partner, the broker and delivery.

use super::domain::PaymentStatus::{self, Captured, Partial, Rejected};
use super::store::{self as payments, NewPayment};
use crate::error::{Code, Result, SettlementError};
use crate::events::{store as events, EventData};
use crate::ledger::{store as ledger, Account, Transaction};
use crate::orders::domain::{decide, Decision, Rejection};
use crate::orders::{store as orders, OrderStatus};
use crate::refunds::workflow::{refund_order, OrderRefund};
use serde::{Deserialize, Serialize};
use shared::config::ServiceName;
use shared::db::AnyConnection;
use shared::ids::{OrderId, PartnerId, PaymentId};
use shared::messages::Message;
use shared::money::{Ceiling, Money};
use utoipa::ToSchema;

/// A payment report as the partner sends it, parsed.
#[derive(Debug, Clone)]
pub struct PaymentRequest {
    pub order_id: OrderId,
    pub amount: Money,
    pub partner_reference: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    pub order_id: String,
    pub amount: Money,
    /// The partner's own id for the payment, 1 to 200 characters.
    pub partner_reference: String,
}

impl PaymentRequest {
    /// Parses the body; the amount is at least one minor unit and at most `ceiling`.
    pub fn parse(body: serde_json::Value, ceiling: Ceiling) -> Result<Self> {
        let raw: PaymentBody = serde_json::from_value(body).map_err(SettlementError::body)?;
        let order_id =
            OrderId::parse(&raw.order_id).map_err(|e| SettlementError::refused(Code::InvalidOrderId, e.to_string()))?;
        let amount = ceiling.admit(raw.amount)?;
        let reference = raw.partner_reference.trim();
        if reference.is_empty() || reference.chars().count() > 200 {
            return Err(SettlementError::refused(
                Code::InvalidPartnerReference,
                "partner_reference must be 1 to 200 characters",
            ));
        }
        Ok(PaymentRequest { order_id, amount, partner_reference: reference.to_string() })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundDue {
    /// To return to the payer.
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentAnswer {
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    /// `captured`, `partial` or `rejected`.
    #[schema(value_type = String)]
    pub status: PaymentStatus,
    /// Why a payment was rejected: `wrong_currency`, `order_cancelled`, `already_paid`,
    /// `order_closed`, `non_sellable`, `expired` (its `pay_by` passed).
    pub reason: Option<String>,
    /// What the partner returns to the payer at once: the excess of an overpayment, or all of
    /// a rejected payment.
    pub refund: Option<RefundDue>,
    pub amount: Money,
    pub partner_reference: String,
}

/// Applies a payment in the caller's transaction. `Err(UnknownOrder)` when the broker's
/// `order_payable` has not arrived.
pub fn take_payment(conn: &mut AnyConnection, partner: &PartnerId, req: &PaymentRequest) -> Result<PaymentAnswer> {
    let mut order = orders::lock(conn, &req.order_id)?.ok_or(SettlementError::UnknownOrder)?;
    if order.overdue(shared::time::now()) {
        // The deadline passed before the sweeper came by: expire the order now, in this
        // transaction, so the late payment and the expiry can never both win.
        refund_order(conn, &req.order_id, OrderRefund::Expired, Rejection::Expired.code())?;
        order = orders::find(conn, &req.order_id)?.ok_or(SettlementError::UnknownOrder)?;
    }
    let expected = order.expected();
    let sellable = crate::stores::store::sellable(conn, &order.store_id, &order.product_id)?;
    let decision = decide(order.status, expected, order.paid, req.amount, shared::rules::still_sellable(sellable));
    let payment_id = PaymentId::generate();
    let answer = |status: PaymentStatus, reason: Option<&str>, refund: i64| PaymentAnswer {
        payment_id: payment_id.clone(),
        order_id: req.order_id.clone(),
        status,
        reason: reason.map(str::to_string),
        refund: (refund > 0).then(|| RefundDue { amount: Money::new(refund, req.amount.currency) }),
        amount: req.amount,
        partner_reference: req.partner_reference.clone(),
    };
    let event = |status: PaymentStatus, reason: Option<&str>| EventData {
        payment_id: payment_id.clone(),
        order_id: req.order_id.clone(),
        amount: req.amount,
        status: status.to_string(),
        reason: reason.map(str::to_string),
    };
    match decision {
        Decision::Reject(why) => {
            payments::insert(
                conn,
                &NewPayment {
                    id: &payment_id,
                    partner,
                    order: &req.order_id,
                    partner_reference: &req.partner_reference,
                    amount: req.amount,
                    captured: 0,
                    returned: req.amount.amount,
                    status: Rejected,
                    reason: Some(why.code()),
                },
            )?;
            events::emit(conn, partner, "payment.rejected", event(Rejected, Some(why.code())))?;
            if why == Rejection::NonSellable {
                shared::outbox::send(
                    conn,
                    ServiceName::Settlement,
                    ServiceName::Broker,
                    Message::PaymentRefused { order_id: req.order_id.clone(), reason: why.code().into() },
                )?;
            }
            Ok(answer(Rejected, Some(why.code()), req.amount.amount))
        }
        Decision::Accept { booked, returned, completes } => {
            let status = if completes { Captured } else { Partial };
            payments::insert(
                conn,
                &NewPayment {
                    id: &payment_id,
                    partner,
                    order: &req.order_id,
                    partner_reference: &req.partner_reference,
                    amount: req.amount,
                    captured: booked,
                    returned,
                    status,
                    reason: None,
                },
            )?;
            let txn = Transaction::new(crate::ledger::TransactionKind::Payment, expected.currency)
                .order(&req.order_id)
                .reference(&payment_id)
                .move_money(
                    Account::PartnerClearing(partner.clone()),
                    Account::Escrow(req.order_id.clone()),
                    Money::new(booked, expected.currency),
                );
            if booked > 0 {
                ledger::post(conn, &txn)?;
            }
            let paid = order.paid + booked;
            let mut pending = events::Pending::default();
            if completes {
                // Earlier partial payments are now part of a captured order.
                for earlier in payments::of_order(conn, &req.order_id)? {
                    if earlier.status == Partial && earlier.id != payment_id {
                        payments::set_status(conn, &earlier.id, Captured)?;
                        pending.push(
                            earlier.partner_id,
                            "payment.captured",
                            EventData {
                                payment_id: earlier.id,
                                order_id: req.order_id.clone(),
                                amount: Money::new(earlier.amount, expected.currency),
                                status: Captured.to_string(),
                                reason: None,
                            },
                        );
                    }
                }
                orders::set_state(conn, &req.order_id, OrderStatus::Captured, paid, None)?;
                for to in [ServiceName::Broker, ServiceName::Delivery] {
                    shared::outbox::send(
                        conn,
                        ServiceName::Settlement,
                        to,
                        Message::OrderPaid { order_id: req.order_id.clone() },
                    )?;
                }
                pending.push(partner.clone(), "payment.captured", event(Captured, None));
            } else {
                let since = order.partial_since.unwrap_or_else(shared::time::now);
                orders::set_state(conn, &req.order_id, OrderStatus::Partial, paid, Some(since))?;
                pending.push(partner.clone(), "payment.partial", event(Partial, None));
            }
            pending.emit(conn)?;
            Ok(answer(status, None, returned))
        }
    }
}
