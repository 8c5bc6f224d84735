//! The settlement side of an order: what is expected, what was paid, where it stands.

pub mod domain;
pub mod pricing;
pub mod routes;
pub mod store;

pub use domain::OrderStatus;
pub use store::OrderRow;
