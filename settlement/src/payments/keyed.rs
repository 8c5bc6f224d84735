//! A partner's `POST` under its `Idempotency-Key` (payments, refunds): the body is parsed
//! within the key's claim, the use case writes in one transaction, and its `201 Created`
//! answer is kept under the key in that same transaction, so a replay answers it again.

use crate::error::{Result, SettlementError};
use crate::State;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;
use shared::db::AnyConnection;
use shared::idempotency;

pub async fn create_once<R, T>(
    state: &State,
    scope: String,
    key: String,
    fingerprint: String,
    parse: impl FnOnce() -> Result<R>,
    write: impl FnOnce(&mut AnyConnection, R) -> Result<T> + Send + 'static,
) -> Result<HttpResponse>
where
    R: Send + 'static,
    T: Serialize,
{
    let db = state.core.db.clone();
    let resp = idempotency::run(&db, scope, key, fingerprint, state.settings.idempotency_lock_secs, |claim| {
        let db = db.clone();
        async move {
            let request = parse()?;
            db.write(move |c| {
                let answer = write(c, request)?;
                let text = serde_json::to_string(&answer).expect("answers serialize");
                let answer = idempotency::Response::new(StatusCode::CREATED, text);
                idempotency::complete(c, &claim, &answer)?;
                Ok::<_, SettlementError>(answer)
            })
            .await
        }
    })
    .await?;
    state.core.kick();
    Ok(resp)
}
