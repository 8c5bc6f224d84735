//! Delivery's own settings, from `[settings.delivery]` in the configuration file.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DeliverySettings {
    /// How long after delivery (or after a shipment ends without delivery) the sealed
    /// address is deleted.
    pub shred_after_secs: i64,
    /// How long a shipment may stay `unroutable` (routing is retried meanwhile) before it
    /// is abandoned and the order refunded.
    pub unroutable_wait_secs: i64,
    /// How long an address is kept for an order that never became a shipment (never paid,
    /// or cancelled before payment, which delivery does not hear of).
    pub orphan_address_secs: i64,
    /// How long a shipment's history (each step's kind and time, which a dispute's arbiter
    /// reads) outlives its address.
    pub history_kept_secs: i64,
    /// How often the background pass (routing retries, abandonment, shredding) runs.
    pub sweep_interval_ms: u64,
    /// Time spent at a node per leg (pickup, sorting), for the estimated delivery.
    pub handling_hours: i64,
    /// Average speed between nodes, for the estimated delivery.
    pub transit_km_per_hour: f64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            shred_after_secs: 7 * 24 * 3600,
            unroutable_wait_secs: 24 * 3600,
            orphan_address_secs: 30 * 24 * 3600,
            history_kept_secs: 90 * 24 * 3600,
            sweep_interval_ms: 5_000,
            handling_hours: 12,
            transit_km_per_hour: 50.0,
        }
    }
}

impl DeliverySettings {
    pub fn shred_after(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.shred_after_secs.max(0))
    }

    pub fn history_kept(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.history_kept_secs.max(0))
    }

    pub fn orphan_address(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.orphan_address_secs.max(0))
    }

    pub fn unroutable_wait(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.unroutable_wait_secs.max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_from_the_settings_table_with_defaults_for_the_rest() {
        let config = shared::config::Config::from_toml("[settings.delivery]\nshred_after_secs = 2\n").unwrap();
        let s: DeliverySettings = config.setting(shared::config::ServiceName::Delivery);
        assert_eq!(s.shred_after_secs, 2);
        assert_eq!(s.unroutable_wait_secs, 24 * 3600);
    }
}
