//! Refunds: of one payment (partner or operator, `POST /v1/refunds`), and of a whole order
//! (cancellation, an abandoned shipment, an expired partial payment). Never more than was
//! captured; each one a ledger transaction and an event for the payment's partner.

pub mod chargeback;
pub mod domain;
pub mod routes;
pub mod store;
pub mod workflow;
