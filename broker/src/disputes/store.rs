//! Dispute rows. Every function runs inside the caller's transaction, which holds the
//! order's lock: a dispute, the window's end and a decision never race.

use super::domain::{DisputeReason, DisputeStatus, Outcome};
use crate::schema::{dispute_messages, disputes};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{DisputeId, OrderId};
use shared::money::{Currency, Money};
use shared::time::{now, Timestamp};

/// A dispute as the broker keeps it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = disputes)]
pub struct DisputeRow {
    pub id: DisputeId,
    pub order_id: OrderId,
    pub reason: DisputeReason,
    pub status: DisputeStatus,
    pub respond_by: Timestamp,
    pub offer_percent: Option<i64>,
    pub offer_expires_at: Option<Timestamp>,
    pub outcome: Option<Outcome>,
    pub refund: Option<i64>,
    pub currency: Currency,
    pub return_required: bool,
    pub decided_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl DisputeRow {
    pub fn refund(&self) -> Option<Money> {
        self.refund.map(|a| Money::new(a, self.currency))
    }
}

/// Opens the order's dispute; `false` when it has one already (one per order).
pub fn open(
    conn: &mut AnyConnection,
    id: &DisputeId,
    order: &OrderId,
    reason: DisputeReason,
    respond_by: Timestamp,
    currency: Currency,
) -> QueryResult<bool> {
    let t = now();
    let inserted = diesel::insert_into(disputes::table)
        .values((
            disputes::id.eq(id),
            disputes::order_id.eq(order),
            disputes::reason.eq(reason),
            disputes::status.eq(DisputeStatus::Open),
            disputes::respond_by.eq(respond_by),
            disputes::currency.eq(currency),
            disputes::return_required.eq(false),
            disputes::created_at.eq(t),
            disputes::updated_at.eq(t),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if shared::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn get(conn: &mut AnyConnection, id: &DisputeId) -> QueryResult<Option<DisputeRow>> {
    disputes::table.find(id).select(DisputeRow::as_select()).first(conn).optional()
}

pub fn of_order(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<Option<DisputeRow>> {
    disputes::table.filter(disputes::order_id.eq(order)).select(DisputeRow::as_select()).first(conn).optional()
}

/// Moves the dispute from `from`, once: `false` when another step moved it first.
pub fn move_status(
    conn: &mut AnyConnection,
    id: &DisputeId,
    from: DisputeStatus,
    to: DisputeStatus,
) -> QueryResult<bool> {
    let n = diesel::update(disputes::table.find(id).filter(disputes::status.eq(from)))
        .set((disputes::status.eq(to), disputes::updated_at.eq(now())))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn set_offer(conn: &mut AnyConnection, id: &DisputeId, percent: i64, expires: Timestamp) -> QueryResult<()> {
    diesel::update(disputes::table.find(id))
        .set((disputes::offer_percent.eq(percent), disputes::offer_expires_at.eq(expires)))
        .execute(conn)?;
    Ok(())
}

pub fn set_decision(
    conn: &mut AnyConnection,
    id: &DisputeId,
    outcome: Outcome,
    refund: Money,
    return_required: bool,
) -> QueryResult<()> {
    diesel::update(disputes::table.find(id))
        .set((
            disputes::outcome.eq(outcome),
            disputes::refund.eq(refund.amount),
            disputes::return_required.eq(return_required),
            disputes::decided_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Open disputes the store did not answer by `respond_by`, and offers that lapsed: both go
/// to the arbiter.
pub fn overdue(conn: &mut AnyConnection, at: Timestamp, limit: i64) -> QueryResult<Vec<DisputeId>> {
    let unanswered = disputes::status.eq(DisputeStatus::Open).and(disputes::respond_by.le(at));
    let lapsed = disputes::status.eq(DisputeStatus::Offered).and(disputes::offer_expires_at.le(at));
    disputes::table
        .filter(unanswered.or(lapsed))
        .order(disputes::respond_by.asc())
        .limit(limit)
        .select(disputes::id)
        .load(conn)
}

pub fn with_status(conn: &mut AnyConnection, status: DisputeStatus, limit: i64) -> QueryResult<Vec<DisputeRow>> {
    disputes::table
        .filter(disputes::status.eq(status))
        .order(disputes::updated_at.asc())
        .limit(limit)
        .select(DisputeRow::as_select())
        .load(conn)
}

/// One message of the dispute's thread: `buyer`, `store` or `arbiter`, never who.
#[derive(Debug, Clone, Queryable)]
pub struct ThreadRow {
    pub author: String,
    pub body: String,
    pub created_at: Timestamp,
}

pub fn add_message(conn: &mut AnyConnection, id: &DisputeId, author: &str, body: &str) -> QueryResult<()> {
    diesel::insert_into(dispute_messages::table)
        .values((
            dispute_messages::dispute_id.eq(id),
            dispute_messages::author.eq(author),
            dispute_messages::body.eq(body),
            dispute_messages::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn thread(conn: &mut AnyConnection, id: &DisputeId) -> QueryResult<Vec<ThreadRow>> {
    dispute_messages::table
        .filter(dispute_messages::dispute_id.eq(id))
        .order(dispute_messages::seq.asc())
        .limit(500)
        .select((dispute_messages::author, dispute_messages::body, dispute_messages::created_at))
        .load(conn)
}
