//! `TestMarket`: the three services on random ports, fresh databases, and typed calls.

#![allow(dead_code)]

use client::broker::accounts::{Credentials, NewManufacturer, NewSeller};
use client::broker::catalog::{NewProduct, NewUnion, OfferBody, OfferView, Selection, SelectionBody};
use client::broker::orders::{BuyerView, PlaceOrder, Placed, Placement};
use client::broker::stores::NewStoreBody;
use client::broker::Broker;
use client::delivery::Delivery;
use client::settlement::Settlement;
use client::{Api, Failure, Reply};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shared::config::{Config, ServiceName};
use shared::ids::{ManufacturerId, OrderId, ProductId, SellerId, StoreId, UnionId};
use shared::money::{Currency, Money};
use shared::server::Running;
use std::net::TcpListener;
use std::path::PathBuf;

pub struct TestMarket {
    pub config: Config,
    pub broker: String,
    pub settlement: String,
    pub delivery: String,
    pub operator: String,
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    running: Vec<Running>,
    postgres: Option<(String, Vec<String>)>,
    /// The launcher, when the market runs as a separate process.
    child: Option<std::process::Child>,
}

/// An HTTP answer: status, headers and parsed body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {}", self.body);
        self.body
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn expect_problem(self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {}", self.body);
        assert_eq!(
            self.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "not problem+json: {}",
            self.body
        );
        assert_eq!(self.code(), code, "unexpected problem: {}", self.body);
        self.body
    }
}

/// Which database the suite runs on: SQLite unless `MARKETPLACE_TEST_DATABASE` names
/// PostgreSQL (`postgres` for the local default, or an admin URL).
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("MARKETPLACE_TEST_DATABASE").ok()?.as_str() {
        "" | "sqlite" => None,
        "postgres" => Some("postgres://postgres:postgres@127.0.0.1:5432/postgres".into()),
        url => Some(url.to_string()),
    }
}

/// A fresh database per service on the PostgreSQL server at `admin`, each one's URL given
/// to `set`: the admin URL and the databases' names, to drop them afterwards.
fn fresh_postgres(admin: String, mut set: impl FnMut(ServiceName, String)) -> (String, Vec<String>) {
    let run = shared::ids::random_hex128();
    let mut names = Vec::new();
    for service in ServiceName::ALL {
        let name = format!("mkt_{}_{}", &run[..12], service);
        let url = shared::db::create_postgres_database(&admin, &name)
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required for this run: {e}"));
        set(service, url);
        names.push(name);
    }
    (admin, names)
}

impl TestMarket {
    fn of(
        config: Config,
        data_dir: tempfile::TempDir,
        running: Vec<Running>,
        postgres: Option<(String, Vec<String>)>,
        child: Option<std::process::Child>,
    ) -> TestMarket {
        TestMarket {
            broker: config.broker.public_url(),
            settlement: config.settlement.public_url(),
            delivery: config.delivery.public_url(),
            operator: config.operator_token.clone().unwrap(),
            client: reqwest::Client::new(),
            config,
            data_dir,
            running,
            postgres,
            child,
        }
    }

    pub async fn spawn() -> TestMarket {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the market after letting the test adjust the configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestMarket {
        shared::telemetry::init(false);
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config { data_dir: data_dir.path().to_path_buf(), ..Config::default() };
        config.operator_token = Some(shared::crypto::random_token("op"));
        config.outbox.poll_interval_ms = 50;
        config.outbox.base_backoff_ms = 50;
        config.outbox.max_backoff_ms = 500;
        let listeners: Vec<TcpListener> =
            ServiceName::ALL.iter().map(|_| TcpListener::bind("127.0.0.1:0").expect("bind")).collect();
        for (service, listener) in ServiceName::ALL.into_iter().zip(&listeners) {
            let svc = config.service_mut(service);
            svc.addr = listener.local_addr().unwrap();
            svc.workers = 1;
            svc.pool_size = 4;
        }
        let postgres = postgres_admin_url()
            .map(|admin| fresh_postgres(admin, |service, url| config.service_mut(service).database_url = Some(url)));
        adjust(&mut config);
        let mut running = Vec::new();
        for (service, listener) in ServiceName::ALL.into_iter().zip(listeners) {
            let r = match service {
                ServiceName::Broker => broker::start(&config, listener),
                ServiceName::Settlement => settlement::start(&config, listener),
                ServiceName::Delivery => delivery::start(&config, listener),
            };
            running.push(r.unwrap_or_else(|e| panic!("starting {service}: {e}")));
        }
        TestMarket::of(config, data_dir, running, postgres, None)
    }

    /// The market as users run it: the `marketplace up` binary in its own process, with
    /// its log (at debug level) written to `<data dir>/launcher.log`.
    pub async fn spawn_process() -> TestMarket {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config { data_dir: data_dir.path().to_path_buf(), ..Config::default() };
        config.operator_token = Some(shared::crypto::random_token("op"));
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_marketplace"));
        cmd.arg("up")
            .env("MARKETPLACE_DATA_DIR", data_dir.path())
            .env("MARKETPLACE_OPERATOR_TOKEN", config.operator_token.as_ref().unwrap())
            .env("MARKETPLACE_LOG", "debug");
        for service in ServiceName::ALL {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
            config.service_mut(service).addr = port;
            cmd.env(format!("MARKETPLACE_{}_ADDR", service.as_str().to_uppercase()), port.to_string());
        }
        let postgres = postgres_admin_url().map(|admin| {
            fresh_postgres(admin, |service, url| {
                cmd.env(format!("MARKETPLACE_{}_DATABASE_URL", service.as_str().to_uppercase()), &url);
                config.service_mut(service).database_url = Some(url);
            })
        });
        let log = std::fs::File::create(data_dir.path().join("launcher.log")).unwrap();
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        let child = cmd.spawn().expect("launcher starts");
        let market = TestMarket::of(config, data_dir, Vec::new(), postgres, Some(child));
        for service in ServiceName::ALL {
            let url = format!("{}/readyz", market.url(service));
            market
                .eventually("the launcher to be ready", || async {
                    let r = market.client.get(&url).send().await.ok()?;
                    r.status().is_success().then_some(())
                })
                .await;
        }
        market
    }

    /// Sends SIGTERM to the launcher and waits for it to exit; returns its exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }

    /// What the launcher logged so far.
    pub fn launcher_log(&self) -> String {
        std::fs::read_to_string(self.config.data_dir.join("launcher.log")).unwrap_or_default()
    }

    pub fn url(&self, service: ServiceName) -> &str {
        match service {
            ServiceName::Broker => &self.broker,
            ServiceName::Settlement => &self.settlement,
            ServiceName::Delivery => &self.delivery,
        }
    }

    /// Any request; `token` goes in `Authorization: Bearer`.
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.client.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    pub async fn get(&self, url: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, url, token, None, &[]).await
    }

    pub async fn post(&self, url: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, url, token, Some(&body), &[]).await
    }

    pub async fn put(&self, url: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PUT, url, token, Some(&body), &[]).await
    }

    /// Sends raw bytes as JSON (for malformed-input tests).
    pub async fn post_raw(&self, url: &str, token: Option<&str>, body: &'static str) -> Answer {
        let mut req = self.client.post(url).header("content-type", "application/json").body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    /// The operator's trial balance, asserted to balance.
    pub async fn balanced_trial_balance(&self) -> Value {
        let tb =
            self.get(&format!("{}/v1/ledger/trial-balance", self.settlement), Some(&self.operator)).await.expect(200);
        assert_eq!(tb["total_debits"], tb["total_credits"], "{tb}");
        tb
    }

    /// Polls `check` until it returns `Some`, for effects that travel through an outbox.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// How many messages of `kind` about `order` the broker has written to its outbox.
    pub fn broker_sent(&self, kind: &str, order: &OrderId) -> i64 {
        use diesel::prelude::*;
        use shared::schema::outbox;
        let db = shared::db::Db::open(&self.config.database_url(ServiceName::Broker), 1, broker::MIGRATIONS).unwrap();
        let (kind, key) = (kind.to_string(), order.to_string());
        db.read_blocking(move |c| {
            outbox::table
                .filter(outbox::kind.eq(kind))
                .filter(outbox::ordering_key.eq(key))
                .count()
                .get_result::<i64>(c)
                .map_err(shared::db::DbError::from)
        })
        .unwrap()
    }

    /// Files the mail sender wrote (file transport), as text.
    pub fn mails(&self) -> Vec<String> {
        let dir: PathBuf = self.config.data_dir.join("mail");
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(e.path()) {
                    out.push(text);
                }
            }
        }
        out
    }

    /// Stops one service (an outage): its port refuses connections until
    /// [`Self::start_service`].
    pub async fn stop_service(&mut self, service: ServiceName) {
        let i = self.running.iter().position(|r| r.name == service).expect("the service runs");
        self.running.remove(i).stop(true).await;
    }

    /// Starts a stopped service again, on its port and its data.
    pub fn start_service(&mut self, service: ServiceName) {
        let listener = TcpListener::bind(self.config.service(service).addr).expect("the port is free again");
        let r = match service {
            ServiceName::Broker => broker::start(&self.config, listener),
            ServiceName::Settlement => settlement::start(&self.config, listener),
            ServiceName::Delivery => delivery::start(&self.config, listener),
        };
        self.running.push(r.unwrap_or_else(|e| panic!("starting {service}: {e}")));
    }

    /// The admin calls of `service` with `bearer`.
    pub fn admin_as(&self, service: ServiceName, bearer: &str) -> client::admin::Admin {
        client::admin::Admin::new(Api::new(self.url(service)).bearer(Some(bearer.to_string())))
    }

    /// The value of one series of `service`'s `/metrics` (0 when absent).
    pub async fn metric(&self, service: ServiceName, series: &str) -> f64 {
        let text =
            self.client.get(format!("{}/metrics", self.url(service))).send().await.unwrap().text().await.unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0.0)
    }

    /// Stops the services gracefully (tests that restart on the same data use this).
    pub async fn stop(mut self) -> (Config, tempfile::TempDir) {
        for r in self.running.drain(..) {
            r.stop(true).await;
        }
        let postgres = self.postgres.take();
        let config = self.config.clone();
        // Keep the databases: the caller may restart on them.
        std::mem::forget(postgres);
        let dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap());
        (config, dir)
    }
}

impl Drop for TestMarket {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some((admin, names)) = self.postgres.take() {
            // Best effort: the servers may still hold connections, which FORCE closes.
            for n in names {
                let _ = shared::db::drop_postgres_database(&admin, &n);
            }
        }
    }
}

/// A page's form posted as the page posts it (same origin), with the session `cookie` if
/// any and no body when `form` is empty; the response as it came.
pub async fn post_form(
    c: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = c.post(url).header("sec-fetch-site", "same-origin");
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    if !form.is_empty() {
        req = req.form(form);
    }
    req.send().await.expect("request sent")
}

/// A page's text (the request sent, the body read).
pub async fn page_text(req: reqwest::RequestBuilder) -> String {
    req.send().await.expect("request sent").text().await.expect("body read")
}

/// The balance of the trial balance's account of `kind` (0 when it has none yet).
pub fn kind_balance(tb: &Value, kind: &str) -> i64 {
    tb["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == kind)
        .map_or(0, |a| a["balance"]["amount"].as_i64().unwrap())
}

pub fn json_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no `{key}` in {v}")).to_string()
}

pub fn money(amount: i64) -> Value {
    json!({ "amount": amount, "currency": "EUR" })
}

/// Tokens and messages as another service would make them, so that one service can be
/// tested before or apart from the others.
impl TestMarket {
    fn signer(&self, service: ServiceName) -> shared::auth::TokenSigner {
        let ring = shared::crypto::KeyRing::load_or_create(&self.config.data_dir, service.as_str()).unwrap();
        shared::auth::TokenSigner::new(service, &ring)
    }

    /// An order capability as the broker issued them before acceptance, disputes and
    /// returns (which such a capability still stands for).
    pub fn capability_for(&self, order_id: impl AsRef<str>) -> String {
        self.capability_scoped(order_id, &shared::auth::EARLIER_BUYER_SCOPES)
    }

    /// A broker-signed token for the order with only these scopes.
    pub fn capability_scoped(&self, order_id: impl AsRef<str>, scopes: &[&str]) -> String {
        let mut claims = shared::auth::Claims::new(
            ServiceName::Broker,
            order_id.as_ref(),
            shared::auth::Role::Capability,
            &ServiceName::ALL,
            3600,
        );
        claims.scope = scopes.iter().map(|s| s.to_string()).collect();
        self.signer(ServiceName::Broker).sign(&claims).unwrap()
    }

    /// A seller's access token as the broker issues it at a password sign-in just now.
    pub fn seller_token_for(&self, seller_id: impl AsRef<str>) -> String {
        self.seller_token_signed_in_at(seller_id, Some(shared::time::unix_seconds()))
    }

    /// A seller's access token whose password sign-in was at `auth_time` (`None`: a token
    /// that carries no sign-in time).
    pub fn seller_token_signed_in_at(&self, seller_id: impl AsRef<str>, auth_time: Option<i64>) -> String {
        let mut claims = shared::auth::Claims::new(
            ServiceName::Broker,
            seller_id.as_ref(),
            shared::auth::Role::Seller,
            &ServiceName::ALL,
            3600,
        );
        claims.auth_time = auth_time;
        self.signer(ServiceName::Broker).sign(&claims).unwrap()
    }

    /// A shipment view token as the broker signs it for an order's seller.
    pub fn shipment_view_token_for(&self, order_id: impl AsRef<str>) -> String {
        let order = shared::ids::OrderId::parse(order_id.as_ref()).unwrap();
        shared::shipment_view::issue(&self.signer(ServiceName::Broker), &order).unwrap().0
    }

    /// A shipment view token with the broker's claims and `typ`, issued at `issued_at`
    /// (unix seconds) and signed by `service`'s key: only the broker's, unexpired, passes.
    pub fn shipment_view_token_signed_by(
        &self,
        service: ServiceName,
        order_id: impl AsRef<str>,
        issued_at: i64,
    ) -> String {
        let order = shared::ids::OrderId::parse(order_id.as_ref()).unwrap();
        let claims = shared::shipment_view::ShipmentViewClaims::new(ServiceName::Broker, &order, issued_at);
        self.signer(service).sign_typed(shared::auth::SHIPMENT_VIEW_TYP, &claims).unwrap()
    }

    /// A seller reads its order's shipment at delivery the only way there is: the broker
    /// mints a view token for the order, delivery answers it. The broker's refusal is
    /// returned as it is.
    pub async fn seller_shipment(&self, order_id: impl std::fmt::Display, seller_token: &str) -> Answer {
        let mint = format!("{}/v1/seller/orders/{order_id}/shipment-view", self.broker);
        let minted = self.call(Method::POST, &mint, Some(seller_token), None, &[]).await;
        if !minted.status.is_success() {
            return minted;
        }
        let token = json_of(&minted.body, "token");
        self.get(&format!("{}/v1/seller/shipments/{order_id}", self.delivery), Some(&token)).await
    }

    /// `table.column` of each column of `tables` in `service`'s database that holds `needle`
    /// in any row, whatever columns the tables have, on either backend.
    pub fn columns_holding(&self, service: ServiceName, tables: &[&str], needle: impl AsRef<str>) -> Vec<String> {
        let needle = needle.as_ref();
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        assert!(needle.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{needle}");
        let url = self.config.database_url(service);
        let postgres = shared::db::Backend::of_url(&url) == shared::db::Backend::Postgres;
        let mut conn = shared::db::Manager::new(&url).establish().expect("connect");
        let mut found = Vec::new();
        for table in tables {
            let columns = if postgres {
                format!(
                    "SELECT column_name::text AS name FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = '{table}'"
                )
            } else {
                format!("SELECT name FROM pragma_table_info('{table}')")
            };
            let columns: Vec<Name> = diesel::sql_query(columns).load(&mut conn).unwrap();
            assert!(!columns.is_empty(), "no table {table} in {service}'s database");
            for c in columns {
                let q = format!(
                    "SELECT COUNT(*) AS n FROM \"{table}\" WHERE CAST(\"{}\" AS TEXT) LIKE '%{needle}%'",
                    c.name
                );
                let hits = diesel::sql_query(&q).get_result::<Count>(&mut conn).unwrap_or_else(|e| panic!("{q}: {e}"));
                if hits.n > 0 {
                    found.push(format!("{table}.{}", c.name));
                }
            }
        }
        found
    }

    /// Delivers a message to `to`'s inbox as `from` would; returns the HTTP status.
    pub async fn send_message(&self, from: ServiceName, to: ServiceName, message: shared::messages::Message) -> u16 {
        self.send_envelope(from, to, from.as_str(), message).await.status.as_u16()
    }

    /// Delivers a message signed with `signer`'s key whose envelope claims `source`.
    pub async fn send_envelope(
        &self,
        signer: ServiceName,
        to: ServiceName,
        source: &str,
        message: shared::messages::Message,
    ) -> Answer {
        let envelope =
            shared::messages::Envelope { id: shared::ids::MessageId::generate(), source: source.into(), message };
        let token = self.signer(signer).service_token(to).unwrap();
        let url = format!("{}{}", self.url(to), shared::messages::INBOX_PATH);
        let body = serde_json::to_value(&envelope).unwrap();
        self.call(reqwest::Method::POST, &url, Some(&token), Some(&body), &[]).await
    }

    /// A token of `role` for `sub`, signed with `service`'s key as if it issued it.
    pub fn token_signed_by(&self, service: ServiceName, role: shared::auth::Role, sub: impl AsRef<str>) -> String {
        let mut claims = shared::auth::Claims::new(service, sub.as_ref(), role, &ServiceName::ALL, 3600);
        claims.scope = ["read", "cancel", "address", "message"].map(String::from).to_vec();
        self.signer(service).sign(&claims).unwrap()
    }
}

/// The typed calls of the `client` crate, at this market's services.
impl TestMarket {
    /// The broker's routes, called with `bearer` (none: anonymously).
    pub fn broker_as(&self, bearer: Option<&str>) -> Broker {
        Broker::new(Api::new(&self.broker).bearer(bearer.map(str::to_string)))
    }

    /// Settlement's routes, called with `bearer`.
    pub fn settlement_as(&self, bearer: Option<&str>) -> Settlement {
        Settlement::new(Api::new(&self.settlement).bearer(bearer.map(str::to_string)))
    }

    /// Delivery's routes, called with `bearer`.
    pub fn delivery_as(&self, bearer: Option<&str>) -> Delivery {
        Delivery::new(Api::new(&self.delivery).bearer(bearer.map(str::to_string)))
    }
}

/// A typed answer a test expects: the value, or a panic that shows the refusal.
pub trait Expect<T> {
    /// The answer's value; panics with the status and body of a refusal.
    fn done(self) -> T;
    /// The refusal, asserted to have this status and problem code.
    fn refused(self, status: u16, code: &str) -> Reply;
}

impl<T: std::fmt::Debug> Expect<T> for client::Answer<T> {
    #[track_caller]
    fn done(self) -> T {
        match self {
            Ok(v) => v,
            Err(Failure::Refused(r)) => panic!("refused ({}): {}", r.status, r.body),
            Err(Failure::Unreachable(e)) => panic!("{e}"),
        }
    }

    #[track_caller]
    fn refused(self, status: u16, code: &str) -> Reply {
        match self {
            Err(Failure::Refused(r)) => {
                assert_eq!((r.status, r.code()), (status, code), "unexpected refusal: {}", r.body);
                r
            }
            other => panic!("expected a {status} {code} refusal, got {other:?}"),
        }
    }
}

/// The password every account of the set-up helpers signs in with.
pub const PASSWORD: &str = "correct horse battery";

/// Catalog set-up: unions, accounts, stores, products and offers through the broker's API.
impl TestMarket {
    pub async fn create_union(&self, name: &str, region: &str) -> UnionId {
        let union = NewUnion { name: name.into(), region: region.into() };
        self.broker_as(Some(&self.operator)).create_union(&union).await.done().id
    }

    /// Registers a seller and logs in: `(seller_id, access_token)`.
    pub async fn create_seller(&self, name: &str) -> (SellerId, String) {
        let email = format!("{}@sellers.example", shared::ids::random_hex128());
        (self.register_seller(name, &email).await, self.login(&email, PASSWORD).await)
    }

    /// Registers a seller under `email`, with `PASSWORD`, without signing in.
    pub async fn register_seller(&self, name: &str, email: &str) -> SellerId {
        let body = NewSeller { name: name.into(), email: email.into(), password: PASSWORD.into() };
        let created = self.broker_as(None).register_seller(&body).await.done();
        SellerId::parse(&created.id).unwrap()
    }

    /// Creates a manufacturer (with its own store) and logs in: `(id, store_id, token)`.
    pub async fn create_manufacturer(&self, name: &str) -> (ManufacturerId, StoreId, String) {
        let email = format!("{}@makers.example", shared::ids::random_hex128());
        let body = NewManufacturer { name: name.into(), email: email.clone(), password: PASSWORD.into(), region: None };
        let created = self.broker_as(Some(&self.operator)).create_manufacturer(&body).await.done();
        (created.id, created.store_id, self.login(&email, PASSWORD).await)
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let credentials = Credentials { email: email.into(), password: password.into() };
        self.broker_as(None).sign_in_account(&credentials).await.done().access_token
    }

    pub async fn create_store(
        &self,
        seller_token: &str,
        union_id: impl AsRef<str>,
        name: &str,
        category: &str,
    ) -> StoreId {
        let store = NewStoreBody { name: name.into(), union_id: union_id.as_ref().into(), category: category.into() };
        self.broker_as(Some(seller_token)).create_store(&store).await.done().id
    }

    /// A product added by `token` (the operator or a manufacturer), priced in EUR.
    pub async fn create_product(
        &self,
        token: &str,
        name: &str,
        kind: &str,
        attributes: Value,
        list_price: i64,
    ) -> ProductId {
        let product = NewProduct {
            name: name.into(),
            kind: kind.into(),
            attributes: Some(attributes),
            list_price: eur(list_price),
            manufacturer_id: None,
            requires_approval: false,
            backorder_days: None,
            compatible_with: Vec::new(),
        };
        self.broker_as(Some(token)).create_product(&product).await.done().id
    }

    /// Sets a store's offer (price in EUR); extra members (e.g. `union_fulfilment`) merge in.
    #[allow(clippy::too_many_arguments)] // mirrors the offer's fields, as the tests read them
    pub async fn put_offer(
        &self,
        seller_token: &str,
        store_id: impl AsRef<str>,
        product_id: impl AsRef<str>,
        price: i64,
        stock: i64,
        sellable: bool,
        extra: Value,
    ) -> OfferView {
        let mut body = json!({"price": money(price), "stock": stock, "sellable": sellable});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let offer: OfferBody = serde_json::from_value(body).expect("an offer's members");
        let broker = self.broker_as(Some(seller_token));
        broker.put_offer(store_id.as_ref(), product_id.as_ref(), &offer).await.done()
    }

    /// What `store_id` answers a buyer who chooses `quantity` of `product_id`.
    pub async fn select(&self, store_id: impl AsRef<str>, product_id: impl AsRef<str>, quantity: i64) -> Selection {
        let body = SelectionBody { product_id: product_id.as_ref().to_string(), quantity };
        self.broker_as(None).select(store_id.as_ref(), &body).await.done()
    }

    /// A union in the north, a seller with one store in it and one product of `kind` on
    /// offer there (sellable, at its list price), all named after `name`.
    pub async fn shop(&self, name: &str, kind: &str, price: i64, stock: i64) -> Shop {
        let union = self.create_union(&format!("{name} union"), "north").await;
        let (seller, seller_token) = self.create_seller(&format!("{name} seller")).await;
        let store = self.create_store(&seller_token, &union, &format!("{name} store"), "tools").await;
        let product = self.create_product(&self.operator, &format!("{name} {kind}"), kind, json!({}), price).await;
        self.put_offer(&seller_token, &store, &product, price, stock, true, json!({})).await;
        Shop { union, seller, seller_token, store, product }
    }

    /// An anonymous buyer's order as `order` asks it, placed (201).
    pub async fn place_order(&self, order: &PlaceOrder) -> Placed {
        self.place_order_as(None, order).await
    }

    /// An order placed with `bearer` (a buyer's token, or none), placed (201).
    pub async fn place_order_as(&self, bearer: Option<&str>, order: &PlaceOrder) -> Placed {
        let key = shared::ids::random_hex128();
        match self.broker_as(bearer).place(order, &key).await.done() {
            Placement::Placed(placed) => placed,
            other => panic!("placed earlier: {other:?}"),
        }
    }

    /// An anonymous buyer's order of `quantity` of `product` at `store`, placed (201).
    pub async fn place(&self, store: &StoreId, product: &ProductId, quantity: i64) -> Placed {
        self.place_order(&order_of(store, product, quantity)).await
    }

    /// The order as its buyer (`bearer`: its capability) reads it at the broker.
    pub async fn order_view(&self, order: &OrderId, bearer: &str) -> BuyerView {
        self.broker_as(Some(bearer)).order(order.as_str()).await.done()
    }
}

/// A store with one product on offer, and who sells there.
pub struct Shop {
    pub union: UnionId,
    pub seller: SellerId,
    pub seller_token: String,
    pub store: StoreId,
    pub product: ProductId,
}

/// An order of `quantity` of `product` at `store` and nothing else: callers set the rest.
pub fn order_of(store: &StoreId, product: &ProductId, quantity: i64) -> PlaceOrder {
    PlaceOrder {
        store_id: store.clone(),
        product_id: product.clone(),
        quantity,
        referral: None,
        referral_store_id: None,
        expected_price: None,
        contact: None,
        points: None,
    }
}

/// A typed id read out of a JSON answer.
#[track_caller]
pub fn id_of<T: std::str::FromStr>(v: &Value, key: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    json_of(v, key).parse().unwrap_or_else(|e| panic!("`{key}` is no id: {e:?} in {v}"))
}

/// A price in EUR, as the typed bodies carry it.
pub fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::EUR)
}

impl TestMarket {
    /// A broker-issued manufacturer token, as sign-in would give.
    pub fn manufacturer_token_for(&self, manufacturer_id: impl AsRef<str>) -> String {
        let mut claims = shared::auth::Claims::new(
            ServiceName::Broker,
            manufacturer_id.as_ref(),
            shared::auth::Role::Manufacturer,
            &ServiceName::ALL,
            3600,
        );
        claims.auth_time = Some(claims.iat);
        self.signer(ServiceName::Broker).sign(&claims).unwrap()
    }
}
