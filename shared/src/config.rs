//! Configuration: defaults that run everything on one machine with SQLite under `./data`,
//! one TOML file over them, and environment variables over that.

use crate::money::{BasisPoints, Ceiling, MoneyError, MAX_AMOUNT};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceName {
    Broker,
    Settlement,
    Delivery,
}

impl ServiceName {
    pub const ALL: [ServiceName; 3] = [ServiceName::Broker, ServiceName::Settlement, ServiceName::Delivery];

    pub fn as_str(&self) -> &'static str {
        match self {
            ServiceName::Broker => "broker",
            ServiceName::Settlement => "settlement",
            ServiceName::Delivery => "delivery",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == s)
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Where the service listens.
    pub addr: SocketAddr,
    /// How the other services reach it; defaults to `http://<addr>`.
    pub url: Option<String>,
    /// `sqlite://path`, a plain path, or `postgres://…`; defaults to `<data dir>/<service>.db`.
    pub database_url: Option<String>,
    /// Connections in the read pool (PostgreSQL: the whole pool).
    pub pool_size: u32,
    /// HTTP worker threads.
    pub workers: usize,
}

impl ServiceConfig {
    fn with_port(port: u16) -> Self {
        ServiceConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            url: None,
            database_url: None,
            pool_size: 8,
            workers: 2,
        }
    }

    pub fn public_url(&self) -> String {
        self.url.clone().unwrap_or_else(|| format!("http://{}", self.addr))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeeConfig {
    /// Marketplace fee on each released order, in basis points (300 = 3 %).
    pub marketplace_bps: u32,
    /// Referral fee paid by the receiving store to the referring one.
    pub referral_bps: u32,
    /// Fee the selling store pays the union store that ships for it.
    pub fulfilment_bps: u32,
}

impl Default for FeeConfig {
    fn default() -> Self {
        FeeConfig { marketplace_bps: 300, referral_bps: 200, fulfilment_bps: 200 }
    }
}

impl FeeConfig {
    pub fn marketplace(&self) -> BasisPoints {
        BasisPoints(self.marketplace_bps)
    }
    pub fn referral(&self) -> BasisPoints {
        BasisPoints(self.referral_bps)
    }
    pub fn fulfilment(&self) -> BasisPoints {
        BasisPoints(self.fulfilment_bps)
    }
}

/// `[money]`: the money ceiling every service applies where money enters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MoneyConfig {
    /// The largest single amount (price, payment, refund, charge, report price) in minor
    /// units. At most 10^12, the default; a lower value lowers it everywhere.
    pub max_amount_minor: i64,
}

impl Default for MoneyConfig {
    fn default() -> Self {
        MoneyConfig { max_amount_minor: MAX_AMOUNT }
    }
}

impl MoneyConfig {
    /// The configured ceiling, refused when above 10^12 or below one minor unit.
    pub fn checked(&self) -> Result<Ceiling, MoneyError> {
        Ceiling::new(self.max_amount_minor)
    }

    /// The ceiling to apply. Services refuse to start with an invalid one
    /// ([`Config::check`]); should one reach here anyway, it is narrowed into range,
    /// never widened past 10^12.
    pub fn ceiling(&self) -> Ceiling {
        self.checked()
            .unwrap_or_else(|_| Ceiling::new(self.max_amount_minor.clamp(1, MAX_AMOUNT)).unwrap_or(Ceiling::MAX))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `file` spools each unsent message as an .eml file (0600) under `<data dir>/mail`
    /// for a local MTA to pick up; `smtp` relays, writing nothing to disk.
    pub transport: MailTransportKind,
    pub from: String,
    /// `smtps://user:pass@host:465` or `smtp://host:587?tls=required`.
    pub smtp_url: Option<String>,
    /// A spooled mail nobody picked up within this many hours is deleted unsent.
    pub spool_retention_hours: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    File,
    Smtp,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            transport: MailTransportKind::File,
            from: "Marketplace <no-reply@marketplace.invalid>".into(),
            smtp_url: None,
            spool_retention_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// How often the dispatcher looks for due messages when nothing woke it.
    pub poll_interval_ms: u64,
    /// First retry delay; doubles per attempt up to `max_backoff_ms` (10 minutes).
    pub base_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// How long a message is retried (3 days) before it is dead-lettered for an operator:
    /// an outage of a peer shorter than this loses nothing. Counted over the schedule's
    /// own delays, so a message an operator revives gets the whole span again.
    pub retry_for_ms: u64,
    pub batch_size: i64,
    /// Delivered messages are deleted after this many hours (dead ones are kept for an
    /// operator). Receivers keep their inbox records for good, so a late duplicate still
    /// changes nothing.
    pub retain_delivered_hours: i64,
    /// How long a dispatcher owns a claimed message before another (or the same one after
    /// a restart) may try it again; longer than an HTTP delivery's timeout.
    pub lease_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            poll_interval_ms: 500,
            base_backoff_ms: 200,
            max_backoff_ms: 10 * 60 * 1000,
            retry_for_ms: 3 * 24 * 3600 * 1000,
            batch_size: 100,
            retain_delivered_hours: 24 * 7,
            lease_secs: 15,
        }
    }
}

impl OutboxConfig {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub broker: ServiceConfig,
    pub settlement: ServiceConfig,
    pub delivery: ServiceConfig,
    /// Overrides the token in `<data dir>/operator-token`.
    pub operator_token: Option<String>,
    pub fees: FeeConfig,
    pub money: MoneyConfig,
    pub mail: MailConfig,
    pub outbox: OutboxConfig,
    /// Lifetime of seller, manufacturer, courier and buyer access tokens.
    pub access_token_ttl_secs: i64,
    /// Lifetime of an order capability.
    pub capability_ttl_secs: i64,
    /// Restrict partner webhook URLs to https on public addresses (production).
    pub strict_webhooks: bool,
    /// Log lines as JSON rather than text.
    pub log_json: bool,
    /// Service-specific settings, read by each service from its own table.
    pub settings: toml::Table,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            broker: ServiceConfig::with_port(8080),
            settlement: ServiceConfig::with_port(8081),
            delivery: ServiceConfig::with_port(8082),
            operator_token: None,
            fees: FeeConfig::default(),
            money: MoneyConfig::default(),
            mail: MailConfig::default(),
            outbox: OutboxConfig::default(),
            access_token_ttl_secs: 3600,
            capability_ttl_secs: 90 * 24 * 3600,
            strict_webhooks: false,
            log_json: false,
            settings: toml::Table::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration in {path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("invalid value for {var}: {value}")]
    Env { var: &'static str, value: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then the TOML file (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
                Config::from_toml(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    /// Parses TOML over the defaults: a table given in the file replaces only the keys it
    /// names (a `[broker]` with just `workers` keeps the default address).
    pub fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        let given: toml::Table = toml::from_str(text)?;
        let mut merged = toml::Table::try_from(Config::default()).expect("defaults serialize");
        merge(&mut merged, given);
        toml::Value::Table(merged).try_into()
    }

    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn addr(var: &'static str, value: String) -> Result<SocketAddr, ConfigError> {
            value.parse().map_err(|_| ConfigError::Env { var, value })
        }
        if let Some(v) = var("MARKETPLACE_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = var("MARKETPLACE_BROKER_ADDR") {
            self.broker.addr = addr("MARKETPLACE_BROKER_ADDR", v)?;
        }
        if let Some(v) = var("MARKETPLACE_SETTLEMENT_ADDR") {
            self.settlement.addr = addr("MARKETPLACE_SETTLEMENT_ADDR", v)?;
        }
        if let Some(v) = var("MARKETPLACE_DELIVERY_ADDR") {
            self.delivery.addr = addr("MARKETPLACE_DELIVERY_ADDR", v)?;
        }
        for (name, svc) in
            [("BROKER", &mut self.broker), ("SETTLEMENT", &mut self.settlement), ("DELIVERY", &mut self.delivery)]
        {
            if let Some(v) = var(&format!("MARKETPLACE_{name}_URL")) {
                svc.url = Some(v);
            }
            if let Some(v) = var(&format!("MARKETPLACE_{name}_DATABASE_URL")) {
                svc.database_url = Some(v);
            }
        }
        if let Some(v) = var("MARKETPLACE_OPERATOR_TOKEN") {
            self.operator_token = Some(v);
        }
        if let Some(v) = var("MARKETPLACE_SMTP_URL") {
            self.mail.transport = MailTransportKind::Smtp;
            self.mail.smtp_url = Some(v);
        }
        Ok(())
    }

    /// What no service may start with: a money ceiling above 10^12 or below one unit.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.money.checked().map_err(|e| ConfigError::Invalid(format!("[money] max_amount_minor: {e}")))?;
        Ok(())
    }

    pub fn service(&self, name: ServiceName) -> &ServiceConfig {
        match name {
            ServiceName::Broker => &self.broker,
            ServiceName::Settlement => &self.settlement,
            ServiceName::Delivery => &self.delivery,
        }
    }

    pub fn service_mut(&mut self, name: ServiceName) -> &mut ServiceConfig {
        match name {
            ServiceName::Broker => &mut self.broker,
            ServiceName::Settlement => &mut self.settlement,
            ServiceName::Delivery => &mut self.delivery,
        }
    }

    pub fn database_url(&self, name: ServiceName) -> String {
        self.service(name)
            .database_url
            .clone()
            .unwrap_or_else(|| self.data_dir.join(format!("{name}.db")).to_string_lossy().into_owned())
    }

    /// A service-specific setting from `[settings.<service>]`, or its default.
    pub fn setting<T: serde::de::DeserializeOwned + Default>(&self, name: ServiceName) -> T {
        self.settings.get(name.as_str()).cloned().and_then(|v| v.try_into().ok()).unwrap_or_default()
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_on_one_machine() {
        let c = Config::default();
        assert_eq!(c.broker.addr.port(), 8080);
        assert_eq!(c.settlement.addr.port(), 8081);
        assert_eq!(c.delivery.addr.port(), 8082);
        assert_eq!(c.database_url(ServiceName::Broker), "data/broker.db");
        assert_eq!(c.settlement.public_url(), "http://127.0.0.1:8081");
    }

    #[test]
    fn toml_then_environment() {
        let mut c = Config::from_toml(
            "data_dir = \"/tmp/x\"\n[broker]\naddr = \"127.0.0.1:9000\"\n[settlement]\nworkers = 4\n[fees]\nmarketplace_bps = 250\n",
        )
        .unwrap();
        assert_eq!(c.broker.addr.port(), 9000);
        assert_eq!((c.settlement.addr.port(), c.settlement.workers), (8081, 4));
        assert_eq!(c.fees.marketplace_bps, 250);
        assert_eq!(c.fees.referral_bps, 200);
        c.apply_env(|k| match k {
            "MARKETPLACE_BROKER_ADDR" => Some("127.0.0.1:9100".into()),
            "MARKETPLACE_DATA_DIR" => Some("/srv/m".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.broker.addr.port(), 9100);
        assert_eq!(c.data_dir, PathBuf::from("/srv/m"));
    }

    #[test]
    fn the_money_ceiling_is_configurable_lower_never_higher() {
        let c = Config::default();
        assert_eq!(c.money.ceiling(), Ceiling::MAX);
        assert!(c.check().is_ok());
        let low = Config::from_toml("[money]\nmax_amount_minor = 50000\n").unwrap();
        assert_eq!(low.money.ceiling().get(), 50_000);
        assert!(low.check().is_ok());
        for bad in ["1000000000001", "0", "-5"] {
            let c = Config::from_toml(&format!("[money]\nmax_amount_minor = {bad}\n")).unwrap();
            assert!(c.check().is_err(), "{bad}");
            assert!(c.money.ceiling().get() <= MAX_AMOUNT);
        }
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Config::from_toml("nonsense = 1").is_err());
        let mut c = Config::default();
        assert!(c.apply_env(|k| (k == "MARKETPLACE_BROKER_ADDR").then(|| "nope".to_string())).is_err());
    }
}
