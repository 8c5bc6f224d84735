//! Refund rows, and the chargebacks recorded beside them.

use super::chargeback::{Chargeback, Released};
use super::domain::RefundStatus;
use crate::error::Result;
use crate::orders::OrderRow;
use crate::schema::{chargebacks, order_pricing, refunds};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{OrderId, PaymentId, RefundId, StoreId};
use shared::money::{Currency, Money};
use shared::time::{now, Timestamp};

pub fn insert(conn: &mut AnyConnection, id: &RefundId, payment: &PaymentId, amount: Money, reason: &str) -> Result<()> {
    diesel::insert_into(refunds::table)
        .values((
            refunds::id.eq(id),
            refunds::payment_id.eq(payment),
            refunds::amount.eq(amount.amount),
            refunds::currency.eq(amount.currency),
            refunds::reason.eq(reason),
            refunds::status.eq(RefundStatus::Succeeded),
            refunds::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// What the order's release credited and took, and what chargebacks gave back since. An
/// order released before its pricing was kept counts its value as what was paid, no fees.
pub fn released(conn: &mut AnyConnection, order: &OrderRow) -> Result<Released> {
    let at_release: Option<(Option<i64>, Option<i64>)> = order_pricing::table
        .find(&order.order_id)
        .select((order_pricing::store_credit, order_pricing::fees))
        .first(conn)
        .optional()?;
    let (value, fees) = match at_release {
        Some((Some(credit), Some(fees))) => (credit + fees, fees),
        _ => (order.paid, 0),
    };
    let before: Vec<(i64, i64)> = chargebacks::table
        .filter(chargebacks::order_id.eq(&order.order_id))
        .select((chargebacks::amount, chargebacks::fees_returned))
        .load(conn)?;
    Ok(Released {
        value,
        fees,
        charged_back: before.iter().map(|b| b.0).sum(),
        fees_returned: before.iter().map(|b| b.1).sum(),
    })
}

/// Records a chargeback beside its refund.
pub fn insert_chargeback(conn: &mut AnyConnection, order: &OrderId, c: &Chargeback) -> Result<()> {
    diesel::insert_into(chargebacks::table)
        .values((
            chargebacks::refund_id.eq(&c.refund_id),
            chargebacks::order_id.eq(order),
            chargebacks::store_id.eq(&c.store_id),
            chargebacks::currency.eq(c.amount.currency),
            chargebacks::amount.eq(c.amount.amount),
            chargebacks::store_debit.eq(c.store_debit.amount),
            chargebacks::fees_returned.eq(c.fees_returned.amount),
            chargebacks::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A store's chargebacks in `[from, to)`: what they refunded, and the fees that returned.
pub fn chargeback_totals(
    conn: &mut AnyConnection,
    store: &StoreId,
    currency: Currency,
    from: Timestamp,
    to: Timestamp,
) -> Result<(i64, i64)> {
    let rows: Vec<(i64, i64)> = chargebacks::table
        .filter(chargebacks::store_id.eq(store))
        .filter(chargebacks::currency.eq(currency))
        .filter(chargebacks::created_at.ge(from))
        .filter(chargebacks::created_at.lt(to))
        .select((chargebacks::amount, chargebacks::fees_returned))
        .load(conn)?;
    Ok(rows.iter().fold((0, 0), |(a, f), r| (a + r.0, f + r.1)))
}
