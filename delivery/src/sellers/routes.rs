use super::store;
use crate::error::DeliveryError;
use crate::inventory::routes::{InventoryBody, InventoryView};
use crate::shipments::domain::LegStatus;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::Seller;
use shared::http::Page;
use shared::ids::ShipmentId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/nodes", web::get().to(nodes))
        .route("/v1/seller/nodes/{node_id}/inventory/{product_id}", web::put().to(set_stock))
        .route("/v1/seller/dispatches", web::get().to(dispatches))
        .route("/v1/seller/dispatches/{shipment_id}/goods-issue", web::post().to(issue));
}

pub use client::delivery::{Dispatch, Dispatches, OwnNodeView, OwnNodes, StockLine};

/// The salesperson's own nodes and what lies at each.
#[utoipa::path(get, path = "/v1/seller/nodes", responses((status = 200, body = OwnNodes)), security(("seller" = [])))]
pub async fn nodes(state: web::Data<State>, seller: Seller) -> Result<HttpResponse, DeliveryError> {
    let nodes = state
        .core
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for (node_id, name, region, store_id) in store::nodes_of(c, &seller.id)? {
                let stock = store::stock_at(c, &node_id)?
                    .into_iter()
                    .map(|(product_id, quantity)| StockLine { product_id, quantity })
                    .collect();
                out.push(OwnNodeView { node_id, name, region, store_id, stock });
            }
            Ok::<_, DeliveryError>(out)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OwnNodes { nodes }))
}

/// The salesperson counts the stock at their own node; another node is not theirs to see.
#[utoipa::path(put, path = "/v1/seller/nodes/{node_id}/inventory/{product_id}", request_body = InventoryBody,
    responses((status = 200, body = InventoryView), (status = 404, description = "node_not_found"),
        (status = 422, description = "invalid_quantity")),
    security(("seller" = [])))]
pub async fn set_stock(
    state: web::Data<State>,
    seller: Seller,
    path: web::Path<(String, String)>,
    body: web::Json<InventoryBody>,
) -> Result<HttpResponse, DeliveryError> {
    let (node, product, quantity) = crate::inventory::routes::counted(path.into_inner(), &body)?;
    let view = state
        .core
        .db
        .write(move |c| {
            if !store::owns(c, &seller.id, &node)? {
                return Err(DeliveryError::NodeNotFound);
            }
            crate::inventory::store::set(c, &node, &product, quantity)?;
            crate::inventory::routes::view(c, node, product)
        })
        .await?;
    // Stock that arrived may route shipments that were waiting for it.
    state.core.kick();
    Ok(HttpResponse::Ok().json(view))
}

fn dispatch(s: crate::shipments::store::ShipmentRow, leg: crate::shipments::store::LegRow) -> Dispatch {
    Dispatch {
        shipment_id: s.id,
        node_id: leg.from_node,
        product_id: s.product_id,
        quantity: s.quantity,
        status: leg.status,
    }
}

/// The goods delivery asks the salesperson to issue, and those on their way from them.
#[utoipa::path(get, path = "/v1/seller/dispatches", params(Page),
    responses((status = 200, body = Dispatches)), security(("seller" = [])))]
pub async fn dispatches(
    state: web::Data<State>,
    seller: Seller,
    page: web::Query<Page>,
) -> Result<HttpResponse, DeliveryError> {
    let (limit, offset) = (page.limit(), page.offset());
    let rows =
        state.core.db.read(move |c| Ok::<_, DeliveryError>(store::dispatches(c, &seller.id, limit, offset)?)).await?;
    let dispatches = rows.into_iter().map(|(s, leg)| dispatch(s, leg)).collect();
    Ok(HttpResponse::Ok().json(Dispatches { dispatches }))
}

/// The salesperson has handed the goods out at their node: couriers may now take the leg.
#[utoipa::path(post, path = "/v1/seller/dispatches/{shipment_id}/goods-issue",
    responses((status = 200, body = Dispatch), (status = 404, description = "shipment_not_found"),
        (status = 409, description = "invalid_transition")),
    security(("seller" = [])))]
pub async fn issue(
    state: web::Data<State>,
    seller: Seller,
    path: web::Path<String>,
) -> Result<HttpResponse, DeliveryError> {
    let shipment = ShipmentId::parse(&path).map_err(shared::Error::from)?;
    let answer = state
        .core
        .db
        .write(move |c| {
            crate::shipments::workflow::issue_goods(c, &seller.id, &shipment)?;
            let s = crate::shipments::store::by_id(c, &shipment)?.ok_or(DeliveryError::ShipmentNotFound)?;
            let first = crate::shipments::store::legs_of(c, &shipment)?
                .into_iter()
                .next()
                .ok_or(DeliveryError::ShipmentNotFound)?;
            Ok::<_, DeliveryError>(dispatch(s, first))
        })
        .await?;
    debug_assert_ne!(answer.status, LegStatus::AwaitingGoodsIssue);
    Ok(HttpResponse::Ok().json(answer))
}
