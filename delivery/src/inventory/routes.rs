use crate::error::DeliveryError;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::{Admin, Operator, Support};
use shared::ids::{NodeId, ProductId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/nodes/{node_id}/inventory/{product_id}", web::put().to(set_inventory))
        .route("/v1/nodes/{node_id}/inventory/{product_id}", web::get().to(get_inventory));
}

pub use client::delivery::{InventoryBody, InventoryView, MovementView};

#[utoipa::path(put, path = "/v1/nodes/{node_id}/inventory/{product_id}", request_body = InventoryBody,
    responses((status = 200, body = InventoryView), (status = 404, description = "node_not_found"),
        (status = 422, description = "invalid_quantity")),
    security(("operator" = [])))]
pub async fn set_inventory(
    state: web::Data<State>,
    _op: Operator<Admin>,
    path: web::Path<(String, String)>,
    body: web::Json<InventoryBody>,
) -> Result<HttpResponse, DeliveryError> {
    let (node, product, quantity) = counted(path.into_inner(), &body)?;
    let view = state
        .core
        .db
        .write(move |c| {
            if !crate::nodes::store::exists(c, &node)? {
                return Err(DeliveryError::NodeNotFound);
            }
            super::store::set(c, &node, &product, quantity)?;
            view(c, node, product)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A count of one product at one node, from the path and body of a stock route.
pub(crate) fn counted(
    (node, product): (String, String),
    body: &InventoryBody,
) -> Result<(NodeId, ProductId, i64), DeliveryError> {
    let node = NodeId::parse(&node).map_err(shared::Error::from)?;
    let product = ProductId::parse(&product).map_err(shared::Error::from)?;
    if body.quantity < 0 {
        return Err(DeliveryError::InvalidQuantity);
    }
    Ok((node, product, body.quantity))
}

pub(crate) fn view(
    c: &mut shared::db::AnyConnection,
    node: NodeId,
    product: ProductId,
) -> Result<InventoryView, DeliveryError> {
    let quantity = super::store::quantity(c, &node, &product)?;
    let movements = super::store::movements(c, &node, &product, 20)?
        .into_iter()
        .map(|(delta, reason)| MovementView { delta, reason })
        .collect();
    Ok(InventoryView { node_id: node, product_id: product, quantity, movements })
}

#[utoipa::path(get, path = "/v1/nodes/{node_id}/inventory/{product_id}",
    responses((status = 200, body = InventoryView), (status = 404, description = "node_not_found")),
    security(("operator" = [])))]
pub async fn get_inventory(
    state: web::Data<State>,
    _op: Operator<Support>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, DeliveryError> {
    let (node, product) = path.into_inner();
    let node = NodeId::parse(&node).map_err(shared::Error::from)?;
    let product = ProductId::parse(&product).map_err(shared::Error::from)?;
    let view = state
        .core
        .db
        .read(move |c| {
            if !crate::nodes::store::exists(c, &node)? {
                return Err(DeliveryError::NodeNotFound);
            }
            view(c, node, product)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
