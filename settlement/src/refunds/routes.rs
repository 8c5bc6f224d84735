//! `POST /v1/refunds` (partner or operator, `Idempotency-Key`).

use super::workflow::{refund_payment, RefundAnswer};
use crate::error::{Code, Result, SettlementError};
use crate::partners::auth::RefundCaller;
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use shared::idempotency;
use shared::ids::PaymentId;
use shared::money::{Ceiling, Money};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/refunds", web::post().to(create).wrap(actix_web::middleware::from_fn(shared::ratelimit::partner)));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub payment_id: String,
    pub amount: Money,
    pub reason: String,
}

struct RefundRequest {
    payment_id: PaymentId,
    amount: Money,
    reason: String,
}

fn parse(body: serde_json::Value, ceiling: Ceiling) -> Result<RefundRequest> {
    let raw: RefundBody = serde_json::from_value(body).map_err(SettlementError::body)?;
    let payment_id = PaymentId::parse(&raw.payment_id)
        .map_err(|e| SettlementError::refused(Code::InvalidPaymentId, e.to_string()))?;
    let amount = ceiling.admit(raw.amount)?;
    let reason = raw.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(SettlementError::refused(Code::InvalidReason, "reason must be 1 to 500 characters"));
    }
    Ok(RefundRequest { payment_id, amount, reason: reason.to_string() })
}

/// Refunds (part of) a captured payment.
#[utoipa::path(post, path = "/v1/refunds", request_body = RefundBody,
    params(("Idempotency-Key" = String, Header, description = "required; kept 30 days")),
    responses((status = 201, body = RefundAnswer),
        (status = 404, description = "unknown_payment"),
        (status = 422, description = "refund_exceeds_payment, invalid body, or the key was used with another body")),
    security(("partner" = []), ("operator" = [])))]
pub async fn create(
    state: web::Data<State>,
    req: HttpRequest,
    caller: RefundCaller,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse> {
    let key = idempotency::required_key(&req)?;
    let body = body.into_inner();
    let fingerprint = idempotency::fingerprint("POST /v1/refunds", &body);
    let (scope, partner) = match caller {
        RefundCaller::Partner(p) => (format!("partner:{p}"), Some(p)),
        RefundCaller::Operator => ("operator".to_string(), None),
    };
    let ceiling = state.core.config.money.ceiling();
    crate::payments::keyed::create_once(
        &state,
        scope,
        key,
        fingerprint,
        move || parse(body, ceiling),
        move |c, r| refund_payment(c, partner.as_ref(), &r.payment_id, r.amount, &r.reason),
    )
    .await
}
