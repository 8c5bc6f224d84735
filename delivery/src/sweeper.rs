//! The periodic pass: retries routing of unroutable shipments and abandons them after
//! the wait, routes shipments whose address raced their creation, and shreds addresses
//! whose time has come. Each step is its own transaction, safe on several processes.

use crate::settings::DeliverySettings;
use crate::shipments::service;
use shared::server::Core;
use std::sync::Arc;

pub fn spawn(core: Core, settings: Arc<DeliverySettings>) -> tokio::task::JoinHandle<()> {
    let every = std::time::Duration::from_millis(settings.sweep_interval_ms.max(10));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = run_once(&core, &settings).await {
                tracing::warn!(error = %e, "delivery sweep failed");
            }
        }
    })
}

pub async fn run_once(core: &Core, settings: &Arc<DeliverySettings>) -> Result<(), crate::error::DeliveryError> {
    let s = settings.clone();
    let sent = core.db.write(move |c| service::sweep_unroutable(c, &s)).await?;
    if sent > 0 {
        core.kick();
    }
    let s = settings.clone();
    core.db.write(move |c| service::sweep_awaiting(c, &s)).await?;
    let shredded = core.db.write(service::shred_due).await?;
    if shredded > 0 {
        tracing::info!(count = shredded, "sealed addresses shredded");
    }
    Ok(())
}
