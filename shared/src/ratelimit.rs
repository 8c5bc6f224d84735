//! Per-client rate limits for the routes an attacker would hammer: the logins (password
//! guessing), the sign-ups (account floods) and the partner API (key guessing, floods).
//! Each class of route has a keyed GCRA bucket (`governor`): logins and sign-ups are keyed
//! by the client's address (the socket's peer, or the `X-Forwarded-For` hop named by a
//! configured trusted proxy, or at the broker and delivery the visitor their own pages name in a
//! signed header, see [`crate::visitor`]; an IPv6 address by its /64, which one subscriber
//! usually holds whole), partner routes by the API key presented (a partner behind many
//! addresses is still one client). No proxy is trusted by default, loopback included: a
//! local client cannot pick its bucket with a header. Over the limit, the request is answered `429 rate_limited` with `Retry-After` before its
//! handler runs, so a refused request has no effect.
//!
//! Limits come from `[settings.rate_limits]`; the defaults stop a guessing loop while
//! leaving room for a busy partner (the load generator's single partner is never held).
//!
//! Wiring: the service's app data holds a [`RateLimits`] (registered by
//! [`crate::server::start`]), and a route opts in with
//! `web::post().to(login).wrap(from_fn(shared::ratelimit::login))`.

use crate::config::Config;
use crate::error::{Code, Problem};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde::Deserialize;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One limit: a sustained rate and the burst a quiet client may spend at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub per_minute: u32,
    pub burst: u32,
}

impl Limit {
    fn quota(&self) -> Quota {
        let per_minute = NonZeroU32::new(self.per_minute.max(1)).expect("at least one");
        let burst = NonZeroU32::new(self.burst.max(1)).expect("at least one");
        Quota::per_minute(per_minute).allow_burst(burst)
    }
}

/// `[settings.rate_limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Off only for a closed test bed.
    pub enabled: bool,
    /// `POST /v1/sessions` (broker and delivery) and `POST /v1/buyer-sessions`, per address.
    pub login: Limit,
    /// `POST /v1/sellers` and `POST /v1/buyers` (and the storefront's sign-up form, which
    /// calls the latter), per address.
    pub signup: Limit,
    /// `POST /v1/payments` and `POST /v1/refunds`, per API key.
    pub partner: Limit,
    /// `POST /v1/orders` (the storefront's order form included), per address. What
    /// unpaid orders may hold is bounded by itself; this slows a client that places
    /// orders in a loop.
    pub placement: Limit,
    /// Peers whose `X-Forwarded-For` is believed (a load balancer in front of the
    /// services). None by default, loopback included: anyone else's header is ignored, so
    /// a client cannot pick its own bucket. The broker's storefront does not need to be
    /// listed: it names its visitor in a signed header (see [`crate::visitor`]).
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            // Two guesses a second sustained, after a burst of 30: plenty for people and
            // scripts that log in once an hour, useless for guessing passwords.
            login: Limit { per_minute: 120, burst: 30 },
            // Ten accounts at once, then one every ten seconds: more than a household or a
            // Tor exit's honest users open, and a flood slowed to a trickle per address.
            signup: Limit { per_minute: 6, burst: 10 },
            // 50,000 a second per partner: far above what one partner sends in the
            // benchmark at full load (retries included), yet a bound on a runaway client.
            partner: Limit { per_minute: 3_000_000, burst: 50_000 },
            // Two orders a second sustained after a burst of sixty: no person, nor the
            // many people behind one Tor exit or carrier NAT, places more.
            placement: Limit { per_minute: 120, burst: 60 },
            trusted_proxies: Vec::new(),
        }
    }
}

impl RateLimitConfig {
    /// From `[settings.rate_limits]`; a table that does not parse is an error, not a
    /// silent fallback to the defaults.
    pub fn from_config(config: &Config) -> Result<RateLimitConfig, String> {
        match config.settings.get("rate_limits") {
            None => Ok(RateLimitConfig::default()),
            Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| format!("[settings.rate_limits]: {e}")),
        }
    }
}

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// A keyed bucket for one class of routes.
pub struct Bucket {
    limiter: Keyed,
    clock: DefaultClock,
    checks: AtomicU64,
}

/// Forget idle clients every so many checks, so the key map stays as small as the set
/// of clients active within one refill period.
const PRUNE_EVERY: u64 = 4096;

impl Bucket {
    pub fn new(limit: Limit) -> Bucket {
        let clock = DefaultClock::default();
        Bucket {
            limiter: RateLimiter::dashmap_with_clock(limit.quota(), clock.clone()),
            clock,
            checks: AtomicU64::new(0),
        }
    }

    /// `Ok` to go ahead; `Err(wait)` when the client must wait that long.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&key.to_string()).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// How many clients the bucket currently remembers.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The buckets of one service.
pub struct RateLimits {
    pub login: Option<Bucket>,
    pub signup: Option<Bucket>,
    pub partner: Option<Bucket>,
    pub placement: Option<Bucket>,
    trusted_proxies: Vec<IpAddr>,
    /// At the broker: its own keys, to believe the visitor its storefront names.
    visitors: Option<crate::visitor::VisitorVerifier>,
}

/// Who a request's client is, as the limits see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Client {
    Addr(IpAddr),
    /// A forwarded hop that does not parse: counted under its text, never trusted past.
    Unreadable(String),
    Unknown,
}

impl Client {
    /// The bucket key (an IPv6 address by its /64, see [`address_key`]).
    pub fn key(&self) -> String {
        match self {
            Client::Addr(ip) => address_key(*ip),
            Client::Unreadable(hop) => format!("unreadable:{hop}"),
            Client::Unknown => "unknown".into(),
        }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Client::Addr(ip) => Some(*ip),
            _ => None,
        }
    }
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> RateLimits {
        let trusted_proxies = config.trusted_proxies.clone();
        if !config.enabled {
            return RateLimits {
                login: None,
                signup: None,
                partner: None,
                placement: None,
                trusted_proxies,
                visitors: None,
            };
        }
        RateLimits {
            login: Some(Bucket::new(config.login)),
            signup: Some(Bucket::new(config.signup)),
            partner: Some(Bucket::new(config.partner)),
            placement: Some(Bucket::new(config.placement)),
            trusted_proxies,
            visitors: None,
        }
    }

    /// Believes `X-Marketplace-Visitor` headers that `verifier` accepts (the broker, with
    /// its own keys, for its storefront's calls).
    pub fn with_visitors(self, verifier: crate::visitor::VisitorVerifier) -> RateLimits {
        RateLimits { visitors: Some(verifier), ..self }
    }

    /// The client's key: the socket's peer, or, when the peer is a trusted proxy, the
    /// nearest address in `X-Forwarded-For` that is not itself a trusted proxy; an IPv6
    /// address stands for its whole /64 (see [`address_key`]).
    pub fn client_address(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> String {
        self.forwarded_client(peer, forwarded_for).key()
    }

    fn forwarded_client(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Client {
        let Some(peer) = peer else { return Client::Unknown };
        if !self.trusted_proxies.contains(&peer) {
            if peer.is_loopback() && forwarded_for.is_some() && self.trusted_proxies.is_empty() {
                // Most likely a reverse proxy on this host that nobody configured: every
                // visitor then shares the proxy's bucket. Said once, not per request.
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| {
                    tracing::warn!(
                        "a loopback peer forwards X-Forwarded-For but no proxy is trusted: all its visitors share \
                         one rate-limit bucket; list it in [settings.rate_limits] trusted_proxies"
                    )
                });
            }
            return Client::Addr(peer);
        }
        let hops = forwarded_for.unwrap_or("").rsplit(',').map(str::trim).filter(|h| !h.is_empty());
        for hop in hops {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusted_proxies.contains(&ip) => continue,
                Ok(ip) => return Client::Addr(ip),
                // A hop we cannot read: stop at it rather than trust what lies beyond.
                Err(_) => return Client::Unreadable(hop.chars().take(64).collect()),
            }
        }
        Client::Addr(peer)
    }

    /// The client of `req`: the visitor named by a valid signed visitor header (where
    /// believed), else as [`RateLimits::client_address`] finds it.
    pub fn client_of(&self, req: &actix_web::HttpRequest) -> Client {
        if let Some(ip) = self.signed_visitor(req) {
            return Client::Addr(ip);
        }
        let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
        self.forwarded_client(req.peer_addr().map(|a| a.ip()), forwarded)
    }

    fn signed_visitor(&self, req: &actix_web::HttpRequest) -> Option<IpAddr> {
        let verifier = self.visitors.as_ref()?;
        let mut values = req.headers().get_all(crate::visitor::HEADER);
        let value = values.next()?.to_str().ok()?;
        if values.next().is_some() {
            return None;
        }
        let path = req.uri().path_and_query().map_or(req.path(), |p| p.as_str());
        verifier.verify(value, req.method().as_str(), path)
    }

    pub fn from_config(config: &Config) -> Result<RateLimits, String> {
        Ok(RateLimits::new(&RateLimitConfig::from_config(config)?))
    }
}

/// The bucket key of an address. An IPv6 subscriber is usually handed a whole /64 and can
/// pick any address in it, so one bucket holds the /64; an IPv4-mapped IPv6 address counts
/// as the IPv4 address it carries.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
    }
}

/// The 429 answer: problem+json, code `rate_limited`, `Retry-After` in whole seconds
/// (rounded up, at least 1, so a client that obeys it is let through).
pub fn refusal(wait: Duration) -> actix_web::HttpResponse {
    let secs = retry_after_secs(wait);
    let mut resp =
        Problem::shared(Code::RateLimited, format!("too many requests from this client; retry in {secs} s")).response();
    resp.headers_mut().insert(actix_web::http::header::RETRY_AFTER, actix_web::http::header::HeaderValue::from(secs));
    resp
}

pub fn retry_after_secs(wait: Duration) -> u64 {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    whole.max(1)
}

fn client_address(limits: &RateLimits, req: &ServiceRequest) -> String {
    limits.client_of(req.request()).key()
}

/// The presented API key, hashed (the key itself is never held in memory longer than the
/// request), or the address when none was presented.
fn api_key(limits: &RateLimits, req: &ServiceRequest) -> String {
    match crate::auth::bearer(req.request()) {
        Some(key) => format!("key:{}", crate::crypto::sha256_hex(key.as_bytes())),
        None => format!("addr:{}", client_address(limits, req)),
    }
}

async fn limited(
    which: fn(&RateLimits) -> Option<&Bucket>,
    key: fn(&RateLimits, &ServiceRequest) -> String,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let verdict = req
        .app_data::<web::Data<RateLimits>>()
        .and_then(|limits| which(limits).map(|bucket| bucket.check(&key(limits, &req))));
    match verdict {
        Some(Err(wait)) => Ok(req.into_response(refusal(wait))),
        _ => next.call(req).await.map(ServiceResponse::map_into_boxed_body),
    }
}

/// Middleware for login routes: per client address.
pub async fn login(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    limited(|l| l.login.as_ref(), client_address, req, next).await
}

/// Middleware for order placement: per client address.
pub async fn placement(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    limited(|l| l.placement.as_ref(), client_address, req, next).await
}

/// Middleware for sign-up routes: per client address.
pub async fn signup(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    limited(|l| l.signup.as_ref(), client_address, req, next).await
}

/// Middleware for partner routes: per API key.
pub async fn partner(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    limited(|l| l.partner.as_ref(), api_key, req, next).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{test as web_test, App, HttpResponse};

    #[test]
    fn a_burst_passes_then_the_client_waits_while_others_go_on() {
        let bucket = Bucket::new(Limit { per_minute: 60, burst: 3 });
        for _ in 0..3 {
            assert!(bucket.check("a").is_ok());
        }
        let wait = bucket.check("a").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(bucket.check("b").is_ok(), "another client has its own bucket");
        assert_eq!(bucket.len(), 2);
    }

    #[test]
    fn no_proxy_is_trusted_by_default_loopback_included() {
        let limits = RateLimits::new(&RateLimitConfig::default());
        assert!(RateLimitConfig::default().trusted_proxies.is_empty());
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(limits.client_address(Some(local), Some("198.51.100.1")), "127.0.0.1");
        assert_eq!(limits.client_address(Some("::1".parse().unwrap()), Some("198.51.100.1")), "::/64");
        assert_eq!(limits.client_address(Some(local), Some("nonsense")), "127.0.0.1");
    }

    fn behind_loopback_proxy() -> RateLimits {
        let trusted = vec![IpAddr::from([127, 0, 0, 1]), IpAddr::from(std::net::Ipv6Addr::LOCALHOST)];
        RateLimits::new(&RateLimitConfig { trusted_proxies: trusted, ..RateLimitConfig::default() })
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let limits = behind_loopback_proxy();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let outside: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(limits.client_address(Some(outside), Some("198.51.100.1")), "203.0.113.9");
        assert_eq!(limits.client_address(Some(local), Some("198.51.100.1")), "198.51.100.1");
        assert_eq!(limits.client_address(Some(local), Some("1.1.1.1, 198.51.100.1, 127.0.0.1")), "198.51.100.1");
        assert_eq!(limits.client_address(Some(local), None), "127.0.0.1");
        assert_eq!(limits.client_address(Some(local), Some("127.0.0.1")), "127.0.0.1");
        assert!(limits.client_address(Some(local), Some("1.1.1.1, nonsense")).starts_with("unreadable:"));
        assert_eq!(limits.client_address(None, Some("1.1.1.1")), "unknown");
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:198.51.100.7"), "198.51.100.7");
        assert_eq!(key("198.51.100.7"), "198.51.100.7");
        let limits = behind_loopback_proxy();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(limits.client_address(Some(local), Some("2001:db8::5")), "2001:db8::/64");
        assert_eq!(limits.client_address(Some("2001:db8::9".parse().unwrap()), None), "2001:db8::/64");
        // A whole /64 shares one bucket; the next /64 has its own.
        let bucket = Bucket::new(Limit { per_minute: 1, burst: 2 });
        assert!(bucket.check(&key("2001:db8::1")).is_ok());
        assert!(bucket.check(&key("2001:db8::2")).is_ok());
        assert!(bucket.check(&key("2001:db8::3")).is_err(), "a fresh address in the /64 got a fresh bucket");
        assert!(bucket.check(&key("2001:db8:0:1::1")).is_ok());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }

    #[test]
    fn config_defaults_and_overrides() {
        let mut config = Config::default();
        assert_eq!(RateLimitConfig::from_config(&config).unwrap(), RateLimitConfig::default());
        config.settings = toml::from_str("[rate_limits]\nlogin = { per_minute = 6, burst = 2 }\n").expect("toml");
        let parsed = RateLimitConfig::from_config(&config).unwrap();
        assert_eq!(parsed.login, Limit { per_minute: 6, burst: 2 });
        assert_eq!(parsed.partner, RateLimitConfig::default().partner);
        assert_eq!(parsed.signup, RateLimitConfig::default().signup);
        config.settings = toml::from_str("[rate_limits]\nlogins = 1\n").expect("toml");
        assert!(RateLimitConfig::from_config(&config).is_err(), "a misspelt key is an error");
        let off = RateLimits::new(&RateLimitConfig { enabled: false, ..Default::default() });
        assert!(off.login.is_none() && off.signup.is_none() && off.partner.is_none() && off.placement.is_none());
    }

    #[test]
    fn the_defaults_never_hold_one_busy_partner() {
        let bucket = Bucket::new(RateLimitConfig::default().partner);
        for _ in 0..20_000 {
            assert!(bucket.check("key:one").is_ok());
        }
    }

    #[actix_web::test]
    async fn over_the_limit_is_429_problem_with_retry_after_and_the_handler_never_runs() {
        let ran = web::Data::new(AtomicU64::new(0));
        let limits = web::Data::new(RateLimits::new(&RateLimitConfig {
            enabled: true,
            login: Limit { per_minute: 1, burst: 2 },
            signup: Limit { per_minute: 1, burst: 1 },
            partner: Limit { per_minute: 1, burst: 1 },
            placement: Limit { per_minute: 1, burst: 1 },
            trusted_proxies: vec!["10.9.9.9".parse().unwrap()],
        }));
        let app = web_test::init_service(
            App::new()
                .app_data(limits)
                .app_data(ran.clone())
                .route(
                    "/login",
                    web::post()
                        .to(|ran: web::Data<AtomicU64>| async move {
                            ran.fetch_add(1, Ordering::SeqCst);
                            HttpResponse::Ok().finish()
                        })
                        .wrap(from_fn(login)),
                )
                .route("/pay", web::post().to(HttpResponse::Created).wrap(from_fn(partner))),
        )
        .await;
        let peer = "10.0.0.1:5000".parse().unwrap();
        for _ in 0..2 {
            let req = web_test::TestRequest::post().uri("/login").peer_addr(peer).to_request();
            assert_eq!(web_test::call_service(&app, req).await.status(), 200);
        }
        let req = web_test::TestRequest::post().uri("/login").peer_addr(peer).to_request();
        let resp = web_test::call_service(&app, req).await;
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers().get("content-type").unwrap(), "application/problem+json");
        let retry: u64 = resp.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let body: serde_json::Value = web_test::read_body_json(resp).await;
        assert_eq!(body["code"], "rate_limited");
        assert_eq!(ran.load(Ordering::SeqCst), 2, "the refused request reached the handler");
        // Another address is not held.
        let req = web_test::TestRequest::post().uri("/login").peer_addr("10.0.0.2:5000".parse().unwrap()).to_request();
        assert_eq!(web_test::call_service(&app, req).await.status(), 200);
        // A client's own X-Forwarded-For does not get it a fresh bucket.
        let req = web_test::TestRequest::post()
            .uri("/login")
            .peer_addr(peer)
            .insert_header(("x-forwarded-for", "203.0.113.7"))
            .to_request();
        assert_eq!(web_test::call_service(&app, req).await.status(), 429);
        // Through the trusted proxy, each visitor counts on its own.
        let via_proxy = |visitor: &'static str| {
            web_test::TestRequest::post()
                .uri("/login")
                .peer_addr("10.9.9.9:443".parse().unwrap())
                .insert_header(("x-forwarded-for", visitor))
                .to_request()
        };
        assert_eq!(web_test::call_service(&app, via_proxy("10.0.0.1")).await.status(), 429);
        assert_eq!(web_test::call_service(&app, via_proxy("198.51.100.1, 10.9.9.9")).await.status(), 200);

        // Partner routes count per key, whatever the address.
        let pay = |key: &'static str, port: u16| {
            web_test::TestRequest::post()
                .uri("/pay")
                .peer_addr(format!("10.0.1.{port}:1").parse().unwrap())
                .insert_header(("authorization", format!("Bearer {key}")))
                .to_request()
        };
        assert_eq!(web_test::call_service(&app, pay("sk_live_a", 1)).await.status(), 201);
        assert_eq!(web_test::call_service(&app, pay("sk_live_a", 2)).await.status(), 429);
        assert_eq!(web_test::call_service(&app, pay("sk_live_b", 2)).await.status(), 201);
    }

    #[actix_web::test]
    async fn a_signed_visitor_header_counts_only_where_believed_and_only_for_its_request() {
        use crate::visitor::{VisitorSigner, VisitorVerifier, HEADER};
        let dir = tempfile::tempdir().unwrap();
        let ring = crate::crypto::KeyRing::load_or_create(dir.path(), "broker").unwrap();
        let signer = VisitorSigner::new(ring.signing()).unwrap();
        let config = RateLimitConfig { login: Limit { per_minute: 1, burst: 1 }, ..RateLimitConfig::default() };
        let app = |limits: RateLimits| {
            web_test::init_service(
                App::new()
                    .app_data(web::Data::new(limits))
                    .route("/login", web::post().to(HttpResponse::Ok).wrap(from_fn(login))),
            )
        };
        let believing = app(RateLimits::new(&config).with_visitors(VisitorVerifier::new(&ring))).await;
        let local: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let post = |headers: Vec<(&'static str, String)>| {
            let mut r = web_test::TestRequest::post().uri("/login").peer_addr(local);
            for h in headers {
                r = r.insert_header(h);
            }
            r.to_request()
        };
        let status = |resp: ServiceResponse| resp.status().as_u16();
        let visitor = |ip: &str, path: &str| (HEADER, signer.sign(ip.parse().unwrap(), "POST", path));
        // Loopback is one client, whatever it forwards.
        assert_eq!(status(web_test::call_service(&believing, post(vec![])).await), 200);
        let forwarded = vec![("x-forwarded-for", "198.51.100.1".to_string())];
        assert_eq!(status(web_test::call_service(&believing, post(forwarded)).await), 429);
        // Each visitor the broker signed for is a client of its own.
        let a = || vec![visitor("198.51.100.1", "/login")];
        assert_eq!(status(web_test::call_service(&believing, post(a())).await), 200);
        assert_eq!(status(web_test::call_service(&believing, post(a())).await), 429);
        assert_eq!(
            status(web_test::call_service(&believing, post(vec![visitor("198.51.100.2", "/login")])).await),
            200
        );
        // Signed for another route, forged, or sent twice: ignored, so loopback's bucket.
        let elsewhere = vec![visitor("198.51.100.3", "/elsewhere")];
        assert_eq!(status(web_test::call_service(&believing, post(elsewhere)).await), 429);
        let other_dir = tempfile::tempdir().unwrap();
        let stranger = crate::crypto::KeyRing::load_or_create(other_dir.path(), "broker").unwrap();
        let forged =
            VisitorSigner::new(stranger.signing()).unwrap().sign("198.51.100.4".parse().unwrap(), "POST", "/login");
        assert_eq!(status(web_test::call_service(&believing, post(vec![(HEADER, forged)])).await), 429);
        let twice = vec![visitor("198.51.100.5", "/login"), visitor("198.51.100.6", "/login")];
        let mut r = web_test::TestRequest::post().uri("/login").peer_addr(local);
        for h in twice {
            r = r.append_header(h);
        }
        assert_eq!(status(web_test::call_service(&believing, r.to_request()).await), 429);
        // A service that was not given the broker's keys believes no such header.
        let other = app(RateLimits::new(&config)).await;
        assert_eq!(status(web_test::call_service(&other, post(vec![])).await), 200);
        assert_eq!(status(web_test::call_service(&other, post(vec![visitor("198.51.100.7", "/login")])).await), 429);
    }

    #[actix_web::test]
    async fn without_registered_limits_routes_pass() {
        let app =
            web_test::init_service(App::new().route("/login", web::post().to(HttpResponse::Ok).wrap(from_fn(login))))
                .await;
        for _ in 0..5 {
            let req = web_test::TestRequest::post().uri("/login").to_request();
            assert_eq!(web_test::call_service(&app, req).await.status(), 200);
        }
    }
}
