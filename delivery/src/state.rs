//! What the handlers share.

use crate::settings::DeliverySettings;
use shared::crypto::Sealer;
use shared::server::Core;
use std::sync::Arc;

/// What the handlers share.
#[derive(Clone)]
pub struct State {
    pub core: Core,
    /// Seals addresses; its keys live in `<data dir>/keys/delivery-addresses` only.
    pub sealer: Arc<Sealer>,
    /// Derives the delivery PINs; its key lives in `<data dir>/keys/delivery-pin` only.
    pub pins: Arc<crate::shipments::pin::Pins>,
    pub settings: Arc<DeliverySettings>,
}
