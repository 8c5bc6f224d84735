//! Payment partners: created by the operator, authenticated by API key (stored as a hash,
//! shown once), each with a webhook secret (sealed at rest) and its own event sequence.

pub mod auth;
pub mod domain;
pub mod routes;
pub mod store;

pub use auth::PartnerCaller;
