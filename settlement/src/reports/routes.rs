//! `GET /v1/seller/reports/catalogue`, `POST /v1/seller/reports`, `GET /v1/seller/reports`,
//! `GET /v1/seller/reports/{id}` and `GET /v1/seller/reports/{id}/csv` (seller,
//! broker-issued token): the `finances` analyses.

use super::domain::{release_error, request_error, Reports};
use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use privacy::analyses::{Asked, Request};
use privacy::budget::Analyst;
use privacy::store::{self as reports, Purchase, PurchaseStatus, ReportView};
use privacy::Month;
use serde::{Deserialize, Serialize};
use shared::auth::Seller;
use shared::http::Page;
use shared::ids::{ReportId, StoreId};
use shared::money::Money;
use shared::time::now;
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/reports/catalogue", web::get().to(catalogue))
        .route("/v1/seller/reports", web::post().to(buy))
        .route("/v1/seller/reports", web::get().to(list))
        .route("/v1/seller/reports/{report_id}", web::get().to(show))
        .route("/v1/seller/reports/{report_id}/csv", web::get().to(csv));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Catalogue {
    pub reports: Vec<reports::CatalogueEntry>,
    /// ε per calendar month of data for everything both services release, settlement's
    /// part of it, and what one salesperson may spend of that part.
    #[schema(value_type = Object)]
    pub budget: privacy::budget::BudgetView,
}

/// The finance reports on offer.
#[utoipa::path(get, path = "/v1/seller/reports/catalogue", responses((status = 200, body = Catalogue)),
    security(("seller" = [])))]
pub async fn catalogue(state: web::Data<State>, reports: web::Data<Reports>, seller: Seller) -> Result<HttpResponse> {
    let r = reports.get_ref().clone();
    let budget = r.settings.budget().map_err(|e| shared::Error::Internal(e.to_string()))?;
    let this_month = Month::of(now());
    let (first, left) = state
        .core
        .db
        .read(move |c| {
            let first = reports::first_month(c, &r.settings)?;
            let window = privacy::Window { from: this_month, to: this_month };
            let left = reports::left(c, &budget, Analyst::Settlement, &seller.id, window)?;
            Ok::<_, crate::error::SettlementError>((first, left))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Catalogue {
        reports: reports::catalogue(&reports.settings, Analyst::Settlement, reports.currency, first, this_month),
        budget: privacy::budget::BudgetView::new(&budget, Analyst::Settlement, left),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyBody {
    /// `finances`.
    pub kind: String,
    /// One of the catalogue's groupings, e.g. `category,region,month`.
    pub group_by: String,
    /// First month (`YYYY-MM`, or a date: the window is widened to whole months).
    pub from: String,
    /// Last month, inclusive.
    pub to: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StoreQuery {
    /// The store to charge; required when the seller has several.
    pub store_id: Option<String>,
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
            let first = reports::first_month(c, &r.settings)?;
            let asked = Asked { kind: &body.kind, group_by: &body.group_by, from: &body.from, to: &body.to };
            let request = Request::parse(Analyst::Settlement, &r.settings, asked, first, Month::of(now()))
                .map_err(request_error)?;
            let id = ReportId::generate();
            let reserved = reports::reserve_for(c, &r.settings, &seller.id, &id, &request).map_err(release_error)?;
            let (release, spent) = reports::release_for(c, &r.settings, &seller.id, &id, &request, reserved, |c| {
                super::store::load(c, request.grouping, request.window, r.currency)
            })
            .map_err(release_error)?;
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
    let (limit, offset) = (page.limit(), page.offset());
    let currency = reports.currency;
    let views = state
        .core
        .db
        .read(move |c| {
            let ps = reports::list_purchases(c, &seller.id, limit, offset)?;
            Ok::<_, crate::error::SettlementError>(
                ps.iter().map(|p| ReportView::of(p, None, None, currency.as_str())).collect::<Vec<_>>(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "reports": views })))
}

/// A purchase of this seller, with its release. Another seller's report is not found.
fn mine(
    c: &mut shared::db::AnyConnection,
    seller: &Seller,
    id: &ReportId,
) -> Result<(Purchase, Option<reports::StoredRelease>)> {
    let p = reports::get_purchase(c, id)?
        .filter(|p| p.seller_id == seller.id)
        .ok_or_else(|| shared::Error::NotFound("report".into()))?;
    let release = match &p.release_id {
        Some(r) if p.status == PurchaseStatus::Completed => reports::release_by_id(c, r)?,
        _ => None,
    };
    Ok((p, release))
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
    let currency = reports.currency;
    let view = state
        .core
        .db
        .read(move |c| {
            let (p, release) = mine(c, &seller, &id)?;
            Ok::<_, crate::error::SettlementError>(ReportView::of(&p, release.as_ref(), None, currency.as_str()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A bought report's rows as CSV.
#[utoipa::path(get, path = "/v1/seller/reports/{report_id}/csv", responses((status = 200, content_type = "text/csv"),
    (status = 404, description = "no such report of this seller"), (status = 409, description = "report_not_ready")),
    security(("seller" = [])))]
pub async fn csv(state: web::Data<State>, seller: Seller, path: web::Path<String>) -> Result<HttpResponse> {
    let id = ReportId::parse(&path.into_inner())?;
    let name = id.to_string();
    let body = state
        .core
        .db
        .read(move |c| {
            let (_, release) = mine(c, &seller, &id)?;
            let release = release.ok_or(shared::Error::Conflict {
                code: "report_not_ready",
                detail: "the report is not charged yet".into(),
            })?;
            Ok::<_, crate::error::SettlementError>(release.release.to_csv())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("content-disposition", format!("attachment; filename=\"{name}.csv\"")))
        .body(body))
}
