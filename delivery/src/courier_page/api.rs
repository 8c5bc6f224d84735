//! The page calls delivery's own JSON API over loopback through `client`, so every rule
//! and check stays in the API. The courier's address travels signed with delivery's own
//! key, so the sign-in limit still holds per courier and no other client can name one.

use crate::State;
use actix_web::{web, HttpRequest};
use client::Api;
pub use client::{enc, Unreachable};
use shared::ratelimit::RateLimits;
use shared::visitor::VisitorSigner;

/// Delivery itself, on its listening address, for the courier (if signed in) behind
/// this page request.
pub fn delivery(state: &State, req: &HttpRequest, bearer: Option<String>) -> Api {
    let visitor = match req.app_data::<web::Data<RateLimits>>() {
        Some(limits) => limits.client_of(req).ip(),
        None => req.peer_addr().map(|a| a.ip()),
    };
    let visitor = visitor.and_then(|ip| VisitorSigner::new(state.core.keys.signing()).map(|s| (s, ip)));
    Api::listening_on(state.core.config.delivery.addr).bearer(bearer).visitor(visitor)
}
