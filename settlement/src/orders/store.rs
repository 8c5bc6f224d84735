//! Order rows.

use super::domain::OrderStatus;
use crate::error::Result;
use crate::schema::orders;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::{OrderId, ProductId, StoreId};
use shared::money::{Currency, Money};
use shared::time::{now, Timestamp};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub order_id: OrderId,
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub referral_store_id: Option<StoreId>,
    pub shipper_store_id: Option<StoreId>,
    pub expected: i64,
    pub currency: Currency,
    pub paid: i64,
    pub status: OrderStatus,
    pub partial_since: Option<Timestamp>,
    pub pay_by: Option<Timestamp>,
    /// Delivery's `order_delivered` arrived.
    pub delivered_at: Option<Timestamp>,
    /// The broker's `order_accepted` arrived.
    pub accepted_at: Option<Timestamp>,
}

impl OrderRow {
    pub fn expected(&self) -> Money {
        Money::new(self.expected, self.currency)
    }
    pub fn paid(&self) -> Money {
        Money::new(self.paid, self.currency)
    }
    /// Still unpaid (or partly paid) after its deadline: the next thing to happen to it is
    /// its expiry, whatever arrives.
    pub fn overdue(&self, at: Timestamp) -> bool {
        matches!(self.status, OrderStatus::AwaitingPayment | OrderStatus::Partial)
            && self.pay_by.is_some_and(|deadline| deadline <= at)
    }
}

pub struct NewOrder<'a> {
    pub order_id: &'a OrderId,
    pub amount: Money,
    pub store_id: &'a StoreId,
    pub product_id: &'a ProductId,
    pub referral_store_id: Option<&'a StoreId>,
    pub shipper_store_id: Option<&'a StoreId>,
    pub pay_by: Option<Timestamp>,
}

/// Records a payable order once; a second `order_payable` for it changes nothing.
pub fn insert(conn: &mut AnyConnection, o: &NewOrder) -> Result<bool> {
    let t = now();
    let inserted = conn.transaction(|c| {
        diesel::insert_into(orders::table)
            .values((
                orders::order_id.eq(o.order_id),
                orders::store_id.eq(o.store_id),
                orders::product_id.eq(o.product_id),
                orders::referral_store_id.eq(o.referral_store_id),
                orders::shipper_store_id.eq(o.shipper_store_id),
                orders::expected.eq(o.amount.amount),
                orders::currency.eq(o.amount.currency),
                orders::paid.eq(0i64),
                orders::status.eq(OrderStatus::AwaitingPayment),
                orders::pay_by.eq(o.pay_by),
                orders::created_at.eq(t),
                orders::updated_at.eq(t),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Locks the order's row for the rest of the transaction (a write to it holds the row
/// lock on PostgreSQL; SQLite has one writer anyway) and reads it afresh, so that two
/// payments or messages for one order apply one after the other.
pub fn lock(conn: &mut AnyConnection, id: &OrderId) -> Result<Option<OrderRow>> {
    let n = diesel::update(orders::table.find(id)).set(orders::updated_at.eq(now())).execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(orders::table.find(id).select(OrderRow::as_select()).first(conn)?))
}

pub fn find(conn: &mut AnyConnection, id: &OrderId) -> Result<Option<OrderRow>> {
    Ok(orders::table.find(id).select(OrderRow::as_select()).first(conn).optional()?)
}

pub fn set_state(
    conn: &mut AnyConnection,
    id: &OrderId,
    status: OrderStatus,
    paid: i64,
    partial_since: Option<Timestamp>,
) -> Result<()> {
    diesel::update(orders::table.find(id))
        .set((
            orders::status.eq(status),
            orders::paid.eq(paid),
            orders::partial_since.eq(partial_since),
            orders::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves the order from `from` to `to` only if it is still in `from`: the guard that makes
/// a release or refund happen once even when its message arrives twice.
/// The facts a release waits for, as they stand now.
pub fn set_facts(
    conn: &mut AnyConnection,
    id: &OrderId,
    delivered: Option<Timestamp>,
    accepted: Option<Timestamp>,
) -> Result<()> {
    diesel::update(orders::table.find(id))
        .set((orders::delivered_at.eq(delivered), orders::accepted_at.eq(accepted)))
        .execute(conn)?;
    Ok(())
}

pub fn transition(conn: &mut AnyConnection, id: &OrderId, from: OrderStatus, to: OrderStatus) -> Result<bool> {
    let n = diesel::update(orders::table.find(id))
        .filter(orders::status.eq(from))
        .set((orders::status.eq(to), orders::updated_at.eq(now())))
        .execute(conn)?;
    Ok(n == 1)
}

/// Orders still unpaid or partly paid whose deadline is `at` or earlier, oldest first.
pub fn overdue(conn: &mut AnyConnection, at: Timestamp, limit: i64) -> Result<Vec<OrderId>> {
    Ok(orders::table
        .filter(orders::status.eq_any([OrderStatus::AwaitingPayment, OrderStatus::Partial]))
        .filter(orders::pay_by.le(at))
        .order(orders::pay_by.asc())
        .limit(limit)
        .select(orders::order_id)
        .load(conn)?)
}

/// Partial orders without a deadline whose first payment is older than `cutoff`.
pub fn partial_before(conn: &mut AnyConnection, cutoff: Timestamp, limit: i64) -> Result<Vec<OrderId>> {
    Ok(orders::table
        .filter(orders::status.eq(OrderStatus::Partial))
        .filter(orders::pay_by.is_null())
        .filter(orders::partial_since.lt(cutoff))
        .limit(limit)
        .select(orders::order_id)
        .load(conn)?)
}

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Money held for the store's open orders (partial or captured); reads only open orders.
pub fn escrow_of_store(conn: &mut AnyConnection, store: &StoreId, currency: Currency) -> Result<Money> {
    let sum: Sum = diesel::sql_query(
        "SELECT CAST(COALESCE(SUM(paid), 0) AS BIGINT) AS total FROM orders \
         WHERE store_id = $1 AND status IN ($2, $3) AND currency = $4",
    )
    .bind::<Text, _>(store)
    .bind::<Text, _>(OrderStatus::Partial)
    .bind::<Text, _>(OrderStatus::Captured)
    .bind::<Text, _>(currency)
    .get_result(conn)?;
    Ok(Money::new(sum.total, currency))
}

/// What settlement told the other services about the order, as (destination, kind) in the
/// order written: for operators tracing an order, and for tests.
pub fn messages_sent(conn: &mut AnyConnection, id: &OrderId) -> Result<Vec<(String, String)>> {
    use shared::schema::outbox as ob;
    Ok(ob::table.filter(ob::ordering_key.eq(id)).order(ob::seq).select((ob::destination, ob::kind)).load(conn)?)
}
