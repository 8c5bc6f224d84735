//! Mart unions (the stores of one regional division) and the service centre that
//! federates them and sends a customer to the union that fits a region and a category.

pub mod routes;
pub mod store;

pub use routes::routes;
