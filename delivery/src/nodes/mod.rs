//! The node network: branch and master warehouses, sellers' and manufacturers' nodes.

pub mod domain;
pub mod routes;
pub mod store;
