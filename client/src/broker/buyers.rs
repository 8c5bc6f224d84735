//! The optional pseudonymous buyer account (a handle and a password, no mail address) and
//! the optional browsing pseudonym.

use serde::{Deserialize, Serialize};
use shared::ids::{BuyerId, ProductId, SessionId, StoreId, UnionId};
use shared::money::Money;
use shared::time::Timestamp;
use utoipa::ToSchema;

pub use super::accounts::AccessToken;

/// `POST /v1/buyers` and `POST /v1/buyer-sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBuyer {
    pub handle: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedBuyer {
    pub id: BuyerId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProfileView {
    pub id: BuyerId,
    pub handle: String,
    pub points: i64,
    pub equipment: Vec<String>,
}

/// `PUT /v1/buyer/equipment`, and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EquipmentBody {
    pub equipment: Vec<String>,
}

/// A product that fits the buyer's equipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CompatibleProduct {
    pub product_id: ProductId,
    pub name: String,
    pub kind: String,
    pub list_price: Money,
    pub compatible_with: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CompatibleProducts {
    pub products: Vec<CompatibleProduct>,
}

/// A one-time code for handing in used items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CollectionCode {
    pub code: String,
}

/// One step of a browsing sequence: a union, store or product viewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ViewRow {
    pub union_id: Option<UnionId>,
    pub store_id: Option<StoreId>,
    pub product_id: Option<ProductId>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub at: Timestamp,
}

/// What is kept under a browsing pseudonym.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Sequence {
    pub session_id: SessionId,
    pub events: Vec<ViewRow>,
}

/// A group of buyers a store may price for: never a single account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Group {
    /// Everyone who registered this equipment.
    Equipment(String),
    /// Everyone with at least this many collection points.
    MinPoints(i64),
}

impl Group {
    pub fn key(&self) -> String {
        match self {
            Group::Equipment(e) => format!("equipment:{e}"),
            Group::MinPoints(p) => format!("points:{p}"),
        }
    }

    pub fn includes(&self, equipment: &[String], points: i64) -> bool {
        match self {
            Group::Equipment(e) => equipment.iter().any(|x| x == e),
            Group::MinPoints(p) => points >= *p,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPrice {
    pub product_id: ProductId,
    pub group: Group,
    pub price: Money,
}
