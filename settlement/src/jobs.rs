//! Background work: expiring partial payments, purging old idempotency keys, and the
//! remittance schedule. Every step is a conditional update, so copies of the service on
//! one database may run it side by side.

use crate::error::{Result, SettlementError};
use crate::refunds::apply::{refund_order, OrderRefund};
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
                match core.db.write(crate::remittances::run::run).await {
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

/// One pass: refunds expired partial payments and purges old keys.
pub async fn sweep(core: &Core, settings: &Settings) -> Result<usize> {
    let cutoff = shared::time::now() - chrono::Duration::seconds(settings.partial_expiry_secs);
    let expired = core.db.read(move |c| crate::orders::store::partial_before(c, cutoff, 100)).await?;
    let mut n = 0;
    for order in expired {
        let done = core
            .db
            .write(move |c| refund_order(c, &order, OrderRefund::PartialExpired, "partial_payment_expired"))
            .await?;
        n += done as usize;
    }
    let days = settings.idempotency_retention_days.max(30);
    core.db.write(move |c| crate::idempotency::purge(c, days)).await?;
    if n > 0 {
        core.kick();
    }
    Ok::<_, SettlementError>(n)
}
