//! Releasing escrow on delivery: the store's balance gets the value less the marketplace
//! fee, the referral fee (to the referring store) and the fulfilment fee (to the shipping
//! store).

pub mod dispute;
pub mod domain;
pub mod workflow;
