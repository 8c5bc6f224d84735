//! Search across all stores by kind and characteristics, price range, region and category.

pub mod domain;
pub mod routes;
pub mod store;

pub use routes::routes;
