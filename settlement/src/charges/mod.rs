//! Report purchases charged to a store's available balance (the broker's analyses):
//! idempotent by purchase id, never taking a balance below zero, refundable once.

pub mod routes;
pub mod store;
