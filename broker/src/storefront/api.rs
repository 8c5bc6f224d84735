//! The pages call the broker's own JSON API (and, for the seller's balance and the demo
//! partner, settlement's) through `client`, so that every rule, check and record stays
//! where it is. The API sees the storefront on loopback as its peer; the page's visitor
//! travels signed with the broker's own key, so per-client limits (sign-in, sign-up,
//! ordering) still hold per visitor.

use super::SESSION_COOKIE;
use crate::State;
use actix_web::HttpRequest;
pub use client::{enc, Api, Reply, Unreachable};

/// The broker itself, reached on its listening address; the browsing pseudonym of the
/// page's request travels along so the API records the sequence as it would.
pub fn broker(state: &State, req: &HttpRequest) -> Api {
    Api::listening_on(state.core.config.broker.addr)
        .header(crate::browsing::routes::HEADER, cookie(req, SESSION_COOKIE))
        .visitor(shared::visitor::of_page_request(req, state.core.keys.signing()))
}

pub fn settlement(state: &State) -> Api {
    Api::new(state.core.config.settlement.public_url())
}

pub fn delivery(state: &State) -> Api {
    Api::new(state.core.config.delivery.public_url())
}

/// A cookie's value from the request.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
