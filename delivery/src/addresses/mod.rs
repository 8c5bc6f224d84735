//! Shipping addresses: sent by the buyer straight to delivery, sealed at rest, opened only
//! for the label of the final leg, deleted after delivery.

pub mod domain;
pub mod routes;
pub mod store;
