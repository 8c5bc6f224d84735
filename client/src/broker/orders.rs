//! Placing an order, and what the buyer is told about it.

use super::catalog::{Alternative, Backorder};
use serde::{Deserialize, Serialize};
use shared::ids::{DisputeId, OrderId, ProductId, StoreId};
use shared::money::Money;
use shared::time::Timestamp;
use utoipa::ToSchema;

shared::text_enum! {
    /// Where an order stands. Stored as its snake_case name; an unknown stored status is a
    /// read error, never a default.
    #[derive(utoipa::ToSchema)]
    pub enum OrderStatus {
        AwaitingConfirmation,
        AwaitingApproval,
        AwaitingPayment,
        Paid,
        CancelRequested,
        Shipped,
        /// The final leg was delivered; escrow stays held until the buyer accepts or the
        /// acceptance window (`accept_by`) ends.
        Delivered,
        /// Accepted, and settlement released the escrow to the store.
        Completed,
        /// The buyer opened a dispute: escrow stays held until it is decided.
        Disputed,
        /// A decision (or the partner) refunded part of it; the rest went to the store.
        PartiallyRefunded,
        /// A decision (or the partner) refunded all of it after payment.
        Refunded,
        Cancelled,
        /// Settlement's `pay_by` passed with the order unpaid; its stock went back.
        Expired,
    }
}

impl OrderStatus {
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        s.parse().ok()
    }

    /// Settlement has been told the order exists (its price is final).
    pub fn payable_sent(&self) -> bool {
        !matches!(self, OrderStatus::AwaitingConfirmation | OrderStatus::AwaitingApproval)
    }

    /// Nothing more will happen to it: its buyer contact and any points hold can go.
    pub fn is_closed(&self) -> bool {
        matches!(self, OrderStatus::Delivered | OrderStatus::Completed | OrderStatus::Cancelled | OrderStatus::Expired)
    }

    /// Goods have left a node: reserved offer stock is no longer on the shelf.
    pub fn goods_moved(&self) -> bool {
        matches!(self, OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Completed)
    }

    /// The status as a person reads it: `awaiting payment`.
    pub fn words(&self) -> String {
        self.as_str().replace('_', " ")
    }
}

/// `POST /v1/orders/{order_id}/capability`: a fresh capability for the same order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FreshCapability {
    pub order_id: OrderId,
    pub capability: String,
}

/// `POST /v1/orders`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub quantity: i64,
    /// The `referral` token of the selection's (or a 409's) alternative the buyer followed:
    /// it earns the referring store its fee once. A reused, forged, expired or mismatched
    /// token earns nothing, and the order goes through all the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<String>,
    /// Deprecated and ignored: a referral is earned only through `referral`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_store_id: Option<String>,
    /// The unit price the buyer saw; a different current price is 409 `price_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_price: Option<Money>,
    /// A mail address for this order's news, sealed, never shown to the store, shredded
    /// when the order closes. Without it, the buyer reads the status with the capability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Collection points to spend as a discount (logged-in buyers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

/// A store as an order names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoreRef {
    pub id: StoreId,
    /// The store's public display name: all a buyer learns about the seller.
    pub name: String,
}

/// A placed order (201), or its key's answer given again within the replay window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Placed {
    pub order_id: OrderId,
    /// The order capability: `Authorization: Bearer` for this order at all three services.
    pub capability: String,
    pub amount: Money,
    pub unit_price: Money,
    pub quantity: i64,
    pub product_id: ProductId,
    pub status: OrderStatus,
    pub store: StoreRef,
    /// Until when settlement takes payment; then the order expires and its stock goes
    /// back. `null` while the order waits for confirmation or approval.
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub pay_by: Option<Timestamp>,
}

/// The answer to a key replayed after `order_key_replay_secs`: the key named this order
/// once, but it is no longer a way into it (no capability, no price, no store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlacedEarlier {
    pub order_id: OrderId,
    /// The order's status now.
    pub status: OrderStatus,
}

/// What a placement answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// 201: the order (or, for a key replayed within its window, the same order again).
    Placed(Placed),
    /// 200: a key replayed after its window: the order's id and status only.
    PlacedEarlier(PlacedEarlier),
}

/// What a refused placement (409) adds to its problem: where else to buy, or the price now.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PlacementRefusal {
    #[serde(default)]
    pub alternatives: Vec<Alternative>,
    #[serde(default)]
    pub backorder: Option<Backorder>,
    /// With `price_changed`: the unit price now.
    #[serde(default)]
    pub current_price: Option<Money>,
}

/// The order as its buyer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BuyerView {
    pub order_id: OrderId,
    pub status: OrderStatus,
    pub product_id: ProductId,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub discount: Money,
    pub amount: Money,
    pub store: StoreRef,
    pub reason: Option<String>,
    pub note: Option<String>,
    /// Until when settlement takes payment (once the order is payable).
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub pay_by: Option<Timestamp>,
    /// Once delivered: when the acceptance window ends. Until then the buyer may accept
    /// (`POST /v1/orders/{order_id}/accept`); then it is accepted for them.
    #[serde(default, with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub accept_by: Option<Timestamp>,
    /// When the buyer accepted, or the window's end accepted for them.
    #[serde(default, with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub accepted_at: Option<Timestamp>,
    /// The order's dispute, once opened (`GET /v1/orders/{order_id}/disputes/{dispute_id}`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub dispute_id: Option<DisputeId>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

/// Where an order's goods are, as far as the broker knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ShipmentProgress {
    NotRequested,
    AwaitingPickup,
    InTransit,
    Delivered,
    Cancelled,
}

impl From<OrderStatus> for ShipmentProgress {
    fn from(s: OrderStatus) -> ShipmentProgress {
        match s {
            OrderStatus::AwaitingConfirmation | OrderStatus::AwaitingApproval | OrderStatus::AwaitingPayment => {
                ShipmentProgress::NotRequested
            }
            OrderStatus::Paid | OrderStatus::CancelRequested => ShipmentProgress::AwaitingPickup,
            OrderStatus::Shipped => ShipmentProgress::InTransit,
            OrderStatus::Delivered | OrderStatus::Completed => ShipmentProgress::Delivered,
            // Disputed or refunded after payment: where the goods are is delivery's to say
            // (`GET /v1/seller/shipments/{order_id}`); most disputes follow a delivery.
            OrderStatus::Disputed | OrderStatus::PartiallyRefunded | OrderStatus::Refunded => {
                ShipmentProgress::Delivered
            }
            OrderStatus::Cancelled | OrderStatus::Expired => ShipmentProgress::Cancelled,
        }
    }
}

/// The order as the store sees it: a per-order buyer handle, never anything more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SellerView {
    pub order_id: OrderId,
    pub buyer_handle: String,
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub quantity: i64,
    pub unit_price: Money,
    pub amount: Money,
    pub status: OrderStatus,
    /// Where the goods are, as far as the broker knows; the detail is at delivery's
    /// `GET /v1/seller/shipments/{order_id}`, with a token from
    /// `POST /v1/seller/orders/{order_id}/shipment-view`.
    pub shipment_status: ShipmentProgress,
    pub referral_store_id: Option<StoreId>,
    pub shipper_store_id: Option<StoreId>,
    pub backorder: bool,
    pub reason: Option<String>,
    /// The order's dispute, once opened: answered at `POST /v1/seller/disputes/{dispute_id}/responses`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub dispute_id: Option<DisputeId>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

/// `GET /v1/seller/orders` and `GET /v1/manufacturer/orders`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SellerOrders {
    pub orders: Vec<SellerView>,
}

/// Why an order is refused or cancelled (optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Optional: the order keeps a generic reason without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The seller's confirmation of an order's price.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// A new unit price; the order keeps its price without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
}
