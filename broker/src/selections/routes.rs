//! `POST /v1/stores/{store_id}/selections`

use super::domain::Selection;
use crate::browsing::Session;
use crate::catalog::domain::parse_quantity;
use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::ids::{ProductId, StoreId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/stores/{store_id}/selections", web::post().to(select));
}

pub use client::broker::catalog::SelectionBody;

/// Selects a product at a store. Where the store cannot sell it, each alternative carries
/// a `referral` token: an order at that store carrying it earns this store its referral
/// fee, once (valid 24 hours, its expiry rounded up to the hour).
#[utoipa::path(post, path = "/v1/stores/{store_id}/selections", request_body = SelectionBody,
    responses((status = 200, body = Selection,
        description = "the verdict; alternatives carry a signed single-use `referral` token each"),
        (status = 404)))]
pub async fn select(
    state: web::Data<State>,
    path: web::Path<String>,
    session: Session,
    body: web::Json<SelectionBody>,
) -> Result<HttpResponse> {
    let store_id = StoreId::parse(&path)?;
    let product_id = ProductId::parse(body.product_id.trim())?;
    let quantity = parse_quantity(body.quantity)?;
    let (from, product) = (store_id.clone(), product_id.clone());
    let mut answer = state
        .core
        .db
        .write(move |c| super::store::select(c, &store_id, &product_id, quantity, session.0.as_ref()))
        .await?;
    crate::referrals::sign_alternatives(&state, &from, &product, &mut answer.alternatives)?;
    Ok(HttpResponse::Ok().json(answer))
}
