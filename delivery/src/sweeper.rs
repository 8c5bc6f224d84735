//! The periodic pass: retries routing of unroutable shipments and abandons them after
//! the wait, routes shipments whose address raced their creation, and shreds addresses
//! whose time has come. Each step is its own transaction, safe on several processes.

use crate::settings::DeliverySettings;
use crate::shipments::workflow;
use shared::server::Core;
use std::sync::{Arc, Weak};

/// Runs until the server that owns `settings` (through its handlers' state) is gone, so a
/// stopped service leaves no pass behind.
pub fn spawn(core: Core, settings: Weak<DeliverySettings>) -> tokio::task::JoinHandle<()> {
    let every = settings.upgrade().map(|s| s.sweep_interval_ms).unwrap_or(1_000);
    let every = std::time::Duration::from_millis(every.max(10));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(settings) = settings.upgrade() else { break };
            if let Err(e) = run_once(&core, &settings).await {
                tracing::warn!(error = %e, "delivery sweep failed");
            }
        }
    })
}

pub async fn run_once(core: &Core, settings: &Arc<DeliverySettings>) -> Result<(), crate::error::DeliveryError> {
    let s = settings.clone();
    let sent = core.db.write(move |c| workflow::sweep_unroutable(c, &s)).await?;
    if sent > 0 {
        core.kick();
    }
    let s = settings.clone();
    core.db.write(move |c| workflow::sweep_awaiting(c, &s)).await?;
    let s = settings.clone();
    let shredded = core.db.write(move |c| workflow::shred_due(c, &s)).await?;
    if shredded > 0 {
        tracing::info!(count = shredded, "sealed addresses shredded");
    }
    Ok(())
}
