//! What buyers browse: unions, stores and their shelves, products, search, and what a
//! store answers when a buyer chooses a product.

use serde::{Deserialize, Serialize};
use shared::ids::{ManufacturerId, ProductId, StoreId, UnionId};
use shared::money::Money;
use shared::rules::Unsellable;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A regional union of stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Union {
    pub id: UnionId,
    pub name: String,
    pub region: String,
}

/// A union with its stores (those of the asked category, where one was asked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnionView {
    #[serde(flatten)]
    pub union: Union,
    pub stores: Vec<PublicStore>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnionList {
    pub unions: Vec<UnionView>,
}

/// A store's public face: what buyers may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublicStore {
    pub id: StoreId,
    pub name: String,
    pub category: String,
    pub union_id: Option<UnionId>,
    pub region: String,
}

/// An offer as buyers see it while browsing a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShelfItem {
    pub product_id: ProductId,
    pub price: Money,
    pub stock: i64,
    pub sellable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Shelf {
    pub offers: Vec<ShelfItem>,
}

/// A product of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub kind: String,
    pub attributes: BTreeMap<String, String>,
    pub list_price: Money,
    pub manufacturer_id: Option<ManufacturerId>,
    /// Orders of this product wait for the manufacturer's approval.
    pub requires_approval: bool,
    /// Typical days a back-order from the manufacturer takes.
    pub backorder_days: i32,
    /// Kinds of equipment this product fits.
    pub compatible_with: Vec<String>,
}

/// One sellable offer with stock, as search finds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Hit {
    pub store_id: StoreId,
    pub store_name: String,
    pub product_id: ProductId,
    pub product_name: String,
    /// What the buyer pays now (an urgent price while it runs).
    pub price: Money,
    /// True while an urgent (time-limited) price applies.
    pub urgent: bool,
    pub stock: i64,
    pub region: String,
    pub category: String,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Results {
    pub results: Vec<Hit>,
    pub limit: i64,
    pub offset: i64,
    /// The offset of the next page, when there is one.
    pub next_offset: Option<i64>,
}

/// A buyer's choice of a product at a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectionBody {
    pub product_id: String,
    #[serde(default = "one")]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

/// What the store answers a choice: it sells it (at a price), or it cannot and says why
/// and where else to get it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Selection {
    pub sellable: bool,
    /// `null`, `"non_sellable"`, `"out_of_stock"` or `"store_suspended"`.
    #[schema(value_type = Option<String>)]
    pub reason: Option<Unsellable>,
    /// The price at this store now, where it sells the product.
    pub price: Option<Money>,
    /// True when the store is short but another store of its union ships for it.
    pub union_fulfilment: bool,
    pub alternatives: Vec<Alternative>,
    pub backorder: Option<Backorder>,
}

/// A store that can sell what another could not, as shown to the buyer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alternative {
    pub store_id: StoreId,
    pub store_name: String,
    pub price: Money,
    pub stock: i64,
    /// In the same regional union as the store the buyer came from.
    pub same_union: bool,
    /// The signed referral token for an order at this store: it earns the store the
    /// buyer came from its referral fee, once (see `referrals`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<String>,
}

/// Ordering from the manufacturer: an order at the manufacturer's own store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Backorder {
    pub store_id: StoreId,
    pub manufacturer_id: ManufacturerId,
    pub price: Money,
    pub estimated_days: i32,
}

// `POST /v1/unions` (the operator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUnion {
    pub name: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedUnion {
    pub id: UnionId,
}

// `POST /v1/products` (the operator or a manufacturer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub name: String,
    pub kind: String,
    /// Flat characteristics: strings, numbers or booleans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub attributes: Option<serde_json::Value>,
    pub list_price: Money,
    /// The operator names the manufacturer; a manufacturer's own products are its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer_id: Option<String>,
    #[serde(default)]
    pub requires_approval: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backorder_days: Option<i32>,
    #[serde(default)]
    pub compatible_with: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedProduct {
    pub id: ProductId,
}

// `PUT /v1/stores/{store_id}/offers/{product_id}` (the store's seller).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferBody {
    pub price: Money,
    pub stock: i64,
    pub sellable: bool,
    /// Why the store cannot sell it (licence, recall, …); kept only while not sellable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Let another store of the union ship when this one is short.
    #[serde(default)]
    pub union_fulfilment: bool,
    /// Orders wait for the seller to confirm the price.
    #[serde(default)]
    pub requires_price_confirmation: bool,
    /// Mail the store when stock falls to this many units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve_threshold: Option<i64>,
}

/// An offer as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OfferView {
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub price: Money,
    /// What a buyer pays now (the urgent price while it runs).
    pub current_price: Money,
    pub stock: i64,
    pub sellable: bool,
    pub reason: Option<String>,
    pub union_fulfilment: bool,
    pub requires_price_confirmation: bool,
    pub reserve_threshold: Option<i64>,
    pub urgent_price: Option<Money>,
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub urgent_until: Option<shared::time::Timestamp>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub updated_at: shared::time::Timestamp,
}
