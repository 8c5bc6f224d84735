//! Stores' payout accounts: where remittances go. Sealed at rest with a key only
//! settlement holds; shown back only as the last four characters. A change needs a fresh
//! sign-in and holds the store's remittances for a while (`[settings.payouts]`).

pub mod domain;
pub mod reauth;
pub mod routes;
pub mod settings;
pub mod store;
