//! The steps of an order its parties take: cancel, confirm, approve, refuse. Each runs
//! one workflow event in one transaction and answers the caller's view of the order.

use super::caller::{authorize, OrderCaller};
use super::domain::{self, Event, OrderStatus, Party, Step};
use super::views::view;
use super::workflow;
use crate::error::{BrokerError, Code, Result};
use crate::orders::settings::of as settings;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::http::ActionBody;
use shared::ids::OrderId;

pub use client::broker::orders::{Confirmation, Reason};

/// The reason given, or `default` without one, checked.
fn checked(reason: &Reason, default: &str) -> Result<String> {
    domain::check_reason(reason.reason.as_deref().unwrap_or(default))
        .map_err(|d| BrokerError::refused(Code::InvalidReason, d))
}

/// Runs one workflow event for a caller allowed to cause it, in one transaction.
async fn step(
    state: &State,
    caller: OrderCaller,
    id: OrderId,
    event: Event,
    reason: Option<String>,
) -> Result<(serde_json::Value, Step)> {
    let settings = settings(state);
    let out = state
        .core
        .db
        .write(move |c| {
            let wanted: Vec<Party> = [Party::Buyer, Party::Seller, Party::Manufacturer]
                .into_iter()
                .filter(|p| domain::may(*p, event))
                .collect();
            let (_, s, p, party) = authorize(c, &caller, &id, &wanted)?;
            let (order, step) = workflow::apply(c, &settings, &id, event, reason.as_deref())?;
            Ok::<_, BrokerError>((view(c, party, order, &s, &p)?, step))
        })
        .await?;
    state.core.kick();
    Ok(out)
}

/// The reasons recorded when the caller gives none.
const NO_CANCEL_REASON: &str = "cancelled without a reason";
const NO_REFUSAL_REASON: &str = "refused without a reason";

#[utoipa::path(post, tag = "orders", path = "/v1/orders/{order_id}/cancel", request_body = Reason,
    responses((status = 200, description = "cancelled"), (status = 202, description = "{status: cancel_requested}"),
        (status = 409, description = "invalid_transition (with status)")))]
pub async fn cancel(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
    body: ActionBody<Reason>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    caller.precheck(&id, "cancel")?;
    let reason = checked(&body.0, NO_CANCEL_REASON)?;
    let (v, _) = step(&state, caller, id.clone(), Event::Cancel, Some(reason)).await?;
    if v["status"] == OrderStatus::CancelRequested.as_str() {
        // Paid: delivery decides; the outcome follows by message.
        return Ok(HttpResponse::Accepted().json(serde_json::json!({ "order_id": id, "status": "cancel_requested" })));
    }
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(post, tag = "orders", path = "/v1/orders/{order_id}/confirm", request_body = Confirmation,
    responses((status = 200, description = "the order, confirmed"), (status = 409, description = "invalid_transition")))]
pub async fn confirm(
    state: web::Data<State>,
    seller: OrderCaller,
    path: web::Path<String>,
    body: ActionBody<Confirmation>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    // No body keeps the price; a body that does not parse (a price above the money
    // ceiling among them) is refused, never read as "no new price".
    let price = body.0.price;
    let settings = settings(&state);
    let v = state
        .core
        .db
        .write(move |c| {
            let (_, s, p, party) = authorize(c, &seller, &id, &[Party::Seller])?;
            let order = workflow::confirm(c, &settings, &id, price)?;
            view(c, party, order, &s, &p)
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(post, tag = "orders", path = "/v1/orders/{order_id}/approve",
    responses((status = 200, description = "the order, approved"), (status = 409, description = "invalid_transition")))]
pub async fn approve(state: web::Data<State>, caller: OrderCaller, path: web::Path<String>) -> Result<HttpResponse> {
    let (v, _) = step(&state, caller, OrderId::parse(&path)?, Event::Approve, None).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(post, tag = "orders", path = "/v1/orders/{order_id}/refuse", request_body = Reason,
    responses((status = 200, description = "the order, cancelled"), (status = 409, description = "invalid_transition")))]
pub async fn refuse(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
    body: ActionBody<Reason>,
) -> Result<HttpResponse> {
    let reason = checked(&body.0, NO_REFUSAL_REASON)?;
    let (v, _) = step(&state, caller, OrderId::parse(&path)?, Event::Refuse, Some(reason)).await?;
    Ok(HttpResponse::Ok().json(v))
}
