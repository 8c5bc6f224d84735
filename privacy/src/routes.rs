//! The reading half of a salesperson's reports, the same at the broker and at settlement:
//! `GET /v1/seller/reports/catalogue`, `GET /v1/seller/reports`,
//! `GET /v1/seller/reports/{id}` and `GET /v1/seller/reports/{id}/csv` (seller,
//! broker-issued token). Buying (`POST /v1/seller/reports`) stays each service's own, as
//! how a report is paid does.

use crate::budget::Analyst;
use crate::scope::{self, Catalogue, Reports, ScopeError};
use crate::store::ReportView;
use actix_web::{web, HttpResponse};
use shared::auth::Seller;
use shared::db::Db;
use shared::http::Page;
use shared::ids::ReportId;
use std::sync::Arc;

shared::problem_response!(ScopeError);

/// What the report routes of one service read: its database, its analyses' settings and
/// which analyst it is. Each service registers one as app data.
#[derive(Clone)]
pub struct Desk {
    pub db: Db,
    pub reports: Arc<Reports>,
    pub analyst: Analyst,
}

/// The reading routes; the service adds its own `POST /v1/seller/reports`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/reports/catalogue", web::get().to(catalogue))
        .route("/v1/seller/reports", web::get().to(list))
        .route("/v1/seller/reports/{report_id}", web::get().to(show))
        .route("/v1/seller/reports/{report_id}/csv", web::get().to(csv));
}

/// The reports on offer at this service, with what the seller can still spend this month.
#[utoipa::path(get, path = "/v1/seller/reports/catalogue", responses((status = 200, body = Catalogue)),
    security(("seller" = [])))]
pub async fn catalogue(desk: web::Data<Desk>, seller: Seller) -> Result<HttpResponse, ScopeError> {
    let catalogue = scope::catalogue(&desk.db, &desk.reports, desk.analyst, seller.id).await?;
    Ok(HttpResponse::Ok().json(catalogue))
}

/// The seller's purchases, newest first (without rows).
#[utoipa::path(get, path = "/v1/seller/reports", params(Page), responses((status = 200, body = Object)),
    security(("seller" = [])))]
pub async fn list(desk: web::Data<Desk>, seller: Seller, page: web::Query<Page>) -> Result<HttpResponse, ScopeError> {
    let reports = scope::list(&desk.db, desk.reports.currency, seller.id, page.limit(), page.offset()).await?;
    Ok(HttpResponse::Ok().json(reports))
}

/// A bought report, rows included once charged.
#[utoipa::path(get, path = "/v1/seller/reports/{report_id}", responses((status = 200, body = ReportView),
    (status = 404, description = "no such report of this seller")), security(("seller" = [])))]
pub async fn show(desk: web::Data<Desk>, seller: Seller, path: web::Path<String>) -> Result<HttpResponse, ScopeError> {
    let id = ReportId::parse(&path.into_inner()).map_err(shared::Error::from)?;
    let view = scope::view(&desk.db, &desk.reports, desk.analyst, seller.id, id, false).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A bought report's rows as CSV.
#[utoipa::path(get, path = "/v1/seller/reports/{report_id}/csv", responses((status = 200, content_type = "text/csv"),
    (status = 404, description = "no such report of this seller"), (status = 409, description = "report_not_ready")),
    security(("seller" = [])))]
pub async fn csv(desk: web::Data<Desk>, seller: Seller, path: web::Path<String>) -> Result<HttpResponse, ScopeError> {
    let id = ReportId::parse(&path.into_inner()).map_err(shared::Error::from)?;
    scope::csv(&desk.db, seller.id, id).await
}
