//! Inventory per node and product, and the movements that changed it.

pub mod routes;
pub mod store;
