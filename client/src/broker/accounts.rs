//! Seller and manufacturer accounts, and signing in to them.

use serde::{Deserialize, Serialize};
use shared::ids::{ManufacturerId, StoreId};
use utoipa::ToSchema;

/// `POST /v1/sellers`: a seller registers itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSeller {
    pub name: String,
    pub email: String,
    pub password: String,
}

/// `POST /v1/manufacturers` (the operator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewManufacturer {
    pub name: String,
    pub email: String,
    pub password: String,
    /// Where the manufacturer's own store (its back-orders) is listed; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedManufacturer {
    pub id: ManufacturerId,
    /// The manufacturer's own store, where back-orders are placed.
    pub store_id: StoreId,
}

/// `POST /v1/sessions`: a seller or manufacturer signs in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// A bearer token and how long it lasts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: String,
    /// Seconds.
    pub expires_in: i64,
}
