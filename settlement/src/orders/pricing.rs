//! The parts of an order's price a statement needs, kept beside the order: the public
//! amount (offer price times quantity), the group discount the store funds, the points
//! discount the points liability funds, and once released what the store was credited
//! and the fees. A statement sums them over a period; no route shows them per order.

use crate::error::Result;
use crate::escrow::domain::Split;
use crate::schema::order_pricing;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp as SqlTimestamp};
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::{OrderId, StoreId};
use shared::money::{Currency, Money};
use shared::time::{now, Timestamp};

/// An order's price as the broker announced it, in the order's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    pub public_amount: Money,
    pub group_discount: Money,
    pub points_discount: Money,
}

impl Pricing {
    /// From `order_payable`: `amount` is what the buyer pays. Figures in another currency
    /// than the amount, or negative, count as absent; a public amount that does not cover
    /// what was paid plus the discounts is raised to it, so the statement's lines always
    /// add up.
    pub fn from_message(amount: Money, points: Option<Money>, public: Option<Money>, group: Option<Money>) -> Pricing {
        let c = amount.currency;
        let take = |m: Option<Money>| m.filter(|m| m.currency == c && m.amount >= 0).map_or(0, |m| m.amount);
        let (points, group) = (take(points), take(group));
        let floor = amount.amount.saturating_add(points).saturating_add(group);
        let public = take(public).max(floor);
        Pricing {
            public_amount: Money::new(public, c),
            group_discount: Money::new(public - amount.amount - points, c),
            points_discount: Money::new(points, c),
        }
    }
}

/// Records an order's pricing once; a second `order_payable` changes nothing.
pub fn record(conn: &mut AnyConnection, order: &OrderId, store: &StoreId, p: &Pricing) -> Result<()> {
    let inserted = conn.transaction(|c| {
        diesel::insert_into(order_pricing::table)
            .values((
                order_pricing::order_id.eq(order),
                order_pricing::store_id.eq(store),
                order_pricing::currency.eq(p.public_amount.currency),
                order_pricing::public_amount.eq(p.public_amount.amount),
                order_pricing::group_discount.eq(p.group_discount.amount),
                order_pricing::points_discount.eq(p.points_discount.amount),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub fn get(conn: &mut AnyConnection, order: &OrderId) -> Result<Option<Pricing>> {
    let row: Option<(Currency, i64, i64, i64)> = order_pricing::table
        .find(order)
        .select((
            order_pricing::currency,
            order_pricing::public_amount,
            order_pricing::group_discount,
            order_pricing::points_discount,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(c, public, group, points)| Pricing {
        public_amount: Money::new(public, c),
        group_discount: Money::new(group, c),
        points_discount: Money::new(points, c),
    }))
}

/// Notes the release: what the store was credited and each fee taken. An order without a
/// pricing row (announced before pricing was kept) gets one, valued at what was released.
pub fn released(conn: &mut AnyConnection, order: &OrderId, store: &StoreId, split: &Split) -> Result<()> {
    if get(conn, order)?.is_none() {
        record(conn, order, store, &Pricing::from_message(split.total(), None, None, None))?;
    }
    diesel::update(order_pricing::table.find(order))
        .set((
            order_pricing::released_at.eq(Some(now())),
            order_pricing::store_credit.eq(Some(split.store.amount)),
            order_pricing::fees.eq(Some(split.fees().amount)),
            order_pricing::marketplace_fee.eq(Some(split.marketplace.amount)),
            order_pricing::referral_fee.eq(Some(split.referral.amount)),
            order_pricing::fulfilment_fee.eq(Some(split.fulfilment.amount)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sums over the orders of a store released in `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, QueryableByName)]
pub struct Totals {
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    #[diesel(sql_type = BigInt)]
    pub public_amount: i64,
    #[diesel(sql_type = BigInt)]
    pub group_discount: i64,
    #[diesel(sql_type = BigInt)]
    pub store_credit: i64,
    #[diesel(sql_type = BigInt)]
    pub fees: i64,
}

pub fn totals(
    conn: &mut AnyConnection,
    store: &StoreId,
    currency: Currency,
    from: Timestamp,
    to: Timestamp,
) -> Result<Totals> {
    Ok(diesel::sql_query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS orders, \
         CAST(COALESCE(SUM(public_amount), 0) AS BIGINT) AS public_amount, \
         CAST(COALESCE(SUM(group_discount), 0) AS BIGINT) AS group_discount, \
         CAST(COALESCE(SUM(store_credit), 0) AS BIGINT) AS store_credit, \
         CAST(COALESCE(SUM(fees), 0) AS BIGINT) AS fees \
         FROM order_pricing WHERE store_id = $1 AND currency = $2 \
         AND released_at IS NOT NULL AND released_at >= $3 AND released_at < $4",
    )
    .bind::<Text, _>(store)
    .bind::<Text, _>(currency)
    .bind::<SqlTimestamp, _>(from)
    .bind::<SqlTimestamp, _>(to)
    .get_result(conn)?)
}

/// The referral and fulfilment fees a store was passed as the referring or the shipping
/// store of other stores' orders (or, for chargebacks, gave back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, QueryableByName)]
pub struct PassedFees {
    #[diesel(sql_type = BigInt)]
    pub referral: i64,
    #[diesel(sql_type = BigInt)]
    pub fulfilment: i64,
}

/// The fees passed to `store` by the releases in `[from, to)` of orders it referred or
/// shipped.
pub fn passed_fees(
    conn: &mut AnyConnection,
    store: &StoreId,
    currency: Currency,
    from: Timestamp,
    to: Timestamp,
) -> Result<PassedFees> {
    // Each parameter first appears in its own order, so SQLite numbers them as PostgreSQL.
    Ok(diesel::sql_query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN o.referral_store_id = $1 THEN p.referral_fee ELSE 0 END), 0) \
         AS BIGINT) AS referral, \
         CAST(COALESCE(SUM(CASE WHEN o.shipper_store_id = $1 THEN p.fulfilment_fee ELSE 0 END), 0) \
         AS BIGINT) AS fulfilment \
         FROM order_pricing p JOIN orders o ON o.order_id = p.order_id \
         WHERE (o.referral_store_id = $1 OR o.shipper_store_id = $1) AND p.currency = $2 \
         AND p.released_at IS NOT NULL AND p.released_at >= $3 AND p.released_at < $4",
    )
    .bind::<Text, _>(store)
    .bind::<Text, _>(currency)
    .bind::<SqlTimestamp, _>(from)
    .bind::<SqlTimestamp, _>(to)
    .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    #[test]
    fn the_parts_always_add_up_to_the_public_amount() {
        let p = Pricing::from_message(eur(700), Some(eur(100)), Some(eur(1_000)), Some(eur(200)));
        assert_eq!((p.public_amount, p.group_discount, p.points_discount), (eur(1_000), eur(200), eur(100)));
        // An old broker: no figures, the amount is the public amount.
        let p = Pricing::from_message(eur(700), None, None, None);
        assert_eq!((p.public_amount, p.group_discount, p.points_discount), (eur(700), eur(0), eur(0)));
        // Points only: the public amount is what was paid plus the points.
        let p = Pricing::from_message(eur(700), Some(eur(300)), None, None);
        assert_eq!((p.public_amount, p.group_discount), (eur(1_000), eur(0)));
        // A public amount below what the parts say is raised; another currency or a
        // negative figure counts as absent.
        let usd = Money::new(50, Currency::parse("USD").unwrap());
        let p = Pricing::from_message(eur(700), Some(usd), Some(eur(600)), Some(eur(-5)));
        assert_eq!((p.public_amount, p.group_discount, p.points_discount), (eur(700), eur(0), eur(0)));
        // The group discount is whatever lies between the public amount and the rest.
        let p = Pricing::from_message(eur(700), Some(eur(100)), Some(eur(1_000)), None);
        assert_eq!(p.group_discount, eur(200));
    }
}
