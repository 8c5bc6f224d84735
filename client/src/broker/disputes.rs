//! Disputes: a buyer's claim about one order, the store's answer, and the arbiter's
//! decision. Nothing in them names the buyer, the salesperson or an address.

use super::orders::{OrderStatus, StoreRef};
use serde::{Deserialize, Serialize};
use shared::ids::{DisputeId, OrderId, ProductId};
use shared::money::Money;
use shared::time::Timestamp;
use utoipa::ToSchema;

shared::text_enum! {
    /// What the buyer says is wrong.
    #[derive(utoipa::ToSchema)]
    pub enum DisputeReason {
        /// Nothing came (from the promised delivery plus the grace), or a delivery the
        /// buyer says never reached them (within the window).
        NotReceived,
        NotAsDescribed,
        Damaged,
        Other,
    }
}

shared::text_enum! {
    /// Where a dispute stands.
    #[derive(utoipa::ToSchema)]
    pub enum DisputeStatus {
        /// Waiting for the store's answer (until `respond_by`).
        Open,
        /// The store offered a partial refund; the buyer may take it until it lapses.
        Offered,
        /// The arbiter decides.
        Escalated,
        /// Decided; settlement executes the decision.
        Decided,
        /// Decided with a return: nothing moves until the goods are back.
        AwaitingReturn,
        /// Executed: the money went where the decision said.
        Closed,
    }
}

shared::text_enum! {
    /// The store's answer.
    #[derive(utoipa::ToSchema)]
    pub enum StoreAction {
        /// Refund everything paid.
        Accept,
        /// Offer a partial refund (`refund_percent`, 1 to 99).
        Offer,
        /// Let the arbiter decide.
        Contest,
    }
}

shared::text_enum! {
    /// The arbiter's decision.
    #[derive(utoipa::ToSchema)]
    pub enum Outcome {
        /// Everything paid goes back to the buyer.
        Refund,
        /// Everything goes to the store.
        Release,
        /// `refund` goes back, the rest to the store.
        Split,
    }
}

/// `POST /v1/orders/{order_id}/disputes` (the capability).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDispute {
    pub reason: DisputeReason,
    /// What happened, for the store and the arbiter (1 to 2 000 characters; never an
    /// address or a name).
    pub message: String,
}

/// `POST /v1/seller/disputes/{dispute_id}/responses` (the store's seller).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreResponse {
    pub action: StoreAction,
    /// With `offer`: 1 to 99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_percent: Option<i64>,
    pub message: String,
}

/// `POST /v1/arbiter/disputes/{dispute_id}/decision` (an operator with `arbiter`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArbiterDecision {
    pub outcome: Outcome,
    /// With `split`: what goes back, above nothing and below everything paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Money>,
    /// The goods go back to the store first (see Returns).
    #[serde(default)]
    pub return_required: bool,
    /// Why, for both sides (1 to 2 000 characters).
    pub note: String,
}

/// The store's standing offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Offer {
    pub refund_percent: i64,
    pub refund: Money,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// What was decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DecisionView {
    /// `refund`, `release` or `split`; the store's accept and the buyer's taking an offer
    /// read as `refund` and `split`.
    pub outcome: Outcome,
    pub refund: Money,
    pub return_required: bool,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub decided_at: Timestamp,
}

/// One message of a dispute's thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DisputeMessage {
    /// `buyer`, `store` or `arbiter`: never who.
    pub from: String,
    pub text: String,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// A dispute as its buyer and its store read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DisputeView {
    pub dispute_id: DisputeId,
    pub order_id: OrderId,
    pub status: DisputeStatus,
    pub reason: DisputeReason,
    /// Until when the store may answer; then it goes to the arbiter.
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub respond_by: Timestamp,
    pub offer: Option<Offer>,
    pub decision: Option<DecisionView>,
    pub messages: Vec<DisputeMessage>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: Timestamp,
}

/// The order as the arbiter reads it: what was bought and how it went, never who or where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FileOrder {
    pub order_id: OrderId,
    pub product_id: ProductId,
    pub product_name: String,
    pub quantity: i64,
    pub amount: Money,
    pub store: StoreRef,
    pub status: OrderStatus,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: Timestamp,
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub accept_by: Option<Timestamp>,
}

/// A dispute file: the dispute with its own thread, and the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DisputeFile {
    pub dispute: DisputeView,
    pub order: FileOrder,
    /// How the shipment went, as delivery tells the arbiter: in one file's read, `null` in
    /// the queue or while delivery cannot answer.
    #[serde(default)]
    pub shipment: Option<crate::delivery::ShipmentFacts>,
}

/// `GET /v1/arbiter/disputes?status=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DisputeFiles {
    pub disputes: Vec<DisputeFile>,
}
