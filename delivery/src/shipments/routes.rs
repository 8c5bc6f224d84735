use super::store;
use crate::error::DeliveryError;
use crate::State;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use shared::auth::{Capability, Principal, Role};
use shared::ids::{OrderId, ShipmentId};
use shared::time::Timestamp;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/shipments/{order_id}", web::get().to(track))
        .route("/v1/seller/shipments/{order_id}", web::get().to(seller_view));
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LegView {
    pub seq: i32,
    /// The node the leg starts from.
    pub from_node: String,
    /// The next node's id, or `buyer` for the final leg.
    pub to: String,
    pub status: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TrackingView {
    #[schema(value_type = String)]
    pub order_id: OrderId,
    #[schema(value_type = String)]
    pub shipment_id: ShipmentId,
    pub status: String,
    pub delivered: bool,
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub estimated_delivery: Option<Timestamp>,
    pub legs: Vec<LegView>,
}

/// What a salesperson may know: no address, region or node.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SellerView {
    pub status: String,
    pub delivered: bool,
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub estimated_delivery: Option<Timestamp>,
}

fn order_id(raw: &str) -> Result<OrderId, DeliveryError> {
    Ok(OrderId::parse(raw).map_err(shared::Error::from)?)
}

#[utoipa::path(get, path = "/v1/shipments/{order_id}",
    responses((status = 200, body = TrackingView), (status = 404, description = "shipment_not_found")),
    security(("capability" = [])))]
pub async fn track(
    state: web::Data<State>,
    cap: Capability,
    path: web::Path<String>,
) -> Result<HttpResponse, DeliveryError> {
    let order = order_id(&path)?;
    cap.for_order(&order, "read")?;
    let view = state
        .core
        .db
        .read(move |c| {
            let s = store::by_order(c, &order)?.ok_or(DeliveryError::ShipmentNotFound)?;
            let legs = store::legs_of(c, &s.id())?
                .into_iter()
                .map(|l| LegView {
                    seq: l.seq,
                    from_node: l.from_node,
                    to: l.to_node.unwrap_or_else(|| "buyer".into()),
                    status: l.status,
                })
                .collect();
            Ok::<_, DeliveryError>(TrackingView {
                order_id: order,
                shipment_id: s.id(),
                status: s.status.clone(),
                delivered: s.delivered,
                estimated_delivery: s.estimated_delivery,
                legs,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(get, path = "/v1/seller/shipments/{order_id}",
    responses((status = 200, body = SellerView), (status = 404, description = "shipment_not_found")),
    security(("seller" = [])))]
pub async fn seller_view(
    state: web::Data<State>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, DeliveryError> {
    let order = order_id(&path)?;
    // The order's salesperson, or the manufacturer who sells its own back-orders.
    let (role, sub) = (who.0.role, who.0.sub.clone());
    if !matches!(role, Role::Seller | Role::Manufacturer) {
        return Err(shared::Error::Forbidden("sellers only".into()).into());
    }
    let view = state
        .core
        .db
        .read(move |c| {
            let o = store::order(c, &order)?.ok_or(DeliveryError::ShipmentNotFound)?;
            let theirs = match role {
                Role::Seller => o.seller_id.as_deref() == Some(sub.as_str()),
                _ => o.seller_id.is_none() && o.manufacturer_id.as_deref() == Some(sub.as_str()),
            };
            // Another store's order answers as if it did not exist.
            if !theirs {
                return Err(DeliveryError::ShipmentNotFound);
            }
            let s = store::by_order(c, &order)?.ok_or(DeliveryError::ShipmentNotFound)?;
            Ok(SellerView {
                status: s.status.clone(),
                delivered: s.delivered,
                estimated_delivery: s.estimated_delivery,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
