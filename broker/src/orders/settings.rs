//! What `[settings.broker]` may say about orders and buyer accounts.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OrderSettings {
    /// Points a buyer earns per item returned to a collection point.
    pub collection_points_per_item: i64,
    /// Minor units of discount one point is worth.
    pub point_value_minor: i64,
    /// The largest quantity one order may carry.
    pub order_max_quantity: i64,
    /// The delivery time promised in order mails, from payment.
    pub delivery_days: i64,
    /// An order still waiting for the seller's price confirmation or the manufacturer's
    /// approval after this long is cancelled. (Waiting orders hold no stock; an order
    /// awaiting payment is expired by settlement at its `pay_by`.)
    pub unpaid_order_ttl_secs: i64,
    /// `pay_by` of an order payable at once: this long after placement.
    pub pay_within_secs: i64,
    /// `pay_by` of an order that waited for confirmation or approval: this long after it
    /// became payable.
    pub pay_after_approval_secs: i64,
    /// Unpaid orders together hold at most this share (percent) of an offer's stock.
    pub unpaid_share_percent: i64,
    /// One unpaid order holds at most the larger of this many units and
    /// `order_max_percent` of the offer's stock.
    pub order_max_units: i64,
    pub order_max_percent: i64,
    /// How often the broker looks for such orders.
    pub expiry_sweep_secs: u64,
    /// How long an order's `Idempotency-Key` is kept (so it never places a second order);
    /// never less than 30 days.
    pub order_key_retention_days: i64,
    /// How long after the first answer the key answers again with a fresh capability (a
    /// reload, a double click); later it answers the order id and status only, so an old
    /// key opens nothing.
    pub order_key_replay_secs: i64,
    /// How long after delivery the buyer has to accept or dispute; with no dispute open,
    /// its end accepts for them (and settlement releases the escrow).
    pub acceptance_window_secs: i64,
    /// How often the broker looks for windows that ended.
    pub acceptance_sweep_secs: u64,
    /// How long a store has to answer a dispute, and an offer stands.
    pub dispute_answer_secs: i64,
    /// After the promised delivery, how long before a buyer may say nothing came.
    pub not_received_grace_secs: i64,
    /// The money ceiling (`[money] max_amount_minor`), which an order's value stays under.
    #[serde(skip)]
    pub ceiling: shared::money::Ceiling,
}

impl Default for OrderSettings {
    fn default() -> Self {
        OrderSettings {
            collection_points_per_item: 50,
            point_value_minor: 1,
            order_max_quantity: 1_000,
            delivery_days: 3,
            unpaid_order_ttl_secs: 3 * 24 * 3600,
            pay_within_secs: 30 * 60,
            pay_after_approval_secs: 24 * 3600,
            unpaid_share_percent: 50,
            order_max_units: 10,
            order_max_percent: 20,
            expiry_sweep_secs: 60,
            order_key_retention_days: 30,
            order_key_replay_secs: 15 * 60,
            acceptance_window_secs: 7 * 24 * 3600,
            acceptance_sweep_secs: 60,
            dispute_answer_secs: 3 * 24 * 3600,
            not_received_grace_secs: 3 * 24 * 3600,
            ceiling: shared::money::Ceiling::MAX,
        }
    }
}

impl OrderSettings {
    /// Whether a key first seen at `first` still replays its answer with a capability at
    /// `at`. A window set below zero counts as zero.
    pub fn replays_capability(&self, first: shared::time::Timestamp, at: shared::time::Timestamp) -> bool {
        at - first <= chrono::Duration::seconds(self.order_key_replay_secs.max(0))
    }

    /// When the acceptance window of an order delivered at `delivered` ends.
    pub fn accept_by(&self, delivered: shared::time::Timestamp) -> shared::time::Timestamp {
        delivered + chrono::Duration::seconds(self.acceptance_window_secs.max(0))
    }

    pub fn dispute_answer_within(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.dispute_answer_secs.max(0))
    }

    /// From placement, when a buyer may say nothing came: the promised delivery time
    /// (`delivery_days`) plus the grace.
    pub fn not_received_after(&self) -> chrono::Duration {
        chrono::Duration::days(self.delivery_days.max(0))
            + chrono::Duration::seconds(self.not_received_grace_secs.max(0))
    }

    pub fn hold_limits(&self) -> super::domain::HoldLimits {
        super::domain::HoldLimits {
            unpaid_share_percent: self.unpaid_share_percent,
            order_max_units: self.order_max_units,
            order_max_percent: self.order_max_percent,
        }
    }

    /// When settlement stops taking payment for an order that becomes payable at `from`;
    /// `waited` when it went through confirmation or approval first.
    pub fn pay_by(&self, from: shared::time::Timestamp, waited: bool) -> shared::time::Timestamp {
        let secs = if waited { self.pay_after_approval_secs } else { self.pay_within_secs };
        from + chrono::Duration::seconds(secs.max(1))
    }
}

/// The settings as configured (defaults where unset).
pub fn of(state: &crate::State) -> OrderSettings {
    let settings: OrderSettings = state.core.config.setting(shared::config::ServiceName::Broker);
    OrderSettings { ceiling: state.core.config.money.ceiling(), ..settings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_replays_its_capability_only_within_the_window() {
        let s = OrderSettings::default();
        let first = shared::time::now();
        let secs = chrono::Duration::seconds;
        assert!(s.replays_capability(first, first));
        assert!(s.replays_capability(first, first + secs(900)));
        assert!(!s.replays_capability(first, first + secs(901)));
        assert!(!s.replays_capability(first, first + chrono::Duration::days(3)));
        let none = OrderSettings { order_key_replay_secs: -5, ..OrderSettings::default() };
        assert!(!none.replays_capability(first, first + secs(1)));
    }
}
