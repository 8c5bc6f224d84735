use super::domain::NewNode;
use crate::error::DeliveryError;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::{Admin, Operator};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/nodes", web::post().to(create_node));
}

pub use client::delivery::{CreatedNode as Created, NodeBody};

#[utoipa::path(post, path = "/v1/nodes", request_body = NodeBody,
    responses((status = 201, body = Created), (status = 422, description = "invalid_node")),
    security(("operator" = [])))]
pub async fn create_node(
    state: web::Data<State>,
    _op: Operator<Admin>,
    body: web::Json<NodeBody>,
) -> Result<HttpResponse, DeliveryError> {
    let b = body.into_inner();
    let node = NewNode::parse(b.kind, &b.name, &b.region, b.position, b.rank, b.owner.as_deref())?;
    let id = state.core.db.write(move |c| super::store::insert(c, &node).map_err(DeliveryError::from)).await?;
    Ok(HttpResponse::Created().json(Created { id }))
}
