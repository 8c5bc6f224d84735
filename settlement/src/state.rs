//! What the handlers share.

use shared::crypto::Sealer;
use shared::server::Core;
use std::sync::Arc;

/// What the handlers share.
#[derive(Clone)]
pub struct State {
    pub core: Core,
    /// Seals webhook secrets at rest.
    pub sealer: Arc<Sealer>,
    /// Seals stores' payout accounts at rest.
    pub payout_sealer: Arc<Sealer>,
    pub settings: Arc<crate::settings::Settings>,
    /// `[settings.payouts]`: fresh sign-in and hold for payout account changes.
    pub payouts: Arc<crate::payouts::settings::PayoutSettings>,
}
