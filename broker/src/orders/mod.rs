//! Anonymous orders: placement with a capability, pairing with the store under a
//! per-order buyer handle, the confirmation/approval/payment/delivery workflow and its
//! mail, the message relay between buyer and store.

pub mod domain;
pub mod expiry;
pub mod inspect;
pub mod notices;
pub mod public_price;
pub mod routes;
pub mod settings;
pub mod shipment_view;
pub mod store;
pub mod tables;
pub mod workflow;
