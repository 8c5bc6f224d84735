//! Read-only views of the broker database for operators' tools and the end-to-end tests:
//! what the outbox holds, and whether an order's sealed buyer contact still exists.

use diesel::prelude::*;
use shared::db::{Db, DbError};
use shared::ids::OrderId;
use shared::messages::Envelope;

/// Every message queued for another service, oldest first: `(destination, status, envelope)`.
pub fn queued_messages(db: &Db) -> Result<Vec<(String, String, Envelope)>, DbError> {
    use shared::outbox::outbox;
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
    use super::tables::sales;
    db.read_blocking(|c| sales::table.count().get_result(c).map_err(DbError::from))
}

/// Buyer mails of the order whose payload (with its sealed contact) is still stored.
pub fn unredacted_buyer_mail(db: &Db, order: &OrderId) -> Result<i64, DbError> {
    use shared::outbox::outbox;
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
