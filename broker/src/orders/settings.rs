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
    /// An order still unpaid (or unconfirmed, unapproved) after this long is cancelled and
    /// its stock goes back on offer: anonymous orders must not be able to hold a shelf.
    pub unpaid_order_ttl_secs: i64,
    /// How often the broker looks for such orders.
    pub expiry_sweep_secs: u64,
    /// How long an order's `Idempotency-Key` answers again; never less than 30 days.
    pub order_key_retention_days: i64,
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
            expiry_sweep_secs: 60,
            order_key_retention_days: 30,
            ceiling: shared::money::Ceiling::MAX,
        }
    }
}

/// The settings as configured (defaults where unset).
pub fn of(state: &crate::State) -> OrderSettings {
    let settings: OrderSettings = state.core.config.setting(shared::config::ServiceName::Broker);
    OrderSettings { ceiling: state.core.config.money.ceiling(), ..settings }
}
