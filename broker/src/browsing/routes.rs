//! `POST /v1/browsing-sessions` (a new pseudonym), `GET /v1/browsing` (the session's own
//! sequence) and `DELETE /v1/browsing` (forget it all).

use super::{store, SessionId};
use crate::error::{BrokerError, Code, Result};
use crate::State;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use shared::db::AnyConnection;
use utoipa::ToSchema;

pub const HEADER: &str = "x-session-id";
pub const COOKIE: &str = "mp_session";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/browsing-sessions", web::post().to(create_session))
        .route("/v1/browsing", web::get().to(read_sequence))
        .route("/v1/browsing", web::delete().to(forget));
}

/// The caller's session pseudonym, if it sent a well-formed one. Anything else is
/// ignored rather than refused: browsing works without a session.
#[derive(Debug, Clone)]
pub struct Session(pub Option<SessionId>);

impl FromRequest for Session {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let from_header = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let from_cookie = req
            .headers()
            .get_all(actix_web::http::header::COOKIE)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(COOKIE).and_then(|rest| rest.strip_prefix('=')))
            .map(str::to_string);
        let id = from_header.or(from_cookie).and_then(|v| SessionId::parse(v.trim()).ok());
        std::future::ready(Ok(Session(id)))
    }
}

impl Session {
    /// Adds a step to the session's browsing sequence, where the caller has a session.
    pub async fn note(&self, state: &State, viewed: store::Viewed) -> Result<()> {
        if let Some(id) = self.0.clone() {
            state.core.db.write(move |c| Ok::<_, BrokerError>(store::record_view(c, &id, &viewed)?)).await?;
        }
        Ok(())
    }

    /// Answers what the caller opens (404 `not_found`, naming `what`, if it does not exist)
    /// and notes the view in the caller's session.
    pub async fn open<T: Serialize + Send + 'static>(
        &self,
        state: &State,
        what: &'static str,
        viewed: store::Viewed,
        read: impl FnOnce(&mut AnyConnection) -> diesel::QueryResult<Option<T>> + Send + 'static,
    ) -> Result<HttpResponse> {
        let found = state.core.db.read(move |c| read(c)?.ok_or(BrokerError::NotFound(what))).await?;
        self.note(state, viewed).await?;
        Ok(HttpResponse::Ok().json(found))
    }

    fn required(self) -> Result<SessionId> {
        self.0.ok_or_else(|| {
            BrokerError::refused(
                Code::SessionRequired,
                format!("send a session id in `{HEADER}` or the `{COOKIE}` cookie"),
            )
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct NewSession {
    session_id: SessionId,
}

#[utoipa::path(post, path = "/v1/browsing-sessions", responses((status = 201, body = NewSession)))]
pub async fn create_session() -> HttpResponse {
    let id = SessionId::generate();
    let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax");
    HttpResponse::Created().insert_header(("set-cookie", cookie)).json(NewSession { session_id: id })
}

pub use client::broker::buyers::Sequence;

#[utoipa::path(get, path = "/v1/browsing", responses((status = 200, body = Sequence),
    (status = 422, description = "no or a malformed browsing session")))]
pub async fn read_sequence(state: web::Data<State>, session: Session) -> Result<HttpResponse> {
    let id = session.required()?;
    let sid = id.clone();
    let events = state.core.db.read(move |c| Ok::<_, BrokerError>(store::sequence(c, &sid, 1000)?)).await?;
    Ok(HttpResponse::Ok().json(Sequence { session_id: id, events }))
}

#[utoipa::path(delete, path = "/v1/browsing", responses((status = 204),
    (status = 422, description = "no or a malformed browsing session")))]
pub async fn forget(state: web::Data<State>, session: Session) -> Result<HttpResponse> {
    let id = session.required()?;
    state.core.db.write(move |c| Ok::<_, BrokerError>(store::forget(c, &id)?)).await?;
    let gone = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    Ok(HttpResponse::NoContent().insert_header(("set-cookie", gone)).finish())
}
