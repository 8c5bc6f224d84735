//! `POST /v1/remittances/run` (operator).

use super::run::Remittance;
use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use shared::auth::Operator;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/remittances/run", web::post().to(run));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Batch {
    pub remittances: Vec<Remittance>,
}

/// Runs a remittance batch now.
#[utoipa::path(post, path = "/v1/remittances/run", responses((status = 200, body = Batch)),
    security(("operator" = [])))]
pub async fn run(state: web::Data<State>, _op: Operator) -> Result<HttpResponse> {
    let remittances = state.core.db.write(super::run::run).await?;
    Ok(HttpResponse::Ok().json(Batch { remittances }))
}
