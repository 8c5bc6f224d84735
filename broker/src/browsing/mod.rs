//! Browsing sequences and the preference store, under a session pseudonym: a random id the
//! buyer's client holds (header `X-Session-Id` or cookie `mp_session`), never tied to a
//! person or an order, and deleted on request.

pub mod routes;
pub mod store;

pub use routes::{routes, Session};

pub use shared::ids::SessionId;
