//! The shared catalog and each store's offers of it: price, stock, sellability, urgent
//! prices (and the sweeper that ends them), stock movements with a reserve threshold.

pub mod domain;
pub mod routes;
pub mod store;
#[cfg(test)]
pub(crate) mod testing;
pub mod urgent;

pub use domain::{Alternative, Backorder, Offer, Product, Store};
pub use routes::routes;
