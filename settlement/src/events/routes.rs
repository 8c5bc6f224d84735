//! `GET /v1/events?after=&limit=` (partner).

use super::domain::Event;
use crate::error::{Code, Result, SettlementError};
use crate::partners::PartnerCaller;
use crate::State;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/events", web::get().to(list))
        .route("/v1/events/{seq}/redeliver", web::post().to(redeliver))
        .route("/v1/webhooks/deliveries", web::get().to(deliveries));
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Events with a `seq` above this; 0 (the default) from the start.
    pub after: Option<i64>,
    /// 1 to 500, default 100.
    pub limit: Option<i64>,
}

pub use client::settlement::EventList;

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

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeliveriesQuery {
    /// 1 to 500, default 100.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryLog {
    pub deliveries: Vec<super::deliveries::Delivery>,
}

/// The calling partner's webhook deliveries, newest first: status, attempts, last error.
#[utoipa::path(get, path = "/v1/webhooks/deliveries", params(DeliveriesQuery),
    responses((status = 200, body = DeliveryLog)), security(("partner" = [])))]
pub async fn deliveries(
    state: web::Data<State>,
    partner: PartnerCaller,
    q: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let deliveries = state.core.db.read(move |c| super::deliveries::list(c, &partner.id, limit)).await?;
    Ok(HttpResponse::Ok().json(DeliveryLog { deliveries }))
}

/// Sends one event's webhook again (the body is the same event, `seq` and `id` included).
#[utoipa::path(post, path = "/v1/events/{seq}/redeliver",
    responses((status = 202, body = Event), (status = 404, description = "no such event"),
        (status = 409, description = "no_webhook_url")),
    security(("partner" = [])))]
pub async fn redeliver(state: web::Data<State>, partner: PartnerCaller, path: web::Path<i64>) -> Result<HttpResponse> {
    let seq = path.into_inner();
    let event = state
        .core
        .db
        .write(move |c| {
            if !crate::partners::store::has_webhook(c, &partner.id)? {
                return Err(SettlementError::refused(
                    Code::NoWebhookUrl,
                    "this partner has no webhook URL; read /v1/events instead",
                ));
            }
            super::deliveries::redeliver(c, &partner.id, seq)
        })
        .await?
        .ok_or_else(|| shared::Error::NotFound("event".into()))?;
    state.core.kick();
    Ok(HttpResponse::Accepted().json(event))
}
