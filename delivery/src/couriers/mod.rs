//! Couriers: accounts made by the operator, sessions, the legs they may take, and the
//! events they report.

pub mod domain;
pub mod routes;
pub mod store;
