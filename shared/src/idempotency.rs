//! Idempotency keys, shaped like Stripe's: a key names one request within a scope; the
//! first call claims it (insert-or-nothing), the answer is stored with the effect in one
//! transaction, a replay with the same fingerprint gets the stored answer, another
//! fingerprint is 422 `idempotency_key_reused`, and a call that finds the key claimed and
//! its lock still running is 409 `idempotency_key_in_use` with `Retry-After`.
//!
//! What is stored under a key is the caller's ([`Stored`]): an HTTP answer ([`Response`],
//! settlement's payments and refunds) or a value of its own as JSON ([`Json`], the broker's
//! placed order, never its capability). Every service keeps its keys in its own database,
//! in the `idempotency_keys` table below; callers purge them after their retention period.

use crate::db::{is_unique_violation, AnyConnection, Db, DbError};
use crate::error::ApiError;
use crate::time::{now, Timestamp};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use diesel::prelude::*;

pub const HEADER: &str = "Idempotency-Key";
/// Set on an answer given again for a key.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// The `idempotency_keys` table, which the database of every service that takes keys
/// builds on.
pub const MIGRATIONS: crate::db::Migrations =
    crate::migrations!("migrations/idempotency/sqlite", "migrations/idempotency/postgres");

use crate::schema::idempotency_keys;
use idempotency_keys as k;

const IN_PROGRESS: &str = "in_progress";
const DONE: &str = "done";

/// Why a request's key is refused, each with its code (the services' error catalogues list
/// them) and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case", prefix = "idempotency_key_")]
pub enum Refusal {
    #[error("this call changes state: send an `Idempotency-Key` header")]
    Required,
    #[error("the `Idempotency-Key` must be 1 to 255 visible ASCII characters")]
    Invalid,
    #[error("this `Idempotency-Key` was used with another request body")]
    Reused,
    #[error("a request with this `Idempotency-Key` is still being processed; retry later")]
    InUse,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn status(self) -> StatusCode {
        match self {
            Refusal::Required | Refusal::Invalid => StatusCode::BAD_REQUEST,
            Refusal::Reused => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::InUse => StatusCode::CONFLICT,
        }
    }

    /// A busy key is worth retrying in a second.
    pub fn headers(self) -> Vec<(&'static str, String)> {
        match self {
            Refusal::InUse => vec![("retry-after", "1".into())],
            _ => Vec::new(),
        }
    }
}

impl ApiError for Refusal {
    fn status(&self) -> StatusCode {
        Refusal::status(*self)
    }

    fn code(&self) -> &'static str {
        self.as_str()
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        Refusal::headers(*self)
    }
}

/// The request's key if it sent one: exactly one header, visible ASCII (the caller checks
/// its own rule on top).
pub fn sent_key(req: &HttpRequest) -> Result<Option<&str>, Refusal> {
    let mut values = req.headers().get_all(HEADER);
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(Refusal::Invalid);
    }
    value.to_str().map(Some).map_err(|_| Refusal::Invalid)
}

/// The key of a call that needs one: 1–255 visible ASCII characters, surrounding blanks
/// trimmed (the first header if several are sent).
pub fn required_key(req: &HttpRequest) -> Result<String, Refusal> {
    let value = req.headers().get(HEADER).ok_or(Refusal::Required)?;
    plain_key(value.to_str().map_err(|_| Refusal::Invalid)?)
}

fn plain_key(raw: &str) -> Result<String, Refusal> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(Refusal::Required);
    }
    if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Refusal::Invalid);
    }
    Ok(key.to_string())
}

/// The fingerprint of a request: route and body in canonical form (object keys sorted),
/// so that the same JSON sent with other whitespace or key order is the same request.
pub fn fingerprint(route: &str, body: &serde_json::Value) -> String {
    crate::crypto::sha256_hex(format!("{route}\n{body}").as_bytes())
}

/// What a caller keeps under a key, as the row holds it: an optional status and a text.
pub trait Stored: Sized {
    fn to_row(&self) -> (Option<i32>, String);
    /// `None` when the row does not hold one (then the key answers nothing but busy).
    fn from_row(status: Option<i32>, body: String) -> Option<Self>;
}

/// An HTTP answer kept as given: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    pub fn new(status: StatusCode, body: impl Into<String>) -> Response {
        Response { status: status.as_u16(), body: body.into() }
    }
}

impl Stored for Response {
    fn to_row(&self) -> (Option<i32>, String) {
        (Some(i32::from(self.status)), self.body.clone())
    }

    fn from_row(status: Option<i32>, body: String) -> Option<Self> {
        Some(Response { status: u16::try_from(status?).ok()?, body })
    }
}

/// A value of the caller's own, kept as JSON without a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize + serde::de::DeserializeOwned> Stored for Json<T> {
    fn to_row(&self) -> (Option<i32>, String) {
        (None, serde_json::to_string(&self.0).expect("stored values serialize"))
    }

    fn from_row(_: Option<i32>, body: String) -> Option<Self> {
        serde_json::from_str(&body).ok().map(Json)
    }
}

/// A key this request holds until it stores its answer or gives the key up.
#[derive(Debug, Clone)]
pub struct Claim {
    scope: String,
    key: String,
}

/// What to do with a request after looking at its key.
#[derive(Debug)]
pub enum Begin<T> {
    /// Process it, then [`complete`] (or [`release`]).
    Claimed(Claim),
    /// Answer what the first request stored; `first_seen` is when it claimed the key.
    Replay { stored: T, first_seen: Timestamp },
}

/// A key's row as [`decide`] reads it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct Row {
    request_hash: String,
    state: String,
    response_status: Option<i32>,
    response_body: Option<String>,
    locked_until: Timestamp,
    created_at: Timestamp,
}

/// What a request does with the row it found under its key.
#[derive(Debug, PartialEq)]
enum Decision<T> {
    /// No row: claim the key.
    Insert,
    Replay {
        stored: T,
        first_seen: Timestamp,
    },
    Refuse(Refusal),
    /// The first request died without an answer: take its stale lock over.
    TakeOver {
        locked_until: Timestamp,
    },
}

/// The rules, over the row as found: another fingerprint is refused whatever the state, a
/// done row replays, a running claim is busy until its lock runs out.
fn decide<T: Stored>(row: Option<Row>, fingerprint: &str, t: Timestamp) -> Decision<T> {
    let Some(row) = row else { return Decision::Insert };
    if !crate::crypto::constant_time_eq(row.request_hash.as_bytes(), fingerprint.as_bytes()) {
        return Decision::Refuse(Refusal::Reused);
    }
    if row.state == DONE {
        return match row.response_body.and_then(|body| T::from_row(row.response_status, body)) {
            Some(stored) => Decision::Replay { stored, first_seen: row.created_at },
            None => Decision::Refuse(Refusal::InUse),
        };
    }
    if row.locked_until > t {
        return Decision::Refuse(Refusal::InUse);
    }
    Decision::TakeOver { locked_until: row.locked_until }
}

fn find(conn: &mut AnyConnection, scope: &str, key: &str) -> QueryResult<Option<Row>> {
    k::table.find((scope, key)).select(Row::as_select()).first(conn).optional()
}

/// Looks the key up in `scope` and claims it if it is new, holding it `lock_secs`. Runs in
/// the caller's transaction: claimed in the transaction that makes the effect, the key
/// commits with it (a concurrent request with the same key waits on the row).
pub fn begin<T: Stored>(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    fingerprint: &str,
    lock_secs: i64,
) -> QueryResult<Result<Begin<T>, Refusal>> {
    let claim = || Ok(Ok(Begin::Claimed(Claim { scope: scope.to_string(), key: key.to_string() })));
    for _ in 0..2 {
        let t = now();
        let lock = t + chrono::Duration::seconds(lock_secs);
        match decide::<T>(find(conn, scope, key)?, fingerprint, t) {
            Decision::Insert => {
                // A savepoint, so that losing the race does not abort the caller's transaction.
                let inserted = conn.transaction(|c| {
                    diesel::insert_into(k::table)
                        .values((
                            k::scope.eq(scope),
                            k::key.eq(key),
                            k::request_hash.eq(fingerprint),
                            k::state.eq(IN_PROGRESS),
                            k::locked_until.eq(lock),
                            k::created_at.eq(t),
                        ))
                        .execute(c)
                });
                match inserted {
                    Ok(_) => return claim(),
                    // Another request claimed it this instant: look again.
                    Err(e) if is_unique_violation(&e) => continue,
                    Err(e) => return Err(e),
                }
            }
            Decision::Replay { stored, first_seen } => return Ok(Ok(Begin::Replay { stored, first_seen })),
            Decision::Refuse(refusal) => return Ok(Err(refusal)),
            Decision::TakeOver { locked_until } => {
                // Whoever takes the stale lock first processes the request again.
                let taken = diesel::update(k::table.find((scope, key)))
                    .filter(k::state.eq(IN_PROGRESS))
                    .filter(k::locked_until.eq(locked_until))
                    .set(k::locked_until.eq(lock))
                    .execute(conn)?;
                if taken == 1 {
                    return claim();
                }
                return Ok(Err(Refusal::InUse));
            }
        }
    }
    Ok(Err(Refusal::InUse))
}

/// Stores the answer under the key; call in the transaction that made the effect.
pub fn complete<T: Stored>(conn: &mut AnyConnection, claim: &Claim, stored: &T) -> QueryResult<()> {
    let (status, body) = stored.to_row();
    diesel::update(k::table.find((&claim.scope, &claim.key)))
        .set((k::state.eq(DONE), k::response_status.eq(status), k::response_body.eq(Some(body))))
        .execute(conn)?;
    Ok(())
}

/// Gives a claimed key up, so that the same request may be tried again.
pub fn release(conn: &mut AnyConnection, claim: &Claim) -> QueryResult<()> {
    diesel::delete(k::table.find((&claim.scope, &claim.key))).filter(k::state.eq(IN_PROGRESS)).execute(conn)?;
    Ok(())
}

/// Deletes keys first seen before `cutoff`; returns how many.
pub fn purge(conn: &mut AnyConnection, cutoff: Timestamp) -> QueryResult<usize> {
    diesel::delete(k::table.filter(k::created_at.lt(cutoff))).execute(conn)
}

/// The failures of a call made under a key, as [`run`] needs them.
pub trait KeyedError: ApiError + From<Refusal> + From<DbError> + From<diesel::result::Error> + Send + 'static {
    /// Whether this answer is stored under the key: a refusal of the request's content is
    /// (the same request would be refused again); what a retry may change is not.
    fn kept_under_key(&self) -> bool;
}

/// Claims the key in its own transaction (for [`run`]).
async fn begin_apart<E: KeyedError>(
    db: &Db,
    scope: String,
    key: String,
    fingerprint: String,
    lock_secs: i64,
) -> Result<Begin<Response>, E> {
    db.write(move |c| Ok(begin::<Response>(c, &scope, &key, &fingerprint, lock_secs)??)).await
}

/// Gives a key up in its own transaction; a failure only logs: the lock frees it later.
pub async fn abandon(db: &Db, claim: Claim) {
    if let Err(e) = db.write(move |c| release(c, &claim).map_err(DbError::from)).await {
        tracing::warn!(error = %e, "could not release an idempotency key; it frees itself when its lock expires");
    }
}

/// The problem document an error answers with, as text, to store under a key.
pub fn problem_text<E: ApiError>(e: &E) -> String {
    let mut p = crate::Problem::new(e.status(), e.code(), e.to_string());
    if let Some(extra) = e.extra() {
        p.extra = extra;
    }
    serde_json::to_string(&p).unwrap_or_default()
}

/// An answer as first given or as replayed.
pub fn answer(stored: &Response, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if status.is_success() { "application/json" } else { crate::error::PROBLEM_JSON };
    let mut resp = HttpResponse::build(status);
    resp.content_type(content_type);
    if replayed {
        resp.insert_header((REPLAYED_HEADER, "true"));
    }
    resp.body(stored.body.clone())
}

/// Runs `effect` under the key, the HTTP answer being what is kept: replays a stored answer,
/// or runs it and answers, storing an error answer when [`KeyedError::kept_under_key`].
/// `effect` gets the claim to [`complete`] in its own transaction.
pub async fn run<E, F, Fut>(
    db: &Db,
    scope: String,
    key: String,
    fingerprint: String,
    lock_secs: i64,
    effect: F,
) -> Result<HttpResponse, E>
where
    E: KeyedError,
    F: FnOnce(Claim) -> Fut,
    Fut: std::future::Future<Output = Result<Response, E>>,
{
    let claim = match begin_apart::<E>(db, scope, key, fingerprint, lock_secs).await? {
        Begin::Replay { stored, .. } => return Ok(answer(&stored, true)),
        Begin::Claimed(claim) => claim,
    };
    match effect(claim.clone()).await {
        Ok(stored) => Ok(answer(&stored, false)),
        Err(e) if e.kept_under_key() => {
            let stored = Response::new(e.status(), problem_text(&e));
            let (c2, kept) = (claim.clone(), stored.clone());
            let saved: Result<(), E> = db.write(move |c| Ok(complete(c, &c2, &kept)?)).await;
            if saved.is_err() {
                abandon(db, claim).await;
            }
            let mut resp = answer(&stored, false);
            for (name, value) in e.headers() {
                if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&value) {
                    resp.headers_mut().insert(actix_web::http::header::HeaderName::from_static(name), v);
                }
            }
            Ok(resp)
        }
        Err(e) => {
            abandon(db, claim).await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("k.db").to_str().unwrap(), 2, MIGRATIONS).unwrap();
        (dir, db)
    }

    fn begin_on<T: Stored + Send + 'static>(
        db: &Db,
        scope: &str,
        key: &str,
        fp: &str,
        lock: i64,
    ) -> Result<Begin<T>, Refusal> {
        let (scope, key, fp) = (scope.to_string(), key.to_string(), fp.to_string());
        db.write_blocking(|c| begin::<T>(c, &scope, &key, &fp, lock).map_err(DbError::from)).unwrap()
    }

    fn claimed<T: std::fmt::Debug>(b: Result<Begin<T>, Refusal>) -> Claim {
        match b {
            Ok(Begin::Claimed(c)) => c,
            other => panic!("expected a claim: {other:?}"),
        }
    }

    fn store<T: Stored>(db: &Db, claim: &Claim, stored: &T) {
        db.write_blocking(|c| complete(c, claim, stored).map_err(DbError::from)).unwrap();
    }

    fn row(fp: &str, state: &str, body: Option<&str>, locked_secs: i64) -> Row {
        let t = now();
        Row {
            request_hash: fp.into(),
            state: state.into(),
            response_status: Some(201),
            response_body: body.map(Into::into),
            locked_until: t + chrono::Duration::seconds(locked_secs),
            created_at: t,
        }
    }

    #[test]
    fn a_fingerprint_ignores_key_order_and_whitespace_but_not_the_route() {
        let body = serde_json::json!({"b": 1, "a": [1, 2]});
        let same: serde_json::Value = serde_json::from_str("{ \"a\": [1,2], \"b\": 1 }").unwrap();
        assert_eq!(fingerprint("POST /x", &body), fingerprint("POST /x", &same));
        assert_ne!(fingerprint("POST /x", &body), fingerprint("POST /y", &body));
    }

    #[test]
    fn the_rules_over_a_found_row() {
        let t = now();
        assert_eq!(decide::<Response>(None, "f", t), Decision::Insert);
        // Another fingerprint is refused whatever the state.
        for state in [IN_PROGRESS, DONE] {
            assert_eq!(
                decide::<Response>(Some(row("f", state, Some("{}"), 60)), "g", t),
                Decision::Refuse(Refusal::Reused)
            );
        }
        match decide::<Response>(Some(row("f", DONE, Some("{}"), -60)), "f", t) {
            Decision::Replay { stored, .. } => assert_eq!(stored, Response { status: 201, body: "{}".into() }),
            other => panic!("expected a replay: {other:?}"),
        }
        // A done row without a readable answer replays nothing.
        assert_eq!(decide::<Response>(Some(row("f", DONE, None, -60)), "f", t), Decision::Refuse(Refusal::InUse));
        assert_eq!(decide::<Json<u32>>(Some(row("f", DONE, Some("x"), -60)), "f", t), Decision::Refuse(Refusal::InUse));
        // A running claim is busy until its lock runs out, then taken over.
        assert_eq!(decide::<Response>(Some(row("f", IN_PROGRESS, None, 60)), "f", t), Decision::Refuse(Refusal::InUse));
        assert!(matches!(decide::<Response>(Some(row("f", IN_PROGRESS, None, -1)), "f", t), Decision::TakeOver { .. }));
    }

    #[test]
    fn keys_have_codes_and_statuses_and_a_plain_key_is_visible_ascii() {
        let codes: Vec<_> =
            <Refusal as strum::IntoEnumIterator>::iter().map(|r| (r.as_str(), r.status().as_u16())).collect();
        assert_eq!(
            codes,
            [
                ("idempotency_key_required", 400),
                ("idempotency_key_invalid", 400),
                ("idempotency_key_reused", 422),
                ("idempotency_key_in_use", 409)
            ]
        );
        assert_eq!(Refusal::InUse.headers(), vec![("retry-after", "1".to_string())]);
        assert_eq!(plain_key("  k-1  "), Ok("k-1".to_string()));
        assert_eq!(plain_key(" "), Err(Refusal::Required));
        assert_eq!(plain_key("a b"), Err(Refusal::Invalid));
        assert_eq!(plain_key(&"k".repeat(256)), Err(Refusal::Invalid));
        assert!(plain_key(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn a_key_is_sent_once() {
        let none = actix_web::test::TestRequest::default().to_http_request();
        assert_eq!(sent_key(&none), Ok(None));
        assert_eq!(required_key(&none), Err(Refusal::Required));
        let one = actix_web::test::TestRequest::default().insert_header((HEADER, "k1")).to_http_request();
        assert_eq!(sent_key(&one), Ok(Some("k1")));
        assert_eq!(required_key(&one), Ok("k1".to_string()));
        let two = actix_web::test::TestRequest::default()
            .append_header((HEADER, "k1"))
            .append_header((HEADER, "k2"))
            .to_http_request();
        assert_eq!(sent_key(&two), Err(Refusal::Invalid));
    }

    #[test]
    fn claim_replay_reuse_busy_takeover_release_and_purge() {
        let (_d, db) = db();
        let claim = claimed(begin_on::<Response>(&db, "p", "k", "fp", 60));
        // While it runs, the same key is busy; another body is refused either way.
        assert_eq!(begin_on::<Response>(&db, "p", "k", "fp", 60).unwrap_err(), Refusal::InUse);
        assert_eq!(begin_on::<Response>(&db, "p", "k", "other", 60).unwrap_err(), Refusal::Reused);
        // Another scope has its own keys.
        claimed(begin_on::<Response>(&db, "q", "k", "fp", 60));

        store(&db, &claim, &Response::new(StatusCode::CREATED, "{\"ok\":true}"));
        match begin_on::<Response>(&db, "p", "k", "fp", 60) {
            Ok(Begin::Replay { stored, .. }) => {
                assert_eq!((stored.status, stored.body.as_str()), (201, "{\"ok\":true}"))
            }
            other => panic!("expected a replay: {other:?}"),
        }

        // A request that died keeps its key only until its lock expires.
        claimed(begin_on::<Response>(&db, "p", "dead", "fp", -1));
        claimed(begin_on::<Response>(&db, "p", "dead", "fp", 60));

        // A released key can be claimed again at once; a done one is not released.
        let gone = claimed(begin_on::<Response>(&db, "p", "gone", "fp", 60));
        db.write_blocking(|c| release(c, &gone).map_err(DbError::from)).unwrap();
        claimed(begin_on::<Response>(&db, "p", "gone", "fp", 60));
        db.write_blocking(|c| release(c, &claim).map_err(DbError::from)).unwrap();
        assert!(matches!(begin_on::<Response>(&db, "p", "k", "fp", 60), Ok(Begin::Replay { .. })));

        // Purging keeps keys seen after the cutoff.
        let old = now() - chrono::Duration::days(30);
        assert_eq!(db.write_blocking(|c| purge(c, old).map_err(DbError::from)).unwrap(), 0);
        let later = now() + chrono::Duration::seconds(1);
        assert!(db.write_blocking(|c| purge(c, later).map_err(DbError::from)).unwrap() >= 4);
        claimed(begin_on::<Response>(&db, "p", "k", "fp", 60));
    }

    #[test]
    fn a_value_of_the_callers_own_is_kept_as_json_and_a_claim_rolls_back_with_its_transaction() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Placed {
            id: String,
        }
        let (_d, db) = db();
        let claim = claimed(begin_on::<Json<Placed>>(&db, "orders", "h", "fp", 60));
        store(&db, &claim, &Json(Placed { id: "o1".into() }));
        match begin_on::<Json<Placed>>(&db, "orders", "h", "fp", 60) {
            Ok(Begin::Replay { stored, first_seen }) => {
                assert_eq!(stored.0, Placed { id: "o1".into() });
                assert!(first_seen <= now());
            }
            other => panic!("expected a replay: {other:?}"),
        }
        // Claimed in a transaction that fails, the key is not kept.
        let failed: Result<(), DbError> = db.write_blocking(|c| {
            claimed(begin::<Json<Placed>>(c, "orders", "x", "fp", 60)?);
            Err(DbError::Cancelled)
        });
        assert!(failed.is_err());
        claimed(begin_on::<Json<Placed>>(&db, "orders", "x", "fp", 60));
    }
}
