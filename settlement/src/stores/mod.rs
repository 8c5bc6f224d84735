//! Stores as the broker registers them, the sellability snapshot settlement re-checks
//! before capturing, and the seller's balance view.

pub mod routes;
pub mod statement;
pub mod store;
