//! `PUT` and `GET /v1/seller/payout-account?store_id=` (seller, broker-issued token).

use super::domain::PayoutAccount;
use crate::error::{Result, SettlementError};
use crate::State;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use shared::auth::Principal;
use shared::config::ServiceName;
use shared::ids::StoreId;
use shared::messages::Message;
use utoipa::IntoParams;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/payout-account", web::put().to(set)).route("/v1/seller/payout-account", web::get().to(show));
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StoreQuery {
    /// Required when the seller has several stores.
    pub store_id: Option<String>,
}

pub use client::settlement::{PayoutAccountBody, PayoutAccountView};

fn view_of(store_id: StoreId, s: super::store::Summary, holder: Option<String>) -> PayoutAccountView {
    PayoutAccountView { store_id, iban_last4: s.last4, holder, hold_until: s.hold_until, updated: s.updated }
}

/// Sets where the store's remittances go (required before any remittance). Needs a recent
/// password sign-in; holds the store's remittances for a while and has the seller mailed.
#[utoipa::path(put, path = "/v1/seller/payout-account", params(StoreQuery), request_body = PayoutAccountBody,
    responses((status = 200, body = PayoutAccountView),
        (status = 401, description = "reauthentication_required: sign in again"),
        (status = 422, description = "invalid_iban or invalid_holder")),
    security(("seller" = [])))]
pub async fn set(
    state: web::Data<State>,
    owner: shared::owner::StoreOwner,
    principal: Principal,
    q: web::Query<StoreQuery>,
    body: web::Json<PayoutAccountBody>,
) -> Result<HttpResponse> {
    let rules = state.payouts.clone();
    super::reauth::require_fresh_sign_in(principal.0.auth_time, shared::time::unix_seconds(), rules.reauth_seconds)?;
    let given = q.store_id.as_deref().map(StoreId::parse).transpose()?;
    let account = PayoutAccount::parse(&body.holder, &body.iban)?;
    let sealer = state.payout_sealer.clone();
    let view = state
        .core
        .db
        .write(move |c| {
            let store = crate::stores::routes::resolve_store(c, &owner, given)?;
            let changed_at = shared::time::now();
            let hold_until = rules.hold_until(changed_at);
            super::store::set(c, &sealer, &store, &account, changed_at, hold_until)?;
            // The seller hears of it through the broker, which holds the address.
            let notice = Message::PayoutAccountChanged { store_id: store.clone(), changed_at, hold_until };
            shared::outbox::send(c, ServiceName::Settlement, ServiceName::Broker, notice)?;
            let summary = super::store::summary(c, &store)?.expect("just written");
            Ok::<_, SettlementError>(view_of(store, summary, Some(account.holder)))
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(view))
}

/// The store's payout account, masked.
#[utoipa::path(get, path = "/v1/seller/payout-account", params(StoreQuery),
    responses((status = 200, body = PayoutAccountView), (status = 404, description = "none set")),
    security(("seller" = [])))]
pub async fn show(
    state: web::Data<State>,
    owner: shared::owner::StoreOwner,
    q: web::Query<StoreQuery>,
) -> Result<HttpResponse> {
    let given = q.store_id.as_deref().map(StoreId::parse).transpose()?;
    let view = state
        .core
        .db
        .read(move |c| {
            let store = crate::stores::routes::resolve_store(c, &owner, given)?;
            let summary = super::store::summary(c, &store)?;
            Ok::<_, SettlementError>(summary.map(|s| view_of(store, s, None)))
        })
        .await?
        .ok_or_else(|| shared::Error::NotFound("payout account".into()))?;
    Ok(HttpResponse::Ok().json(view))
}
