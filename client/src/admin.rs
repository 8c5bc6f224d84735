//! The operator routes every service has (its outbox and its audit log), and the operator
//! accounts at the broker.

use crate::{enc, Answer, Api};
use serde::{Deserialize, Serialize};
pub use shared::admin::{AuditEntries, Messages};
use shared::auth::OperatorRole;
use shared::ids::OperatorId;
use shared::outbox::Listed;
use utoipa::ToSchema;

/// `POST /v1/operators` (an admin, or the bootstrap token): a new operator account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOperator {
    pub name: String,
    pub email: String,
    pub password: String,
    /// At least one of `admin`, `arbiter`, `support`, `finance`.
    pub roles: Vec<OperatorRole>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedOperator {
    pub id: OperatorId,
}

/// An operator account as an admin sees it (never its password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperatorView {
    pub id: OperatorId,
    pub name: String,
    pub email: String,
    pub roles: Vec<OperatorRole>,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperatorList {
    pub operators: Vec<OperatorView>,
}

/// `POST /v1/admin/operators/{operator_id}/disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disabled {
    pub disabled: bool,
}

/// The admin calls of one service.
pub struct Admin {
    api: Api,
}

impl Admin {
    pub fn new(api: Api) -> Admin {
        Admin { api }
    }

    /// `GET /v1/admin/outbox?status=`: `dead` or `pending`.
    pub async fn outbox(&self, status: &str) -> Answer<Messages> {
        self.api.get(&format!("/v1/admin/outbox?status={}", enc(status))).await?.into_answer()
    }

    /// `POST /v1/admin/outbox/{message_id}/retry`.
    pub async fn retry(&self, message: &str) -> Answer<Listed> {
        self.api.post(&format!("/v1/admin/outbox/{}/retry", enc(message)), serde_json::json!({})).await?.into_answer()
    }

    /// `POST /v1/admin/outbox/{message_id}/discard`.
    pub async fn discard(&self, message: &str) -> Answer<Listed> {
        self.api.post(&format!("/v1/admin/outbox/{}/discard", enc(message)), serde_json::json!({})).await?.into_answer()
    }

    /// `GET /v1/admin/audit?after=`.
    pub async fn audit(&self, after: i64) -> Answer<AuditEntries> {
        self.api.get(&format!("/v1/admin/audit?after={after}&limit=500")).await?.into_answer()
    }

    /// `GET /v1/admin/audit?newest=true`: the latest entries, newest first.
    pub async fn latest_audit(&self, limit: i64) -> Answer<AuditEntries> {
        self.api.get(&format!("/v1/admin/audit?newest=true&limit={limit}")).await?.into_answer()
    }

    /// `POST /v1/operators` (at the broker).
    pub async fn create_operator(&self, operator: &NewOperator) -> Answer<CreatedOperator> {
        self.api.post_json("/v1/operators", operator).await?.into_answer()
    }

    /// `GET /v1/admin/operators` (at the broker).
    pub async fn operators(&self) -> Answer<OperatorList> {
        self.api.get("/v1/admin/operators").await?.into_answer()
    }

    /// `POST /v1/admin/operators/{operator_id}/disabled` (at the broker).
    pub async fn set_disabled(&self, operator: &OperatorId, disabled: bool) -> Answer<OperatorView> {
        let path = format!("/v1/admin/operators/{operator}/disabled");
        self.api.post_json(&path, &Disabled { disabled }).await?.into_answer()
    }

    /// `POST /v1/operator-sessions` (at the broker): anyone, with an operator's password.
    pub async fn sign_in(
        &self,
        credentials: &crate::broker::accounts::Credentials,
    ) -> Answer<crate::broker::accounts::AccessToken> {
        self.api.post_json("/v1/operator-sessions", credentials).await?.into_answer()
    }
}

/// `POST /v1/admin/stores/{store_id}/suspension` and `POST
/// /v1/admin/sellers/{seller_id}/suspension`: `{suspended: true, reason}` suspends,
/// `{suspended: false}` lifts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    pub suspended: bool,
    /// Why, for the record (required to suspend; 1 to 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A store's suspension as it stands after the admin's request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SuspendedStore {
    pub store_id: shared::ids::StoreId,
    pub name: String,
    pub suspended: bool,
    pub reason: Option<String>,
    /// The unpaid orders this suspension cancelled (none when lifting).
    pub cancelled_orders: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SuspendedStores {
    pub stores: Vec<SuspendedStore>,
}

impl Admin {
    /// `POST /v1/admin/stores/{store_id}/suspension` (at the broker).
    pub async fn suspend_store(&self, store: &str, suspension: &Suspension) -> Answer<SuspendedStore> {
        let path = format!("/v1/admin/stores/{}/suspension", enc(store));
        self.api.post_json(&path, suspension).await?.into_answer()
    }

    /// `POST /v1/admin/sellers/{seller_id}/suspension` (at the broker): every store of theirs.
    pub async fn suspend_seller(&self, seller: &str, suspension: &Suspension) -> Answer<SuspendedStores> {
        let path = format!("/v1/admin/sellers/{}/suspension", enc(seller));
        self.api.post_json(&path, suspension).await?.into_answer()
    }
}

/// `GET /v1/admin/stores` (support or admin, at the broker): a store as an operator sees
/// it, with who owns it and whether it is suspended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdminStore {
    pub store_id: shared::ids::StoreId,
    pub name: String,
    pub region: String,
    pub union_id: Option<shared::ids::UnionId>,
    /// The selling seller, or none for a manufacturer's own store.
    pub seller_id: Option<shared::ids::SellerId>,
    pub manufacturer_id: Option<shared::ids::ManufacturerId>,
    pub suspended: bool,
    pub suspension_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdminStores {
    pub stores: Vec<AdminStore>,
}

impl Admin {
    /// `GET /v1/admin/stores?suspended=` (at the broker), newest first.
    pub async fn stores(&self, suspended: Option<bool>) -> Answer<AdminStores> {
        let filter = suspended.map(|s| format!("&suspended={s}")).unwrap_or_default();
        self.api.get(&format!("/v1/admin/stores?limit=200{filter}")).await?.into_answer()
    }

    /// `GET /v1/admin/orders?store_id=&status=` (at the broker): orders in the store's
    /// view, newest first.
    pub async fn orders(
        &self,
        store: Option<&str>,
        status: Option<&str>,
    ) -> Answer<crate::broker::orders::SellerOrders> {
        let mut path = "/v1/admin/orders?limit=100".to_string();
        if let Some(s) = store {
            path += &format!("&store_id={}", enc(s));
        }
        if let Some(s) = status {
            path += &format!("&status={}", enc(s));
        }
        self.api.get(&path).await?.into_answer()
    }

    /// `GET /v1/admin/orders/{order_id}` (at the broker): one order in the store's view.
    pub async fn order(&self, order: &str) -> Answer<crate::broker::orders::SellerView> {
        self.api.get(&format!("/v1/admin/orders/{}", enc(order))).await?.into_answer()
    }
}
