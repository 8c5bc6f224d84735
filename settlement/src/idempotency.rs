//! Idempotency keys for the partner API, shaped like Stripe's: a key names one request;
//! the first call claims it (insert-or-nothing), the answer is stored with the effect in
//! one transaction, a replay with the same body gets the stored answer, another body is
//! 422, and a call that arrives while the first is still running is 409 with `Retry-After`.
//! Keys are kept `idempotency_retention_days` (30 by default), then purged.

use crate::error::{Result, SettlementError};
use crate::schema::idempotency_keys as k;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use diesel::prelude::*;
use shared::db::{is_unique_violation, AnyConnection, Db};
use shared::error::ApiError;
use shared::time::{now, Timestamp};

pub const HEADER: &str = "Idempotency-Key";
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

const IN_PROGRESS: &str = "in_progress";
const DONE: &str = "done";

/// A stored key: fingerprint, state, answer status and body, lock expiry.
type KeyRow = (String, String, Option<i32>, Option<String>, Timestamp);

/// A key this request owns until it stores its answer or gives the key up.
#[derive(Debug, Clone)]
pub struct Claim {
    scope: String,
    key: String,
}

/// What to do with a request after looking at its key.
pub enum Begin {
    /// Process it, then [`complete`] (or [`abandon`]).
    Claimed(Claim),
    /// Answer this stored response again.
    Replay { status: u16, body: String },
}

/// The key from the request headers: required, 1–255 visible ASCII characters.
pub fn key_of(req: &HttpRequest) -> Result<String> {
    let value = req.headers().get(HEADER).ok_or(SettlementError::IdempotencyKeyRequired)?;
    let key = value.to_str().map_err(|_| SettlementError::IdempotencyKeyInvalid)?.trim();
    if key.is_empty() {
        return Err(SettlementError::IdempotencyKeyRequired);
    }
    if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SettlementError::IdempotencyKeyInvalid);
    }
    Ok(key.to_string())
}

/// The fingerprint of a request: route and body in canonical form (object keys sorted),
/// so that the same JSON sent with other whitespace or key order is the same request.
pub fn fingerprint(route: &str, body: &serde_json::Value) -> String {
    shared::crypto::sha256_hex(format!("{route}\n{body}").as_bytes())
}

/// Looks the key up in `scope` (a partner, or the operator) and claims it if it is new.
pub async fn begin(db: &Db, scope: String, key: String, fingerprint: String, lock_secs: i64) -> Result<Begin> {
    db.write(move |c| {
        for _ in 0..2 {
            let t = now();
            let row: Option<KeyRow> = k::table
                .find((&scope, &key))
                .select((k::request_hash, k::state, k::response_status, k::response_body, k::locked_until))
                .first(c)
                .optional()?;
            let lock = t + chrono::Duration::seconds(lock_secs);
            match row {
                None => {
                    let inserted = c.transaction(|c| {
                        diesel::insert_into(k::table)
                            .values((
                                k::scope.eq(&scope),
                                k::key.eq(&key),
                                k::request_hash.eq(&fingerprint),
                                k::state.eq(IN_PROGRESS),
                                k::locked_until.eq(lock),
                                k::created_at.eq(t),
                            ))
                            .execute(c)
                    });
                    match inserted {
                        Ok(_) => return Ok(Begin::Claimed(Claim { scope, key })),
                        // Another request claimed it this instant: look again.
                        Err(e) if is_unique_violation(&e) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                Some((hash, _, _, _, _)) if hash != fingerprint => return Err(SettlementError::IdempotencyKeyReused),
                Some((_, state, Some(status), Some(body), _)) if state == DONE => {
                    return Ok(Begin::Replay { status: status as u16, body })
                }
                Some((_, _, _, _, locked_until)) if locked_until > t => {
                    return Err(SettlementError::IdempotencyKeyInUse)
                }
                Some((_, _, _, _, locked_until)) => {
                    // The first request died without an answer; whoever takes the stale
                    // lock first processes the request again.
                    let taken = diesel::update(k::table.find((&scope, &key)))
                        .filter(k::state.eq(IN_PROGRESS))
                        .filter(k::locked_until.eq(locked_until))
                        .set(k::locked_until.eq(lock))
                        .execute(c)?;
                    if taken == 1 {
                        return Ok(Begin::Claimed(Claim { scope, key }));
                    }
                    return Err(SettlementError::IdempotencyKeyInUse);
                }
            }
        }
        Err(SettlementError::IdempotencyKeyInUse)
    })
    .await
}

/// Stores the answer under the key; call in the transaction that made the effect.
pub fn complete(conn: &mut AnyConnection, claim: &Claim, status: StatusCode, body: &str) -> Result<()> {
    diesel::update(k::table.find((&claim.scope, &claim.key)))
        .set((k::state.eq(DONE), k::response_status.eq(Some(status.as_u16() as i32)), k::response_body.eq(Some(body))))
        .execute(conn)?;
    Ok(())
}

/// Gives the key up: the answer is not one to store (e.g. `unknown_order`, a server error).
pub async fn abandon(db: &Db, claim: Claim) {
    let result = db
        .write(move |c| {
            diesel::delete(k::table.find((&claim.scope, &claim.key)))
                .filter(k::state.eq(IN_PROGRESS))
                .execute(c)
                .map_err(SettlementError::from)
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not release an idempotency key; it frees itself when its lock expires");
    }
}

/// Deletes keys older than the retention period.
pub fn purge(conn: &mut AnyConnection, retention_days: i64) -> Result<usize> {
    let cutoff = now() - chrono::Duration::days(retention_days);
    Ok(diesel::delete(k::table.filter(k::created_at.lt(cutoff))).execute(conn)?)
}

/// Whether an error answer is stored under the key: refusals of the request's content are
/// (the same request would be refused again); a missing order, a busy key and server
/// errors are not, so a retry with the same key can succeed.
pub fn stores_error(e: &SettlementError) -> bool {
    let status = e.status();
    status.is_client_error()
        && !matches!(
            e,
            SettlementError::UnknownOrder
                | SettlementError::IdempotencyKeyInUse
                | SettlementError::Shared(shared::Error::Unauthorized | shared::Error::TokenExpired)
        )
}

/// The problem document an error answers with, as text, to store under a key.
pub fn problem_text(e: &SettlementError) -> String {
    let mut p = shared::Problem::new(e.status(), e.code(), e.to_string());
    if let Some(extra) = e.extra() {
        p.extra = extra;
    }
    serde_json::to_string(&p).unwrap_or_default()
}

/// An answer as first given or as replayed.
pub fn answer(status: u16, body: String, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if status.is_success() { "application/json" } else { shared::error::PROBLEM_JSON };
    let mut resp = HttpResponse::build(status);
    resp.content_type(content_type);
    if replayed {
        resp.insert_header((REPLAYED_HEADER, "true"));
    }
    resp.body(body)
}

/// Runs `effect` under the key: replays a stored answer, or runs it and answers, storing the
/// answer when it should be stored. `effect` gets the claim to complete in its transaction.
pub async fn run<F, Fut>(
    db: &Db,
    scope: String,
    key: String,
    fingerprint: String,
    lock_secs: i64,
    effect: F,
) -> Result<HttpResponse>
where
    F: FnOnce(Claim) -> Fut,
    Fut: std::future::Future<Output = Result<(StatusCode, String)>>,
{
    let claim = match begin(db, scope, key, fingerprint, lock_secs).await? {
        Begin::Replay { status, body } => return Ok(answer(status, body, true)),
        Begin::Claimed(claim) => claim,
    };
    match effect(claim.clone()).await {
        Ok((status, body)) => Ok(answer(status.as_u16(), body, false)),
        Err(e) if stores_error(&e) => {
            let text = problem_text(&e);
            let stored = text.clone();
            let status = e.status();
            let c2 = claim.clone();
            let saved = db.write(move |c| complete(c, &c2, status, &stored)).await;
            if saved.is_err() {
                abandon(db, claim).await;
            }
            let mut resp = answer(status.as_u16(), text, false);
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
        let db = Db::open(dir.path().join("k.db").to_str().unwrap(), 2, crate::MIGRATIONS).unwrap();
        (dir, db)
    }

    fn claimed(b: Begin) -> Claim {
        match b {
            Begin::Claimed(c) => c,
            Begin::Replay { .. } => panic!("expected a claim"),
        }
    }

    #[tokio::test]
    async fn claim_replay_reuse_busy_takeover_and_purge() {
        let (_d, db) = db();
        let body = serde_json::json!({"b": 1, "a": [1, 2]});
        let same = serde_json::json!({"a": [1, 2], "b": 1});
        let fp = fingerprint("POST /x", &body);
        assert_eq!(fp, fingerprint("POST /x", &same), "key order does not matter");
        assert_ne!(fp, fingerprint("POST /y", &body));

        let claim = claimed(begin(&db, "p".into(), "k".into(), fp.clone(), 60).await.unwrap());
        // While it runs, the same key is busy; another body is refused either way.
        assert!(matches!(
            begin(&db, "p".into(), "k".into(), fp.clone(), 60).await,
            Err(SettlementError::IdempotencyKeyInUse)
        ));
        assert!(matches!(
            begin(&db, "p".into(), "k".into(), "other".into(), 60).await,
            Err(SettlementError::IdempotencyKeyReused)
        ));
        // Another scope has its own keys.
        claimed(begin(&db, "q".into(), "k".into(), fp.clone(), 60).await.unwrap());

        let c = claim.clone();
        db.write(move |conn| complete(conn, &c, StatusCode::CREATED, "{\"ok\":true}")).await.unwrap();
        match begin(&db, "p".into(), "k".into(), fp.clone(), 60).await.unwrap() {
            Begin::Replay { status, body } => assert_eq!((status, body.as_str()), (201, "{\"ok\":true}")),
            Begin::Claimed(_) => panic!("expected a replay"),
        }

        // A request that died keeps its key only until its lock expires.
        claimed(begin(&db, "p".into(), "dead".into(), fp.clone(), -1).await.unwrap());
        claimed(begin(&db, "p".into(), "dead".into(), fp.clone(), 60).await.unwrap());

        // Abandoned keys can be claimed again at once.
        let gone = claimed(begin(&db, "p".into(), "gone".into(), fp.clone(), 60).await.unwrap());
        abandon(&db, gone).await;
        claimed(begin(&db, "p".into(), "gone".into(), fp.clone(), 60).await.unwrap());

        // Purging keeps keys younger than the retention period.
        assert_eq!(db.write(|c| purge(c, 30)).await.unwrap(), 0);
        assert!(db.write(|c| purge(c, -1)).await.unwrap() >= 4);
        claimed(begin(&db, "p".into(), "k".into(), fp, 60).await.unwrap());
    }
}
