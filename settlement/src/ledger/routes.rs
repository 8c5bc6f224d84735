//! `GET /v1/ledger/trial-balance` (operator).

use super::store::TrialBalance;
use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use shared::auth::{Finance, Operator};
use shared::money::Currency;
use utoipa::IntoParams;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/ledger/trial-balance", web::get().to(trial_balance))
        .route("/v1/ledger/reconciliation", web::get().to(reconciliation))
        .route("/v1/ledger/accounts", web::get().to(accounts));
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
    _op: Operator<Finance>,
    q: web::Query<TrialBalanceQuery>,
) -> Result<HttpResponse> {
    let currency = match &q.currency {
        Some(c) => Currency::parse(c)?,
        None => state.settings.currency()?,
    };
    let tb = state.core.db.read(move |c| super::store::trial_balance(c, currency)).await?;
    Ok(HttpResponse::Ok().json(tb))
}

/// Re-derives every account's balance from its entries and re-checks every transaction
/// (what `marketplace reconcile` runs nightly); `clean` is true when nothing differs.
#[utoipa::path(get, path = "/v1/ledger/reconciliation",
    responses((status = 200, description = "{clean, accounts_checked, transactions_checked, differences, unbalanced_transactions}")),
    security(("operator" = [])))]
pub async fn reconciliation(state: web::Data<State>, _op: Operator<Finance>) -> Result<HttpResponse> {
    let report = state.core.db.read(super::store::reconcile).await?;
    let mut body = serde_json::to_value(&report).map_err(|e| shared::Error::Internal(e.to_string()))?;
    body["clean"] = serde_json::Value::Bool(report.is_clean());
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AccountsQuery {
    /// Defaults to the settlement currency.
    pub currency: Option<String>,
    /// `partner_clearing`, `escrow`, `store`, `marketplace_fees`, `referral_fees`,
    /// `fulfilment_fees`, `report_revenue`, `refunds` or `payouts`.
    pub kind: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountList {
    pub accounts: Vec<super::store::AccountBalance>,
}

/// The accounts behind the trial balance, a page at a time.
#[utoipa::path(get, path = "/v1/ledger/accounts", params(AccountsQuery),
    responses((status = 200, body = AccountList)), security(("operator" = [])))]
pub async fn accounts(
    state: web::Data<State>,
    _op: Operator<Finance>,
    q: web::Query<AccountsQuery>,
) -> Result<HttpResponse> {
    let currency = match &q.currency {
        Some(c) => Currency::parse(c)?,
        None => state.settings.currency()?,
    };
    let page = shared::http::Page { limit: q.limit, offset: q.offset };
    // A kind the chart does not have has no accounts.
    let kind = match q.kind.as_deref().map(str::parse::<super::AccountKind>) {
        Some(Err(_)) => return Ok(HttpResponse::Ok().json(AccountList { accounts: Vec::new() })),
        Some(Ok(kind)) => Some(kind),
        None => None,
    };
    let accounts = state
        .core
        .db
        .read(move |c| super::store::accounts_page(c, currency, kind, page.limit(), page.offset()))
        .await?;
    Ok(HttpResponse::Ok().json(AccountList { accounts }))
}
