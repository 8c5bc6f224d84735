//! Starting, stopping and preparing the services.

use anyhow::Context;
use shared::config::{Config, ServiceName};
use shared::server::Running;
use std::net::TcpListener;

/// Starts one service on `listener`.
pub fn start(config: &Config, service: ServiceName, listener: TcpListener) -> anyhow::Result<Running> {
    let running = match service {
        ServiceName::Broker => broker::start(config, listener),
        ServiceName::Settlement => settlement::start(config, listener),
        ServiceName::Delivery => delivery::start(config, listener),
    };
    running.with_context(|| format!("starting {service}"))
}

pub async fn up(mut config: Config, demo: bool) -> anyhow::Result<()> {
    if demo {
        demo_settings(&mut config);
    }
    let mut running = Vec::new();
    for service in ServiceName::ALL {
        let listener = shared::server::bind(&config, service).with_context(|| format!("binding {service}"))?;
        running.push(start(&config, service, listener)?);
    }
    for r in &running {
        println!("{:<10} {}", r.name.as_str(), config.service(r.name).public_url());
    }
    println!("operator token: {}", operator_token_hint(&config));
    if demo {
        // Beside the services, not before them: a signal still stops `up` while it loads.
        let config = config.clone();
        tokio::spawn(async move { load_demo(&config).await });
    }
    wait_for_signal().await;
    tracing::info!("stopping: finishing in-flight requests and outbox batches");
    for r in running {
        r.stop(true).await;
    }
    Ok(())
}

/// The demo market runs its whole walkthrough in minutes, remittance included: a payout
/// account set there starts no hold, unless the configuration names one
/// (`[settings.payouts] account_hold_hours`, 72 on a real market).
fn demo_settings(config: &mut Config) {
    let payouts = config.settings.entry("payouts").or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let Some(payouts) = payouts.as_table_mut() {
        payouts.entry("account_hold_hours").or_insert(toml::Value::Integer(0));
    }
}

/// How loading the demo beside the running services went.
#[derive(Debug, PartialEq)]
pub enum DemoLoad {
    Loaded,
    /// Reported and left at that: the services keep running, and `marketplace demo`
    /// loads later (a failed load leaves no `demo-loaded` marker).
    Failed(String),
}

/// Loads the demo for `up --demo`. Never an error: a market that cannot take the demo
/// (a port taken by something else, a service slow to start) is still a market.
pub async fn load_demo(config: &Config) -> DemoLoad {
    match crate::demo::seed(config).await {
        Ok(()) => DemoLoad::Loaded,
        Err(e) => {
            let error = format!("{e:#}");
            tracing::error!(%error, "loading demo data failed; the services keep running, `marketplace demo` retries");
            eprintln!("loading demo data failed: {error}\nthe services keep running; run `marketplace demo` to retry");
            DemoLoad::Failed(error)
        }
    }
}

pub async fn serve(config: Config, service: ServiceName) -> anyhow::Result<()> {
    let listener = shared::server::bind(&config, service)?;
    let running = start(&config, service, listener)?;
    println!("{:<10} {}", service.as_str(), config.service(service).public_url());
    wait_for_signal().await;
    running.stop(true).await;
    Ok(())
}

/// The migrations of a service's database.
pub fn migrations_of(service: ServiceName) -> shared::db::Migrations {
    match service {
        ServiceName::Broker => broker::MIGRATIONS,
        ServiceName::Settlement => settlement::MIGRATIONS,
        ServiceName::Delivery => delivery::MIGRATIONS,
    }
}

pub fn migrate(config: &Config, only: Option<ServiceName>) -> anyhow::Result<()> {
    for service in ServiceName::ALL.into_iter().filter(|s| only.is_none_or(|o| o == *s)) {
        // Opening runs pending migrations.
        shared::db::Db::open(&config.database_url(service), 1, migrations_of(service))
            .with_context(|| format!("migrating {service}"))?;
        println!("{service}: migrated");
    }
    Ok(())
}

pub fn reconcile(config: &Config) -> anyhow::Result<()> {
    let report = settlement::reconcile(config).context("reading the settlement ledger")?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.is_clean() {
        anyhow::bail!(
            "the ledger does not reconcile: {} account differences, {} unbalanced transactions, {} points liabilities",
            report.differences.len(),
            report.unbalanced_transactions.len(),
            report.points_differences.len()
        );
    }
    println!("ledger reconciles: {} accounts, {} transactions", report.accounts_checked, report.transactions_checked);
    Ok(())
}

pub fn keys_init(config: &Config) -> anyhow::Result<()> {
    for service in ServiceName::ALL {
        let ring = shared::crypto::KeyRing::load_or_create(&config.data_dir, service.as_str())?;
        println!("{service}: signing key {}", ring.signing().kid);
    }
    for (name, dir) in [("delivery addresses", "delivery-addresses"), ("mail contacts", "mail-contacts")] {
        shared::crypto::Sealer::load_or_create(&config.data_dir.join("keys").join(dir))?;
        println!("{name}: sealing key ready");
    }
    shared::auth::operator_token(config)?;
    println!("operator token: {}", operator_token_hint(config));
    Ok(())
}

fn operator_token_hint(config: &Config) -> String {
    if config.operator_token.is_some() {
        "from MARKETPLACE_OPERATOR_TOKEN".into()
    } else {
        config.data_dir.join("operator-token").display().to_string()
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_starts_no_payout_hold_unless_configured() {
        let mut config = Config::default();
        demo_settings(&mut config);
        assert_eq!(config.settings["payouts"]["account_hold_hours"].as_integer(), Some(0));

        let mut configured = Config::default();
        configured
            .settings
            .insert("payouts".into(), toml::Value::Table(toml::from_str("account_hold_hours = 5").unwrap()));
        demo_settings(&mut configured);
        assert_eq!(configured.settings["payouts"]["account_hold_hours"].as_integer(), Some(5));
    }

    #[tokio::test]
    async fn a_demo_that_cannot_load_is_reported_and_leaves_no_marker() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        config.operator_token = Some("op_test".into());
        // Nothing listens where the broker should be.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        config.broker.addr = closed;
        config.broker.url = None;
        match load_demo(&config).await {
            DemoLoad::Failed(error) => assert!(error.contains("/v1/unions"), "{error}"),
            DemoLoad::Loaded => panic!("loaded without a broker"),
        }
        assert!(!dir.path().join(crate::demo_lock::MARKER).exists());
    }
}
