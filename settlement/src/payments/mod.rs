//! `POST /v1/payments`: a partner reports money paid for an order; settlement compares it
//! with the expected value and captures it into escrow, holds it as partial, or rejects it.

pub mod domain;
pub(crate) mod keyed;
pub mod routes;
pub mod store;
pub mod workflow;
