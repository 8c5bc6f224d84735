//! The shared catalog and each store's offers of it: price, stock, sellability, urgent
//! prices (and the sweeper that ends them), stock movements with a reserve threshold.
//! Every query runs inside the caller's transaction; the orders module calls them too.

pub mod domain;
pub mod offers;
pub mod products;
pub mod redirects;
pub mod reserve_mail;
pub mod routes;
pub mod stock;
pub mod stores;
#[cfg(test)]
pub(crate) mod testing;
pub mod urgent;
pub mod urgent_prices;

pub use domain::{Alternative, Backorder, Offer, Product, Store};
pub use routes::routes;
