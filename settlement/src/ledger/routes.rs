//! `GET /v1/ledger/trial-balance` (operator).

use super::store::TrialBalance;
use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use shared::auth::Operator;
use shared::money::Currency;
use utoipa::IntoParams;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/ledger/trial-balance", web::get().to(trial_balance));
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TrialBalanceQuery {
    /// Defaults to the settlement currency.
    pub currency: Option<String>,
}

/// Debits and credits of every kind of account; `total_debits` equals `total_credits`.
#[utoipa::path(get, path = "/v1/ledger/trial-balance", params(TrialBalanceQuery),
    responses((status = 200, body = TrialBalance)), security(("operator" = [])))]
pub async fn trial_balance(
    state: web::Data<State>,
    _op: Operator,
    q: web::Query<TrialBalanceQuery>,
) -> Result<HttpResponse> {
    let currency = match &q.currency {
        Some(c) => Currency::parse(c)?,
        None => state.settings.currency()?,
    };
    let tb = state.core.db.read(move |c| super::store::trial_balance(c, currency)).await?;
    Ok(HttpResponse::Ok().json(tb))
}
