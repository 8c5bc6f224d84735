//! `POST /v1/remittances/run` (operator).

use super::workflow::Batch;
use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::{Finance, Operator};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/remittances/run", web::post().to(run)).route("/v1/seller/remittances", web::get().to(of_seller));
}

/// Runs a remittance batch now.
#[utoipa::path(post, path = "/v1/remittances/run", responses((status = 200, body = Batch)),
    security(("operator" = [])))]
pub async fn run(state: web::Data<State>, _op: Operator<Finance>) -> Result<HttpResponse> {
    let batch: Batch = state.core.db.write(super::workflow::run).await?;
    Ok(HttpResponse::Ok().json(batch))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct StatementQuery {
    /// Required when the seller has several stores.
    pub store_id: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub use client::settlement::Statements;

/// The seller's remittances for one of its stores, newest first.
#[utoipa::path(get, path = "/v1/seller/remittances", params(StatementQuery),
    responses((status = 200, body = Statements)), security(("seller" = [])))]
pub async fn of_seller(
    state: web::Data<State>,
    owner: shared::owner::StoreOwner,
    q: web::Query<StatementQuery>,
) -> Result<HttpResponse> {
    let given = q.store_id.as_deref().map(shared::ids::StoreId::parse).transpose()?;
    let page = shared::http::Page { limit: q.limit, offset: q.offset };
    let out = state
        .core
        .db
        .read(move |c| {
            let store = crate::stores::routes::resolve_store(c, &owner, given)?;
            let remittances = super::workflow::of_store(c, &store, page.limit(), page.offset())?;
            Ok::<_, crate::error::SettlementError>(Statements { store_id: store, remittances })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
