//! The admin routes every service has, over its own outbox and audit log:
//! `GET /v1/admin/outbox` lists what waits or is dead, `POST
//! /v1/admin/outbox/{message_id}/retry` makes a message due now with the whole retry span
//! again, `POST /v1/admin/outbox/{message_id}/discard` gives a dead one up so the later
//! messages of its key go on, `GET /v1/admin/audit` reads what operators did here. Each
//! service lists these handlers in its OpenAPI document and registers [`routes`].

use crate::audit::{self, Entry};
use crate::auth::{Admin, Operator};
use crate::db::{Db, DbError};
use crate::error::{Code, Error};
use crate::ids::MessageId;
use crate::outbox::{self, Discard, Listed, MessageStatus};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/admin/outbox", web::get().to(list_outbox))
        .route("/v1/admin/outbox/{message_id}/retry", web::post().to(retry_message))
        .route("/v1/admin/outbox/{message_id}/discard", web::post().to(discard_message))
        .route("/v1/admin/audit", web::get().to(read_audit));
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Entries after this sequence number, oldest first (default 0: from the first).
    pub after: Option<i64>,
    /// Entries before this sequence number, newest first (instead of `after`).
    pub before: Option<i64>,
    /// The latest entries, newest first (as `before` the next entry).
    #[serde(default)]
    pub newest: bool,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntries {
    pub entries: Vec<Entry>,
}

/// What operators did at this service, oldest first: page on with `after` = the last
/// `seq`; or newest first (`newest=true`, then `before` = the last `seq`). Reading it is an
/// entry of its own.
#[utoipa::path(get, path = "/v1/admin/audit", params(AuditQuery), tag = "admin",
    responses((status = 200, body = AuditEntries)), security(("operator" = [])))]
pub async fn read_audit(
    db: web::Data<Db>,
    _op: Operator<Admin>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, Error> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let page = match (q.before, q.newest) {
        (Some(before), _) => audit::Page::Before(before),
        (None, true) => audit::Page::Before(i64::MAX),
        (None, false) => audit::Page::After(q.after.unwrap_or(0).max(0)),
    };
    let entries = db.read(move |c| audit::list(c, page, limit).map_err(DbError::from)).await?;
    Ok(HttpResponse::Ok().json(AuditEntries { entries }))
}

/// Which messages to list: those still being retried or those given up on.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Undelivered {
    #[default]
    Dead,
    Pending,
}

impl From<Undelivered> for MessageStatus {
    fn from(u: Undelivered) -> MessageStatus {
        match u {
            Undelivered::Dead => MessageStatus::Dead,
            Undelivered::Pending => MessageStatus::Pending,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OutboxQuery {
    /// `dead` (the default) or `pending`.
    #[param(value_type = Option<String>)]
    pub status: Option<Undelivered>,
    /// At most this many, oldest first (1 to 500, default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Messages {
    pub messages: Vec<Listed>,
}

/// The messages of this service's outbox in one state, oldest first: where each goes, its
/// kind, how often it was tried and why it failed, never what it says.
#[utoipa::path(get, path = "/v1/admin/outbox", params(OutboxQuery), tag = "admin",
    responses((status = 200, body = Messages)), security(("operator" = [])))]
pub async fn list_outbox(
    db: web::Data<Db>,
    _op: Operator<Admin>,
    q: web::Query<OutboxQuery>,
) -> Result<HttpResponse, Error> {
    let status = MessageStatus::from(q.status.unwrap_or_default());
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let messages = db.read(move |c| outbox::list(c, status, limit).map_err(DbError::from)).await?;
    Ok(HttpResponse::Ok().json(Messages { messages }))
}

fn message_id(raw: &str) -> Result<MessageId, Error> {
    Ok(MessageId::parse(raw)?)
}

/// Makes a dead or waiting message due now, with the whole retry span again: for after
/// its cause is fixed. The receiver applies it once, however often it was tried before.
#[utoipa::path(post, path = "/v1/admin/outbox/{message_id}/retry", tag = "admin",
    params(("message_id" = String, Path)),
    responses((status = 200, body = Listed), (status = 404, description = "not_found: no undelivered message of that id")),
    security(("operator" = [])))]
pub async fn retry_message(
    db: web::Data<Db>,
    _op: Operator<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let id = message_id(&path)?;
    let retried = db.write(move |c| outbox::retry(c, &id).map_err(DbError::from)).await?;
    let message = retried.ok_or_else(|| Error::NotFound("undelivered message".into()))?;
    Ok(HttpResponse::Ok().json(message))
}

/// Gives a dead message up for good: it is never sent, and the later messages of its
/// ordering key, which it held back, go on.
#[utoipa::path(post, path = "/v1/admin/outbox/{message_id}/discard", tag = "admin",
    params(("message_id" = String, Path)),
    responses((status = 200, body = Listed), (status = 404, description = "not_found: no message of that id"),
        (status = 409, description = "not_dead: only a dead message can be discarded")),
    security(("operator" = [])))]
pub async fn discard_message(
    db: web::Data<Db>,
    _op: Operator<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let id = message_id(&path)?;
    match db.write(move |c| outbox::discard(c, &id).map_err(DbError::from)).await? {
        Discard::Discarded(message) => Ok(HttpResponse::Ok().json(message)),
        Discard::NotDead(status) => Err(Error::Conflict {
            code: Code::NotDead.as_str(),
            detail: format!("the message is {status}: only a dead message can be discarded"),
        }),
        Discard::Unknown => Err(Error::NotFound("message".into())),
    }
}
