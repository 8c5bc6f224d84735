//! `GET /v1/orders/{order_id}/settlement` (the order's capability).

use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::Capability;
use shared::ids::OrderId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/orders/{order_id}/settlement", web::get().to(settlement));
}

pub use client::settlement::SettlementView;

/// The settlement state of an order, for its buyer: nothing about the seller.
#[utoipa::path(get, path = "/v1/orders/{order_id}/settlement",
    responses((status = 200, body = SettlementView), (status = 404, description = "unknown order")),
    security(("capability" = [])))]
pub async fn settlement(state: web::Data<State>, cap: Capability, path: web::Path<String>) -> Result<HttpResponse> {
    let id = OrderId::parse(&path.into_inner())?;
    cap.for_order(&id, "read")?;
    let row = state.core.db.read(move |c| super::store::find(c, &id)).await?;
    let row = row.ok_or_else(|| shared::Error::NotFound("order".into()))?;
    Ok(HttpResponse::Ok().json(SettlementView {
        expected: row.expected(),
        paid: row.paid(),
        order_id: row.order_id,
        status: row.status,
    }))
}
