//! `GET /v1/orders/{order_id}/settlement` (the order's capability).

use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use shared::auth::Capability;
use shared::ids::OrderId;
use shared::money::Money;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/orders/{order_id}/settlement", web::get().to(settlement));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementView {
    pub order_id: OrderId,
    pub expected: Money,
    /// Held or released for the order, net of refunds.
    pub paid: Money,
    /// `awaiting_payment`, `partial`, `captured`, `released`, `refunded` or `cancelled`.
    #[schema(value_type = String)]
    pub status: super::OrderStatus,
}

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
