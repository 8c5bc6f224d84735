//! Delivery's public routes that the pages call: a salesperson's nodes, their stock and
//! the goods to issue there, and an order's shipment as its seller may know it.

use crate::{enc, Answer, Api};
use serde::{Deserialize, Serialize};
use shared::ids::{NodeId, ProductId, ShipmentId, StoreId};
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

/// Calls to delivery.
pub struct Delivery {
    api: Api,
}

impl Delivery {
    pub fn new(api: Api) -> Delivery {
        Delivery { api }
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
}
