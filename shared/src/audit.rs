//! The operators' audit log: every request an operator makes to a service (an action, a
//! read of a file, a refusal for want of the role) is one entry in that service's
//! database, written by [`trail`] once the answer is decided: who (the operator's id or
//! `bootstrap`), what (the method and route), the target (the route's ids), when, the
//! request id, and the status answered. Entries are never changed: the database's triggers
//! refuse an update or a delete.

use crate::db::{AnyConnection, Db, DbError};
use crate::ids::OperatorId;
use crate::schema::{audit_log, disabled_operators};
use crate::time::{now, Timestamp};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// The audit log and the disabled operators, which every service's database builds on.
pub const MIGRATIONS: crate::db::Migrations =
    crate::migrations!("migrations/audit/sqlite", "migrations/audit/postgres");

/// Who acted as an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The bootstrap token, kept for automation and for creating the first admin.
    Bootstrap,
    Operator(OperatorId),
}

impl Actor {
    pub fn as_str(&self) -> &str {
        match self {
            Actor::Bootstrap => "bootstrap",
            Actor::Operator(id) => id.as_str(),
        }
    }
}

/// Set on a request by the operator extractor, allowed or refused: [`trail`] writes the
/// entry for it.
#[derive(Debug, Clone)]
pub struct Acting(pub Actor);

/// One entry, as `GET /v1/admin/audit` answers it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, Deserialize, utoipa::ToSchema)]
#[diesel(table_name = audit_log)]
pub struct Entry {
    pub seq: i64,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The operator's id, or `bootstrap`.
    pub actor: String,
    /// The method and the route, e.g. `POST /v1/admin/outbox/{message_id}/retry`.
    pub action: String,
    /// The route's ids, e.g. `message_id=msg_…`; empty for a route without any.
    pub target: String,
    pub request_id: String,
    /// What the service answered: 2xx done, 403 refused for want of the role.
    pub status: i32,
}

/// What is written, before it has a sequence number.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub request_id: String,
    pub status: i32,
}

pub fn record(conn: &mut AnyConnection, entry: &NewEntry) -> QueryResult<()> {
    diesel::insert_into(audit_log::table).values(entry).execute(conn).map(|_| ())
}

/// Where a page of the log starts.
#[derive(Debug, Clone, Copy)]
pub enum Page {
    /// The entries after this sequence number, oldest first.
    After(i64),
    /// The entries before this sequence number, newest first.
    Before(i64),
}

/// At most `limit` entries from where `page` starts.
pub fn list(conn: &mut AnyConnection, page: Page, limit: i64) -> QueryResult<Vec<Entry>> {
    let q = audit_log::table.select(Entry::as_select()).limit(limit).into_boxed();
    match page {
        Page::After(seq) => q.filter(audit_log::seq.gt(seq)).order(audit_log::seq.asc()),
        Page::Before(seq) => q.filter(audit_log::seq.lt(seq)).order(audit_log::seq.desc()),
    }
    .load(conn)
}

/// Whether an admin disabled this operator (their tokens are then refused everywhere).
pub fn is_disabled(conn: &mut AnyConnection, id: &OperatorId) -> QueryResult<bool> {
    let n: i64 = disabled_operators::table.filter(disabled_operators::operator_id.eq(id)).count().get_result(conn)?;
    Ok(n > 0)
}

/// Disables (`true`) or enables an operator here; the same fact twice changes nothing.
pub fn set_disabled(conn: &mut AnyConnection, id: &OperatorId, disabled: bool) -> QueryResult<()> {
    if disabled {
        if !is_disabled(conn, id)? {
            diesel::insert_into(disabled_operators::table)
                .values((disabled_operators::operator_id.eq(id), disabled_operators::disabled_at.eq(now())))
                .execute(conn)?;
        }
    } else {
        diesel::delete(disabled_operators::table.filter(disabled_operators::operator_id.eq(id))).execute(conn)?;
    }
    Ok(())
}

/// What the entry of a request says: the route as matched (never the path as sent), and
/// its ids in the order the route names them.
fn describe(req: &actix_web::HttpRequest) -> (String, String) {
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let action = format!("{} {route}", crate::metrics::method_label(req.method()));
    let info = req.match_info();
    let target: Vec<String> =
        info.iter().map(|(name, value)| format!("{name}={}", value.chars().take(80).collect::<String>())).collect();
    (action, target.join(" "))
}

/// Middleware: writes the audit entry of every request an operator made, once the handler
/// has answered and before the answer leaves. An entry that cannot be written turns the
/// answer into a 503: an operator's action is never answered as done without its record.
/// (What the handler committed stays committed; the operator sees the failure and the
/// log says why.)
pub async fn trail(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let res = next.call(req).await?;
    let acting = res.request().extensions().get::<Acting>().cloned();
    let Some(Acting(actor)) = acting else { return Ok(res.map_into_left_body()) };
    let Some(db) = res.request().app_data::<web::Data<Db>>().cloned() else {
        return Ok(res.map_into_left_body());
    };
    let (action, target) = describe(res.request());
    let request_id =
        res.request().extensions().get::<crate::telemetry::RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let entry = NewEntry {
        at: now(),
        actor: actor.as_str().to_string(),
        action,
        target,
        request_id,
        status: i32::from(res.status().as_u16()),
    };
    match db.write(move |c| record(c, &entry).map_err(DbError::from)).await {
        Ok(()) => Ok(res.map_into_left_body()),
        Err(e) => {
            tracing::error!(error = %e, "cannot write the audit entry of an operator's request");
            let problem = crate::Error::Unavailable("the audit log".into());
            let (req, _) = res.into_parts();
            Ok(ServiceResponse::new(req, actix_web::ResponseError::error_response(&problem)).map_into_right_body())
        }
    }
}
