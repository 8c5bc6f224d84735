//! Payment rows.

use super::domain::PaymentStatus;
use crate::error::Result;
use crate::schema::payments;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{OrderId, PartnerId, PaymentId};
use shared::money::{Currency, Money};
use shared::time::now;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = payments)]
pub struct PaymentRow {
    pub id: PaymentId,
    pub partner_id: PartnerId,
    pub order_id: OrderId,
    pub amount: i64,
    pub currency: Currency,
    /// Booked into escrow.
    pub captured: i64,
    /// Refunded so far, out of `captured`.
    pub refunded: i64,
    /// Sent back at once (an overpayment's excess, or all of a rejected payment).
    pub returned: i64,
    pub status: PaymentStatus,
    pub reason: Option<String>,
}

impl PaymentRow {
    pub fn money(&self, amount: i64) -> Money {
        Money::new(amount, self.currency)
    }
    pub fn refundable(&self) -> i64 {
        self.captured - self.refunded
    }
}

pub struct NewPayment<'a> {
    pub id: &'a PaymentId,
    pub partner: &'a PartnerId,
    pub order: &'a OrderId,
    pub partner_reference: &'a str,
    pub amount: Money,
    pub captured: i64,
    pub returned: i64,
    pub status: PaymentStatus,
    pub reason: Option<&'a str>,
}

pub fn insert(conn: &mut AnyConnection, p: &NewPayment) -> Result<()> {
    diesel::insert_into(payments::table)
        .values((
            payments::id.eq(p.id),
            payments::partner_id.eq(p.partner),
            payments::order_id.eq(p.order),
            payments::partner_reference.eq(p.partner_reference),
            payments::amount.eq(p.amount.amount),
            payments::currency.eq(p.amount.currency),
            payments::captured.eq(p.captured),
            payments::refunded.eq(0i64),
            payments::returned.eq(p.returned),
            payments::status.eq(p.status),
            payments::reason.eq(p.reason),
            payments::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut AnyConnection, id: &PaymentId) -> Result<Option<PaymentRow>> {
    Ok(payments::table.find(id).select(PaymentRow::as_select()).first(conn).optional()?)
}

pub fn of_order(conn: &mut AnyConnection, order: &OrderId) -> Result<Vec<PaymentRow>> {
    Ok(payments::table
        .filter(payments::order_id.eq(order))
        .order(payments::created_at.asc())
        .select(PaymentRow::as_select())
        .load(conn)?)
}

pub fn set_status(conn: &mut AnyConnection, id: &PaymentId, status: PaymentStatus) -> Result<()> {
    diesel::update(payments::table.find(id)).set(payments::status.eq(status)).execute(conn)?;
    Ok(())
}

/// Adds a refund to the payment, only if it stays within what was captured.
pub fn add_refund(conn: &mut AnyConnection, id: &PaymentId, amount: i64) -> Result<bool> {
    let n = diesel::update(payments::table.find(id))
        .filter((payments::refunded + amount).le(payments::captured))
        .set(payments::refunded.eq(payments::refunded + amount))
        .execute(conn)?;
    Ok(n == 1)
}
