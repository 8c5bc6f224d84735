//! Delivery's public routes that the pages call: a salesperson's nodes, their stock and
//! the goods to issue there, and an order's shipment as its seller may know it.

use crate::{enc, Answer, Api};
use serde::{Deserialize, Serialize};
use shared::ids::{CourierId, NodeId, OrderId, ProductId, ShipmentId, StoreId};
use shared::time::Timestamp;
use utoipa::ToSchema;

shared::text_enum! {
    /// Where a shipment stands.
    #[derive(utoipa::ToSchema)]
    pub enum ShipmentStatus {
        AwaitingAddress,
        Routed,
        InTransit,
        Delivered,
        Unroutable,
        Returned,
        Cancelled,
    }
}

impl ShipmentStatus {
    /// No courier will touch it again.
    pub fn is_final(&self) -> bool {
        matches!(self, ShipmentStatus::Delivered | ShipmentStatus::Returned | ShipmentStatus::Cancelled)
    }
}

shared::text_enum! {
    /// Where one leg of a shipment stands.
    #[derive(utoipa::ToSchema)]
    pub enum LegStatus {
        /// Waits for the legs before it.
        Pending,
        /// The first leg from a seller's node: the salesperson issues the goods (hands them to
        /// the courier) before any courier can claim it (seed 001: delivery entrusted to the
        /// seller).
        AwaitingGoodsIssue,
        /// The current leg, free for any courier to claim.
        Open,
        PickedUp,
        InTransit,
        Delivered,
        /// The shipment ended before this leg was done.
        Cancelled,
    }
}

impl LegStatus {
    pub fn is_claimed(&self) -> bool {
        matches!(self, LegStatus::PickedUp | LegStatus::InTransit)
    }

    /// Nobody has taken the goods on this leg yet.
    pub fn not_started(&self) -> bool {
        matches!(self, LegStatus::Pending | LegStatus::AwaitingGoodsIssue | LegStatus::Open)
    }
}

shared::text_enum! {
    /// Why a node's inventory changed.
    #[derive(utoipa::ToSchema)]
    pub enum Movement {
        /// The operator counted the stock.
        Adjustment,
        /// Issued to a shipment.
        Reserved,
        /// Back from a cancelled shipment that never left.
        Released,
        /// Back from a returned shipment.
        Returned,
    }
}

/// What a salesperson may know of an order's shipment: no address, region or node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SellerView {
    pub status: ShipmentStatus,
    pub delivered: bool,
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub estimated_delivery: Option<Timestamp>,
}

/// What an arbiter may know of an order's shipment (`GET /v1/arbiter/shipments/{order_id}`):
/// how it went, never where or by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentFacts {
    pub status: ShipmentStatus,
    pub delivered: bool,
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub estimated_delivery: Option<Timestamp>,
    /// Oldest first.
    pub events: Vec<ShipmentEvent>,
    /// The buyer's delivery PIN was given at the handover.
    pub pin_confirmed: bool,
}

/// One step of a shipment: `picked_up`, `in_transit`, `handed_over` (a leg delivered to
/// the next node), `delivered` (the last leg), `failed` (never its reason), `wrong_pin` or
/// `pin_unlocked`, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// Units of a product counted at a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InventoryBody {
    /// Units at the node and free to issue.
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MovementView {
    pub delta: i64,
    pub reason: Movement,
}

/// A node's stock of one product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InventoryView {
    #[schema(value_type = String)]
    pub node_id: NodeId,
    #[schema(value_type = String)]
    pub product_id: ProductId,
    pub quantity: i64,
    /// The latest movements of this node and product: `{delta, reason}`, oldest first.
    pub movements: Vec<MovementView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StockLine {
    #[schema(value_type = String)]
    pub product_id: ProductId,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OwnNodeView {
    #[schema(value_type = String)]
    pub node_id: NodeId,
    pub name: String,
    pub region: String,
    #[schema(value_type = String)]
    pub store_id: StoreId,
    pub stock: Vec<StockLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OwnNodes {
    pub nodes: Vec<OwnNodeView>,
}

/// A shipment leg that starts at the salesperson's node: no order, buyer or destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dispatch {
    #[schema(value_type = String)]
    pub shipment_id: ShipmentId,
    #[schema(value_type = String)]
    pub node_id: NodeId,
    #[schema(value_type = String)]
    pub product_id: ProductId,
    pub quantity: i64,
    /// `awaiting_goods_issue` until the salesperson issues the goods, then `open` (a
    /// courier may take it), `picked_up` or `in_transit`.
    pub status: LegStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dispatches {
    pub dispatches: Vec<Dispatch>,
}

shared::text_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum NodeKind {
        Branch,
        Master,
        Seller,
        Manufacturer,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
}

impl Position {
    pub fn parse(lat: f64, lon: f64) -> Option<Position> {
        let ok = lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
        ok.then_some(Position { lat, lon })
    }

    /// Great-circle distance (haversine), in kilometres.
    pub fn distance_km(&self, other: &Position) -> f64 {
        const EARTH_RADIUS_KM: f64 = 6371.0;
        let (la1, la2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = la2 - la1;
        let dlon = (other.lon - self.lon).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
    }
}

// `POST /v1/nodes` (the operator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeBody {
    pub kind: NodeKind,
    pub name: String,
    pub region: String,
    pub position: Position,
    /// Order of a branch within its region (1 first), used for addresses without a position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<i32>,
    /// A store id (seller node) or manufacturer id (manufacturer node).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl NodeBody {
    /// A branch of `region`, `rank`th in it, at `(lat, lon)`.
    pub fn branch(name: &str, region: &str, (lat, lon): (f64, f64), rank: i32) -> NodeBody {
        NodeBody {
            kind: NodeKind::Branch,
            name: name.into(),
            region: region.into(),
            position: Position { lat, lon },
            rank: Some(rank),
            owner: None,
        }
    }
}

// A node made (`Created` in the OpenAPI document, as a courier made is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Created)]
pub struct CreatedNode {
    #[schema(value_type = String)]
    pub id: NodeId,
}

// `POST /v1/couriers` (the operator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CourierBody {
    pub name: String,
    pub email: String,
    pub password: String,
    /// When given, the courier sees only open legs that start in this region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

// A courier made (`Created` in the OpenAPI document, as a node made is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Created)]
pub struct CreatedCourier {
    #[schema(value_type = String)]
    pub id: CourierId,
}

// `POST /v1/sessions`: a courier signs in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Session {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
}

/// A leg as a courier sees it: never the order id; the label only on the final leg the
/// courier holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CourierLeg {
    #[schema(value_type = String)]
    pub shipment_id: ShipmentId,
    /// The leg's position in the shipment (0 first).
    pub leg: i32,
    pub legs: i64,
    #[schema(value_type = String)]
    pub from_node: NodeId,
    /// The next node's id, or `buyer` for the final leg.
    pub to: String,
    #[schema(value_type = String)]
    pub status: LegStatus,
    pub region: String,
    #[schema(value_type = String)]
    pub product_id: ProductId,
    pub quantity: i64,
    /// Held by the calling courier.
    pub claimed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CourierList {
    pub shipments: Vec<CourierLeg>,
}

// `POST /v1/courier/shipments/{shipment_id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventBody {
    /// `picked_up`, `in_transit`, `delivered` or `failed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Required with `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The delivery PIN the buyer gives at the door: required with `delivered` on the
    /// final leg to the buyer's address (wrong: 422 `wrong_pin`; after five, 423
    /// `leg_locked`); ignored elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventAnswer {
    #[schema(value_type = String)]
    pub shipment_id: ShipmentId,
    #[schema(value_type = String)]
    pub status: ShipmentStatus,
    pub delivered: bool,
    pub leg: Option<i32>,
    #[schema(value_type = Option<String>)]
    pub leg_status: Option<LegStatus>,
}

// Its `Debug` hides every field, so that it cannot reach a log.
/// What the buyer sends, before validation.
#[derive(Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AddressInput {
    /// The recipient's name, or any collection code the buyer picks (1–100 characters).
    pub name: String,
    pub line1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// The delivery region, as the node network names regions.
    pub region: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Optional: lets routing pick the region's nearest branch; used once and never stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

impl std::fmt::Debug for AddressInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddressInput(hidden)")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LegView {
    pub seq: i32,
    /// The node the leg starts from.
    #[schema(value_type = String)]
    pub from_node: NodeId,
    /// The next node's id, or `buyer` for the final leg.
    pub to: String,
    #[schema(value_type = String)]
    pub status: LegStatus,
}

// `GET /v1/shipments/{order_id}`: the shipment as its buyer may follow it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrackingView {
    #[schema(value_type = String)]
    pub order_id: OrderId,
    #[schema(value_type = String)]
    pub shipment_id: ShipmentId,
    #[schema(value_type = String)]
    pub status: ShipmentStatus,
    pub delivered: bool,
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub estimated_delivery: Option<Timestamp>,
    pub legs: Vec<LegView>,
    /// The delivery PIN, for the order's buyer only: give it to the courier at the door.
    /// Absent for a narrower token (a read-only view).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

/// Calls to delivery.
pub struct Delivery {
    api: Api,
}

impl Delivery {
    pub fn new(api: Api) -> Delivery {
        Delivery { api }
    }

    /// The raw calls, for what has no typed call here.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// `POST /v1/nodes` (the operator).
    pub async fn create_node(&self, node: &NodeBody) -> Answer<CreatedNode> {
        self.api.post_json("/v1/nodes", node).await?.into_answer()
    }

    /// `PUT /v1/nodes/{node_id}/inventory/{product_id}` (the operator): the stock counted there.
    pub async fn set_stock(&self, node: &str, product: &str, body: &InventoryBody) -> Answer<InventoryView> {
        let path = format!("/v1/nodes/{}/inventory/{}", enc(node), enc(product));
        self.api.send(reqwest::Method::PUT, &path, body, &[]).await?.into_answer()
    }

    /// `POST /v1/couriers` (the operator).
    pub async fn create_courier(&self, courier: &CourierBody) -> Answer<CreatedCourier> {
        self.api.post_json("/v1/couriers", courier).await?.into_answer()
    }

    /// `POST /v1/sessions`: a courier signs in.
    pub async fn sign_in(&self, credentials: &LoginBody) -> Answer<Session> {
        self.api.post_json("/v1/sessions", credentials).await?.into_answer()
    }

    /// `GET /v1/courier/shipments`: the legs the signed-in courier may take or holds.
    pub async fn courier_shipments(&self) -> Answer<CourierList> {
        self.api.get("/v1/courier/shipments").await?.into_answer()
    }

    /// `POST /v1/courier/shipments/{shipment_id}/events`: the courier reports a leg's progress.
    pub async fn report(&self, shipment: &str, event: &EventBody) -> Answer<EventAnswer> {
        let path = format!("/v1/courier/shipments/{}/events", enc(shipment));
        self.api.post_json(&path, event).await?.into_answer()
    }

    /// `PUT /v1/shipments/{order_id}/address`, with the order's capability as bearer (204).
    pub async fn set_address(&self, order: &str, address: &AddressInput) -> Answer<()> {
        let path = format!("/v1/shipments/{}/address", enc(order));
        self.api.send(reqwest::Method::PUT, &path, address, &[]).await?.into_done()
    }

    /// `GET /v1/shipments/{order_id}`, with the order's capability as bearer.
    pub async fn shipment(&self, order: &str) -> Answer<TrackingView> {
        self.api.get(&format!("/v1/shipments/{}", enc(order))).await?.into_answer()
    }

    /// `GET /v1/seller/nodes`: the salesperson's own nodes and their stock.
    pub async fn own_nodes(&self) -> Answer<OwnNodes> {
        self.api.get("/v1/seller/nodes").await?.into_answer()
    }

    /// `PUT /v1/seller/nodes/{node_id}/inventory/{product_id}`: the stock counted there.
    pub async fn set_own_stock(&self, node: &str, product: &str, body: &InventoryBody) -> Answer<InventoryView> {
        let path = format!("/v1/seller/nodes/{}/inventory/{}", enc(node), enc(product));
        self.api.send(reqwest::Method::PUT, &path, body, &[]).await?.into_answer()
    }

    /// `GET /v1/seller/dispatches`: goods to issue at the salesperson's nodes.
    pub async fn dispatches(&self, limit: i64) -> Answer<Dispatches> {
        self.api.get(&format!("/v1/seller/dispatches?limit={limit}")).await?.into_answer()
    }

    /// `POST /v1/seller/dispatches/{shipment_id}/goods-issue`.
    pub async fn issue_goods(&self, shipment: &str) -> Answer<Dispatch> {
        let path = format!("/v1/seller/dispatches/{}/goods-issue", enc(shipment));
        self.api.post(&path, serde_json::json!({})).await?.into_answer()
    }

    /// `GET /v1/seller/shipments/{order_id}`, with the broker's shipment view token as bearer.
    pub async fn seller_shipment(&self, order: &str) -> Answer<SellerView> {
        self.api.get(&format!("/v1/seller/shipments/{}", enc(order))).await?.into_answer()
    }

    /// `GET /v1/arbiter/shipments/{order_id}`, with the broker's dispute-file token as bearer.
    pub async fn arbiter_shipment(&self, order: &str) -> Answer<ShipmentFacts> {
        self.api.get(&format!("/v1/arbiter/shipments/{}", enc(order))).await?.into_answer()
    }
}
