//! `POST /v1/stores/{store_id}/selections`

use super::domain::Selection;
use crate::browsing::Session;
use crate::catalog::domain::parse_quantity;
use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use shared::ids::{ProductId, StoreId};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/stores/{store_id}/selections", web::post().to(select));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectionBody {
    product_id: String,
    #[serde(default = "one")]
    quantity: i64,
}

fn one() -> i64 {
    1
}

#[utoipa::path(post, path = "/v1/stores/{store_id}/selections", request_body = SelectionBody,
    responses((status = 200, body = Selection), (status = 404)))]
pub async fn select(
    state: web::Data<State>,
    path: web::Path<String>,
    session: Session,
    body: web::Json<SelectionBody>,
) -> Result<HttpResponse> {
    let store_id = StoreId::parse(&path)?;
    let product_id = ProductId::parse(body.product_id.trim())?;
    let quantity = parse_quantity(body.quantity)?;
    let answer = state
        .core
        .db
        .write(move |c| super::store::select(c, &store_id, &product_id, quantity, session.0.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
