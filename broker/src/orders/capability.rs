//! An order's capability: the bearer token that stands for its anonymous buyer at all three
//! services, what it permits, and a fresh one for the same order. The broker signs one and
//! never stores it.

use super::caller::OrderCaller;
use crate::error::Result;
use crate::State;
use actix_web::{web, HttpResponse};
use shared::auth::{Claims, Role};
use shared::config::ServiceName;
use shared::ids::OrderId;

pub use client::broker::orders::FreshCapability;

/// What an order's capability permits: reading it, cancelling, the address, the messages,
/// accepting the goods, disputing, returning.
pub const SCOPES: [&str; 7] = ["read", "cancel", "address", "message", "accept", "dispute", "return"];

/// A capability for the order, signed now.
pub fn sign(state: &State, order: &OrderId) -> Result<String> {
    let mut claims = Claims::new(
        ServiceName::Broker,
        order.as_str(),
        Role::Capability,
        &ServiceName::ALL,
        state.core.config.capability_ttl_secs,
    );
    claims.scope = SCOPES.map(String::from).to_vec();
    Ok(state.core.auth.signer.sign(&claims)?)
}

/// A fresh capability for the same order, so an order outlives its first capability's
/// lifetime. Only a buyer's whole capability renews: a narrower token (a read-only view)
/// never becomes a whole one.
#[utoipa::path(post, tag = "orders", path = "/v1/orders/{order_id}/capability",
    params(("order_id" = String, Path)),
    responses((status = 200, body = FreshCapability), (status = 403, description = "another order's, or a narrower token")))]
pub async fn renew(state: web::Data<State>, caller: OrderCaller, path: web::Path<String>) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    let OrderCaller::Capability(c) = caller else {
        return Err(crate::error::BrokerError::Forbidden("only the order's capability renews".into()));
    };
    for scope in shared::auth::EARLIER_BUYER_SCOPES {
        c.for_order(&id, scope)?;
    }
    let capability = sign(&state, &id)?;
    Ok(HttpResponse::Ok().json(FreshCapability { order_id: id, capability }))
}
