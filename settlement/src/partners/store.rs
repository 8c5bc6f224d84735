//! Partner rows.

use crate::error::Result;
use crate::schema::partners;
use diesel::prelude::*;
use shared::crypto::Sealed;
use shared::db::AnyConnection;
use shared::ids::PartnerId;
use shared::time::now;

pub fn insert(
    conn: &mut AnyConnection,
    id: &PartnerId,
    name: &str,
    api_key_hash: &str,
    webhook_url: Option<&str>,
    secret: &Sealed,
) -> Result<()> {
    diesel::insert_into(partners::table)
        .values((
            partners::id.eq(id),
            partners::name.eq(name),
            partners::api_key_hash.eq(api_key_hash),
            partners::webhook_url.eq(webhook_url),
            partners::webhook_secret_key_id.eq(&secret.key_id),
            partners::webhook_secret.eq(&secret.bytes),
            partners::event_seq.eq(0i64),
            partners::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_by_key_hash(conn: &mut AnyConnection, hash: &str) -> Result<Option<PartnerId>> {
    Ok(partners::table.filter(partners::api_key_hash.eq(hash)).select(partners::id).first(conn).optional()?)
}

/// Where and how to sign a partner's webhooks.
pub struct WebhookTarget {
    pub url: Option<String>,
    pub secret: Sealed,
}

pub fn webhook_target(conn: &mut AnyConnection, id: &PartnerId) -> Result<Option<WebhookTarget>> {
    let row: Option<(Option<String>, String, Vec<u8>)> = partners::table
        .find(id)
        .select((partners::webhook_url, partners::webhook_secret_key_id, partners::webhook_secret))
        .first(conn)
        .optional()?;
    Ok(row.map(|(url, key_id, bytes)| WebhookTarget { url, secret: Sealed { key_id, bytes } }))
}

pub fn has_webhook(conn: &mut AnyConnection, id: &PartnerId) -> Result<bool> {
    let url: Option<Option<String>> = partners::table.find(id).select(partners::webhook_url).first(conn).optional()?;
    Ok(url.flatten().is_some())
}

/// Takes the partner's next event number. The update locks the partner's row until the
/// transaction ends, so concurrent writers number one after another, without gaps.
pub fn next_event_seq(conn: &mut AnyConnection, id: &PartnerId) -> Result<i64> {
    diesel::update(partners::table.find(id)).set(partners::event_seq.eq(partners::event_seq + 1)).execute(conn)?;
    Ok(partners::table.find(id).select(partners::event_seq).first(conn)?)
}
