//! Refund rows.

use crate::error::Result;
use crate::schema::refunds;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{PaymentId, RefundId};
use shared::money::Money;
use shared::time::now;

pub const SUCCEEDED: &str = "succeeded";

pub fn insert(conn: &mut AnyConnection, id: &RefundId, payment: &PaymentId, amount: Money, reason: &str) -> Result<()> {
    diesel::insert_into(refunds::table)
        .values((
            refunds::id.eq(id.as_str()),
            refunds::payment_id.eq(payment.as_str()),
            refunds::amount.eq(amount.amount),
            refunds::currency.eq(amount.currency.as_str()),
            refunds::reason.eq(reason),
            refunds::status.eq(SUCCEEDED),
            refunds::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}
