//! `POST /v1/seller/reports` (seller): buying a `sales_history` or `preferences` analysis,
//! charged to the store by settlement. The reading routes are the analyses' own
//! (`privacy::routes`), the same at settlement.

use super::charge::{begin_purchase, Charger, Outcome};
use crate::error::{BrokerError, Code, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use privacy::budget::Analyst;
use privacy::scope;
pub use privacy::scope::{BuyBody, Catalogue, StoreQuery};
use privacy::store::ReportView;
use shared::auth::Seller;
use shared::ids::StoreId;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/reports", web::post().to(buy)).configure(privacy::routes::routes);
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
    let view: ReportView = scope::view(&state.core.db, charger.reports(), Analyst::Broker, seller.id, id, true).await?;
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
