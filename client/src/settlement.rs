//! Settlement's public routes that the pages call: a store's balance and remittances.

use crate::{enc, Answer, Api};
use serde::{Deserialize, Serialize};
use shared::ids::{RemittanceId, StoreId};
use shared::money::Money;
use utoipa::ToSchema;

/// `GET /v1/seller/balance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub store_id: StoreId,
    /// Released to the store, not yet remitted (negative after a refund that followed a payout).
    pub available: Money,
    /// Paid for the store's orders and held until delivery.
    pub escrow: Money,
}

/// One remittance to a store's payout account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Statement {
    pub id: RemittanceId,
    pub amount: Money,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created: shared::time::Timestamp,
    pub iban_last4: Option<String>,
}

/// `GET /v1/seller/remittances`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Statements {
    pub store_id: StoreId,
    pub remittances: Vec<Statement>,
}

/// Calls to settlement.
pub struct Settlement {
    api: Api,
}

impl Settlement {
    pub fn new(api: Api) -> Settlement {
        Settlement { api }
    }

    /// The raw calls, for what has no typed call here.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// `GET /v1/seller/balance?store_id=`.
    pub async fn balance(&self, store: &str) -> Answer<Balance> {
        self.api.get(&format!("/v1/seller/balance?store_id={}", enc(store))).await?.into_answer()
    }

    /// `GET /v1/seller/remittances?store_id=`: newest first.
    pub async fn remittances(&self, store: &str, limit: i64) -> Answer<Statements> {
        self.api.get(&format!("/v1/seller/remittances?store_id={}&limit={limit}", enc(store))).await?.into_answer()
    }
}
