//! Read-only views of the broker database for operators' tools and the end-to-end tests:
//! what the outbox holds, whether an order's sealed buyer contact still exists, the
//! orders and their idempotency keys as stored.

use diesel::prelude::*;
use shared::db::{Db, DbError};
use shared::ids::OrderId;
use shared::messages::Envelope;

/// Every message queued for another service, oldest first: `(destination, status, envelope)`.
pub fn queued_messages(db: &Db) -> Result<Vec<(String, String, Envelope)>, DbError> {
    use shared::schema::outbox;
    let rows: Vec<(String, String, String)> = db.read_blocking(|c| {
        outbox::table
            .filter(outbox::destination.ne(shared::mail::DESTINATION))
            .order(outbox::seq)
            .select((outbox::destination, outbox::status, outbox::payload))
            .load(c)
            .map_err(DbError::from)
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(to, status, payload)| serde_json::from_str::<Envelope>(&payload).ok().map(|e| (to, status, e)))
        .collect())
}

/// Whether the order's sealed buyer contact is still stored (false once shredded).
pub fn contact_exists(db: &Db, order: &OrderId) -> Result<bool, DbError> {
    db.read_blocking(|c| super::store::contact(c, order).map(|s| s.is_some()).map_err(DbError::from))
}

/// Rows in the sales history, for checking that an order registered (or withdrew) its sale.
pub fn sales_count(db: &Db) -> Result<i64, DbError> {
    use crate::schema::sales;
    db.read_blocking(|c| sales::table.count().get_result(c).map_err(DbError::from))
}

/// Buyer mails of the order whose payload (with its sealed contact) is still stored.
pub fn unredacted_buyer_mail(db: &Db, order: &OrderId) -> Result<i64, DbError> {
    use shared::schema::outbox;
    let key = super::store::buyer_mail_key(order);
    db.read_blocking(|c| {
        outbox::table
            .filter(outbox::destination.eq(shared::mail::DESTINATION))
            .filter(outbox::ordering_key.eq(key))
            .filter(outbox::payload.ne("{}"))
            .count()
            .get_result(c)
            .map_err(DbError::from)
    })
}

/// A stored order idempotency key: `(key hash, request hash, order id, answer)`.
pub type OrderKeyRow = (String, String, Option<String>, Option<String>);

/// The stored order idempotency keys, oldest first.
pub fn order_keys(db: &Db) -> Result<Vec<OrderKeyRow>, DbError> {
    use shared::schema::idempotency_keys as k;
    let rows: Vec<(String, String, Option<String>)> = db.read_blocking(|c| {
        k::table
            .filter(k::scope.eq("orders"))
            .order(k::created_at)
            .select((k::key, k::request_hash, k::response_body))
            .load(c)
            .map_err(DbError::from)
    })?;
    Ok(rows
        .into_iter()
        .map(|(key, request, answer)| {
            let order = answer
                .as_deref()
                .and_then(|a| serde_json::from_str::<super::workflow::KeptOrder>(a).ok())
                .map(|kept| kept.order_id.to_string());
            (key, request, order, answer)
        })
        .collect())
}

/// How many orders the broker holds.
pub fn orders_count(db: &Db) -> Result<i64, DbError> {
    use crate::schema::orders;
    db.read_blocking(|c| orders::table.count().get_result(c).map_err(DbError::from))
}
