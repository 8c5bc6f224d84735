//! The webhook delivery log per partner, read from the outbox that carries them, and the
//! redelivery of an event on request.

use super::domain::Event;
use super::store::{WebhookJob, WEBHOOK_DESTINATION};
use crate::error::Result;
use diesel::prelude::*;
use serde::Serialize;
use shared::db::AnyConnection;
use shared::ids::PartnerId;
use shared::outbox::MessageStatus;
use shared::schema::outbox as ob;
use shared::time::Timestamp;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub event_id: String,
    pub seq: i64,
    #[serde(rename = "type")]
    pub type_: String,
    /// `pending` (being retried with backoff), `delivered` or `dead` (gave up).
    pub status: String,
    pub attempts: i32,
    /// The last failure, e.g. the status the endpoint answered.
    pub last_error: Option<String>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub queued: Timestamp,
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered: Option<Timestamp>,
}

type Row = (String, MessageStatus, i32, Option<String>, Timestamp, Option<Timestamp>);

/// The partner's latest webhook deliveries, newest first.
pub fn list(conn: &mut AnyConnection, partner: &PartnerId, limit: i64) -> Result<Vec<Delivery>> {
    let rows: Vec<Row> = ob::table
        .filter(ob::destination.eq(WEBHOOK_DESTINATION))
        .filter(ob::ordering_key.eq(partner))
        .order(ob::seq.desc())
        .limit(limit)
        .select((ob::payload, ob::status, ob::attempts, ob::last_error, ob::created_at, ob::delivered_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(payload, status, attempts, last_error, queued, delivered)| {
            let job: WebhookJob = serde_json::from_str(&payload).ok()?;
            Some(Delivery {
                event_id: job.event.id.to_string(),
                seq: job.event.seq,
                type_: job.event.type_,
                status: status.to_string(),
                attempts,
                last_error,
                queued,
                delivered,
            })
        })
        .collect())
}

/// Queues one of the partner's events again. `None` when there is no such event.
pub fn redeliver(conn: &mut AnyConnection, partner: &PartnerId, seq: i64) -> Result<Option<Event>> {
    let Some(event) = super::store::list(conn, partner, seq - 1, 1)?.into_iter().find(|e| e.seq == seq) else {
        return Ok(None);
    };
    let job = WebhookJob { partner_id: partner.clone(), event: event.clone() };
    let payload = serde_json::to_string(&job).expect("webhook job serializes");
    shared::outbox::enqueue(conn, WEBHOOK_DESTINATION, partner.as_str(), &event.type_, &payload)?;
    Ok(Some(event))
}
