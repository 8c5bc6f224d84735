//! `POST /v1/seller/reports` (seller, broker-issued token): buying a `finances` analysis,
//! charged to the store's balance in the purchase's transaction. The reading routes are
//! the analyses' own (`privacy::routes`), the same at the broker.

use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use privacy::budget::Analyst;
use privacy::routes::Desk;
use privacy::scope::{self, ScopeError};
pub use privacy::scope::{BuyBody, Catalogue, StoreQuery};
use privacy::store::{self as reports, Purchase, PurchaseStatus, ReportView};
use shared::auth::Seller;
use shared::ids::{ReportId, StoreId};
use shared::money::Money;
use shared::time::now;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/seller/reports", web::post().to(buy)).configure(privacy::routes::routes);
}

/// Buys a finance report: charged to the store's available balance, released once.
#[utoipa::path(post, path = "/v1/seller/reports", request_body = BuyBody, params(StoreQuery),
    responses((status = 201, body = ReportView),
        (status = 409, description = "privacy_budget_exhausted or insufficient_balance; nothing charged"),
        (status = 422, description = "unknown_kind, unknown_grouping, invalid_period, period_reversed, period_outside_data, period_too_long")),
    security(("seller" = [])))]
pub async fn buy(
    state: web::Data<State>,
    desk: web::Data<Desk>,
    seller: Seller,
    q: web::Query<StoreQuery>,
    body: web::Json<BuyBody>,
) -> Result<HttpResponse> {
    let given = q.store_id.as_deref().map(StoreId::parse).transpose()?;
    let body = body.into_inner();
    let r = desk.reports.clone();
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
