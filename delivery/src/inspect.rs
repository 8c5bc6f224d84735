//! Read-only views of the delivery database for operators' tools and the end-to-end
//! tests: what the outbox holds, whether an order's sealed address still exists, and how
//! much of its shipment's history is kept.

use diesel::prelude::*;
use shared::db::{Db, DbError};
use shared::ids::OrderId;
use shared::messages::Envelope;

/// Every message queued for another service, oldest first: `(destination, envelope)`.
pub fn queued_messages(db: &Db) -> Result<Vec<(String, Envelope)>, DbError> {
    use shared::schema::outbox;
    let rows: Vec<(String, String)> = db.read_blocking(|c| {
        outbox::table.order(outbox::seq).select((outbox::destination, outbox::payload)).load(c).map_err(DbError::from)
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(to, payload)| serde_json::from_str::<Envelope>(&payload).ok().map(|e| (to, e)))
        .collect())
}

/// Whether the order's sealed address is still stored (false once shredded).
pub fn sealed_address_exists(db: &Db, order: &OrderId) -> Result<bool, DbError> {
    db.read_blocking(|c| crate::addresses::store::sealed(c, order).map(|s| s.is_some()).map_err(DbError::from))
}

/// How many steps of the order's shipment its history still holds.
pub fn history_len(db: &Db, order: &OrderId) -> Result<usize, DbError> {
    db.read_blocking(|c| {
        let Some(s) = crate::shipments::store::by_order(c, order)? else { return Ok(0) };
        Ok(crate::shipments::store::events_of(c, &s.id)?.len())
    })
}

/// Every byte stored for addresses (ciphertext, key id, routing zone, branch order), row
/// by row, so a test can show that no plaintext is among them on either backend.
pub fn stored_address_bytes(db: &Db) -> Result<Vec<Vec<u8>>, DbError> {
    use crate::schema::addresses;
    let rows: Vec<(OrderId, String, Vec<u8>, String, String)> = db.read_blocking(|c| {
        addresses::table
            .select((
                addresses::order_id,
                addresses::key_id,
                addresses::sealed,
                addresses::region,
                addresses::branch_order,
            ))
            .load(c)
            .map_err(DbError::from)
    })?;
    Ok(rows
        .into_iter()
        .map(|(order, key, sealed, region, branches)| {
            let mut v = sealed;
            for text in [order.into_string(), key, region, branches] {
                v.extend_from_slice(text.as_bytes());
            }
            v
        })
        .collect())
}
