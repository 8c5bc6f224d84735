//! Crash safety: the real launcher (`marketplace up`) runs as a child process while
//! concurrent buyers, a payment partner and a courier drive checkouts through it; the
//! launcher is SIGKILLed at random moments and restarted on the same data each time.
//! Clients retry as real ones would (the partner with the same idempotency key). Once
//! the kills stop and the outboxes drain, the three databases and the ledger are checked:
//! nothing lost, nothing done twice.
//!
//! `MARKETPLACE_CRASH_SEED` replays a run's kill schedule; the seed is printed.

use crate::helpers::postgres_admin_url;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use reqwest::Method;
use serde_json::{json, Value};
use shared::config::{Config, ServiceName};
use shared::db::AnyConnection;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KILLS: usize = 22;
const BUYERS: usize = 6;
const PRODUCTS: usize = 3;
const OFFER_STOCK: i64 = 100_000;
const NODE_STOCK: i64 = 50_000;
const PRICE: i64 = 1_990;
const REGION: &str = "north";

/// The launcher process and how to start it again on the same data.
struct Launcher {
    child: Option<Child>,
    env: Vec<(String, String)>,
    log: PathBuf,
    urls: [String; 3],
    starts: usize,
}

impl Launcher {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("launcher log");
        // Quick retries and short leases: a restart should not wait out production's
        // minute-long backoff or a dead process's claims.
        let config = self.log.with_file_name("crash-test.toml");
        std::fs::write(
            &config,
            "[outbox]\npoll_interval_ms = 100\nbase_backoff_ms = 50\nmax_backoff_ms = 1000\nlease_secs = 3\n\n\
             [settings.rate_limits]\nplacement = { per_minute = 600000, burst = 100000 }\n",
        )
        .expect("config written");
        let child = Command::new(env!("CARGO_BIN_EXE_marketplace"))
            .arg("up")
            .env("MARKETPLACE_CONFIG", &config)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("the launcher starts");
        self.child = Some(child);
        self.starts += 1;
    }

    /// SIGKILL: no handler runs, no transaction finishes, no buffer is flushed.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL delivered");
            child.wait().expect("the launcher is reaped");
        }
    }

    /// Waits until all three services answer `/readyz`.
    async fn wait_ready(&mut self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for url in &self.urls {
            loop {
                let ok = client.get(format!("{url}/readyz")).send().await.map(|r| r.status().is_success());
                if ok.unwrap_or(false) {
                    break;
                }
                if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                    panic!("the launcher exited with {status}; see {}", self.log.display());
                }
                assert!(Instant::now() < deadline, "{url} not ready within 60 s; see {}", self.log.display());
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    }
}

impl Drop for Launcher {
    fn drop(&mut self) {
        self.kill();
        // The data dir goes with the test; show what the launcher said before it does.
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("last lines of the launcher's log:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
    }
}

/// Databases made for one run, dropped when it ends, whether it passed or not.
struct PgDatabases {
    admin: Option<String>,
    names: Vec<String>,
}

impl Drop for PgDatabases {
    fn drop(&mut self) {
        if let Some(admin) = &self.admin {
            for name in &self.names {
                let _ = shared::db::drop_postgres_database(admin, name);
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().unwrap().port()
}

/// An HTTP client that treats the launcher being down as "try again".
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    urls: Arc<[String; 3]>,
}

/// How a call ended: an answer, or the launcher was not there (connection refused or
/// reset, or a 5xx while it went down).
enum Outcome {
    Answer(u16, Value),
    Down,
}

impl Client {
    fn url(&self, service: ServiceName, path: &str) -> String {
        let i = ServiceName::ALL.iter().position(|s| *s == service).unwrap();
        format!("{}{path}", self.urls[i])
    }

    fn request(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req
    }

    async fn once(&self, req: reqwest::RequestBuilder) -> Outcome {
        let Ok(resp) = req.send().await else { return Outcome::Down };
        let status = resp.status().as_u16();
        let Ok(bytes) = resp.bytes().await else { return Outcome::Down };
        if status >= 500 {
            return Outcome::Down;
        }
        Outcome::Answer(status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Sends `req` again through restarts until the services answer; gives the answer.
    async fn call(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let what = req.try_clone().and_then(|r| r.build().ok()).map(|r| format!("{} {}", r.method(), r.url()));
        loop {
            match self.once(req.try_clone().expect("a body sent whole")).await {
                Outcome::Answer(status, body) => return (status, body),
                Outcome::Down => {
                    assert!(Instant::now() < deadline, "{}: no answer for 120 s", what.as_deref().unwrap_or("?"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// A set-up call made while the launcher is known to be up.
    async fn expect(&self, method: Method, url: &str, token: Option<&str>, body: Value, status: u16) -> Value {
        let (s, v) = self.call(self.request(method.clone(), url, token, Some(&body), None)).await;
        assert_eq!(s, status, "{method} {url}: {v}");
        v
    }
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no `{key}` in {v}")).to_string()
}

/// What set-up made.
struct World {
    store_id: String,
    node_id: String,
    products: Vec<String>,
    partner_key: String,
    courier: String,
    operator: String,
    seller: String,
}

async fn set_up(c: &Client, operator: &str) -> World {
    use ServiceName::*;
    let union = c
        .expect(
            Method::POST,
            &c.url(Broker, "/v1/unions"),
            Some(operator),
            json!({"name": "Crash union", "region": REGION}),
            201,
        )
        .await;
    let email = format!("{}@crash.example", shared::ids::random_hex128());
    let password = "crash test password";
    c.expect(
        Method::POST,
        &c.url(Broker, "/v1/sellers"),
        None,
        json!({"name": "Crash seller", "email": email, "password": password}),
        201,
    )
    .await;
    let session = c
        .expect(Method::POST, &c.url(Broker, "/v1/sessions"), None, json!({"email": email, "password": password}), 200)
        .await;
    let seller = text(&session, "access_token");
    let store = c
        .expect(
            Method::POST,
            &c.url(Broker, "/v1/stores"),
            Some(&seller),
            json!({"name": "Crash store", "union_id": text(&union, "id"), "category": "office"}),
            201,
        )
        .await;
    let store_id = text(&store, "id");
    // Remittances go only to a payout account; settlement knows the store once the
    // broker's message has arrived.
    let payout = c.url(Settlement, &format!("/v1/seller/payout-account?store_id={store_id}"));
    let account = json!({"holder": "Crash Store GmbH", "iban": "DE89370400440532013000"});
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, v) = c.call(c.request(Method::PUT, &payout, Some(&seller), Some(&account), None)).await;
        if s == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "payout account: {s} {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let node = c
        .expect(
            Method::POST,
            &c.url(Delivery, "/v1/nodes"),
            Some(operator),
            json!({"kind": "branch", "name": "Crash branch", "region": REGION, "position": {"lat": 52.0, "lon": 13.0}, "rank": 1}),
            201,
        )
        .await;
    let node_id = text(&node, "id");
    let mut products = Vec::new();
    for i in 0..PRODUCTS {
        let p = c
            .expect(
                Method::POST,
                &c.url(Broker, "/v1/products"),
                Some(operator),
                json!({"name": format!("toner {i}"), "kind": "toner", "attributes": {"model": format!("c{i}")},
                       "list_price": {"amount": PRICE, "currency": "EUR"}}),
                201,
            )
            .await;
        let pid = text(&p, "id");
        c.expect(
            Method::PUT,
            &c.url(Broker, &format!("/v1/stores/{store_id}/offers/{pid}")),
            Some(&seller),
            json!({"price": {"amount": PRICE, "currency": "EUR"}, "stock": OFFER_STOCK, "sellable": true}),
            200,
        )
        .await;
        c.expect(
            Method::PUT,
            &c.url(Delivery, &format!("/v1/nodes/{node_id}/inventory/{pid}")),
            Some(operator),
            json!({"quantity": NODE_STOCK}),
            200,
        )
        .await;
        products.push(pid);
    }
    let courier_email = format!("{}@couriers.example", shared::ids::random_hex128());
    c.expect(
        Method::POST,
        &c.url(Delivery, "/v1/couriers"),
        Some(operator),
        json!({"name": "Crash courier", "email": courier_email, "password": password}),
        201,
    )
    .await;
    let courier = c
        .expect(
            Method::POST,
            &c.url(Delivery, "/v1/sessions"),
            None,
            json!({"email": courier_email, "password": password}),
            200,
        )
        .await;
    let partner = c
        .expect(Method::POST, &c.url(Settlement, "/v1/partners"), Some(operator), json!({"name": "Crash partner"}), 201)
        .await;
    World {
        store_id,
        node_id,
        products,
        partner_key: text(&partner, "api_key"),
        courier: text(&courier, "access_token"),
        operator: operator.to_string(),
        seller,
    }
}

/// What the clients saw, to compare with what the databases hold.
#[derive(Default)]
struct Seen {
    /// Orders whose payment the partner saw captured: order id → (payment id, amount).
    captured: BTreeMap<String, (String, i64)>,
    /// Checkouts the clients saw through to `released` (the buyer's accept, or the
    /// window's end).
    released: BTreeSet<String>,
    /// Checkouts disputed and settled by a 50 % offer the buyer took: order id → refund.
    split: BTreeMap<String, i64>,
    /// Orders placed (201 seen), whether or not the checkout went on.
    placed: BTreeSet<String>,
    /// Placement calls whose answer was lost in a crash: they may or may not exist.
    lost_placements: usize,
    failures: Vec<String>,
}

/// One checkout, resumable after any crash: each step is retried until the services
/// answer, and a retried step accepts the state a lost answer left behind.
async fn checkout(c: &Client, w: &World, i: usize, seen: &Mutex<Seen>) -> Result<(), String> {
    use ServiceName::*;
    let product = &w.products[i % w.products.len()];
    let (s, _) = c
        .call(c.request(
            Method::GET,
            &c.url(Broker, &format!("/v1/search?kind=toner&attr.model=c{}", i % PRODUCTS)),
            None,
            None,
            None,
        ))
        .await;
    if s != 200 {
        return Err(format!("search answered {s}"));
    }
    // Placing an order is not idempotent: an answer lost in a crash leaves an order
    // nobody pays, which the checks below allow for.
    let body = json!({"store_id": w.store_id, "product_id": product, "quantity": 1});
    let order = loop {
        match c.once(c.request(Method::POST, &c.url(Broker, "/v1/orders"), None, Some(&body), None)).await {
            Outcome::Answer(201, v) => break v,
            Outcome::Answer(s, v) => return Err(format!("order answered {s}: {v}")),
            Outcome::Down => {
                seen.lock().unwrap().lost_placements += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let order_id = text(&order, "order_id");
    let cap = text(&order, "capability");
    seen.lock().unwrap().placed.insert(order_id.clone());

    let address = json!({"name": format!("Buyer {i}"), "line1": "1 Crash Street", "city": "Northtown",
                         "postal_code": "10115", "region": REGION, "country": "DE"});
    let (s, v) = c
        .call(c.request(
            Method::PUT,
            &c.url(Delivery, &format!("/v1/shipments/{order_id}/address")),
            Some(&cap),
            Some(&address),
            None,
        ))
        .await;
    if s != 204 {
        return Err(format!("{order_id}: address answered {s}: {v}"));
    }

    let key = format!("crash-{order_id}");
    let pay = json!({"order_id": order_id, "amount": order["amount"], "partner_reference": key});
    let started = Instant::now();
    let payment = loop {
        let (s, v) = c
            .call(c.request(
                Method::POST,
                &c.url(Settlement, "/v1/payments"),
                Some(&w.partner_key),
                Some(&pay),
                Some(&key),
            ))
            .await;
        match (s, v["status"].as_str(), v["code"].as_str()) {
            (201, Some("captured"), _) => break v,
            // Not yet known to settlement, or a crashed attempt still holds the key.
            (404, _, Some("unknown_order")) | (409, _, Some("idempotency_key_in_use")) => {
                if started.elapsed() > Duration::from_secs(90) {
                    return Err(format!("{order_id}: payment still {s} after 90 s"));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            _ => return Err(format!("{order_id}: payment answered {s}: {v}")),
        }
    };
    let amount = order["amount"]["amount"].as_i64().unwrap_or_default();
    seen.lock().unwrap().captured.insert(order_id.clone(), (text(&payment, "payment_id"), amount));

    // The courier moves the shipment; after a lost answer the shipment's state says
    // whether the event took.
    let track = c.url(Delivery, &format!("/v1/shipments/{order_id}"));
    let started = Instant::now();
    loop {
        if started.elapsed() > Duration::from_secs(90) {
            return Err(format!("{order_id}: not delivered within 90 s"));
        }
        let (s, v) = c.call(c.request(Method::GET, &track, Some(&cap), None, None)).await;
        if s == 404 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        if s != 200 {
            return Err(format!("{order_id}: tracking answered {s}: {v}"));
        }
        let leg = v["legs"].as_array().and_then(|l| l.first()).map(|l| l["status"].as_str().unwrap_or("").to_string());
        let event = match (v["status"].as_str().unwrap_or(""), leg.as_deref()) {
            ("delivered", _) => break,
            ("routed", Some("open")) => "picked_up",
            ("routed" | "in_transit", Some("picked_up" | "in_transit")) => "delivered",
            ("in_transit", _) => "delivered",
            (status @ ("unroutable" | "returned" | "cancelled"), _) => {
                return Err(format!("{order_id}: shipment {status}"));
            }
            _ => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let url = c.url(Delivery, &format!("/v1/courier/shipments/{}/events", text(&v, "shipment_id")));
        // The buyer's PIN (on their tracking view), told to the courier at the door.
        let body = json!({"type": event, "pin": v["pin"]});
        let (s, v) = c.call(c.request(Method::POST, &url, Some(&w.courier), Some(&body), None)).await;
        if s != 200 && s != 409 {
            return Err(format!("{order_id}: {event} answered {s}: {v}"));
        }
    }

    match i % 5 {
        // The buyer says nothing: the window's end accepts for them.
        3 => {}
        // The buyer disputes; the store offers half back and the buyer takes it.
        // (A kill may hold the buyer up past the window: then the window's end won.)
        4 if dispute(c, w, &order_id, &cap, amount, seen).await? => return Ok(()),
        4 => {}
        _ => accept(c, &order_id, &cap).await?,
    }
    settled(c, &order_id, &cap, "released").await?;
    seen.lock().unwrap().released.insert(order_id);
    Ok(())
}

/// The buyer accepts once the broker has heard of the delivery (409 until then); after a
/// lost answer the same accept answers the same.
async fn accept(c: &Client, order_id: &str, cap: &str) -> Result<(), String> {
    let accept = c.url(ServiceName::Broker, &format!("/v1/orders/{order_id}/accept"));
    let started = Instant::now();
    loop {
        let (s, v) = c.call(c.request(Method::POST, &accept, Some(cap), None, None)).await;
        match s {
            200 => return Ok(()),
            409 if started.elapsed() < Duration::from_secs(90) => tokio::time::sleep(Duration::from_millis(50)).await,
            _ => return Err(format!("{order_id}: accept answered {s}: {v}")),
        }
    }
}

/// Waits until settlement shows the order `status`.
async fn settled(c: &Client, order_id: &str, cap: &str, status: &str) -> Result<Value, String> {
    let view = c.url(ServiceName::Settlement, &format!("/v1/orders/{order_id}/settlement"));
    let started = Instant::now();
    loop {
        let (s, v) = c.call(c.request(Method::GET, &view, Some(cap), None, None)).await;
        if s == 200 && v["status"] == status {
            return Ok(v);
        }
        if started.elapsed() > Duration::from_secs(90) {
            return Err(format!("{order_id}: not {status} within 90 s: {v}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A dispute through to its execution, each step resumable: a step whose answer was lost
/// is seen in the dispute's status (the same step again answers 409). `false` when the
/// acceptance window ended before the buyer could open it.
async fn dispute(
    c: &Client,
    w: &World,
    order_id: &str,
    cap: &str,
    amount: i64,
    seen: &Mutex<Seen>,
) -> Result<bool, String> {
    use ServiceName::Broker;
    let order_url = c.url(Broker, &format!("/v1/orders/{order_id}"));
    let started = Instant::now();
    // Open it once the broker knows the delivery (409 too early until then).
    let dispute_id = loop {
        let (s, v) = c.call(c.request(Method::GET, &order_url, Some(cap), None, None)).await;
        if s == 200 && v["dispute_id"].is_string() {
            break text(&v, "dispute_id");
        }
        if s == 200 && v["accepted_at"].is_string() {
            return Ok(false);
        }
        let body = json!({"reason": "damaged", "message": "The box was crushed."});
        let (s, v) =
            c.call(c.request(Method::POST, &format!("{order_url}/disputes"), Some(cap), Some(&body), None)).await;
        match s {
            201 => break text(&v, "dispute_id"),
            409 if started.elapsed() < Duration::from_secs(90) => tokio::time::sleep(Duration::from_millis(50)).await,
            _ => return Err(format!("{order_id}: dispute answered {s}: {v}")),
        }
    };
    let read = format!("{order_url}/disputes/{dispute_id}");
    let status = |v: &Value| v["status"].as_str().unwrap_or("").to_string();
    let offer = json!({"action": "offer", "refund_percent": 50, "message": "Half back?"});
    let respond = c.url(Broker, &format!("/v1/seller/disputes/{dispute_id}/responses"));
    loop {
        let (s, v) = c.call(c.request(Method::GET, &read, Some(cap), None, None)).await;
        match (s, status(&v).as_str()) {
            (200, "open") => {
                c.call(c.request(Method::POST, &respond, Some(&w.seller), Some(&offer), None)).await;
            }
            (200, "offered") => {
                c.call(c.request(Method::POST, &format!("{read}/accept"), Some(cap), None, None)).await;
            }
            (200, "decided" | "closed") => break,
            _ => return Err(format!("{order_id}: dispute read {s}: {v}")),
        }
        if started.elapsed() > Duration::from_secs(90) {
            return Err(format!("{order_id}: dispute not decided within 90 s"));
        }
    }
    let refund = amount / 2;
    let v = settled(c, order_id, cap, "partially_refunded").await?;
    if v["paid"]["amount"].as_i64() != Some(amount - refund) {
        return Err(format!("{order_id}: after the split settlement holds {v}"));
    }
    seen.lock().unwrap().split.insert(order_id.to_string(), refund);
    Ok(true)
}

/// A database of one service, opened directly (the launcher may be running).
fn connect(url: &str) -> AnyConnection {
    shared::db::Manager::new(url).establish().expect("the database opens")
}

#[derive(QueryableByName, Debug)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName, Debug)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName, Debug)]
struct KeyCount {
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut AnyConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap_or_else(|e| panic!("{sql}: {e}")).n
}

fn ids(conn: &mut AnyConnection, sql: &str) -> BTreeSet<String> {
    diesel::sql_query(sql)
        .load::<IdRow>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn key_counts(conn: &mut AnyConnection, sql: &str) -> BTreeMap<String, i64> {
    diesel::sql_query(sql)
        .load::<KeyCount>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| (r.k, r.n))
        .collect()
}

/// Waits until no outbox of the three services holds an undelivered message.
async fn drained(urls: &HashMap<ServiceName, String>) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut left = Vec::new();
        for (service, url) in urls {
            let n = count(
                &mut connect(url),
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM outbox WHERE status <> 'delivered'",
            );
            if n > 0 {
                left.push(format!("{service}: {n}"));
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            // Name the stuck messages, so a failure says what got stuck and why.
            for (service, url) in urls {
                let stuck = ids(
                    &mut connect(url),
                    "SELECT destination || ' ' || kind || ' ' || status || ' attempts=' || CAST(attempts AS TEXT) \
                     || ' ' || COALESCE(last_error, '') AS id FROM outbox WHERE status <> 'delivered'",
                );
                for row in stuck {
                    eprintln!("{service} outbox: {row}");
                }
            }
            return Err(format!("outboxes not drained within 60 s: {left:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_at_random_moments_loses_nothing_and_does_nothing_twice() {
    let started = Instant::now();
    let seed = std::env::var("MARKETPLACE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from_str_radix(&shared::ids::random_hex128()[..15], 16).unwrap() | 1);
    eprintln!("crash test seed {seed} (MARKETPLACE_CRASH_SEED={seed} replays the kill schedule)");
    let mut rng = fastrand::Rng::with_seed(seed);

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let operator = shared::crypto::random_token("op");
    let ports = [free_port(), free_port(), free_port()];
    let urls = ports.map(|p| format!("http://127.0.0.1:{p}"));
    // Short retry and lock times, so that a run with many crashes drains in seconds.
    let config_file = data.join("marketplace.toml");
    std::fs::write(
        &config_file,
        "[outbox]\npoll_interval_ms = 50\nbase_backoff_ms = 50\nmax_backoff_ms = 1000\n\n\
         [settings.settlement]\nidempotency_lock_secs = 2\nremittance_interval_secs = 0\n\n\
         [settings.payouts]\naccount_hold_hours = 0\n\n\
         [settings.broker]\nacceptance_window_secs = 3\nacceptance_sweep_secs = 1\n\n\
         [settings.rate_limits]\nplacement = { per_minute = 600000, burst = 100000 }\n",
    )
    .unwrap();
    let mut env = vec![
        ("MARKETPLACE_CONFIG".to_string(), config_file.display().to_string()),
        ("MARKETPLACE_DATA_DIR".into(), data.display().to_string()),
        ("MARKETPLACE_OPERATOR_TOKEN".into(), operator.clone()),
        ("MARKETPLACE_BROKER_ADDR".into(), format!("127.0.0.1:{}", ports[0])),
        ("MARKETPLACE_SETTLEMENT_ADDR".into(), format!("127.0.0.1:{}", ports[1])),
        ("MARKETPLACE_DELIVERY_ADDR".into(), format!("127.0.0.1:{}", ports[2])),
    ];
    let admin = postgres_admin_url();
    let run = shared::ids::random_hex128();
    let mut db_urls = HashMap::new();
    let mut pg = PgDatabases { admin: admin.clone(), names: Vec::new() };
    for service in ServiceName::ALL {
        let url = match &admin {
            Some(admin) => {
                let name = format!("crash_{}_{}", &run[..12], service);
                let url = shared::db::create_postgres_database(admin, &name)
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required for this run: {e}"));
                env.push((format!("MARKETPLACE_{}_DATABASE_URL", service.as_str().to_uppercase()), url.clone()));
                pg.names.push(name);
                url
            }
            None => data.join(format!("{service}.db")).display().to_string(),
        };
        db_urls.insert(service, url);
    }
    let mut launcher = Launcher { child: None, env, log: data.join("launcher.log"), urls: urls.clone(), starts: 0 };
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().unwrap();
    let client = Client { http: http.clone(), urls: Arc::new(urls.clone()) };

    launcher.start();
    launcher.wait_ready(&http).await;
    let world = Arc::new(set_up(&client, &operator).await);
    eprintln!("set up in {:.1}s", started.elapsed().as_secs_f64());

    // Buyers: each runs checkouts one after another until told to stop, then finishes
    // the one in hand.
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut buyers = Vec::new();
    for _ in 0..BUYERS {
        let (c, w, stop, next, seen) = (client.clone(), world.clone(), stop.clone(), next.clone(), seen.clone());
        buyers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = checkout(&c, &w, i, &seen).await {
                    seen.lock().unwrap().failures.push(e);
                }
            }
        }));
    }
    // The operator runs remittances now and then, crashes or not.
    let remitter = {
        let (c, w, stop) = (client.clone(), world.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(700)).await;
                let url = c.url(ServiceName::Settlement, "/v1/remittances/run");
                let _ = c.once(c.request(Method::POST, &url, Some(&w.operator), Some(&json!({})), None)).await;
            }
        })
    };

    for kill in 1..=KILLS {
        tokio::time::sleep(Duration::from_millis(rng.u64(600..2_400))).await;
        launcher.kill();
        // Sometimes the restart comes at once, sometimes clients find it down for a while.
        tokio::time::sleep(Duration::from_millis(rng.u64(1..400))).await;
        launcher.start();
        launcher.wait_ready(&http).await;
        let s = seen.lock().unwrap();
        eprintln!(
            "kill {kill:2} at {:5.1}s: {} placed, {} captured, {} released",
            started.elapsed().as_secs_f64(),
            s.placed.len(),
            s.captured.len(),
            s.released.len()
        );
    }
    stop.store(true, Ordering::Relaxed);
    for b in buyers {
        b.await.expect("a buyer task panicked");
    }
    remitter.await.unwrap();
    eprintln!("clients done at {:.1}s", started.elapsed().as_secs_f64());
    // A final remittance, after which every store's available balance is paid out.
    client
        .expect(
            Method::POST,
            &client.url(ServiceName::Settlement, "/v1/remittances/run"),
            Some(&operator),
            json!({}),
            200,
        )
        .await;
    drained(&db_urls).await.unwrap();
    eprintln!("drained at {:.1}s", started.elapsed().as_secs_f64());

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(seen.failures.is_empty(), "checkouts failed: {:#?}", seen.failures);
    assert!(seen.released.len() >= KILLS, "too few checkouts completed to mean anything: {}", seen.released.len());
    assert!(!seen.split.is_empty(), "no dispute was settled: the run proves nothing of decisions");
    assert_eq!(launcher.starts, KILLS + 1);

    let (status, balance) = client
        .call(client.request(
            Method::GET,
            &client.url(ServiceName::Settlement, &format!("/v1/seller/balance?store_id={}", world.store_id)),
            Some(&world.seller),
            None,
            None,
        ))
        .await;
    assert_eq!(status, 200, "{balance}");
    assert_eq!(balance["available"]["amount"], 0, "the last remittance left money behind: {balance}");
    let (status, tb) = client
        .call(client.request(
            Method::GET,
            &client.url(ServiceName::Settlement, "/v1/ledger/trial-balance"),
            Some(&operator),
            None,
            None,
        ))
        .await;
    assert_eq!(status, 200, "{tb}");
    verify(&seen, &world, &db_urls, &tb, &data);
    eprintln!(
        "{} kills, {} checkouts released, {} disputes settled, {} orders placed, {} placement answers lost; {:.1}s in all",
        KILLS,
        seen.released.len(),
        seen.split.len(),
        seen.placed.len(),
        seen.lost_placements,
        started.elapsed().as_secs_f64()
    );

    // The launcher goes first, then its databases.
    launcher.kill();
    drop(pg);
}

/// Everything the crash test proves, from the databases themselves.
fn verify(seen: &Seen, w: &World, db_urls: &HashMap<ServiceName, String>, tb: &Value, data: &Path) {
    let mut broker = connect(&db_urls[&ServiceName::Broker]);
    let mut settlement = connect(&db_urls[&ServiceName::Settlement]);
    let mut delivery = connect(&db_urls[&ServiceName::Delivery]);

    // Every outbox message was delivered, and each one is in its receiver's inbox exactly
    // once (the inbox key makes "more than once" impossible; "once" is checked here):
    // nothing arrived that was not sent, nothing sent is missing.
    let mut conns: HashMap<ServiceName, &mut AnyConnection> = HashMap::new();
    conns.insert(ServiceName::Broker, &mut broker);
    conns.insert(ServiceName::Settlement, &mut settlement);
    conns.insert(ServiceName::Delivery, &mut delivery);
    let mut sent: HashMap<(ServiceName, ServiceName), BTreeSet<String>> = HashMap::new();
    for from in ServiceName::ALL {
        let conn = conns.get_mut(&from).unwrap();
        let undelivered = count(conn, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM outbox WHERE status <> 'delivered'");
        assert_eq!(undelivered, 0, "{from} has undelivered outbox rows");
        let dup = count(conn, "SELECT CAST(COUNT(*) - COUNT(DISTINCT id) AS BIGINT) AS n FROM outbox");
        assert_eq!(dup, 0, "{from}'s outbox holds a message id twice");
        for to in ServiceName::ALL.into_iter().filter(|t| *t != from) {
            let rows = ids(conn, &format!("SELECT id FROM outbox WHERE destination = '{to}'"));
            sent.insert((from, to), rows);
        }
    }
    let mut messages = 0;
    for to in ServiceName::ALL {
        let conn = conns.get_mut(&to).unwrap();
        for from in ServiceName::ALL.into_iter().filter(|f| *f != to) {
            let received = ids(conn, &format!("SELECT message_id AS id FROM inbox WHERE source = '{from}'"));
            let expected = &sent[&(from, to)];
            let missing: Vec<_> = expected.difference(&received).collect();
            let unknown: Vec<_> = received.difference(expected).collect();
            assert!(missing.is_empty(), "{from} → {to}: delivered but not in the inbox: {missing:?}");
            assert!(unknown.is_empty(), "{from} → {to}: in the inbox but never sent: {unknown:?}");
            messages += expected.len();
        }
    }
    assert!(messages > 0);

    // Settlement: one payment per order, captured once; every capture released (the
    // clients finished every checkout) or still held; one release per order.
    let payments_per_order = key_counts(
        &mut settlement,
        "SELECT order_id AS k, CAST(COUNT(*) AS BIGINT) AS n FROM payments WHERE captured > 0 GROUP BY order_id",
    );
    assert!(payments_per_order.values().all(|n| *n == 1), "an order captured twice: {payments_per_order:?}");
    let captured_orders: BTreeSet<String> = payments_per_order.keys().cloned().collect();
    let seen_captured: BTreeSet<String> = seen.captured.keys().cloned().collect();
    assert_eq!(captured_orders, seen_captured, "captures differ from what the partner was told");
    for (order, (payment, amount)) in &seen.captured {
        let refunded = seen.split.get(order).copied().unwrap_or(0);
        let n = count(
            &mut settlement,
            &format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM payments WHERE id = '{payment}' AND order_id = '{order}' \
                 AND captured = {amount} AND refunded = {refunded}"
            ),
        );
        assert_eq!(n, 1, "payment {payment} of {order} is not one capture of {amount}");
    }
    let statuses =
        key_counts(&mut settlement, "SELECT status AS k, CAST(COUNT(*) AS BIGINT) AS n FROM orders GROUP BY status");
    for status in statuses.keys() {
        assert!(
            ["awaiting_payment", "captured", "released", "partially_refunded"].contains(&status.as_str()),
            "settlement orders: {statuses:?}"
        );
    }
    let released = ids(&mut settlement, "SELECT order_id AS id FROM orders WHERE status = 'released'");
    assert_eq!(released, seen.released, "released orders differ from the checkouts the clients finished");
    let split: BTreeSet<String> = seen.split.keys().cloned().collect();
    let partly = ids(&mut settlement, "SELECT order_id AS id FROM orders WHERE status = 'partially_refunded'");
    assert_eq!(partly, split, "partly refunded orders differ from the disputes the clients saw settled");
    let decisions = key_counts(
        &mut settlement,
        "SELECT order_id AS k, CAST(COUNT(*) AS BIGINT) AS n FROM dispute_decisions GROUP BY order_id",
    );
    assert!(decisions.values().all(|n| *n == 1), "a dispute executed twice: {decisions:?}");
    assert_eq!(decisions.keys().cloned().collect::<BTreeSet<_>>(), split);
    let handed_over: BTreeSet<String> = released.union(&split).cloned().collect();
    let held = ids(&mut settlement, "SELECT order_id AS id FROM orders WHERE status = 'captured'");
    assert!(held.is_subset(&captured_orders));
    let per_kind = |conn: &mut AnyConnection, kind: &str| {
        key_counts(
            conn,
            &format!(
                "SELECT order_id AS k, CAST(COUNT(*) AS BIGINT) AS n FROM ledger_transactions WHERE kind = '{kind}' \
                 AND order_id IS NOT NULL GROUP BY order_id"
            ),
        )
    };
    let payment_txns = per_kind(&mut settlement, "payment");
    assert!(payment_txns.values().all(|n| *n == 1), "a payment booked twice: {payment_txns:?}");
    assert_eq!(payment_txns.keys().cloned().collect::<BTreeSet<_>>(), captured_orders);
    let release_txns = per_kind(&mut settlement, "release");
    assert!(release_txns.values().all(|n| *n == 1), "an escrow released twice: {release_txns:?}");
    assert_eq!(release_txns.keys().cloned().collect::<BTreeSet<_>>(), handed_over);
    let refund_txns = per_kind(&mut settlement, "refund");
    assert!(refund_txns.values().all(|n| *n == 1), "a refund booked twice: {refund_txns:?}");
    assert_eq!(refund_txns.keys().cloned().collect::<BTreeSet<_>>(), split);

    // The ledger balances, its cached balances match its entries, no escrow is left
    // for released orders, and remittances paid out exactly what the store earned.
    assert_eq!(tb["total_debits"], tb["total_credits"], "{tb}");
    assert_eq!(tb["balanced"], true, "{tb}");
    let sum: i64 = tb["accounts"].as_array().unwrap().iter().map(|a| a["balance"]["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, 0, "the trial balance does not sum to zero: {tb}");
    let mut config = Config { data_dir: data.to_path_buf(), ..Config::default() };
    config.settlement.database_url = Some(db_urls[&ServiceName::Settlement].clone());
    let report = settlement::reconcile(&config).expect("reconcile runs");
    assert!(report.is_clean(), "{report:?}");
    let kind = |k: &str| {
        tb["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == k)
            .map_or(0, |a| a["balance"]["amount"].as_i64().unwrap())
    };
    let held_amount: i64 = held.iter().map(|o| seen.captured[o].1).sum();
    assert_eq!(kind("escrow"), -held_amount, "escrow differs from the captures not yet released: {tb}");
    let earned: i64 = handed_over
        .iter()
        .map(|o| {
            // A split pays the store the rest, fees on that part only.
            let amount = seen.captured[o].1 - seen.split.get(o).copied().unwrap_or(0);
            let m = shared::money::Money::new(amount, shared::money::Currency::EUR);
            amount - m.fee(shared::config::FeeConfig::default().marketplace()).amount
        })
        .sum();
    let remitted = count(&mut settlement, "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM remittances");
    let remittance_txns = count(
        &mut settlement,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ledger_transactions WHERE kind = 'remittance'",
    );
    let remittance_rows = count(&mut settlement, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM remittances");
    assert_eq!(remittance_txns, remittance_rows, "a remittance booked twice or not at all");
    assert_eq!(remitted, earned, "remitted {remitted}, but the store earned {earned}");
    assert_eq!(kind("payouts"), -earned, "{tb}");

    // Broker: the offer's stock went down by exactly the orders placed; every finished
    // checkout is delivered there too.
    for product in &w.products {
        let stock = count(
            &mut broker,
            &format!("SELECT stock AS n FROM offers WHERE store_id = '{}' AND product_id = '{product}'", w.store_id),
        );
        let ordered = count(
            &mut broker,
            &format!(
                "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS n FROM orders WHERE product_id = '{product}' \
                 AND status <> 'cancelled'"
            ),
        );
        assert_eq!(stock, OFFER_STOCK - ordered, "broker stock of {product}");
    }
    let placed = ids(&mut broker, "SELECT id FROM orders");
    assert!(seen.placed.is_subset(&placed));
    assert!(placed.len() <= seen.placed.len() + seen.lost_placements, "orders appeared that nobody placed");
    let completed = ids(&mut broker, "SELECT id FROM orders WHERE status = 'completed'");
    assert_eq!(completed, seen.released, "broker's completed orders differ");
    let broker_split = ids(&mut broker, "SELECT id FROM orders WHERE status = 'partially_refunded'");
    assert_eq!(broker_split, split, "broker's partly refunded orders differ");
    let closed = ids(&mut broker, "SELECT order_id AS id FROM disputes WHERE status = 'closed'");
    assert_eq!(closed, split, "every settled dispute is closed, and only those");

    // Delivery: one shipment per paid order; the node holds its initial stock less what
    // was shipped; every finished checkout is delivered.
    let shipments = key_counts(
        &mut delivery,
        "SELECT order_id AS k, CAST(COUNT(*) AS BIGINT) AS n FROM shipments GROUP BY order_id",
    );
    assert!(shipments.values().all(|n| *n == 1), "an order shipped twice: {shipments:?}");
    assert_eq!(shipments.keys().cloned().collect::<BTreeSet<_>>(), captured_orders, "shipments differ from captures");
    let shipped_done = ids(&mut delivery, "SELECT order_id AS id FROM shipments WHERE delivered = TRUE");
    assert_eq!(shipped_done, handed_over);
    for product in &w.products {
        let on_hand = count(
            &mut delivery,
            &format!(
                "SELECT quantity AS n FROM inventory WHERE node_id = '{}' AND product_id = '{product}'",
                w.node_id
            ),
        );
        let shipped = count(
            &mut delivery,
            &format!(
                "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS n FROM shipments WHERE product_id = '{product}' \
                 AND source_node IS NOT NULL AND status NOT IN ('cancelled', 'returned')"
            ),
        );
        assert_eq!(on_hand, NODE_STOCK - shipped, "inventory of {product}: {on_hand} on hand, {shipped} shipped");
        let moved = count(
            &mut delivery,
            &format!(
                "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) AS n FROM stock_movements WHERE node_id = '{}' \
                 AND product_id = '{product}'",
                w.node_id
            ),
        );
        assert_eq!(moved, on_hand, "stock movements of {product} do not add up to what is on hand");
    }
}
