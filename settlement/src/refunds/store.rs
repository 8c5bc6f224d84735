//! Refund rows.

use super::domain::RefundStatus;
use crate::error::Result;
use crate::schema::refunds;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{PaymentId, RefundId};
use shared::money::Money;
use shared::time::now;

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
