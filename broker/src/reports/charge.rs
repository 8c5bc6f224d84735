//! Charging a purchase through settlement's internal charge route, keyed by the purchase
//! id so that a retry never charges twice, with the outbox as its recovery: the purchase
//! and its charge message commit together; the handler then charges at once, and the
//! dispatcher delivers the message later only if the purchase is still charging (the
//! process stopped, settlement was away). A purchase charged but not completable is
//! refunded through the same outbox.

use super::domain::{is_permanent, BuyBody, Reports};
use crate::error::{BrokerError, Code, Result};
use futures_util::future::BoxFuture;
use privacy::analyses::Request;
use privacy::budget::Analyst;
use privacy::scope::ScopeError;
use privacy::store::{self as reports, Purchase, PurchaseStatus};
use reqwest::StatusCode;
use shared::auth::AuthState;
use shared::config::ServiceName;
use shared::db::{AnyConnection, Db};
use shared::ids::{ReportId, SellerId, StoreId};
use shared::money::Money;
use shared::outbox::{Deliver, DeliverError, OutboxRow};
use shared::time::now;
use std::sync::Arc;

/// The outbox destination of charges and refunds.
pub const DESTINATION: &str = "report_charges";
const CHARGE: &str = "report_charge";
const REFUND: &str = "report_refund";

/// Where a purchase stands after an attempt to settle it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// Nothing was charged (or the charge was refunded): the problem code.
    Refused(Code),
    /// Settlement could not be reached; the outbox keeps trying.
    Pending,
}

/// Settlement's answer to a charge.
pub(crate) enum Answer {
    Charged,
    Insufficient,
    Rejected,
}

/// Posts a charge to settlement's internal charge route and reads its answer: charged,
/// refused for the balance, rejected for good, or (an error) worth retrying. Shared by
/// report purchases and collection-point mints.
pub(crate) async fn post_charge(
    client: &reqwest::Client,
    auth: &AuthState,
    settlement: &str,
    body: &serde_json::Value,
    key: &str,
) -> std::result::Result<Answer, DeliverError> {
    let token = auth.signer.service_token(ServiceName::Settlement)?;
    let resp = client.post(format!("{settlement}/internal/v1/charges")).bearer_auth(token).json(body).send().await?;
    let status = resp.status();
    if status.is_success() {
        return Ok(Answer::Charged);
    }
    let problem: serde_json::Value = resp.json().await.unwrap_or_default();
    match (status, problem["code"].as_str()) {
        (StatusCode::CONFLICT, Some("insufficient_balance")) => Ok(Answer::Insufficient),
        (s, code) if s.is_client_error() && s != StatusCode::UNAUTHORIZED && s != StatusCode::TOO_MANY_REQUESTS => {
            tracing::error!(key, status = %s, code = ?code, "settlement rejected a charge");
            Ok(Answer::Rejected)
        }
        (s, _) => Err(DeliverError::transient(format!("settlement answered {s}"))),
    }
}

#[derive(Clone)]
pub struct Charger {
    db: Db,
    auth: Arc<AuthState>,
    settlement: String,
    client: reqwest::Client,
    reports: Arc<Reports>,
}

/// Records a purchase, in one transaction: the buyer store, the request checked against
/// the data, the privacy budget reserved (nothing for a copy already released) and the
/// charge message. Nothing is shown until the charge succeeds.
pub fn begin_purchase(
    conn: &mut AnyConnection,
    r: &Reports,
    seller: &SellerId,
    given: Option<&StoreId>,
    body: &BuyBody,
) -> Result<ReportId> {
    let store = super::store::buyer_store(conn, seller, given)?;
    let request = privacy::scope::request(conn, r, Analyst::Broker, body)?;
    let id = ReportId::generate();
    let reserved = reports::reserve_for(conn, &r.settings, seller, &id, &request).map_err(ScopeError::from)?;
    let purchase = Purchase {
        id: id.clone(),
        seller_id: seller.clone(),
        store_id: store,
        kind: request.kind,
        group_by: request.grouping.as_str().to_string(),
        window: request.window,
        price: Money::new(request.kind.price_minor(&r.settings), r.currency),
        epsilon_spent: reserved,
        release_id: None,
        status: PurchaseStatus::Charging,
        failure: None,
        created_at: now(),
        completed_at: None,
    };
    reports::insert_purchase(conn, &purchase)?;
    enqueue_charge(conn, &id)?;
    Ok(id)
}

/// Writes the charge message for a new purchase, in the purchase's transaction.
fn enqueue_charge(conn: &mut AnyConnection, id: &ReportId) -> diesel::QueryResult<()> {
    let payload = serde_json::json!({ "purchase_id": id }).to_string();
    shared::outbox::enqueue(conn, DESTINATION, id.as_str(), CHARGE, &payload).map(|_| ())
}

fn enqueue_refund(conn: &mut AnyConnection, id: &ReportId) -> diesel::QueryResult<()> {
    let payload = serde_json::json!({ "purchase_id": id }).to_string();
    shared::outbox::enqueue(conn, DESTINATION, id.as_str(), REFUND, &payload).map(|_| ())
}

impl Charger {
    pub fn new(core: &shared::server::Core, reports: Arc<Reports>) -> std::io::Result<Charger> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Charger {
            db: core.db.clone(),
            auth: core.auth.clone(),
            settlement: core.config.service(ServiceName::Settlement).public_url(),
            client,
            reports,
        })
    }

    pub fn reports(&self) -> &Reports {
        &self.reports
    }

    /// The outbox route for [`DESTINATION`].
    pub fn route(&self) -> Arc<dyn Deliver> {
        Arc::new(self.clone())
    }

    /// Charges a charging purchase and completes it, or fails it when settlement refuses.
    pub async fn settle(&self, id: &ReportId) -> Result<Outcome> {
        let lookup = id.clone();
        let Some(p) = self.db.read(move |c| Ok::<_, BrokerError>(reports::get_purchase(c, &lookup)?)).await? else {
            return Err(BrokerError::NotFound("report"));
        };
        match p.status {
            PurchaseStatus::Completed => return Ok(Outcome::Completed),
            PurchaseStatus::Failed => return Ok(Outcome::Refused(failure_code(&p))),
            PurchaseStatus::Charging => {}
        }
        match self.charge(&p).await {
            Ok(Answer::Charged) => self.complete(&p).await,
            Ok(Answer::Insufficient) => self.fail(&p, Code::InsufficientBalance, false).await,
            Ok(Answer::Rejected) => self.fail(&p, Code::ChargeRejected, false).await,
            Err(e) => {
                tracing::warn!(purchase = %p.id, error = %e.message, "report charge pending");
                Ok(Outcome::Pending)
            }
        }
    }

    async fn charge(&self, p: &Purchase) -> std::result::Result<Answer, DeliverError> {
        let body = serde_json::json!({ "purchase_id": p.id, "store_id": p.store_id, "amount": p.price });
        post_charge(&self.client, &self.auth, &self.settlement, &body, p.id.as_str()).await
    }

    async fn refund(&self, id: &str) -> std::result::Result<(), DeliverError> {
        let token = self.auth.signer.service_token(ServiceName::Settlement)?;
        let resp = self
            .client
            .post(format!("{}/internal/v1/charges/{id}/refund", self.settlement))
            .bearer_auth(token)
            .send()
            .await?;
        // 404: nothing was ever charged, so there is nothing to give back.
        if resp.status().is_success() || resp.status() == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(DeliverError::transient(format!("settlement answered {} to a refund", resp.status())))
        }
    }

    /// Attaches the release (computed now if it is the first purchase of the report) and
    /// shows the rows. A report that cannot be computed is refunded.
    async fn complete(&self, p: &Purchase) -> Result<Outcome> {
        let (p2, r) = (p.clone(), self.reports.clone());
        let done = self
            .db
            .write(move |c| {
                if !reports::lock_charging(c, &p2.id)? {
                    let current = reports::get_purchase(c, &p2.id)?.ok_or(diesel::result::Error::NotFound)?;
                    return Ok(Ok(current.status));
                }
                let current = reports::get_purchase(c, &p2.id)?.ok_or(diesel::result::Error::NotFound)?;
                let request = request_of(&current)?;
                let released = reports::release_for(
                    c,
                    &r.settings,
                    &current.seller_id,
                    &current.id,
                    &request,
                    current.epsilon_spent,
                    |c| super::store::load(c, request.kind, request.grouping, request.window, r.currency),
                );
                match released {
                    Ok((release, spent)) => {
                        reports::complete(c, &current.id, &release.id, spent)?;
                        Ok(Ok(PurchaseStatus::Completed))
                    }
                    Err(e) if is_permanent(&e) => Ok(Err(e)),
                    Err(e) => Err(BrokerError::from(ScopeError::from(e))),
                }
            })
            .await;
        match done {
            Ok(Ok(PurchaseStatus::Completed)) => Ok(Outcome::Completed),
            Ok(Ok(_)) => Ok(Outcome::Refused(failure_code(p))),
            Ok(Err(e)) => {
                tracing::error!(purchase = %p.id, error = %e, "a charged report could not be computed; refunding");
                self.fail(p, Code::ReportUnavailable, true).await
            }
            Err(e) => {
                tracing::warn!(purchase = %p.id, error = %e, "completing a charged report failed; will retry");
                Ok(Outcome::Pending)
            }
        }
    }

    /// Fails a charging purchase and gives back its reserved budget (nothing of it was
    /// shown); `refund` also sends the charge back.
    async fn fail(&self, p: &Purchase, code: Code, refund: bool) -> Result<Outcome> {
        let p2 = p.clone();
        self.db
            .write(move |c| {
                if !reports::lock_charging(c, &p2.id)? {
                    return Ok::<_, BrokerError>(());
                }
                let current = reports::get_purchase(c, &p2.id)?.ok_or(diesel::result::Error::NotFound)?;
                reports::give_back(c, &current.seller_id, current.window, current.epsilon_spent, &current.id)?;
                reports::fail(c, &current.id, code.as_str())?;
                if refund {
                    enqueue_refund(c, &current.id)?;
                }
                Ok(())
            })
            .await?;
        Ok(Outcome::Refused(code))
    }
}

fn request_of(p: &Purchase) -> diesel::QueryResult<Request> {
    let grouping = p
        .kind
        .grouping(&p.group_by)
        .map_err(|e| diesel::result::Error::DeserializationError(format!("stored grouping of {}: {e}", p.id).into()))?;
    Ok(Request { kind: p.kind, grouping, window: p.window })
}

fn failure_code(p: &Purchase) -> Code {
    [Code::InsufficientBalance, Code::ReportUnavailable]
        .into_iter()
        .find(|c| p.failure.as_deref() == Some(c.as_str()))
        .unwrap_or(Code::ChargeRejected)
}

impl Deliver for Charger {
    fn deliver<'a>(&'a self, row: &'a OutboxRow) -> BoxFuture<'a, std::result::Result<(), DeliverError>> {
        Box::pin(async move {
            let v: serde_json::Value = serde_json::from_str(&row.payload)?;
            let id = v["purchase_id"].as_str().unwrap_or_default().to_string();
            match row.kind.as_str() {
                CHARGE => {
                    let id = ReportId::parse(&id)?;
                    match self.settle(&id).await {
                        Ok(Outcome::Pending) => Err(DeliverError::transient("settlement unavailable")),
                        Ok(_) => Ok(()),
                        Err(e) => Err(DeliverError::transient(e.to_string())),
                    }
                }
                REFUND => self.refund(&id).await,
                other => Err(DeliverError::transient(format!("unknown report message {other}"))),
            }
        })
    }
}
