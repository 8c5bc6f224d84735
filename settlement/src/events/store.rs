//! Writing and listing events; a written event is queued as a webhook in the same
//! transaction when the partner has a webhook URL.

use super::domain::{Event, EventData};
use crate::error::Result;
use crate::schema::events;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{EventId, PartnerId};
use shared::time::now;

/// The outbox destination of webhooks.
pub const WEBHOOK_DESTINATION: &str = "webhook";

/// What the outbox row of a webhook holds: whom to send it to, and the event.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct WebhookJob {
    pub partner_id: PartnerId,
    pub event: Event,
}

pub fn emit(conn: &mut AnyConnection, partner: &PartnerId, type_: &str, data: EventData) -> Result<Event> {
    let seq = crate::partners::store::next_event_seq(conn, partner)?;
    let event = Event { seq, id: EventId::generate(), type_: type_.to_string(), created: now(), data };
    diesel::insert_into(events::table)
        .values((
            events::partner_id.eq(partner),
            events::seq.eq(seq),
            events::id.eq(&event.id),
            events::type_.eq(type_),
            events::data.eq(serde_json::to_string(&event.data).expect("event data serializes")),
            events::created_at.eq(event.created),
        ))
        .execute(conn)?;
    if crate::partners::store::has_webhook(conn, partner)? {
        let job = WebhookJob { partner_id: partner.clone(), event: event.clone() };
        let payload = serde_json::to_string(&job).expect("webhook job serializes");
        // One ordering key per partner: its webhooks leave in `seq` order.
        shared::outbox::enqueue(conn, WEBHOOK_DESTINATION, partner.as_str(), type_, &payload)?;
    }
    Ok(event)
}

/// Events to write at the end of a transaction, after its ledger postings, in partner id
/// order (a stable sort keeps each partner's own order): every transaction then takes its
/// row locks in the same order (accounts, then partners by id), so two cannot deadlock.
#[derive(Debug, Default)]
pub struct Pending(Vec<(PartnerId, &'static str, EventData)>);

impl Pending {
    pub fn push(&mut self, partner: PartnerId, type_: &'static str, data: EventData) {
        self.0.push((partner, type_, data));
    }

    pub fn emit(mut self, conn: &mut AnyConnection) -> Result<()> {
        self.0.sort_by(|a, b| a.0.cmp(&b.0));
        for (partner, type_, data) in self.0 {
            emit(conn, &partner, type_, data)?;
        }
        Ok(())
    }
}

pub fn list(conn: &mut AnyConnection, partner: &PartnerId, after: i64, limit: i64) -> Result<Vec<Event>> {
    let rows: Vec<(i64, EventId, String, String, shared::time::Timestamp)> = events::table
        .filter(events::partner_id.eq(partner))
        .filter(events::seq.gt(after))
        .order(events::seq.asc())
        .limit(limit)
        .select((events::seq, events::id, events::type_, events::data, events::created_at))
        .load(conn)?;
    rows.into_iter()
        .map(|(seq, id, type_, data, created)| {
            let data: EventData = serde_json::from_str(&data)
                .map_err(|e| shared::Error::Internal(format!("stored event {id} does not parse: {e}")))?;
            Ok(Event { seq, id, type_, created, data })
        })
        .collect()
}
