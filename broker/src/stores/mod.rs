//! Stores: registration in a union, the public view, and the owner's dashboard (unmet
//! demand, stock movements, suppliers, urgent prices).

pub mod admin;
pub mod domain;
pub mod payout_notice;
pub mod routes;
pub mod store;
pub mod suspension;

pub use routes::routes;
