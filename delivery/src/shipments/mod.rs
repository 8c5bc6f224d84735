//! Shipments: created once an order is both requested and paid, routed nearest-first,
//! followed by the buyer and the seller, cancelled while nothing was picked up.

pub mod domain;
pub mod pin;
pub mod routes;
pub mod store;
pub mod workflow;
