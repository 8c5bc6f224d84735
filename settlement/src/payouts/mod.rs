//! Stores' payout accounts: where remittances go. Sealed at rest with a key only
//! settlement holds; shown back only as the last four characters.

pub mod domain;
pub mod routes;
pub mod store;
