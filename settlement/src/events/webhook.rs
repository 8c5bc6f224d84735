//! Delivers queued webhooks: signs the body, posts it, and lets the outbox retry with
//! backoff on anything but a 2xx. The secret is opened only here, just before signing.

use super::domain::{signature, SIGNATURE_HEADER};
use super::store::WebhookJob;
use shared::crypto::Sealer;
use shared::db::Db;
use shared::outbox::{Deliver, DeliverError, OutboxRow};
use std::sync::Arc;

pub struct WebhookRoute {
    pub db: Db,
    pub sealer: Arc<Sealer>,
    /// Built by [`super::resolver::client`]: names are checked on the addresses dialled.
    pub client: reqwest::Client,
    pub strict: bool,
}

impl Deliver for WebhookRoute {
    fn deliver<'a>(&'a self, row: &'a OutboxRow) -> futures_util::future::BoxFuture<'a, Result<(), DeliverError>> {
        Box::pin(async move {
            let job: WebhookJob = serde_json::from_str(&row.payload)?;
            let partner = job.partner_id.clone();
            let target = self
                .db
                .read(move |c| crate::partners::store::webhook_target(c, &partner))
                .await
                .map_err(|e: crate::error::SettlementError| DeliverError::transient(e.to_string()))?;
            // A partner without a URL (any more) pulls from /v1/events instead.
            let Some(target) = target else { return Ok(()) };
            let Some(url) = target.url else { return Ok(()) };
            // Address literals never reach the resolver, so the stored URL is checked again
            // (the rules may have tightened since it was registered).
            let url = crate::partners::domain::parse_webhook_url(&url, self.strict)
                .map_err(|e| DeliverError::transient(e.to_string()))?;
            let secret = self
                .sealer
                .open(&target.secret, job.partner_id.as_str().as_bytes())
                .map_err(|e| DeliverError::transient(format!("webhook secret: {e}")))?;
            let secret = String::from_utf8(secret)?;
            let body = serde_json::to_string(&job.event)?;
            let header = signature(&secret, shared::time::unix_seconds(), &body);
            let resp = self
                .client
                .post(url)
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, header)
                .body(body)
                .send()
                .await?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(DeliverError::transient(format!("webhook answered {}", resp.status())))
            }
        })
    }

    /// Each event carries its sequence number and the partner can read the feed, so a dead
    /// one (or its redelivery) never holds back the events after it.
    fn dead_holds_key(&self) -> bool {
        false
    }
}
