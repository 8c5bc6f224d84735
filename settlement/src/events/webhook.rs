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
                .map_err(|e: crate::error::SettlementError| DeliverError { message: e.to_string() })?;
            // A partner without a URL (any more) pulls from /v1/events instead.
            let Some(target) = target else { return Ok(()) };
            let Some(url) = target.url else { return Ok(()) };
            let url = crate::partners::domain::parse_webhook_url(&url, self.strict)
                .map_err(|e| DeliverError { message: e.to_string() })?;
            if self.strict {
                check_resolved(&url).await?;
            }
            let secret = self
                .sealer
                .open(&target.secret, job.partner_id.as_str().as_bytes())
                .map_err(|e| DeliverError { message: format!("webhook secret: {e}") })?;
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
                Err(DeliverError { message: format!("webhook answered {}", resp.status()) })
            }
        })
    }
}

/// In strict mode a name must not resolve to an internal address either.
async fn check_resolved(url: &reqwest::Url) -> Result<(), DeliverError> {
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs = tokio::net::lookup_host((host.as_str(), port)).await?;
    for a in addrs {
        if !crate::partners::domain::is_public(a.ip()) {
            return Err(DeliverError { message: format!("{host} resolves to a non-public address") });
        }
    }
    Ok(())
}
