//! `GET /v1/seller/reports/catalogue`, `POST /v1/seller/reports`, `GET /v1/seller/reports`,
//! `GET /v1/seller/reports/{id}` and `GET /v1/seller/reports/{id}/csv` (seller,
//! broker-issued token): the `finances` analyses.

use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use privacy::budget::Analyst;
use privacy::scope::{self, Reports, ScopeError};
pub use privacy::scope::{BuyBody, Catalogue, StoreQuery};
use privacy::store::{self as reports, Purchase, PurchaseStatus, ReportView};
use shared::auth::Seller;
use shared::http::Page;
use shared::ids::{ReportId, StoreId};
use shared::money::Money;
use shared::time::now;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/reports/catalogue", web::get().to(catalogue))
        .route("/v1/seller/reports", web::post().to(buy))
        .route("/v1/seller/reports", web::get().to(list))
        .route("/v1/seller/reports/{report_id}", web::get().to(show))
        .route("/v1/seller/reports/{report_id}/csv", web::get().to(csv));
}

/// The finance reports on offer.
#[utoipa::path(get, path = "/v1/seller/reports/catalogue", responses((status = 200, body = Catalogue)),
    security(("seller" = [])))]
pub async fn catalogue(state: web::Data<State>, reports: web::Data<Reports>, seller: Seller) -> Result<HttpResponse> {
    let catalogue = scope::catalogue(&state.core.db, &reports, Analyst::Settlement, seller.id).await?;
    Ok(HttpResponse::Ok().json(catalogue))
}

/// Buys a finance report: charged to the store's available balance, released once.
#[utoipa::path(post, path = "/v1/seller/reports", request_body = BuyBody, params(StoreQuery),
    responses((status = 201, body = ReportView),
        (status = 409, description = "privacy_budget_exhausted or insufficient_balance; nothing charged"),
        (status = 422, description = "unknown_kind, unknown_grouping, invalid_period, period_reversed, period_outside_data, period_too_long")),
    security(("seller" = [])))]
pub async fn buy(
    state: web::Data<State>,
    reports: web::Data<Reports>,
    seller: Seller,
    q: web::Query<StoreQuery>,
    body: web::Json<BuyBody>,
) -> Result<HttpResponse> {
    let given = q.store_id.as_deref().map(StoreId::parse).transpose()?;
    let body = body.into_inner();
    let r = reports.get_ref().clone();
    // One transaction: the budget, the release, the charge and the purchase commit
    // together or not at all, so a refused charge spends no budget and an exhausted budget
    // charges nothing.
    let view = state
        .core
        .db
        .write(move |c| {
            let store = super::store::buyer_store(c, &seller, given.as_ref())?;
            let request = scope::request(c, &r, Analyst::Settlement, &body)?;
            let id = ReportId::generate();
            let reserved = reports::reserve_for(c, &r.settings, &seller.id, &id, &request).map_err(ScopeError::from)?;
            let (release, spent) = reports::release_for(c, &r.settings, &seller.id, &id, &request, reserved, |c| {
                super::store::load(c, request.grouping, request.window, r.currency)
            })
            .map_err(ScopeError::from)?;
            let price = Money::new(request.kind.price_minor(&r.settings), r.currency);
            crate::charges::store::charge(c, id.as_str(), &store, price)?;
            let t = now();
            let purchase = Purchase {
                id,
                seller_id: seller.id.clone(),
                store_id: store,
                kind: request.kind,
                group_by: request.grouping.as_str().to_string(),
                window: request.window,
                price,
                epsilon_spent: spent,
                release_id: Some(release.id.clone()),
                status: PurchaseStatus::Completed,
                failure: None,
                created_at: t,
                completed_at: Some(t),
            };
            reports::insert_purchase(c, &purchase)?;
            let budget = r.settings.budget().map_err(|e| shared::Error::Internal(e.to_string()))?;
            let left = reports::left(c, &budget, Analyst::Settlement, &seller.id, request.window)?;
            Ok::<_, crate::error::SettlementError>(ReportView::of(
                &purchase,
                Some(&release),
                Some(left),
                r.currency.as_str(),
            ))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The seller's purchases, newest first (without rows).
#[utoipa::path(get, path = "/v1/seller/reports", params(Page), responses((status = 200, body = Object)),
    security(("seller" = [])))]
pub async fn list(
    state: web::Data<State>,
    reports: web::Data<Reports>,
    seller: Seller,
    page: web::Query<Page>,
) -> Result<HttpResponse> {
    let reports = scope::list(&state.core.db, reports.currency, seller.id, page.limit(), page.offset()).await?;
    Ok(HttpResponse::Ok().json(reports))
}

/// A bought report, rows included once charged.
#[utoipa::path(get, path = "/v1/seller/reports/{report_id}", responses((status = 200, body = ReportView),
    (status = 404, description = "no such report of this seller")), security(("seller" = [])))]
pub async fn show(
    state: web::Data<State>,
    reports: web::Data<Reports>,
    seller: Seller,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = ReportId::parse(&path.into_inner())?;
    let view = scope::view(&state.core.db, &reports, Analyst::Settlement, seller.id, id, false).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A bought report's rows as CSV.
#[utoipa::path(get, path = "/v1/seller/reports/{report_id}/csv", responses((status = 200, content_type = "text/csv"),
    (status = 404, description = "no such report of this seller"), (status = 409, description = "report_not_ready")),
    security(("seller" = [])))]
pub async fn csv(state: web::Data<State>, seller: Seller, path: web::Path<String>) -> Result<HttpResponse> {
    let id = ReportId::parse(&path.into_inner())?;
    Ok(scope::csv(&state.core.db, seller.id, id).await?)
}
