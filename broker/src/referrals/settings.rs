//! What `[settings.broker]` says about referral tokens.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ReferralSettings {
    /// How long a referral token is valid, before its expiry is rounded up.
    pub referral_ttl_secs: i64,
    /// The expiry is rounded up to a multiple of this, so that it does not tell when the
    /// buyer browsed (an exact expiry would tie the order to the browsing session).
    pub referral_expiry_rounding_secs: i64,
}

impl Default for ReferralSettings {
    fn default() -> Self {
        ReferralSettings { referral_ttl_secs: 24 * 3600, referral_expiry_rounding_secs: 3600 }
    }
}

/// The settings as configured (defaults where unset).
pub fn of(state: &crate::State) -> ReferralSettings {
    state.core.config.setting(shared::config::ServiceName::Broker)
}
