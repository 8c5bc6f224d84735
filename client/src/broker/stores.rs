//! What a salesperson's desk reads of their stores.

use super::catalog::PublicStore;
use serde::{Deserialize, Serialize};
use shared::ids::{ProductId, StoreId};
use shared::time::Timestamp;
use utoipa::ToSchema;

/// `GET /v1/seller/stores`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MyStores {
    pub stores: Vec<PublicStore>,
}

/// How often buyers asked a store for a product it could not sell them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnmetDemand {
    pub product_id: ProductId,
    pub product_name: String,
    pub non_sellable: i64,
    pub out_of_stock: i64,
    pub total: i64,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub last_asked: Timestamp,
}

/// `GET /v1/seller/stores/{store_id}/unmet-demand`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnmetDemandReport {
    pub store_id: StoreId,
    pub products: Vec<UnmetDemand>,
}

/// A token for delivery's view of one order's shipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentViewToken {
    /// `Authorization: Bearer` for delivery's `GET /v1/seller/shipments/{order_id}`, for
    /// this order only.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

// `POST /v1/stores` (a seller).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStoreBody {
    pub name: String,
    pub union_id: String,
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedStore {
    pub id: StoreId,
}
