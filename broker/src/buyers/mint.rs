//! Minting points at a collection point, funded first. A redemption records the mint (the
//! code taken, the daily cap counted) and its charge message in one transaction; the
//! handler then charges the store at settlement's internal charge route, keyed by the mint
//! id so that a retry never charges twice, and credits the points only once the charge
//! succeeded. If the process stops in between, the outbox delivers the charge message and
//! finishes the mint the same way: a mint charged but not credited is credited, one whose
//! store could not pay fails and gives its code back. Nothing is ever credited unfunded.

use super::collections::{self as mints, Mint, MintStatus};
use crate::error::{BrokerError, Code, Result};
use crate::reports::charge::{post_charge, Answer};
use futures_util::future::BoxFuture;
use shared::auth::AuthState;
use shared::config::ServiceName;
use shared::db::{AnyConnection, Db};
use shared::ids::{SellerId, StoreId};
use shared::money::Money;
use shared::outbox::{Deliver, DeliverError, OutboxRow};
use shared::time::now;
use std::sync::Arc;

/// The outbox destination of mint charges.
pub const DESTINATION: &str = "collection_mints";
const CHARGE: &str = "points_charge";

/// Where a mint stands after an attempt to settle it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Credited,
    /// Nothing was charged and no point exists: the problem code.
    Refused(Code),
    /// Settlement could not be reached; the outbox keeps trying.
    Pending,
}

/// A redemption as asked, already parsed.
pub struct Redemption {
    pub seller: SellerId,
    pub store: StoreId,
    pub code_hash: String,
    pub items: i64,
    pub points: i64,
    pub value: Money,
    pub daily_cap: i64,
}

/// Records a mint in the caller's transaction: the seller's own store, enabled as a
/// collection point, within its daily cap, and a code not yet used. Any refusal writes
/// nothing.
pub fn begin(conn: &mut AnyConnection, r: &Redemption) -> Result<String> {
    let store = crate::catalog::stores::store(conn, &r.store)?.ok_or(BrokerError::NotFound("store"))?;
    if store.seller_id.as_ref() != Some(&r.seller) {
        return Err(BrokerError::Forbidden("not your store".into()));
    }
    if !mints::lock_collection_point(conn, &r.store)? {
        return Err(BrokerError::refused(
            Code::NotACollectionPoint,
            "this store is not a collection point: the operator enables collection points",
        ));
    }
    let today = mints::minted_since(conn, &r.store, mints::day_start(now()))?;
    if !mints::within_cap(today, r.points, r.daily_cap) {
        return Err(BrokerError::refused(
            Code::CollectionCapReached,
            format!("a collection point mints at most {} points a day", r.daily_cap),
        ));
    }
    if super::store::redeem_collection_code(conn, &r.code_hash, r.items)?.is_none() {
        return Err(BrokerError::refused(Code::UnknownCode, "the code is unknown or was used"));
    }
    let mint = Mint {
        id: mints::new_mint_id(),
        store_id: r.store.clone(),
        code_hash: Some(r.code_hash.clone()),
        items: r.items,
        points: r.points,
        value: r.value,
        status: MintStatus::Charging,
        failure: None,
        created_at: now(),
    };
    mints::insert(conn, &mint)?;
    let payload = serde_json::json!({ "mint_id": mint.id }).to_string();
    shared::outbox::enqueue(conn, DESTINATION, &mint.id, CHARGE, &payload)?;
    Ok(mint.id)
}

#[derive(Clone)]
pub struct Minter {
    db: Db,
    auth: Arc<AuthState>,
    settlement: String,
    client: reqwest::Client,
}

impl Minter {
    pub fn new(core: &shared::server::Core) -> std::io::Result<Minter> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Minter {
            db: core.db.clone(),
            auth: core.auth.clone(),
            settlement: core.config.service(ServiceName::Settlement).public_url(),
            client,
        })
    }

    /// The outbox route for [`DESTINATION`].
    pub fn route(&self) -> Arc<dyn Deliver> {
        Arc::new(self.clone())
    }

    /// Charges a charging mint and credits its points, or fails it when settlement refuses.
    pub async fn settle(&self, id: &str) -> Result<Outcome> {
        let lookup = id.to_string();
        let Some(m) = self.db.read(move |c| Ok::<_, BrokerError>(mints::get(c, &lookup)?)).await? else {
            return Err(BrokerError::NotFound("mint"));
        };
        match m.status {
            MintStatus::Credited => return Ok(Outcome::Credited),
            MintStatus::Failed => return Ok(Outcome::Refused(failure_code(&m))),
            MintStatus::Charging => {}
        }
        let body = serde_json::json!({
            "purchase_id": m.id, "store_id": m.store_id, "amount": m.value, "purpose": "points",
        });
        match post_charge(&self.client, &self.auth, &self.settlement, &body, &m.id).await {
            Ok(Answer::Charged) => self.credit(&m).await,
            Ok(Answer::Insufficient) => self.fail(&m, Code::InsufficientBalance).await,
            Ok(Answer::Rejected) => self.fail(&m, Code::ChargeRejected).await,
            Err(e) => {
                tracing::warn!(mint = %m.id, error = %e.message, "points charge pending");
                Ok(Outcome::Pending)
            }
        }
    }

    /// The charge succeeded: the points exist now.
    async fn credit(&self, m: &Mint) -> Result<Outcome> {
        let m2 = m.clone();
        let done = self
            .db
            .write(move |c| {
                let current = mints::get(c, &m2.id)?.ok_or(BrokerError::NotFound("mint"))?;
                let hash = current.code_hash.clone();
                if !mints::finish(c, &m2.id, MintStatus::Credited, None)? {
                    // Another settle of the same mint (the request and the outbox race for
                    // it) finished it first. Read it again: on PostgreSQL `current` was read
                    // before that commit, and would call a credited mint refused.
                    let now = mints::get(c, &m2.id)?.ok_or(BrokerError::NotFound("mint"))?;
                    return Ok::<_, BrokerError>(now.status == MintStatus::Credited);
                }
                let buyer = match hash {
                    Some(h) => mints::code_owner(c, &h)?,
                    None => None,
                };
                let buyer = buyer.ok_or_else(|| shared::Error::Internal("a charging mint lost its code".into()))?;
                super::store::add_points(c, &buyer, current.points)?;
                Ok(true)
            })
            .await;
        match done {
            Ok(true) => Ok(Outcome::Credited),
            Ok(false) => Ok(Outcome::Refused(failure_code(m))),
            Err(e) => {
                // Charged, not yet credited: the outbox message finishes it.
                tracing::warn!(mint = %m.id, error = %e, "crediting charged points failed; will retry");
                Ok(Outcome::Pending)
            }
        }
    }

    /// Nothing was charged: the mint fails and its code can be handed in again.
    async fn fail(&self, m: &Mint, code: Code) -> Result<Outcome> {
        let id = m.id.clone();
        self.db
            .write(move |c| {
                let current = mints::get(c, &id)?.ok_or(BrokerError::NotFound("mint"))?;
                if mints::finish(c, &id, MintStatus::Failed, Some(code.as_str()))? {
                    if let Some(h) = &current.code_hash {
                        mints::unredeem_code(c, h)?;
                    }
                }
                Ok::<_, BrokerError>(())
            })
            .await?;
        Ok(Outcome::Refused(code))
    }
}

fn failure_code(m: &Mint) -> Code {
    match m.failure.as_deref() {
        Some(code) if code == Code::InsufficientBalance.as_str() => Code::InsufficientBalance,
        _ => Code::ChargeRejected,
    }
}

impl Deliver for Minter {
    fn deliver<'a>(&'a self, row: &'a OutboxRow) -> BoxFuture<'a, std::result::Result<(), DeliverError>> {
        Box::pin(async move {
            let v: serde_json::Value = serde_json::from_str(&row.payload)?;
            let id = v["mint_id"].as_str().unwrap_or_default().to_string();
            match row.kind.as_str() {
                CHARGE => match self.settle(&id).await {
                    Ok(Outcome::Pending) => Err(DeliverError::transient("settlement unavailable")),
                    Ok(_) => Ok(()),
                    Err(e) => Err(DeliverError::transient(e.to_string())),
                },
                other => Err(DeliverError::transient(format!("unknown mint message {other}"))),
            }
        })
    }
}
