//! Orders nobody moves on: after `unpaid_order_ttl_secs` an order still waiting for the
//! seller's price confirmation or the manufacturer's approval is cancelled like any other
//! and the store is told. (An order awaiting payment is not the broker's to end: at its
//! `pay_by` settlement expires it and sends `order_expired`.) Each cancellation is a
//! conditional move, so copies of the broker may sweep side by side.
//! The same sweep blanks buyer mails already sent, so no sealed contact outlives its use,
//! and purges order idempotency keys past their retention and the ids of used referral
//! tokens once those tokens have expired.

use super::domain::{Event, OrderStatus};
use super::settings::OrderSettings;
use crate::error::{BrokerError, Code};
use crate::schema::orders;
use diesel::prelude::*;
use shared::ids::OrderId;
use shared::server::Core;
use std::time::Duration;

/// Why the sweep cancelled a waiting order.
pub const REASON: &str = "not confirmed or approved in time";
/// Why an order is `expired` (settlement's `order_expired`).
pub const NOT_PAID: &str = "not paid in time";

pub fn spawn(core: Core, settings: OrderSettings) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(settings.expiry_sweep_secs.max(1))).await;
            match sweep(&core, &settings).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(cancelled = n, "unpaid orders expired"),
                Err(e) => tracing::warn!(error = %e, "order expiry sweep failed"),
            }
            if let Err(e) = core.db.write(|c| super::store::redact_sent_buyer_mail(c).map_err(BrokerError::from)).await
            {
                tracing::warn!(error = %e, "redacting sent buyer mail failed");
            }
            match purge_keys(&core, &settings).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "old order idempotency keys purged"),
                Err(e) => tracing::warn!(error = %e, "purging order idempotency keys failed"),
            }
            match core.db.write(|c| crate::referrals::purge(c).map_err(BrokerError::from)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "used referral token ids purged"),
                Err(e) => tracing::warn!(error = %e, "purging used referral token ids failed"),
            }
        }
    });
}

/// Deletes order idempotency keys past their retention (30 days at least, as API.md
/// promises); returns how many.
pub async fn purge_keys(core: &Core, settings: &OrderSettings) -> Result<usize, BrokerError> {
    let cutoff = shared::time::now() - chrono::Duration::days(settings.order_key_retention_days.max(30));
    core.db.write(move |c| shared::idempotency::purge(c, cutoff).map_err(BrokerError::from)).await
}

/// One pass; returns how many orders it cancelled.
pub async fn sweep(core: &Core, settings: &OrderSettings) -> Result<usize, BrokerError> {
    let cutoff = shared::time::now() - chrono::Duration::seconds(settings.unpaid_order_ttl_secs.max(0));
    let waiting: Vec<OrderId> = core
        .db
        .read(move |c| {
            orders::table
                .filter(orders::status.eq_any([OrderStatus::AwaitingConfirmation, OrderStatus::AwaitingApproval]))
                .filter(orders::created_at.lt(cutoff))
                .select(orders::id)
                .order(orders::created_at.asc())
                .limit(100)
                .load(c)
                .map_err(BrokerError::from)
        })
        .await?;
    let mut cancelled = 0;
    for id in waiting {
        let s = settings.clone();
        let done = core.db.write(move |c| super::workflow::apply(c, &s, &id, Event::Cancel, Some(REASON))).await;
        match done {
            Ok(_) => cancelled += 1,
            // Paid or cancelled meanwhile: nothing to expire.
            Err(BrokerError::InvalidTransition { .. } | BrokerError::Refused { code: Code::OrderChanged, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if cancelled > 0 {
        core.kick();
    }
    Ok(cancelled)
}
