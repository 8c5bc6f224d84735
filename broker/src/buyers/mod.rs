//! Pseudonymous buyer accounts: handle and password, equipment, collection points and
//! group prices. An order placed with an account is still paired anonymously.

pub mod domain;
pub mod routes;
pub mod store;
