//! One bounded pool for every password hash and check a service makes. Argon2 is slow
//! and takes about 19 MiB per hash on purpose; run unbounded, a flood of sign-ups grows
//! the process by that much per request in flight and starves everything else. So each
//! service holds a fixed number of permits (about two per core): a hash or a check runs on
//! a blocking thread only while it holds one, a request waits for a permit at most a few
//! tens of milliseconds, and is then refused `503 busy` with `Retry-After` before any
//! work is done or anything written.
//!
//! Sign-ins (sellers, manufacturers, buyers, couriers) may take every permit; sign-ups
//! (and the accounts the operator creates) may take all but `reserved_for_sign_in`, so a
//! flood of sign-ups can never keep people who already have an account from signing in.
//! This is done with two semaphores: a sign-up first takes one of the `permits -
//! reserved` sign-up permits, then one of the pool's; a sign-in takes only one of the
//! pool's. However many sign-ups wait, at most `permits - reserved` of them ever hold a
//! pool permit.
//!
//! Settings: `[settings.hashing]` (`permits`, `reserved_for_sign_in`, `queue_wait_ms`).

use crate::config::Config;
use prometheus::{IntCounterVec, IntGauge, Opts, Registry};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// `[settings.hashing]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashingConfig {
    /// Hashes and checks at once; two per core when not given.
    pub permits: Option<usize>,
    /// Permits that only sign-ins may take; a quarter of `permits` (at least one) when not
    /// given. Must leave sign-ups at least one.
    pub reserved_for_sign_in: Option<usize>,
    /// How long a request may wait for a permit before it is refused.
    pub queue_wait_ms: u64,
    /// The `Retry-After` of a refusal, in seconds.
    pub retry_after_secs: u64,
}

impl Default for HashingConfig {
    fn default() -> Self {
        HashingConfig { permits: None, reserved_for_sign_in: None, queue_wait_ms: 1_000, retry_after_secs: 1 }
    }
}

/// The pool's size once the defaults are filled in: `(permits, reserved_for_sign_in)`.
fn sizes(config: &HashingConfig, cores: usize) -> Result<(usize, usize), String> {
    let permits = config.permits.unwrap_or(2 * cores.max(1));
    if permits == 0 {
        return Err("[settings.hashing] permits must be at least 1".into());
    }
    let reserved = match config.reserved_for_sign_in {
        Some(r) => r,
        None => permits.div_ceil(4).min(permits - 1),
    };
    if reserved >= permits {
        return Err(format!(
            "[settings.hashing] reserved_for_sign_in ({reserved}) must be less than permits ({permits}), \
             or nobody could sign up"
        ));
    }
    Ok((permits, reserved))
}

impl HashingConfig {
    /// From `[settings.hashing]`; a table that does not parse is an error.
    pub fn from_config(config: &Config) -> Result<HashingConfig, String> {
        match config.settings.get("hashing") {
            None => Ok(HashingConfig::default()),
            Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| format!("[settings.hashing]: {e}")),
        }
    }
}

/// Who is asking: sign-ins may use the permits sign-ups may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Checking a password: the sessions routes.
    SignIn,
    /// Hashing a new account's password: sign-ups and accounts the operator creates.
    SignUp,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::SignIn => "sign_in",
            Purpose::SignUp => "sign_up",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashError {
    /// No permit within the queue wait: answer 503 `busy` with this `Retry-After`.
    #[error("the service is busy; retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("password hashing failed")]
    Failed,
}

impl From<HashError> for crate::Error {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy { retry_after_secs } => crate::Error::Busy { retry_after_secs },
            HashError::Failed => crate::Error::Internal("password hashing failed".into()),
        }
    }
}

/// What the pool tells `/metrics`.
struct Gauges {
    permits: IntGauge,
    in_flight: IntGauge,
    /// The most hashes ever in flight at once: never above `permits`.
    in_flight_peak: IntGauge,
    done: IntCounterVec,
    refused: IntCounterVec,
    /// Hashes running now; the gauges above follow it under this lock, so the peak is
    /// exact.
    running: std::sync::Mutex<i64>,
}

impl Gauges {
    fn started(&self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        *running += 1;
        self.in_flight.set(*running);
        if *running > self.in_flight_peak.get() {
            self.in_flight_peak.set(*running);
        }
    }

    fn ended(&self, purpose: Purpose) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        *running -= 1;
        self.in_flight.set(*running);
        self.done.with_label_values(&[purpose.label()]).inc();
    }

    fn new(registry: &Registry) -> Result<Gauges, prometheus::Error> {
        let gauges = Gauges {
            permits: IntGauge::new("password_hash_permits", "Password hashes the pool runs at once")?,
            in_flight: IntGauge::new("password_hashes_in_flight", "Password hashes and checks running now")?,
            in_flight_peak: IntGauge::new(
                "password_hashes_in_flight_peak",
                "The most password hashes and checks that ever ran at once",
            )?,
            done: IntCounterVec::new(
                Opts::new("password_hashes_total", "Password hashes and checks run, by purpose"),
                &["purpose"],
            )?,
            refused: IntCounterVec::new(
                Opts::new("password_hashes_refused_total", "Requests refused busy for want of a permit, by purpose"),
                &["purpose"],
            )?,
            running: std::sync::Mutex::new(0),
        };
        registry.register(Box::new(gauges.permits.clone()))?;
        registry.register(Box::new(gauges.in_flight.clone()))?;
        registry.register(Box::new(gauges.in_flight_peak.clone()))?;
        registry.register(Box::new(gauges.done.clone()))?;
        registry.register(Box::new(gauges.refused.clone()))?;
        Ok(gauges)
    }
}

/// The permits a running hash holds; dropping it frees them.
pub struct Permit {
    _pool: OwnedSemaphorePermit,
    _sign_up: Option<OwnedSemaphorePermit>,
}

/// A service's one pool.
pub struct HashPool {
    all: Arc<Semaphore>,
    sign_up: Arc<Semaphore>,
    permits: usize,
    reserved: usize,
    wait: Duration,
    retry_after_secs: u64,
    gauges: Arc<Gauges>,
}

impl HashPool {
    pub fn new(config: &HashingConfig, registry: &Registry) -> Result<HashPool, String> {
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        let (permits, reserved) = sizes(config, cores)?;
        let gauges = Gauges::new(registry).map_err(|e| format!("hashing metrics: {e}"))?;
        gauges.permits.set(permits as i64);
        Ok(HashPool {
            all: Arc::new(Semaphore::new(permits)),
            sign_up: Arc::new(Semaphore::new(permits - reserved)),
            permits,
            reserved,
            wait: Duration::from_millis(config.queue_wait_ms),
            retry_after_secs: config.retry_after_secs.max(1),
            gauges: Arc::new(gauges),
        })
    }

    pub fn from_config(config: &Config, registry: &Registry) -> Result<HashPool, String> {
        HashPool::new(&HashingConfig::from_config(config)?, registry)
    }

    /// `(permits, reserved_for_sign_in)`.
    pub fn size(&self) -> (usize, usize) {
        (self.permits, self.reserved)
    }

    /// A permit for `purpose`, waiting at most the queue wait.
    pub async fn permit(&self, purpose: Purpose) -> Result<Permit, HashError> {
        let acquire = async {
            let sign_up = match purpose {
                Purpose::SignUp => Some(self.sign_up.clone().acquire_owned().await.ok()?),
                Purpose::SignIn => None,
            };
            let pool = self.all.clone().acquire_owned().await.ok()?;
            Some(Permit { _pool: pool, _sign_up: sign_up })
        };
        match tokio::time::timeout(self.wait, acquire).await {
            Ok(Some(permit)) => Ok(permit),
            _ => {
                self.gauges.refused.with_label_values(&[purpose.label()]).inc();
                Err(HashError::Busy { retry_after_secs: self.retry_after_secs })
            }
        }
    }

    /// Runs `work` on a blocking thread under a permit. The permit moves into the thread,
    /// so a caller that goes away does not free it before the work ends.
    async fn run<T: Send + 'static>(
        &self,
        purpose: Purpose,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = self.permit(purpose).await?;
        let gauges = self.gauges.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            gauges.started();
            let out = work();
            gauges.ended(purpose);
            out
        })
        .await
        .map_err(|_| HashError::Failed)
    }

    /// Hashes a new account's password.
    pub async fn hash(&self, password: String, purpose: Purpose) -> Result<String, HashError> {
        self.run(purpose, move || crate::crypto::hash_password(&password)).await?.map_err(|_| HashError::Failed)
    }

    /// Checks a sign-in's password against the stored hash, or against a dummy one when
    /// the account does not exist (the time taken does not tell which).
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, HashError> {
        self.run(Purpose::SignIn, move || crate::crypto::verify_password(&password, stored.as_deref())).await
    }

    /// The most hashes that ever ran at once.
    pub fn peak(&self) -> usize {
        self.gauges.in_flight_peak.get() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn pool(permits: usize, reserved: usize, wait_ms: u64) -> HashPool {
        let config = HashingConfig {
            permits: Some(permits),
            reserved_for_sign_in: Some(reserved),
            queue_wait_ms: wait_ms,
            retry_after_secs: 2,
        };
        HashPool::new(&config, &Registry::new()).unwrap()
    }

    #[test]
    fn sizes_default_to_two_per_core_with_a_quarter_kept_for_sign_ins() {
        let auto = HashingConfig::default();
        assert_eq!(sizes(&auto, 2).unwrap(), (4, 1));
        assert_eq!(sizes(&auto, 8).unwrap(), (16, 4));
        assert_eq!(sizes(&HashingConfig { permits: Some(1), ..auto.clone() }, 8).unwrap(), (1, 0));
        assert_eq!(sizes(&HashingConfig { permits: Some(2), ..auto.clone() }, 8).unwrap(), (2, 1));
        assert!(sizes(&HashingConfig { permits: Some(0), ..auto.clone() }, 2).is_err());
        let none_left = HashingConfig { permits: Some(3), reserved_for_sign_in: Some(3), ..auto };
        assert!(sizes(&none_left, 2).is_err(), "sign-ups must keep a permit");
    }

    #[test]
    fn config_parses_and_refuses_misspelt_keys() {
        let mut config = Config::default();
        assert_eq!(HashingConfig::from_config(&config).unwrap(), HashingConfig::default());
        config.settings = toml::from_str("[hashing]\npermits = 6\nqueue_wait_ms = 10\n").unwrap();
        let parsed = HashingConfig::from_config(&config).unwrap();
        assert_eq!((parsed.permits, parsed.reserved_for_sign_in, parsed.queue_wait_ms), (Some(6), None, 10));
        config.settings = toml::from_str("[hashing]\npermit = 6\n").unwrap();
        assert!(HashingConfig::from_config(&config).is_err());
    }

    #[tokio::test]
    async fn sign_ups_never_take_the_reserved_permits() {
        let pool = pool(3, 1, 5);
        let a = pool.permit(Purpose::SignUp).await.unwrap();
        let b = pool.permit(Purpose::SignUp).await.unwrap();
        assert_eq!(
            pool.permit(Purpose::SignUp).await.err(),
            Some(HashError::Busy { retry_after_secs: 2 }),
            "a third sign-up took the sign-in slot"
        );
        let c = pool.permit(Purpose::SignIn).await.expect("the reserved permit is free for a sign-in");
        assert!(pool.permit(Purpose::SignIn).await.is_err(), "the pool is full");
        drop(a);
        let _d = pool.permit(Purpose::SignIn).await.expect("a freed sign-up permit serves a sign-in");
        drop((b, c));
        let _e = pool.permit(Purpose::SignUp).await.expect("freed permits serve sign-ups again");
    }

    #[tokio::test]
    async fn a_waiting_request_gets_a_permit_freed_within_the_queue_wait() {
        let pool = Arc::new(pool(1, 0, 2_000));
        let held = pool.permit(Purpose::SignUp).await.unwrap();
        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.permit(Purpose::SignUp).await.is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        assert!(waiter.await.unwrap());
    }

    #[tokio::test]
    async fn refusals_are_counted_and_cost_no_hash() {
        let registry = Registry::new();
        let config = HashingConfig { permits: Some(1), queue_wait_ms: 1, ..HashingConfig::default() };
        let pool = HashPool::new(&config, &registry).unwrap();
        let _held = pool.permit(Purpose::SignIn).await.unwrap();
        assert!(matches!(pool.hash("pw".into(), Purpose::SignUp).await, Err(HashError::Busy { .. })));
        let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap();
        assert!(text.contains("password_hashes_refused_total{purpose=\"sign_up\"} 1"), "{text}");
        assert!(!text.contains("password_hashes_total{"), "a refused request ran a hash: {text}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_hashes_at_once_than_permits() {
        let pool = Arc::new(pool(2, 1, 10_000));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    let purpose = if i % 2 == 0 { Purpose::SignUp } else { Purpose::SignIn };
                    pool.run(purpose, move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(5));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().expect("within the long queue wait");
        }
        assert!(most.load(Ordering::SeqCst) <= 2, "{} at once", most.load(Ordering::SeqCst));
        assert!(pool.peak() <= 2);
    }

    #[tokio::test]
    async fn hashes_verify_through_the_pool() {
        let pool = pool(2, 1, 1_000);
        let hash = pool.hash("correct horse".into(), Purpose::SignUp).await.unwrap();
        assert!(pool.verify("correct horse".into(), Some(hash.clone())).await.unwrap());
        assert!(!pool.verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!pool.verify("correct horse".into(), None).await.unwrap());
    }
}
