use super::store;
use crate::error::DeliveryError;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::{Capability, Operator, Support};
use shared::ids::{OrderId, ShipmentId};
use shared::shipment_view::{FileReader, ShipmentViewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/shipments/{order_id}", web::get().to(track))
        .route("/v1/seller/shipments/{order_id}", web::get().to(seller_view))
        .route("/v1/arbiter/shipments/{order_id}", web::get().to(arbiter_view))
        .route("/v1/admin/shipments/{shipment_id}/unlock", web::post().to(unlock));
}

/// `POST /v1/admin/shipments/{shipment_id}/unlock`: the final leg takes PINs again.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Unlocked {
    #[schema(value_type = String)]
    pub shipment_id: ShipmentId,
    pub pin_failures: i32,
}

/// An operator unlocks a final leg that five wrong delivery PINs locked (after checking
/// with the buyer and the courier, outside the marketplace).
#[utoipa::path(post, path = "/v1/admin/shipments/{shipment_id}/unlock", tag = "admin",
    params(("shipment_id" = String, Path)),
    responses((status = 200, body = Unlocked), (status = 404, description = "shipment_not_found")),
    security(("operator" = [])))]
pub async fn unlock(
    state: web::Data<State>,
    _op: Operator<Support>,
    path: web::Path<String>,
) -> Result<HttpResponse, DeliveryError> {
    let shipment = ShipmentId::parse(&path).map_err(shared::Error::from)?;
    let id = shipment.clone();
    let found = state.core.db.write(move |c| Ok::<_, DeliveryError>(store::unlock_pin(c, &id)?)).await?;
    if !found {
        return Err(DeliveryError::ShipmentNotFound);
    }
    Ok(HttpResponse::Ok().json(Unlocked { shipment_id: shipment, pin_failures: 0 }))
}

pub use client::delivery::{LegView, TrackingView};
pub use client::delivery::{SellerView, ShipmentEvent, ShipmentFacts};

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
    // The PIN is the buyer's alone: a narrower token for the order sees the rest.
    let buyer = cap.for_buyer(&order, "accept").is_ok();
    let pins = state.pins.clone();
    let view = state
        .core
        .db
        .read(move |c| {
            let s = store::by_order(c, &order)?.ok_or(DeliveryError::ShipmentNotFound)?;
            let legs = store::legs_of(c, &s.id)?
                .into_iter()
                .map(|l| LegView {
                    seq: l.seq,
                    from_node: l.from_node,
                    to: super::domain::leg_destination(l.to_node),
                    status: l.status,
                })
                .collect();
            Ok::<_, DeliveryError>(TrackingView {
                order_id: order,
                status: s.status,
                delivered: s.delivered,
                estimated_delivery: s.estimated_delivery,
                legs,
                pin: buyer.then(|| pins.of(&s.id)),
                shipment_id: s.id,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The shipment's status for the order's seller, who brings a token the broker signed for
/// this order (`POST /v1/seller/orders/{order_id}/shipment-view` at the broker): delivery
/// holds no seller id, so it cannot tell whose order it is, and need not.
#[utoipa::path(get, path = "/v1/seller/shipments/{order_id}",
    params(("order_id" = String, Path, description = "the order the token names")),
    responses((status = 200, body = SellerView),
        (status = 401, description = "unauthorized or token_expired: no broker-signed shipment view token"),
        (status = 403, description = "forbidden: the token is for another order"),
        (status = 404, description = "shipment_not_found")),
    security(("shipment_view" = [])))]
pub async fn seller_view(
    state: web::Data<State>,
    viewer: ShipmentViewer,
    path: web::Path<String>,
) -> Result<HttpResponse, DeliveryError> {
    let order = order_id(&path)?;
    viewer.for_order(&order)?;
    let view = state
        .core
        .db
        .read(move |c| {
            let s = store::by_order(c, &order)?.ok_or(DeliveryError::ShipmentNotFound)?;
            Ok::<_, DeliveryError>(SellerView {
                status: s.status,
                delivered: s.delivered,
                estimated_delivery: s.estimated_delivery,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// How the order's shipment went, for an arbiter deciding its dispute: the status, each
/// event's kind and time, and whether the buyer's PIN was given; never a node, a region,
/// a courier or a failure's words. Only to a dispute-file token the broker signed for this
/// order as an arbiter read its file (an operator's own token opens nothing here); the read
/// is in the audit log under that operator's name.
#[utoipa::path(get, path = "/v1/arbiter/shipments/{order_id}",
    params(("order_id" = String, Path, description = "the order the token names")),
    responses((status = 200, body = ShipmentFacts),
        (status = 401, description = "unauthorized or token_expired: no broker-signed dispute-file token"),
        (status = 403, description = "forbidden: the token is for another order"),
        (status = 404, description = "shipment_not_found")),
    security(("dispute_file" = [])))]
pub async fn arbiter_view(
    state: web::Data<State>,
    reader: FileReader,
    path: web::Path<String>,
) -> Result<HttpResponse, DeliveryError> {
    let order = order_id(&path)?;
    reader.for_order(&order)?;
    let view = state
        .core
        .db
        .read(move |c| {
            let s = store::by_order(c, &order)?.ok_or(DeliveryError::ShipmentNotFound)?;
            let events =
                store::events_of(c, &s.id)?.into_iter().map(|e| ShipmentEvent { kind: e.kind, at: e.at }).collect();
            Ok::<_, DeliveryError>(ShipmentFacts {
                status: s.status,
                delivered: s.delivered,
                estimated_delivery: s.estimated_delivery,
                events,
                pin_confirmed: s.pin_confirmed,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
