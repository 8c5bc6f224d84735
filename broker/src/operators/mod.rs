//! Operator accounts: the people who run the marketplace, each with roles, signed in here
//! and verified by all three services like the sellers.

pub mod routes;
mod store;

pub use routes::routes;
