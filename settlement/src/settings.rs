//! Settlement's own settings, from `[settings.settlement]` in the configuration file.

use serde::Deserialize;
use shared::money::Currency;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The currency balances and the trial balance are shown in.
    pub currency: String,
    /// A partial payment of an order without a deadline (`pay_by`) not completed within
    /// this time is refunded. Every order has a deadline now (the inbox gives one to an
    /// `order_payable` without); this is kept for rows written before.
    pub partial_expiry_secs: i64,
    /// How often the background job looks for expired partial payments and old keys.
    pub sweep_interval_secs: u64,
    /// How often remittances run on their own; 0 turns the schedule off (the operator
    /// route still runs them).
    pub remittance_interval_secs: u64,
    /// Idempotency keys are kept this long (API.md: at least 30 days).
    pub idempotency_retention_days: i64,
    /// How long a request owns its key before another may take it over (a crashed request).
    pub idempotency_lock_secs: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            currency: "EUR".into(),
            partial_expiry_secs: 24 * 3600,
            sweep_interval_secs: 30,
            remittance_interval_secs: 24 * 3600,
            idempotency_retention_days: 30,
            idempotency_lock_secs: 60,
        }
    }
}

impl Settings {
    pub fn currency(&self) -> Result<Currency, shared::Error> {
        Ok(Currency::parse(&self.currency)?)
    }
}
