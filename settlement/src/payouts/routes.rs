//! `PUT` and `GET /v1/seller/payout-account?store_id=` (seller, broker-issued token).

use super::domain::PayoutAccount;
use crate::error::{Result, SettlementError};
use crate::State;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use shared::ids::StoreId;
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/payout-account", web::put().to(set)).route("/v1/seller/payout-account", web::get().to(show));
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StoreQuery {
    /// Required when the seller has several stores.
    pub store_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutAccountBody {
    pub holder: String,
    pub iban: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutAccountView {
    pub store_id: StoreId,
    /// The account is never shown again in full.
    pub iban_last4: String,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated: shared::time::Timestamp,
}

/// Sets where the store's remittances go (required before any remittance).
#[utoipa::path(put, path = "/v1/seller/payout-account", params(StoreQuery), request_body = PayoutAccountBody,
    responses((status = 200, body = PayoutAccountView), (status = 422, description = "invalid_iban or invalid_holder")),
    security(("seller" = [])))]
pub async fn set(
    state: web::Data<State>,
    owner: crate::stores::owner::StoreOwner,
    q: web::Query<StoreQuery>,
    body: web::Json<PayoutAccountBody>,
) -> Result<HttpResponse> {
    let given = q.store_id.as_deref().map(StoreId::parse).transpose()?;
    let account = PayoutAccount::parse(&body.holder, &body.iban)?;
    let sealer = state.payout_sealer.clone();
    let view = state
        .core
        .db
        .write(move |c| {
            let store = crate::stores::routes::resolve_store(c, &owner, given)?;
            super::store::set(c, &sealer, &store, &account)?;
            let (iban_last4, updated) = super::store::summary(c, &store)?.expect("just written");
            Ok::<_, SettlementError>(PayoutAccountView { store_id: store, iban_last4, updated })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The store's payout account, masked.
#[utoipa::path(get, path = "/v1/seller/payout-account", params(StoreQuery),
    responses((status = 200, body = PayoutAccountView), (status = 404, description = "none set")),
    security(("seller" = [])))]
pub async fn show(
    state: web::Data<State>,
    owner: crate::stores::owner::StoreOwner,
    q: web::Query<StoreQuery>,
) -> Result<HttpResponse> {
    let given = q.store_id.as_deref().map(StoreId::parse).transpose()?;
    let view = state
        .core
        .db
        .read(move |c| {
            let store = crate::stores::routes::resolve_store(c, &owner, given)?;
            let summary = super::store::summary(c, &store)?;
            Ok::<_, SettlementError>(summary.map(|(iban_last4, updated)| PayoutAccountView {
                store_id: store,
                iban_last4,
                updated,
            }))
        })
        .await?
        .ok_or_else(|| shared::Error::NotFound("payout account".into()))?;
    Ok(HttpResponse::Ok().json(view))
}
