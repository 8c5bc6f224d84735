//! `GET /v1/seller/reports/catalogue`, `POST /v1/seller/reports`, `GET /v1/seller/reports`,
//! `GET /v1/seller/reports/{id}` and `GET /v1/seller/reports/{id}/csv` (seller): the
//! `sales_history` and `preferences` analyses.

use super::charge::{begin_purchase, Charger, Outcome};
pub use super::domain::BuyBody;
use crate::error::{BrokerError, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use privacy::budget::Analyst;
use privacy::store::{self as reports, Purchase, PurchaseStatus, ReportView};
use privacy::Month;
use serde::{Deserialize, Serialize};
use shared::auth::Seller;
use shared::http::Page;
use shared::ids::{ReportId, StoreId};
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
    /// ε per calendar month of data for everything both services release, the broker's
    /// part of it, and what one salesperson may spend of that part.
    #[schema(value_type = Object)]
    pub budget: privacy::budget::BudgetView,
}

/// The sales-history and preference reports on offer.
#[utoipa::path(get, path = "/v1/seller/reports/catalogue", responses((status = 200, body = Catalogue)))]
pub async fn catalogue(state: web::Data<State>, charger: web::Data<Charger>, seller: Seller) -> Result<HttpResponse> {
    let r = charger.reports().clone();
    let budget = r.settings.budget().map_err(|e| shared::Error::Internal(e.to_string()))?;
    let this_month = Month::of(now());
    let (first, left) = state
        .core
        .db
        .read(move |c| {
            let first = reports::first_month(c, &r.settings)?;
            let window = privacy::Window { from: this_month, to: this_month };
            let left = reports::left(c, &budget, Analyst::Broker, &seller.id, window)?;
            Ok::<_, BrokerError>((first, left))
        })
        .await?;
    let r = charger.reports();
    Ok(HttpResponse::Ok().json(Catalogue {
        reports: reports::catalogue(&r.settings, Analyst::Broker, r.currency, first, this_month),
        budget: privacy::budget::BudgetView::new(&budget, Analyst::Broker, left),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StoreQuery {
    /// The store to charge; required when the seller has several.
    pub store_id: Option<String>,
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
        Outcome::Refused("insufficient_balance") => Err(BrokerError::conflict(
            "insufficient_balance",
            "the store's available balance is too small for this report; nothing was charged",
        )),
        Outcome::Refused(code) => {
            Err(BrokerError::conflict(code, "the report could not be charged; nothing was charged"))
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
    let (seller, id) = (seller.clone(), id.clone());
    let r = charger.reports().clone();
    state
        .core
        .db
        .read(move |c| {
            let (p, release) = mine(c, &seller, &id)?;
            let left = if with_budget {
                let budget = r.settings.budget().map_err(|e| shared::Error::Internal(e.to_string()))?;
                Some(reports::left(c, &budget, Analyst::Broker, &seller.id, p.window)?)
            } else {
                None
            };
            Ok(ReportView::of(&p, release.as_ref(), left, r.currency.as_str()))
        })
        .await
}

/// The seller's purchases, newest first (without rows).
#[utoipa::path(get, path = "/v1/seller/reports", params(Page), responses((status = 200, body = Object)))]
pub async fn list(
    state: web::Data<State>,
    charger: web::Data<Charger>,
    seller: Seller,
    page: web::Query<Page>,
) -> Result<HttpResponse> {
    let (limit, offset) = (page.limit(), page.offset());
    let currency = charger.reports().currency;
    let views = state
        .core
        .db
        .read(move |c| {
            let ps = reports::list_purchases(c, &seller.id, limit, offset)?;
            Ok::<_, BrokerError>(
                ps.iter().map(|p| ReportView::of(p, None, None, currency.as_str())).collect::<Vec<_>>(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "reports": views })))
}

/// A purchase of this seller, with its release once completed. Another seller's report is
/// not found.
fn mine(
    c: &mut shared::db::AnyConnection,
    seller: &Seller,
    id: &ReportId,
) -> Result<(Purchase, Option<reports::StoredRelease>)> {
    let p =
        reports::get_purchase(c, id)?.filter(|p| p.seller_id == seller.id).ok_or(BrokerError::NotFound("report"))?;
    let release = match &p.release_id {
        Some(r) if p.status == PurchaseStatus::Completed => reports::release_by_id(c, r)?,
        _ => None,
    };
    Ok((p, release))
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
    let name = id.to_string();
    let body = state
        .core
        .db
        .read(move |c| {
            let (_, release) = mine(c, &seller, &id)?;
            let release =
                release.ok_or_else(|| BrokerError::conflict("report_not_ready", "the report is not charged yet"))?;
            Ok::<_, BrokerError>(release.release.to_csv())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("content-disposition", format!("attachment; filename=\"{name}.csv\"")))
        .body(body))
}
