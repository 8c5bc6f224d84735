//! Seller and manufacturer accounts, and their sessions (short-lived access tokens).

pub mod domain;
pub mod routes;
pub mod store;

pub use routes::routes;
