//! Each partner's payment and refund events: numbered per partner without gaps, listed by
//! `GET /v1/events`, and pushed as signed webhooks through the outbox.

pub mod deliveries;
pub mod domain;
pub mod resolver;
pub mod routes;
pub mod store;
pub mod webhook;

pub use domain::EventData;
