//! Selections: a buyer picks a product at a store. Where the store cannot sell it, the
//! answer names ranked stores that can (same union first) and the manufacturer's
//! back-order; the event is recorded as the store's unmet demand and its redirects, and
//! each alternative carries a signed referral token (see `referrals`) so that the
//! referring store earns its fee on a later order there.

pub mod domain;
pub mod routes;
pub mod store;

pub use routes::routes;
