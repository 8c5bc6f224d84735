//! `POST /internal/v1/charges` and `POST /internal/v1/charges/{purchase_id}/refund`
//! (the broker, by service token).

use super::store::Charge;
use crate::error::{Code, Result, SettlementError};
use crate::State;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use shared::auth::ServiceCaller;
use shared::config::ServiceName;
use shared::ids::StoreId;
use shared::money::Money;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/internal/v1/charges", web::post().to(charge))
        .route("/internal/v1/charges/{purchase_id}/refund", web::post().to(refund));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeBody {
    /// The broker's purchase id: a retry with it never charges twice.
    pub purchase_id: String,
    pub store_id: StoreId,
    pub amount: Money,
    /// `report` (the default) or `points`: a mint at a collection point, keyed by the
    /// broker's mint id, credited to the points liability.
    #[serde(default)]
    pub purpose: super::store::Purpose,
}

fn broker_only(caller: &ServiceCaller) -> Result<()> {
    if caller.service == ServiceName::Broker {
        Ok(())
    } else {
        Err(shared::Error::Forbidden("only the broker charges stores".into()).into())
    }
}

fn purchase_id(s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.len() > 100 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(SettlementError::refused(Code::InvalidPurchaseId, "purchase_id must be 1 to 100 of [A-Za-z0-9_-]"));
    }
    Ok(s.to_string())
}

/// Charges a report purchase to the store's available balance.
#[utoipa::path(post, path = "/internal/v1/charges", request_body = ChargeBody,
    responses((status = 201, body = Charge), (status = 409, description = "insufficient_balance or purchase_id_reused")))]
pub async fn charge(
    state: web::Data<State>,
    caller: ServiceCaller,
    body: web::Json<ChargeBody>,
) -> Result<HttpResponse> {
    broker_only(&caller)?;
    let body = body.into_inner();
    let purchase = purchase_id(&body.purchase_id)?;
    let amount = state.core.config.money.ceiling().admit(body.amount)?;
    let (store, purpose) = (body.store_id, body.purpose);
    let charge = state.core.db.write(move |c| super::store::charge_for(c, &purchase, &store, amount, purpose)).await?;
    Ok(HttpResponse::Created().json(charge))
}

/// Refunds a report purchase's charge.
#[utoipa::path(post, path = "/internal/v1/charges/{purchase_id}/refund", responses((status = 200, body = Charge)))]
pub async fn refund(state: web::Data<State>, caller: ServiceCaller, path: web::Path<String>) -> Result<HttpResponse> {
    broker_only(&caller)?;
    let purchase = purchase_id(&path.into_inner())?;
    let charge = state.core.db.write(move |c| super::store::refund(c, &purchase)).await?;
    Ok(HttpResponse::Ok().json(charge))
}
