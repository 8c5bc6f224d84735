//! `POST /v1/partners` (operator).

use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::{Admin, Operator};
use shared::ids::PartnerId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/partners", web::post().to(create));
}

pub use client::settlement::{CreatedPartner, NewPartner};

/// Creates a payment partner.
#[utoipa::path(post, path = "/v1/partners", request_body = NewPartner,
    responses((status = 201, body = CreatedPartner), (status = 422, description = "invalid name or webhook URL")),
    security(("operator" = [])))]
pub async fn create(
    state: web::Data<State>,
    _op: Operator<Admin>,
    body: web::Json<NewPartner>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let name = super::domain::parse_name(&body.name)?;
    let url = body
        .webhook_url
        .as_deref()
        .map(|u| super::domain::parse_webhook_url(u, state.core.config.strict_webhooks))
        .transpose()?
        .map(|u| u.to_string());
    let id = PartnerId::generate();
    let api_key = shared::crypto::random_token(super::auth::KEY_PREFIX);
    let webhook_secret = shared::crypto::random_token("whsec");
    let sealed = state.sealer.seal(webhook_secret.as_bytes(), id.as_str().as_bytes());
    let hash = shared::crypto::sha256_hex(api_key.as_bytes());
    let pid = id.clone();
    state.core.db.write(move |c| super::store::insert(c, &pid, &name, &hash, url.as_deref(), &sealed)).await?;
    Ok(HttpResponse::Created().json(CreatedPartner { id, api_key, webhook_secret }))
}
