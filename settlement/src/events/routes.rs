//! `GET /v1/events?after=&limit=` (partner).

use super::domain::Event;
use crate::error::Result;
use crate::partners::PartnerCaller;
use crate::State;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/events", web::get().to(list));
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Events with a `seq` above this; 0 (the default) from the start.
    pub after: Option<i64>,
    /// 1 to 500, default 100.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<Event>,
    /// Pass as `after` to read on.
    pub next_after: i64,
}

/// The calling partner's events in order.
#[utoipa::path(get, path = "/v1/events", params(EventsQuery), responses((status = 200, body = EventList)),
    security(("partner" = [])))]
pub async fn list(state: web::Data<State>, partner: PartnerCaller, q: web::Query<EventsQuery>) -> Result<HttpResponse> {
    let after = q.after.unwrap_or(0).max(0);
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let events = state.core.db.read(move |c| super::store::list(c, &partner.id, after, limit)).await?;
    let next_after = events.last().map(|e| e.seq).unwrap_or(after);
    Ok(HttpResponse::Ok().json(EventList { events, next_after }))
}
