//! The transactional outbox and the idempotent inbox.
//!
//! A state change and the messages it causes are written in one transaction
//! ([`send`], [`enqueue`]); a [`Dispatcher`] delivers them afterwards with retries,
//! exponential backoff and a dead-letter state. Messages that share an ordering key (an
//! order id) reach a destination one at a time, in the order they were written. The
//! receiving side records each message id in its inbox in the same transaction as the
//! effect ([`receive_once`]), so a redelivery changes nothing.

use crate::auth::ServiceCaller;
use crate::config::{OutboxConfig, ServiceName};
use crate::db::{is_unique_violation, AnyConnection, Db, DbError};
use crate::ids::MessageId;
use crate::messages::{Envelope, Message, INBOX_PATH};
use crate::schema::{inbox, outbox};
use crate::time::{now, Timestamp};
use diesel::prelude::*;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The outbox and inbox tables, which every service's database builds on.
pub const MIGRATIONS: crate::db::Migrations =
    crate::migrations!("migrations/outbox/sqlite", "migrations/outbox/postgres");

diesel::alias!(outbox as earlier: EarlierOutbox);

crate::text_enum! {
    /// Where a message of the outbox stands.
    #[derive(utoipa::ToSchema)]
    pub enum MessageStatus {
        /// Not delivered yet: due at `next_attempt_at`.
        Pending,
        Delivered,
        /// Retried for the whole span: waits for an operator, and holds back the later
        /// messages of its ordering key to its destination until revived or discarded.
        Dead,
        /// Given up by an operator: never sent, and no longer holds anything back.
        Discarded,
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub seq: i64,
    pub id: MessageId,
    pub destination: String,
    pub ordering_key: String,
    pub kind: String,
    pub payload: String,
    pub status: MessageStatus,
    pub attempts: i32,
}

/// Writes a message to the outbox, inside the caller's transaction.
pub fn enqueue(
    conn: &mut AnyConnection,
    destination: &str,
    ordering_key: &str,
    kind: &str,
    payload: &str,
) -> QueryResult<MessageId> {
    let id = MessageId::generate();
    insert(conn, &id, destination, ordering_key, kind, payload)?;
    Ok(id)
}

/// Sends a message to another service, inside the caller's transaction.
pub fn send(conn: &mut AnyConnection, from: ServiceName, to: ServiceName, message: Message) -> QueryResult<MessageId> {
    let route = message.route();
    debug_assert!(route.from == from && route.to.contains(&to), "{} is not sent {from} → {to}", message.kind());
    let id = MessageId::generate();
    let kind = message.kind();
    let key = message.ordering_key();
    let envelope = Envelope { id: id.clone(), source: from.as_str().into(), message };
    let payload = serde_json::to_string(&envelope).expect("messages serialize");
    insert(conn, &id, to.as_str(), &key, kind, &payload)?;
    Ok(id)
}

/// A new message, pending and due at once.
fn insert(
    conn: &mut AnyConnection,
    id: &MessageId,
    destination: &str,
    ordering_key: &str,
    kind: &str,
    payload: &str,
) -> QueryResult<()> {
    let t = now();
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(id),
            outbox::destination.eq(destination),
            outbox::ordering_key.eq(ordering_key),
            outbox::kind.eq(kind),
            outbox::payload.eq(payload),
            outbox::status.eq(MessageStatus::Pending),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(t),
            outbox::created_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a received message. `Ok(true)` the first time: apply its effect in this same
/// transaction. `Ok(false)` for a redelivery: do nothing.
pub fn receive_once(conn: &mut AnyConnection, envelope: &Envelope) -> QueryResult<bool> {
    let seen = inbox::table.filter(inbox::message_id.eq(&envelope.id)).count().get_result::<i64>(conn)?;
    if seen > 0 {
        return Ok(false);
    }
    // A savepoint, so that a concurrent duplicate's unique violation does not poison the
    // caller's transaction on PostgreSQL.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(inbox::table)
            .values((
                inbox::message_id.eq(&envelope.id),
                inbox::kind.eq(envelope.message.kind()),
                inbox::source.eq(&envelope.source),
                inbox::received_at.eq(now()),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Counts by status, for `/metrics`, readiness and tests.
pub fn counts(conn: &mut AnyConnection) -> QueryResult<HashMap<MessageStatus, i64>> {
    let rows: Vec<(MessageStatus, i64)> =
        outbox::table.group_by(outbox::status).select((outbox::status, diesel::dsl::count_star())).load(conn)?;
    Ok(rows.into_iter().collect())
}

/// What waits to leave for one destination: `/metrics` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    pub destination: String,
    pub pending: i64,
    pub dead: i64,
    /// When the oldest pending message was written.
    pub oldest_pending: Option<Timestamp>,
}

/// The backlog of every destination that has a pending or dead message.
pub fn backlog(conn: &mut AnyConnection) -> QueryResult<Vec<Backlog>> {
    let rows: Vec<(String, MessageStatus, i64, Option<Timestamp>)> = outbox::table
        .filter(outbox::status.eq_any([MessageStatus::Pending, MessageStatus::Dead]))
        .group_by((outbox::destination, outbox::status))
        .select((outbox::destination, outbox::status, diesel::dsl::count_star(), diesel::dsl::min(outbox::created_at)))
        .load(conn)?;
    let mut by_destination: std::collections::BTreeMap<String, Backlog> = Default::default();
    for (destination, status, n, oldest) in rows {
        let b = by_destination.entry(destination.clone()).or_insert(Backlog {
            destination,
            pending: 0,
            dead: 0,
            oldest_pending: None,
        });
        match status {
            MessageStatus::Dead => b.dead = n,
            _ => {
                b.pending = n;
                b.oldest_pending = oldest;
            }
        }
    }
    Ok(by_destination.into_values().collect())
}

/// Why a delivery failed, and whether trying again could ever help.
#[derive(Debug)]
pub struct DeliverError {
    pub message: String,
    /// A refusal that can never change: the message is dead at once, with this reason.
    pub permanent: bool,
}

impl DeliverError {
    /// A failure that a later attempt may not meet (an outage, a timeout, a "not yet").
    pub fn transient(message: impl Into<String>) -> DeliverError {
        DeliverError { message: message.into(), permanent: false }
    }
}

impl<E: std::fmt::Display> From<E> for DeliverError {
    fn from(e: E) -> Self {
        DeliverError::transient(e.to_string())
    }
}

/// Whether a receiver's refusal can never change, so retrying is pointless: a malformed or
/// invalid message (400, 422), one the receiver will not take from this sender (403), a
/// route or method it does not have (404 `route_not_found`, 405), a body too large or of
/// the wrong type (413, 415). Everything else may pass later and is retried: 401 (keys
/// rotate), 409 `not_yet` (the receiver has not learnt what the message builds on), 429,
/// any other 404 or 409, and every 5xx.
pub fn refusal_is_final(status: u16, code: Option<&str>) -> bool {
    match status {
        400 | 403 | 405 | 413 | 415 | 422 => true,
        404 => code == Some(crate::error::Code::RouteNotFound.as_str()),
        _ => false,
    }
}

/// Something that can carry an outbox row to its destination.
pub trait Deliver: Send + Sync {
    fn deliver<'a>(&'a self, row: &'a OutboxRow) -> BoxFuture<'a, Result<(), DeliverError>>;

    /// Housekeeping of the destination's own (a mail spool's expiry), run beside the
    /// purge of delivered rows, off the async executor.
    fn tidy(&self) {}

    /// Whether a dead message to this destination holds back the later messages of its
    /// ordering key. True for messages between services, whose effects build on each
    /// other; a destination whose messages stand alone (a partner's webhooks, each with
    /// its sequence number) answers false.
    fn dead_holds_key(&self) -> bool {
        true
    }
}

/// Delivers to another service's inbox over HTTP with a short-lived service token.
pub struct HttpPeer {
    pub url: String,
    pub audience: ServiceName,
    pub auth: Arc<crate::auth::AuthState>,
    pub client: reqwest::Client,
}

impl Deliver for HttpPeer {
    fn deliver<'a>(&'a self, row: &'a OutboxRow) -> BoxFuture<'a, Result<(), DeliverError>> {
        Box::pin(async move {
            let token = self.auth.signer.service_token(self.audience)?;
            let resp = self
                .client
                .post(format!("{}{}", self.url, INBOX_PATH))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .header(crate::telemetry::REQUEST_ID_HEADER, row.id.as_str())
                .body(row.payload.clone())
                .send()
                .await?;
            if resp.status().is_success() {
                return Ok(());
            }
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            #[derive(serde::Deserialize)]
            struct Problem {
                code: Option<String>,
            }
            let code = serde_json::from_str::<Problem>(&body).ok().and_then(|p| p.code);
            Err(DeliverError {
                message: format!("{status}: {}", body.chars().take(300).collect::<String>()),
                permanent: refusal_is_final(status.as_u16(), code.as_deref()),
            })
        })
    }
}

/// Delivers due messages, per destination, until told to stop.
pub struct Dispatcher {
    db: Db,
    routes: HashMap<String, Arc<dyn Deliver>>,
    config: OutboxConfig,
    wake: Arc<Notify>,
}

impl Dispatcher {
    pub fn new(db: Db, config: OutboxConfig) -> Dispatcher {
        Self::with_waker(db, config, Arc::new(Notify::new()))
    }

    pub fn with_waker(db: Db, config: OutboxConfig, wake: Arc<Notify>) -> Dispatcher {
        Dispatcher { db, routes: HashMap::new(), config, wake }
    }

    pub fn route(mut self, destination: &str, deliver: Arc<dyn Deliver>) -> Self {
        self.routes.insert(destination.to_string(), deliver);
        self
    }

    /// Call after committing a transaction that enqueued something, to deliver it now
    /// rather than at the next poll.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut last_purge = std::time::Instant::now();
        loop {
            if last_purge.elapsed() > PURGE_EVERY {
                last_purge = std::time::Instant::now();
                let hours = self.config.retain_delivered_hours;
                match self.db.write(move |c| purge_delivered(c, hours)).await {
                    Ok(n) if n > 0 => tracing::info!(deleted = n, "purged delivered outbox messages"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "outbox purge failed"),
                }
                for route in self.routes.values() {
                    let route = route.clone();
                    let _ = tokio::task::spawn_blocking(move || route.tidy()).await;
                }
            }
            let delivered = match self.run_once().await {
                Ok(n) => n,
                Err(DbError::Cancelled) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox pass failed");
                    0
                }
            };
            if *shutdown.borrow() {
                break;
            }
            if delivered > 0 {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll_interval()) => {}
                changed = shutdown.changed() => {
                    // The owner is gone: the process is ending.
                    if changed.is_err() {
                        break;
                    }
                }
            }
            if *shutdown.borrow() {
                // One last pass, so a graceful stop finishes what was committed.
                let _ = self.run_once().await;
                break;
            }
        }
    }

    /// Claims and delivers one batch; returns how many rows it handled.
    pub async fn run_once(&self) -> Result<usize, DbError> {
        let limit = self.config.batch_size;
        let destinations: Vec<String> = self.routes.keys().cloned().collect();
        let holding: Vec<String> =
            self.routes.iter().filter(|(_, route)| route.dead_holds_key()).map(|(d, _)| d.clone()).collect();
        let lease = Duration::from_secs(self.config.lease_secs.max(1));
        let rows = self.db.write(move |c| claim_due(c, &destinations, &holding, limit, lease)).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let results: Vec<(i64, i32, Result<(), DeliverError>)> = futures_util::stream::iter(rows)
            .map(|row| async move {
                let result = match self.routes.get(&row.destination) {
                    Some(route) => route.deliver(&row).await,
                    None => Err(DeliverError::transient(format!("no route to {}", row.destination))),
                };
                if let Err(e) = &result {
                    tracing::warn!(message = %row.id, kind = %row.kind, to = %row.destination, attempt = row.attempts + 1, error = %e.message, "outbox delivery failed");
                }
                (row.seq, row.attempts, result)
            })
            .buffer_unordered(32)
            .collect()
            .await;
        let n = results.len();
        let config = self.config.clone();
        self.db
            .write(move |c| {
                for (seq, attempts, result) in results {
                    record_outcome(c, seq, attempts, result, &config)?;
                }
                Ok::<_, DbError>(())
            })
            .await?;
        Ok(n)
    }
}

/// Picks due messages whose ordering key has no earlier undelivered message, and leases
/// them. The lease is taken row by row with a conditional update, so two dispatchers on
/// one PostgreSQL database never deliver the same row at once.
fn claim_due(
    conn: &mut AnyConnection,
    destinations: &[String],
    holding: &[String],
    limit: i64,
    lease: Duration,
) -> Result<Vec<OutboxRow>, DbError> {
    let t = now();
    // An earlier message of the same key goes first. A dead one, to a destination whose
    // messages build on each other, holds the key until an operator revives or discards
    // it, so nothing overtakes it.
    let unfinished = earlier.field(outbox::status).eq(MessageStatus::Pending).or(earlier
        .field(outbox::status)
        .eq(MessageStatus::Dead)
        .and(earlier.field(outbox::destination).eq_any(holding)));
    let blocked = earlier
        .filter(unfinished)
        .filter(earlier.field(outbox::destination).eq(outbox::destination))
        .filter(earlier.field(outbox::ordering_key).eq(outbox::ordering_key))
        .filter(earlier.field(outbox::seq).lt(outbox::seq))
        .select(earlier.field(outbox::seq));
    let candidates: Vec<OutboxRow> = outbox::table
        .filter(outbox::status.eq(MessageStatus::Pending))
        .filter(outbox::destination.eq_any(destinations))
        .filter(outbox::next_attempt_at.le(t))
        .filter(outbox::lease_until.is_null().or(outbox::lease_until.lt(t)))
        .filter(diesel::dsl::not(diesel::dsl::exists(blocked)))
        .order(outbox::seq)
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)?;
    let lease = t + chrono::Duration::from_std(lease).expect("lease fits");
    let mut claimed = Vec::with_capacity(candidates.len());
    for row in candidates {
        let n = diesel::update(outbox::table)
            .filter(outbox::seq.eq(row.seq))
            .filter(outbox::status.eq(MessageStatus::Pending))
            .filter(outbox::lease_until.is_null().or(outbox::lease_until.lt(t)))
            .set(outbox::lease_until.eq(Some(lease)))
            .execute(conn)?;
        if n == 1 {
            claimed.push(row);
        }
    }
    Ok(claimed)
}

fn record_outcome(
    conn: &mut AnyConnection,
    seq: i64,
    attempts: i32,
    result: Result<(), DeliverError>,
    config: &OutboxConfig,
) -> QueryResult<()> {
    let t = now();
    match result {
        Ok(()) => diesel::update(outbox::table.filter(outbox::seq.eq(seq)))
            .set((
                outbox::status.eq(MessageStatus::Delivered),
                outbox::delivered_at.eq(Some(t)),
                outbox::lease_until.eq(None::<Timestamp>),
                outbox::attempts.eq(attempts + 1),
            ))
            .execute(conn)
            .map(|_| ()),
        Err(e) => {
            let attempts = attempts + 1;
            let dead = e.permanent || gives_up(config, attempts);
            if dead {
                tracing::error!(seq, attempts, error = %e.message, "outbox message dead: it waits for an operator");
            }
            let status = if dead { MessageStatus::Dead } else { MessageStatus::Pending };
            let next = t + chrono::Duration::milliseconds(backoff_ms(config, attempts) as i64);
            diesel::update(outbox::table.filter(outbox::seq.eq(seq)))
                .set((
                    outbox::status.eq(status),
                    outbox::attempts.eq(attempts),
                    outbox::next_attempt_at.eq(next),
                    outbox::lease_until.eq(None::<Timestamp>),
                    outbox::last_error.eq(Some(e.message.chars().take(500).collect::<String>())),
                ))
                .execute(conn)
                .map(|_| ())
        }
    }
}

const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Deletes messages delivered more than `hours` ago.
pub fn purge_delivered(conn: &mut AnyConnection, hours: i64) -> Result<usize, DbError> {
    let before = now() - chrono::Duration::hours(hours);
    Ok(diesel::delete(
        outbox::table.filter(outbox::status.eq(MessageStatus::Delivered)).filter(outbox::delivered_at.lt(before)),
    )
    .execute(conn)?)
}

/// Exponential backoff with a cap: base, 2·base, 4·base, … ≤ max.
pub fn backoff_ms(config: &OutboxConfig, attempts: i32) -> u64 {
    let exp = (attempts.max(1) - 1).min(30) as u32;
    config.base_backoff_ms.saturating_mul(1u64 << exp).min(config.max_backoff_ms)
}

/// Whether a message that failed `attempts` times has been retried for the whole
/// `retry_for_ms`: the sum of the delays the schedule waited between its attempts.
pub fn gives_up(config: &OutboxConfig, attempts: i32) -> bool {
    let mut waited: u64 = 0;
    for attempt in 1..=attempts {
        waited = waited.saturating_add(backoff_ms(config, attempt));
        if waited >= config.retry_for_ms {
            return true;
        }
    }
    false
}

/// Makes a dead or waiting message due now, with the whole retry span again (an
/// operator's action once the cause is fixed). `None` when no dead or pending message has
/// that id.
pub fn retry(conn: &mut AnyConnection, id: &MessageId) -> QueryResult<Option<Listed>> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq_any([MessageStatus::Dead, MessageStatus::Pending])),
    )
    .set((outbox::status.eq(MessageStatus::Pending), outbox::attempts.eq(0), outbox::next_attempt_at.eq(now())))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, id)
}

/// What an operator may do to a message that has not been delivered.
#[derive(Debug, PartialEq)]
pub enum Discard {
    Discarded(Listed),
    /// Only a dead message can be given up: one still pending may yet arrive.
    NotDead(MessageStatus),
    Unknown,
}

/// Gives up a dead message for good (an operator's action): it is never sent, and the
/// later messages of its key go on.
pub fn discard(conn: &mut AnyConnection, id: &MessageId) -> QueryResult<Discard> {
    let n = diesel::update(outbox::table.filter(outbox::id.eq(id)).filter(outbox::status.eq(MessageStatus::Dead)))
        .set((outbox::status.eq(MessageStatus::Discarded), outbox::lease_until.eq(None::<Timestamp>)))
        .execute(conn)?;
    Ok(match get(conn, id)? {
        Some(m) if n == 1 => Discard::Discarded(m),
        Some(m) => Discard::NotDead(m.status),
        None => Discard::Unknown,
    })
}

/// A message as an operator sees it: where it goes and how it fared, never what it says
/// (a payload may name an order or a store; the operator needs neither to revive it).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[diesel(table_name = outbox)]
pub struct Listed {
    #[schema(value_type = String)]
    pub id: MessageId,
    pub destination: String,
    pub kind: String,
    pub status: MessageStatus,
    pub attempts: i32,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// One message, as an operator sees it.
pub fn get(conn: &mut AnyConnection, id: &MessageId) -> QueryResult<Option<Listed>> {
    outbox::table.filter(outbox::id.eq(id)).select(Listed::as_select()).first(conn).optional()
}

/// The messages in `status`, oldest first, at most `limit`.
pub fn list(conn: &mut AnyConnection, status: MessageStatus, limit: i64) -> QueryResult<Vec<Listed>> {
    outbox::table
        .filter(outbox::status.eq(status))
        .order(outbox::seq)
        .limit(limit)
        .select(Listed::as_select())
        .load(conn)
}

/// A service that takes the other services' messages at [`INBOX_PATH`]: its state names
/// what applies a message; [`inbox_routes`] serves the route.
pub trait Inbox: Send + Sync + 'static {
    type Error: actix_web::ResponseError
        + From<DbError>
        + From<diesel::result::Error>
        + From<crate::Error>
        + Send
        + 'static;

    fn core(&self) -> &crate::server::Core;

    /// What applies one message the first time it arrives, in the transaction that
    /// records it.
    fn applier(&self) -> impl FnOnce(&mut AnyConnection, &Envelope) -> Result<(), Self::Error> + Send + 'static;
}

/// The inbox route of a service whose state is `S`.
pub fn inbox_routes<S: Inbox>(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.route(INBOX_PATH, actix_web::web::post().to(take_in::<S>));
}

async fn take_in<S: Inbox>(
    state: actix_web::web::Data<S>,
    caller: ServiceCaller,
    envelope: actix_web::web::Json<Envelope>,
) -> Result<actix_web::HttpResponse, S::Error> {
    let applied = receive(&state.core().db, &caller, envelope.into_inner(), state.applier()).await?;
    if applied {
        // What it applied may have written messages of its own.
        state.core().kick();
    }
    Ok(actix_web::HttpResponse::NoContent().finish())
}

/// The receiving side of a service's inbox route: applies `apply` to a message the first
/// time it arrives, in one transaction with its inbox record, and answers `204` for a
/// message already applied. An `Err` makes the sender retry later. An envelope whose
/// `source` is not the signed caller, or of a kind the caller does not send
/// ([`Message::route`]), is 403 and nothing is written.
pub async fn receive<E, F>(db: &Db, caller: &ServiceCaller, envelope: Envelope, apply: F) -> Result<bool, E>
where
    F: FnOnce(&mut AnyConnection, &Envelope) -> Result<(), E> + Send + 'static,
    E: From<DbError> + From<diesel::result::Error> + From<crate::Error> + Send + 'static,
{
    // Refused before anything is written, not even the message id: the right sender may
    // still send a message of that id.
    envelope.admit(caller.service, caller.receiver).map_err(|refusal| crate::Error::Forbidden(refusal.to_string()))?;
    db.write(move |c| {
        if !receive_once(c, &envelope)? {
            return Ok(false);
        }
        apply(c, &envelope)?;
        Ok(true)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn by_default_a_message_is_retried_for_three_days_at_most_ten_minutes_apart() {
        let c = OutboxConfig::default();
        let attempts_until_dead = (1..).find(|&n| gives_up(&c, n)).unwrap();
        let waited: u64 = (1..=attempts_until_dead).map(|n| backoff_ms(&c, n)).sum();
        assert!(waited >= 72 * 3600 * 1000, "gave up after {waited} ms");
        assert!(waited < 72 * 3600 * 1000 + 10 * 60 * 1000, "retried {waited} ms");
        assert!((1..=attempts_until_dead).all(|n| backoff_ms(&c, n) <= 10 * 60 * 1000));
        // The old schedule's 25 attempts (about 17 minutes) are far from the end.
        assert!(!gives_up(&c, 25));
        assert!(!gives_up(&c, attempts_until_dead - 1));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = OutboxConfig { base_backoff_ms: 100, max_backoff_ms: 1_000, ..OutboxConfig::default() };
        assert_eq!(backoff_ms(&c, 1), 100);
        assert_eq!(backoff_ms(&c, 2), 200);
        assert_eq!(backoff_ms(&c, 4), 800);
        assert_eq!(backoff_ms(&c, 5), 1_000);
        assert_eq!(backoff_ms(&c, 60), 1_000);
    }

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("o.db").to_str().unwrap(), 2, super::MIGRATIONS).unwrap();
        (dir, db)
    }

    /// Records what it was given; fails the first `fail` deliveries of each message.
    struct Recorder {
        fail: usize,
        seen: Mutex<Vec<String>>,
    }

    impl Deliver for Recorder {
        fn deliver<'a>(&'a self, row: &'a OutboxRow) -> BoxFuture<'a, Result<(), DeliverError>> {
            Box::pin(async move {
                let mut seen = self.seen.lock().unwrap();
                let tries = seen.iter().filter(|s| **s == row.payload).count();
                seen.push(row.payload.clone());
                if tries < self.fail {
                    Err(DeliverError::transient("peer down"))
                } else {
                    Ok(())
                }
            })
        }
    }

    fn config() -> OutboxConfig {
        OutboxConfig { base_backoff_ms: 1, max_backoff_ms: 1, retry_for_ms: 3, ..OutboxConfig::default() }
    }

    #[tokio::test]
    async fn messages_of_one_key_go_in_order_and_failures_are_retried_then_dead_lettered() {
        let (_dir, db) = db();
        db.write_blocking(|c| {
            enqueue(c, "peer", "ord_a", "k", "a1")?;
            enqueue(c, "peer", "ord_a", "k", "a2")?;
            enqueue(c, "peer", "ord_b", "k", "b1")?;
            Ok::<_, DbError>(())
        })
        .unwrap();
        let peer = Arc::new(Recorder { fail: 1, seen: Mutex::new(Vec::new()) });
        let d = Dispatcher::new(db.clone(), config()).route("peer", peer.clone());
        for _ in 0..20 {
            d.run_once().await.unwrap();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let seen = peer.seen.lock().unwrap().clone();
        // a2 is never tried before a1 succeeded; each was tried twice (one failure).
        let first_a2 = seen.iter().position(|s| s == "a2").unwrap();
        let last_a1 = seen.iter().rposition(|s| s == "a1").unwrap();
        assert!(last_a1 < first_a2, "{seen:?}");
        assert_eq!(seen.iter().filter(|s| *s == "b1").count(), 2);
        let counted = db.read_blocking(|c| counts(c).map_err(DbError::from)).unwrap();
        assert_eq!(counted.get(&MessageStatus::Delivered), Some(&3));

        // A destination that always fails ends dead once retried for `retry_for_ms` (three
        // attempts 1 ms apart here).
        db.write_blocking(|c| enqueue(c, "down", "ord_c", "k", "c1").map_err(DbError::from)).unwrap();
        let down = Arc::new(Recorder { fail: usize::MAX, seen: Mutex::new(Vec::new()) });
        let d = Dispatcher::new(db.clone(), config()).route("down", down.clone());
        for _ in 0..20 {
            d.run_once().await.unwrap();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        assert_eq!(down.seen.lock().unwrap().len(), 3);
        let counted = db.read_blocking(|c| counts(c).map_err(DbError::from)).unwrap();
        assert_eq!(counted.get(&MessageStatus::Dead), Some(&1));
    }

    #[test]
    fn only_a_refusal_that_can_never_change_is_final() {
        for status in [400, 403, 405, 413, 415, 422] {
            assert!(refusal_is_final(status, None), "{status}");
        }
        assert!(refusal_is_final(404, Some("route_not_found")));
        let passing = [
            (401, None),
            (409, Some("not_yet")),
            (409, None),
            (404, Some("not_found")),
            (404, None),
            (429, Some("rate_limited")),
            (500, None),
            (503, Some("busy")),
        ];
        for (status, code) in passing {
            assert!(!refusal_is_final(status, code), "{status} {code:?}");
        }
    }

    /// Refuses every message for good; stands alone or holds its key as told.
    struct Refuser {
        holds: bool,
        seen: Mutex<Vec<String>>,
    }

    impl Deliver for Refuser {
        fn deliver<'a>(&'a self, row: &'a OutboxRow) -> BoxFuture<'a, Result<(), DeliverError>> {
            Box::pin(async move {
                self.seen.lock().unwrap().push(row.payload.clone());
                if row.payload.starts_with("bad") {
                    Err(DeliverError { message: "422: invalid".into(), permanent: true })
                } else {
                    Ok(())
                }
            })
        }

        fn dead_holds_key(&self) -> bool {
            self.holds
        }
    }

    #[tokio::test]
    async fn a_final_refusal_is_dead_at_once_and_holds_its_key_only_where_messages_build_on_each_other() {
        let (_dir, db) = db();
        db.write_blocking(|c| {
            for to in ["peer", "hooks"] {
                enqueue(c, to, "k", "k", "bad")?;
                enqueue(c, to, "k", "k", "good")?;
            }
            Ok::<_, DbError>(())
        })
        .unwrap();
        let peer = Arc::new(Refuser { holds: true, seen: Mutex::new(Vec::new()) });
        let hooks = Arc::new(Refuser { holds: false, seen: Mutex::new(Vec::new()) });
        // A long schedule: only finality can kill a message here.
        let d = Dispatcher::new(db.clone(), OutboxConfig::default())
            .route("peer", peer.clone())
            .route("hooks", hooks.clone());
        for _ in 0..5 {
            d.run_once().await.unwrap();
        }
        assert_eq!(*peer.seen.lock().unwrap(), ["bad"], "tried once, and nothing overtook it");
        assert_eq!(*hooks.seen.lock().unwrap(), ["bad", "good"], "a standalone message goes on");
        let dead = db.read_blocking(|c| list(c, MessageStatus::Dead, 10).map_err(DbError::from)).unwrap();
        assert_eq!(dead.len(), 2);
        assert!(dead.iter().all(|m| m.attempts == 1 && m.last_error.as_deref() == Some("422: invalid")));
    }

    fn list_first(db: &Db, status: MessageStatus) -> Vec<MessageId> {
        let listed = db.read_blocking(move |c| list(c, status, 10).map_err(DbError::from)).unwrap();
        listed.into_iter().map(|m| m.id).collect()
    }

    #[tokio::test]
    async fn a_dead_message_holds_back_its_key_until_revived_or_discarded() {
        let (_dir, db) = db();
        let ids = db
            .write_blocking(|c| {
                let first = enqueue(c, "peer", "ord_a", "k", "a1")?;
                let second = enqueue(c, "peer", "ord_a", "k", "a2")?;
                enqueue(c, "peer", "ord_b", "k", "b1")?;
                Ok::<_, DbError>((first, second))
            })
            .unwrap();
        // Every message fails three times here: a1 ends dead and a2 must not overtake it;
        // b1, of another key, is tried on its own (and ends dead too).
        let peer = Arc::new(Recorder { fail: 3, seen: Mutex::new(Vec::new()) });
        let d = Dispatcher::new(db.clone(), config()).route("peer", peer.clone());
        for _ in 0..20 {
            d.run_once().await.unwrap();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let seen = peer.seen.lock().unwrap().clone();
        assert!(!seen.contains(&"a2".to_string()), "a2 overtook the dead a1: {seen:?}");
        assert_eq!(seen.iter().filter(|s| *s == "b1").count(), 3, "{seen:?}");
        let dead = db.read_blocking(|c| list(c, MessageStatus::Dead, 10).map_err(DbError::from)).unwrap();
        assert_eq!(dead.len(), 2);
        assert_eq!(dead[0].id, ids.0);
        assert_eq!(dead[0].last_error.as_deref(), Some("peer down"));

        // Revived, a1 is delivered, and only then is a2 tried.
        let revived = db.write_blocking({
            let id = ids.0.clone();
            move |c| retry(c, &id).map(|m| m.is_some()).map_err(DbError::from)
        });
        assert!(revived.unwrap());
        for _ in 0..10 {
            d.run_once().await.unwrap();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let seen = peer.seen.lock().unwrap().clone();
        let a1_ok = seen.iter().rposition(|s| s == "a1").unwrap();
        let a2 = seen.iter().position(|s| s == "a2").unwrap();
        assert!(a1_ok < a2, "{seen:?}");
        assert_eq!(list_first(&db, MessageStatus::Delivered), vec![ids.0.clone()]);

        // Discarded, a dead message is never sent and no longer holds its key; only a
        // dead message can be discarded or revived.
        let ids = db
            .write_blocking(|c| {
                Ok::<_, DbError>((enqueue(c, "down", "ord_c", "k", "c1")?, enqueue(c, "down", "ord_c", "k", "c2")?))
            })
            .unwrap();
        let down = Arc::new(Recorder { fail: 3, seen: Mutex::new(Vec::new()) });
        let d = Dispatcher::new(db.clone(), config()).route("down", down.clone());
        for _ in 0..20 {
            d.run_once().await.unwrap();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let (first, second) = ids;
        let pending_one = second.clone();
        let refused = db.write_blocking(move |c| discard(c, &pending_one).map_err(DbError::from));
        assert_eq!(refused.unwrap(), Discard::NotDead(MessageStatus::Pending));
        let unknown = db.write_blocking(|c| discard(c, &MessageId::generate()).map_err(DbError::from));
        assert_eq!(unknown.unwrap(), Discard::Unknown);
        let discarded = db.write_blocking(move |c| discard(c, &first).map_err(DbError::from)).unwrap();
        assert!(matches!(discarded, Discard::Discarded(m) if m.status == MessageStatus::Discarded));
        for _ in 0..10 {
            d.run_once().await.unwrap();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let seen = down.seen.lock().unwrap().clone();
        assert_eq!(seen.iter().filter(|s| *s == "c1").count(), 3, "{seen:?}");
        assert_eq!(seen.last().map(String::as_str), Some("c2"), "{seen:?}");
    }

    #[test]
    fn a_message_is_applied_once_and_delivered_ones_are_purged() {
        let (_dir, db) = db();
        let envelope = Envelope {
            id: MessageId::generate(),
            source: "broker".into(),
            message: Message::OrderShipped { order_id: crate::ids::OrderId::generate() },
        };
        let first = db.write_blocking(|c| receive_once(c, &envelope).map_err(DbError::from)).unwrap();
        let again = db.write_blocking(|c| receive_once(c, &envelope).map_err(DbError::from)).unwrap();
        assert!(first && !again);

        db.write_blocking(|c| {
            let id = enqueue(c, "peer", "k", "k", "x")?;
            diesel::update(outbox::table.filter(outbox::id.eq(&id)))
                .set((
                    outbox::status.eq(MessageStatus::Delivered),
                    outbox::delivered_at.eq(Some(now() - chrono::Duration::hours(200))),
                ))
                .execute(c)?;
            enqueue(c, "peer", "k2", "k", "y")?;
            Ok::<_, DbError>(())
        })
        .unwrap();
        assert_eq!(db.write_blocking(|c| purge_delivered(c, 24 * 7)).unwrap(), 1);
        let counted = db.read_blocking(|c| counts(c).map_err(DbError::from)).unwrap();
        assert_eq!(counted.get(&MessageStatus::Pending), Some(&1));
    }
}
