//! `GET /v1/seller/reports/catalogue`, `POST /v1/seller/reports`, `GET /v1/seller/reports`,
//! `GET /v1/seller/reports/{id}` and `GET /v1/seller/reports/{id}/csv` (seller): the
//! `sales_history` and `preferences` analyses.

use super::charge::{begin_purchase, Charger, Outcome};
use crate::error::{BrokerError, Code, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use privacy::budget::Analyst;
use privacy::scope;
pub use privacy::scope::{BuyBody, Catalogue, StoreQuery};
use privacy::store::ReportView;
use shared::auth::Seller;
use shared::http::Page;
use shared::ids::{ReportId, StoreId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/reports/catalogue", web::get().to(catalogue))
        .route("/v1/seller/reports", web::post().to(buy))
        .route("/v1/seller/reports", web::get().to(list))
        .route("/v1/seller/reports/{report_id}", web::get().to(show))
        .route("/v1/seller/reports/{report_id}/csv", web::get().to(csv));
}

/// The sales-history and preference reports on offer.
#[utoipa::path(get, path = "/v1/seller/reports/catalogue", responses((status = 200, body = Catalogue)))]
pub async fn catalogue(state: web::Data<State>, charger: web::Data<Charger>, seller: Seller) -> Result<HttpResponse> {
    let catalogue = scope::catalogue(&state.core.db, charger.reports(), Analyst::Broker, seller.id).await?;
    Ok(HttpResponse::Ok().json(catalogue))
}

/// Buys a report: the budget is reserved and the purchase recorded with its charge
/// message, then settlement charges the store; the rows are shown once charged (201). If
/// settlement cannot be reached the answer is 202 and the purchase completes later.
#[utoipa::path(post, path = "/v1/seller/reports", request_body = BuyBody, params(StoreQuery),
    responses((status = 201, body = ReportView), (status = 202, body = ReportView, description = "charging"),
        (status = 409, description = "privacy_budget_exhausted or insufficient_balance; nothing charged"),
        (status = 422, description = "unknown_kind, unknown_grouping, invalid_period, period_reversed, period_outside_data, period_too_long")))]
pub async fn buy(
    state: web::Data<State>,
    charger: web::Data<Charger>,
    seller: Seller,
    q: web::Query<StoreQuery>,
    body: web::Json<BuyBody>,
) -> Result<HttpResponse> {
    let given = q.store_id.as_deref().map(StoreId::parse).transpose()?;
    let body = body.into_inner();
    let r = charger.reports().clone();
    let buyer = seller.id.clone();
    let id = state.core.db.write(move |c| begin_purchase(c, &r, &buyer, given.as_ref(), &body)).await?;
    let outcome = charger.settle(&id).await?;
    let view = view_of(&state, &charger, &seller, &id, true).await?;
    match outcome {
        Outcome::Completed => Ok(HttpResponse::Created().json(view)),
        Outcome::Pending => Ok(HttpResponse::Accepted().json(view)),
        Outcome::Refused(Code::InsufficientBalance) => Err(BrokerError::refused(
            Code::InsufficientBalance,
            "the store's available balance is too small for this report; nothing was charged",
        )),
        Outcome::Refused(code) => {
            Err(BrokerError::refused(code, "the report could not be charged; nothing was charged"))
        }
    }
}

async fn view_of(
    state: &State,
    charger: &Charger,
    seller: &Seller,
    id: &ReportId,
    with_budget: bool,
) -> Result<ReportView> {
    let (seller, id) = (seller.id.clone(), id.clone());
    Ok(scope::view(&state.core.db, charger.reports(), Analyst::Broker, seller, id, with_budget).await?)
}

/// The seller's purchases, newest first (without rows).
#[utoipa::path(get, path = "/v1/seller/reports", params(Page), responses((status = 200, body = Object)))]
pub async fn list(
    state: web::Data<State>,
    charger: web::Data<Charger>,
    seller: Seller,
    page: web::Query<Page>,
) -> Result<HttpResponse> {
    let reports =
        scope::list(&state.core.db, charger.reports().currency, seller.id, page.limit(), page.offset()).await?;
    Ok(HttpResponse::Ok().json(reports))
}

/// A bought report, rows included once charged.
#[utoipa::path(get, path = "/v1/seller/reports/{report_id}", responses((status = 200, body = ReportView),
    (status = 404, description = "no such report of this seller")))]
pub async fn show(
    state: web::Data<State>,
    charger: web::Data<Charger>,
    seller: Seller,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = ReportId::parse(&path.into_inner())?;
    Ok(HttpResponse::Ok().json(view_of(&state, &charger, &seller, &id, false).await?))
}

/// A bought report's rows as CSV.
#[utoipa::path(get, path = "/v1/seller/reports/{report_id}/csv", responses((status = 200, content_type = "text/csv"),
    (status = 404, description = "no such report of this seller"), (status = 409, description = "report_not_ready")))]
pub async fn csv(state: web::Data<State>, seller: Seller, path: web::Path<String>) -> Result<HttpResponse> {
    let id = ReportId::parse(&path.into_inner())?;
    Ok(scope::csv(&state.core.db, seller.id, id).await?)
}
