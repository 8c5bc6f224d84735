//! Charges to a store's available balance from the broker: report purchases (the
//! broker's analyses) and points minted at a collection point (into the points
//! liability, before the points exist). Idempotent by purchase or mint id, never taking a
//! balance below zero, refundable once.

pub mod routes;
pub mod store;
