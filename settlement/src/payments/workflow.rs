//! Taking a payment: read under the order's lock, decided in `payments::domain`, written
//! once: the capture into escrow, and what it tells the partner, the broker and delivery.

use super::domain::{self, PaymentStatus};
use super::store::{self as payments, NewPayment};
use crate::error::{Code, Result, SettlementError};
use crate::events::{store as events, EventData};
use crate::ledger::{store as ledger, Account, Transaction, TransactionKind};
use crate::orders::domain::Rejection;
use crate::orders::store as orders;

use shared::config::ServiceName;
use shared::db::AnyConnection;
use shared::ids::{OrderId, PartnerId, PaymentId};
use shared::messages::Message;
use shared::money::{Ceiling, Money};

/// A payment report as the partner sends it, parsed.
#[derive(Debug, Clone)]
pub struct PaymentRequest {
    pub order_id: OrderId,
    pub amount: Money,
    pub partner_reference: String,
}

pub use client::settlement::{PaymentAnswer, PaymentBody, RefundDue};

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

/// Applies a payment in the caller's transaction: reads the order under its lock, its
/// payments and the offer's sellability once, decides ([`domain::take`]), and writes the
/// decision. `Err(UnknownOrder)` when the broker's `order_payable` has not arrived.
pub fn take_payment(conn: &mut AnyConnection, partner: &PartnerId, req: &PaymentRequest) -> Result<PaymentAnswer> {
    let order = orders::lock(conn, &req.order_id)?.ok_or(SettlementError::UnknownOrder)?;
    let earlier = payments::of_order(conn, &req.order_id)?;
    let sellable = crate::stores::store::sellable(conn, &order.store_id, &order.product_id)?;
    let take = domain::take(&order, &earlier, sellable, req.amount, shared::time::now());
    let payment_id = PaymentId::generate();
    write(conn, partner, req, &payment_id, &take)?;
    Ok(PaymentAnswer {
        payment_id,
        order_id: req.order_id.clone(),
        status: take.status,
        reason: take.reason.map(|why| why.code().to_string()),
        refund: (take.returned > 0).then(|| RefundDue { amount: Money::new(take.returned, req.amount.currency) }),
        amount: req.amount,
        partner_reference: req.partner_reference.clone(),
    })
}

/// Writes what [`domain::take`] decided: the expiry first (its refunds, events and
/// messages), then the payment, its escrow booking, the order and whom to tell.
fn write(
    conn: &mut AnyConnection,
    partner: &PartnerId,
    req: &PaymentRequest,
    payment_id: &PaymentId,
    take: &domain::Take,
) -> Result<()> {
    if let Some(expiry) = &take.expiry {
        crate::refunds::workflow::write(conn, expiry)?;
    }
    let reason = take.reason.map(|why| why.code());
    payments::insert(
        conn,
        &NewPayment {
            id: payment_id,
            partner,
            order: &req.order_id,
            partner_reference: &req.partner_reference,
            amount: req.amount,
            captured: take.booked,
            returned: take.returned,
            status: take.status,
            reason,
        },
    )?;
    let event = |status: PaymentStatus| EventData {
        payment_id: payment_id.clone(),
        order_id: req.order_id.clone(),
        amount: req.amount,
        status: status.to_string(),
        reason: reason.map(str::to_string),
    };
    let Some((status, paid, partial_since)) = take.order else {
        events::emit(conn, partner, "payment.rejected", event(PaymentStatus::Rejected))?;
        if take.reason == Some(Rejection::NonSellable) {
            let refused = Message::PaymentRefused {
                order_id: req.order_id.clone(),
                reason: Rejection::NonSellable.code().into(),
            };
            shared::outbox::send(conn, ServiceName::Settlement, ServiceName::Broker, refused)?;
        }
        return Ok(());
    };
    let currency = req.amount.currency;
    if take.booked > 0 {
        let txn =
            Transaction::new(TransactionKind::Payment, currency).order(&req.order_id).reference(payment_id).move_money(
                Account::PartnerClearing(partner.clone()),
                Account::Escrow(req.order_id.clone()),
                Money::new(take.booked, currency),
            );
        ledger::post(conn, &txn)?;
    }
    let mut pending = events::Pending::default();
    for earlier in &take.promoted {
        payments::set_status(conn, &earlier.id, PaymentStatus::Captured)?;
        pending.push(
            earlier.partner_id.clone(),
            "payment.captured",
            EventData {
                payment_id: earlier.id.clone(),
                order_id: req.order_id.clone(),
                amount: earlier.money(earlier.amount),
                status: PaymentStatus::Captured.to_string(),
                reason: None,
            },
        );
    }
    orders::set_state(conn, &req.order_id, status, paid, partial_since)?;
    if take.completes() {
        for to in [ServiceName::Broker, ServiceName::Delivery] {
            shared::outbox::send(
                conn,
                ServiceName::Settlement,
                to,
                Message::OrderPaid { order_id: req.order_id.clone() },
            )?;
        }
        pending.push(partner.clone(), "payment.captured", event(PaymentStatus::Captured));
    } else {
        pending.push(partner.clone(), "payment.partial", event(PaymentStatus::Partial));
    }
    pending.emit(conn)
}
