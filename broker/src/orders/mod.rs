//! Anonymous orders: placement with a capability, pairing with the store under a
//! per-order buyer handle, the confirmation/approval/payment/delivery workflow and its
//! mail, the buyer's acceptance, the message relay between buyer and store.

pub mod acceptance;
pub mod caller;
pub mod capability;
pub mod domain;
pub mod expiry;
pub mod inspect;
pub mod lists;
pub mod notices;
pub mod placement;
pub mod public_price;
pub mod relay;
pub mod routes;
pub mod settings;
pub mod shipment_view;
pub mod steps;
pub mod store;
pub mod views;
pub mod workflow;
