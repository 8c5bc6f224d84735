//! Background work: expiring partial payments, purging old idempotency keys, and the
//! remittance schedule. Every step is a conditional update, so copies of the service on
//! one database may run it side by side.

use crate::error::{Result, SettlementError};
use crate::refunds::workflow::{refund_order, OrderRefund};
use crate::settings::Settings;
use shared::server::Core;
use std::time::{Duration, Instant};

pub fn spawn(core: Core, settings: Settings) {
    tokio::spawn(async move {
        let mut last_remittance = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(settings.sweep_interval_secs.max(1))).await;
            if let Err(e) = sweep(&core, &settings).await {
                tracing::warn!(error = %e, "settlement sweep failed");
            }
            let every = settings.remittance_interval_secs;
            if every > 0 && last_remittance.elapsed() >= Duration::from_secs(every) {
                last_remittance = Instant::now();
                match core.db.write(crate::remittances::workflow::run).await {
                    Ok(batch) => tracing::info!(
                        remitted = batch.remittances.len(),
                        skipped = batch.skipped.len(),
                        "remittance batch"
                    ),
                    Err(e) => tracing::warn!(error = %e, "remittance batch failed"),
                }
            }
        }
    });
}

/// One pass: expires orders past their `pay_by`, refunds expired partial payments of
/// orders without one, and purges old keys.
pub async fn sweep(core: &Core, settings: &Settings) -> Result<usize> {
    let mut n = expire_overdue(core).await?;
    let cutoff = shared::time::now() - chrono::Duration::seconds(settings.partial_expiry_secs);
    let expired = core.db.read(move |c| crate::orders::store::partial_before(c, cutoff, 100)).await?;
    for order in expired {
        let done = core
            .db
            .write(move |c| refund_order(c, &order, OrderRefund::PartialExpired, "partial_payment_expired"))
            .await?;
        n += done as usize;
    }
    let days = settings.idempotency_retention_days.max(30);
    let cutoff = shared::time::now() - chrono::Duration::days(days);
    core.db.write(move |c| shared::idempotency::purge(c, cutoff).map_err(SettlementError::from)).await?;
    if n > 0 {
        core.kick();
    }
    Ok::<_, SettlementError>(n)
}

/// Settlement alone decides that an order was not paid in time: each order past its
/// `pay_by` moves to `expired` under its row lock (a payment in flight either committed
/// first and the order is no longer due, or sees it expired), partial payments go back,
/// and the broker is told in the same transaction. Returns how many expired.
pub async fn expire_overdue(core: &Core) -> Result<usize> {
    let mut n = 0;
    loop {
        let due = core.db.read(|c| crate::orders::store::overdue(c, shared::time::now(), 100)).await?;
        let batch = due.len();
        let mut failed = 0;
        for order in due {
            let id = order.clone();
            match core.db.write(move |c| refund_order(c, &order, OrderRefund::Expired, "expired")).await {
                Ok(expired) => n += expired as usize,
                // One order that cannot expire must not hold up the others behind it.
                Err(e) => {
                    failed += 1;
                    tracing::warn!(order = %id, error = %e, "expiring an overdue order failed");
                }
            }
        }
        if batch < 100 || failed > 0 {
            return Ok(n);
        }
    }
}
