//! `POST /v1/payments` (partner, `Idempotency-Key`).

use super::workflow::{take_payment, PaymentAnswer, PaymentBody, PaymentRequest};
use crate::error::Result;
use crate::partners::PartnerCaller;
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use shared::idempotency;
use shared::ids::{OrderId, PaymentId};
use shared::money::Money;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/payments", web::post().to(create).wrap(actix_web::middleware::from_fn(shared::ratelimit::partner)))
        .route("/v1/payments/{payment_id}", web::get().to(show));
}

/// Reports a payment for an order.
#[utoipa::path(post, path = "/v1/payments", request_body = PaymentBody,
    params(("Idempotency-Key" = String, Header, description = "required; kept 30 days")),
    responses((status = 201, body = PaymentAnswer, description = "captured, partial or rejected"),
        (status = 400, description = "idempotency_key_required"),
        (status = 404, description = "unknown_order: not stored under the key; retry later with it"),
        (status = 409, description = "idempotency_key_in_use, with Retry-After"),
        (status = 422, description = "invalid body, or the key was used with another body")),
    security(("partner" = [])))]
pub async fn create(
    state: web::Data<State>,
    req: HttpRequest,
    partner: PartnerCaller,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse> {
    let key = idempotency::required_key(&req)?;
    let body = body.into_inner();
    let fingerprint = idempotency::fingerprint("POST /v1/payments", &body);
    let ceiling = state.core.config.money.ceiling();
    let scope = format!("partner:{}", partner.id);
    crate::payments::keyed::create_once(
        &state,
        scope,
        key,
        fingerprint,
        move || PaymentRequest::parse(body, ceiling),
        move |c, request| take_payment(c, &partner.id, &request),
    )
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    /// `captured`, `partial`, `rejected` or `refunded`.
    #[schema(value_type = String)]
    pub status: super::domain::PaymentStatus,
    pub reason: Option<String>,
    /// What the partner reported.
    pub amount: Money,
    /// Booked into escrow.
    pub captured: Money,
    /// Refunded so far out of `captured`.
    pub refunded: Money,
    /// Returned at once (an overpayment's excess, or all of a rejected payment).
    pub returned: Money,
}

/// One of the calling partner's payments.
#[utoipa::path(get, path = "/v1/payments/{payment_id}",
    responses((status = 200, body = PaymentView), (status = 404, description = "unknown_payment")),
    security(("partner" = [])))]
pub async fn show(state: web::Data<State>, partner: PartnerCaller, path: web::Path<String>) -> Result<HttpResponse> {
    let id = PaymentId::parse(&path.into_inner())?;
    let row = state.core.db.read(move |c| super::store::find(c, &id)).await?;
    let row = row.filter(|p| p.partner_id == partner.id).ok_or(crate::error::SettlementError::UnknownPayment)?;
    Ok(HttpResponse::Ok().json(PaymentView {
        amount: row.money(row.amount),
        captured: row.money(row.captured),
        refunded: row.money(row.refunded),
        returned: row.money(row.returned),
        payment_id: row.id,
        order_id: row.order_id,
        status: row.status,
        reason: row.reason,
    }))
}
