//! Refund rows, and the chargebacks recorded beside them.

use super::chargeback::{Chargeback, Released};
use super::domain::RefundStatus;
use crate::error::Result;
use crate::escrow::domain::Split;
use crate::orders::pricing::PassedFees;
use crate::orders::OrderRow;
use crate::schema::{chargebacks, order_pricing, orders, refunds};
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

/// What the order's release split, and what chargebacks gave back since. An order
/// released before its pricing was kept counts its value as all it was paid, no fees.
pub fn release_of(conn: &mut AnyConnection, order: &OrderRow) -> Result<Released> {
    let c = order.currency;
    let m = |a: i64| Money::new(a, c);
    let before: Vec<(i64, i64, i64, i64)> = chargebacks::table
        .filter(chargebacks::order_id.eq(&order.order_id))
        .select((
            chargebacks::marketplace_returned,
            chargebacks::referral_returned,
            chargebacks::fulfilment_returned,
            chargebacks::store_debit,
        ))
        .load(conn)?;
    let sum = |f: fn(&(i64, i64, i64, i64)) -> i64| m(before.iter().map(f).sum());
    let back =
        Split { marketplace: sum(|b| b.0), referral: sum(|b| b.1), fulfilment: sum(|b| b.2), store: sum(|b| b.3) };
    type AtRelease = (Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
    let at_release: Option<AtRelease> = order_pricing::table
        .find(&order.order_id)
        .select((
            order_pricing::store_credit,
            order_pricing::fees,
            order_pricing::marketplace_fee,
            order_pricing::referral_fee,
            order_pricing::fulfilment_fee,
        ))
        .first(conn)
        .optional()?;
    let split = match at_release {
        Some((Some(store), Some(fees), marketplace, referral, fulfilment)) => Split {
            // A total without its parts is all the marketplace's.
            marketplace: m(marketplace.unwrap_or(fees)),
            referral: m(referral.unwrap_or(0)),
            fulfilment: m(fulfilment.unwrap_or(0)),
            store: m(store),
        },
        // What it was paid: what it holds now and what chargebacks took from it.
        _ => Split { store: m(order.paid + back.total().amount), ..Split::zero(c) },
    };
    Ok(Released { split, back })
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
            chargebacks::store_debit.eq(c.back.store.amount),
            chargebacks::fees_returned.eq(c.back.fees().amount),
            chargebacks::marketplace_returned.eq(c.back.marketplace.amount),
            chargebacks::referral_returned.eq(c.back.referral.amount),
            chargebacks::fulfilment_returned.eq(c.back.fulfilment.amount),
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

/// The referral and fulfilment fees `store` gave back through others' chargebacks in
/// `[from, to)`, as the store those fees were passed to.
pub fn passed_fees_charged_back(
    conn: &mut AnyConnection,
    store: &StoreId,
    currency: Currency,
    from: Timestamp,
    to: Timestamp,
) -> Result<PassedFees> {
    let rows: Vec<(Option<StoreId>, Option<StoreId>, i64, i64)> = chargebacks::table
        .inner_join(orders::table)
        .filter(orders::referral_store_id.eq(store).or(orders::shipper_store_id.eq(store)))
        .filter(chargebacks::currency.eq(currency))
        .filter(chargebacks::created_at.ge(from))
        .filter(chargebacks::created_at.lt(to))
        .select((
            orders::referral_store_id,
            orders::shipper_store_id,
            chargebacks::referral_returned,
            chargebacks::fulfilment_returned,
        ))
        .load(conn)?;
    let mine = |s: &Option<StoreId>| s.as_ref() == Some(store);
    Ok(rows.iter().fold(PassedFees::default(), |p, (referrer, shipper, r, f)| PassedFees {
        referral: p.referral + if mine(referrer) { *r } else { 0 },
        fulfilment: p.fulfilment + if mine(shipper) { *f } else { 0 },
    }))
}
