//! The page calls delivery's own JSON API over loopback through `client`, so every rule
//! and check stays in the API. The courier's address travels signed with delivery's own
//! key, so the sign-in limit still holds per courier and no other client can name one.

use crate::State;
use actix_web::HttpRequest;
use client::Api;
pub use client::{enc, Unreachable};

/// Delivery itself, on its listening address, for the courier (if signed in) behind
/// this page request.
pub fn delivery(state: &State, req: &HttpRequest, bearer: Option<String>) -> Api {
    let visitor = shared::visitor::of_page_request(req, state.core.keys.signing());
    Api::listening_on(state.core.config.delivery.addr).bearer(bearer).visitor(visitor)
}
