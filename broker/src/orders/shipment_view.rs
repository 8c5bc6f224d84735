//! `POST /v1/seller/orders/{order_id}/shipment-view`: a short-lived token with which the
//! order's own seller reads its shipment's status at delivery. Delivery knows sources, not
//! sellers, so the broker, which knows whose order it is, vouches for the seller; the
//! token names only the order (see `shared::shipment_view`).

use super::caller::{authorize, OrderCaller};
use super::domain::Party;
use crate::error::{BrokerError, Result};
use crate::State;
use actix_web::{http::header, web, HttpResponse};
use shared::ids::OrderId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/orders/{order_id}/shipment-view", web::post().to(mint));
}

pub use client::broker::stores::ShipmentViewToken;

#[utoipa::path(post, path = "/v1/seller/orders/{order_id}/shipment-view",
    params(("order_id" = String, Path, description = "the seller's order")),
    responses((status = 200, body = ShipmentViewToken,
            description = "a broker-signed token (`typ: shipment-view+jwt`, audience `delivery:shipment-view`) naming the order"),
        (status = 401, description = "unauthorized"),
        (status = 403, description = "forbidden: not a seller's or manufacturer's token"),
        (status = 404, description = "not_found: no such order, or another seller's")),
    security(("seller" = [])))]
pub async fn mint(state: web::Data<State>, caller: OrderCaller, path: web::Path<String>) -> Result<HttpResponse> {
    if let OrderCaller::Capability(_) = caller {
        return Err(BrokerError::Forbidden("this route is for the order's seller".into()));
    }
    let id = OrderId::parse(&path)?;
    let order = id.clone();
    state
        .core
        .db
        .read(move |c| match authorize(c, &caller, &order, &[Party::Seller]) {
            Ok(_) => Ok(()),
            // Another seller's order answers as one that does not exist.
            Err(BrokerError::Forbidden(_)) => Err(BrokerError::NotFound("order")),
            Err(e) => Err(e),
        })
        .await?;
    let (token, expires_in) = shared::shipment_view::issue(&state.core.auth.signer, &id)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ShipmentViewToken { token, expires_in }))
}
