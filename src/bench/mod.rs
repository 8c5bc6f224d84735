//! `marketplace bench`: a load generator that drives complete checkouts the way buyers,
//! a payment partner and couriers would, over real HTTP, and reports throughput and
//! latency percentiles per step.
//!
//! It either starts the three services in this process on a fresh data dir (SQLite, or
//! PostgreSQL with `--postgres ADMIN_URL`), or targets running services by URL. The
//! `ledger` scenario (in [`ledger`]) measures reads and writes as the ledger grows.

mod ledger;

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use shared::config::{Config, ServiceName};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Concurrent simulated buyers.
    #[arg(long, default_value_t = 16)]
    pub buyers: usize,
    /// Checkouts (or orders, or searches) to run in total; for `ledger`, balance reads per size.
    #[arg(long, default_value_t = 2000)]
    pub count: usize,
    /// Products in the catalog.
    #[arg(long, default_value_t = 1000)]
    pub catalog: usize,
    /// What each buyer does.
    #[arg(long, value_enum, default_value_t = Scenario::Checkout)]
    pub scenario: Scenario,
    /// Cap the start rate (per second) across all buyers; default: as fast as they can.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Run the services in-process on PostgreSQL (admin URL; fresh databases are created).
    #[arg(long)]
    pub postgres: Option<String>,
    /// Target running services instead of starting them.
    #[arg(long, requires_all = ["settlement", "delivery", "operator_token"])]
    pub broker: Option<String>,
    #[arg(long)]
    pub settlement: Option<String>,
    #[arg(long)]
    pub delivery: Option<String>,
    #[arg(long)]
    pub operator_token: Option<String>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// `ledger`: the ledger sizes (entries) to measure at, grown in this order.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000,1000000")]
    pub ledger_sizes: Vec<u64>,
    /// `ledger`: pay flows (order, then payment and capture) per size.
    #[arg(long, default_value_t = 1000)]
    pub ledger_writes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// search → select → order → address → pay → pickup → deliver → escrow released
    Checkout,
    /// search → order: the order placement path alone
    Orders,
    /// search alone
    Search,
    /// seller balance reads, trial balance and payments as the ledger grows (in-process only)
    Ledger,
}

/// Latency histograms (µs) per step, and errors by step and code.
#[derive(Default)]
struct Recorder {
    steps: BTreeMap<&'static str, Histogram<u64>>,
    errors: BTreeMap<String, u64>,
}

impl Recorder {
    fn record(&mut self, step: &'static str, elapsed: Duration) {
        let h =
            self.steps.entry(step).or_insert_with(|| Histogram::new_with_bounds(1, 120_000_000, 3).expect("bounds"));
        let _ = h.record((elapsed.as_micros() as u64).max(1));
    }

    fn error(&mut self, step: &str, code: &str) {
        *self.errors.entry(format!("{step}: {code}")).or_default() += 1;
    }

    fn merge(&mut self, other: Recorder) {
        for (step, h) in other.steps {
            match self.steps.get_mut(step) {
                Some(mine) => mine.add(&h).expect("same bounds"),
                None => {
                    self.steps.insert(step, h);
                }
            }
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

struct Endpoints {
    broker: String,
    settlement: String,
    delivery: String,
    operator: String,
}

/// What setup made: the ids and credentials the buyers use.
struct World {
    products: Vec<(String, String)>, // (product id, kind)
    union_id: String,
    store_id: String,
    seller_token: String,
    partner_id: String,
    partner_key: String,
    courier_token: String,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.scenario == Scenario::Ledger {
        return ledger::run(args).await;
    }
    let (endpoints, services) = match &args.broker {
        Some(broker) => (
            Endpoints {
                broker: broker.clone(),
                settlement: args.settlement.clone().unwrap_or_default(),
                delivery: args.delivery.clone().unwrap_or_default(),
                operator: args.operator_token.clone().unwrap_or_default(),
            },
            None,
        ),
        None => {
            let (e, s) = start_in_process(args.postgres.as_deref()).await?;
            (e, Some(s))
        }
    };
    let api = Api::new(endpoints)?;

    let setup_start = Instant::now();
    let world = Arc::new(setup(&api, &args).await.context("setting up the catalog")?);
    eprintln!("setup: {} products in {:.1}s", args.catalog, setup_start.elapsed().as_secs_f64());

    let next = Arc::new(AtomicUsize::new(0));
    let pacer = args.rate.map(|r| Arc::new(Pacer::new(r)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for buyer in 0..args.buyers {
        let (api, world, next, pacer, args) = (api.clone(), world.clone(), next.clone(), pacer.clone(), args.clone());
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= args.count {
                    break;
                }
                if let Some(p) = &pacer {
                    p.wait().await;
                }
                let t = Instant::now();
                let ok = match args.scenario {
                    Scenario::Checkout => checkout(&api, &world, buyer, i, &mut rec).await,
                    Scenario::Orders => place_order(&api, &world, i, &mut rec).await.map(|_| ()),
                    Scenario::Search => search(&api, &world, i, &mut rec).await.map(|_| ()),
                    Scenario::Ledger => unreachable!("run by ledger::run"),
                };
                match ok {
                    Ok(()) => rec.record("total", t.elapsed()),
                    Err(e) => rec.error("total", &e.to_string()),
                }
            }
            rec
        }));
    }
    let mut all = Recorder::default();
    for t in tasks {
        all.merge(t.await?);
    }
    let wall = started.elapsed();
    let report = report(&args, &all, wall);
    print_report(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    if let Some(services) = services {
        services.stop().await;
    }
    Ok(())
}

#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    e: Arc<Endpoints>,
}

/// A failed call, named by the problem code the service gave (or the HTTP status).
#[derive(Debug)]
struct CallError(String);

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CallError {}

impl Api {
    fn new(endpoints: Endpoints) -> anyhow::Result<Api> {
        let client = reqwest::Client::builder().pool_max_idle_per_host(256).timeout(Duration::from_secs(60)).build()?;
        Ok(Api { client, e: Arc::new(endpoints) })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: String,
        token: Option<&str>,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Value), CallError> {
        let mut req = self.client.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| CallError(format!("transport: {e}")))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| CallError(format!("transport: {e}")))?;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// A call that must answer `expect`; otherwise an error named by the problem code.
    async fn expect(
        &self,
        method: reqwest::Method,
        url: String,
        token: Option<&str>,
        body: Option<Value>,
        expect: u16,
    ) -> Result<Value, CallError> {
        let (status, body) = self.call(method, url, token, body, None).await?;
        if status == expect {
            Ok(body)
        } else {
            Err(CallError(body["code"].as_str().map(str::to_string).unwrap_or_else(|| format!("http_{status}"))))
        }
    }

    fn b(&self, path: &str) -> String {
        format!("{}{path}", self.e.broker)
    }
    fn s(&self, path: &str) -> String {
        format!("{}{path}", self.e.settlement)
    }
    fn d(&self, path: &str) -> String {
        format!("{}{path}", self.e.delivery)
    }
}

use reqwest::Method;

const KINDS: [&str; 5] = ["toner", "drum", "paper", "ink", "stapler"];
const REGION: &str = "north";

fn field(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key].as_str().map(str::to_string).ok_or_else(|| anyhow!("no `{key}` in {v}"))
}

async fn setup(api: &Api, args: &BenchArgs) -> anyhow::Result<World> {
    let op = api.e.operator.clone();
    let union = api
        .expect(
            Method::POST,
            api.b("/v1/unions"),
            Some(&op),
            Some(json!({"name": "Bench union", "region": REGION})),
            201,
        )
        .await?;
    let suffix = shared::ids::random_hex128();
    let email = format!("bench-{}@example.org", &suffix[..8]);
    api.expect(
        Method::POST,
        api.b("/v1/sellers"),
        None,
        Some(json!({"name": "Bench seller", "email": email, "password": "bench password 1"})),
        201,
    )
    .await?;
    let session = api
        .expect(
            Method::POST,
            api.b("/v1/sessions"),
            None,
            Some(json!({"email": email, "password": "bench password 1"})),
            200,
        )
        .await?;
    let seller = field(&session, "access_token")?;
    let store = api
        .expect(
            Method::POST,
            api.b("/v1/stores"),
            Some(&seller),
            Some(json!({"name": "Bench store", "union_id": field(&union, "id")?, "category": "office"})),
            201,
        )
        .await?;
    let store_id = field(&store, "id")?;
    let node = api
        .expect(
            Method::POST,
            api.d("/v1/nodes"),
            Some(&op),
            Some(json!({"kind": "branch", "name": "Bench branch", "region": REGION,
                        "position": {"lat": 52.0, "lon": 13.0}, "rank": 1})),
            201,
        )
        .await?;
    let node_id = field(&node, "id")?;

    // Products, offers and inventory, created concurrently.
    let stock = (args.count as i64 * 2).max(1000);
    let products: Vec<(String, String)> = futures_util::stream::iter(0..args.catalog)
        .map(|i| {
            let (api, op, seller, store_id, node_id) =
                (api.clone(), op.clone(), seller.clone(), store_id.clone(), node_id.clone());
            async move {
                let kind = KINDS[i % KINDS.len()];
                let colour = ["black", "cyan"][i % 2];
                let product = api
                    .expect(
                        Method::POST,
                        api.b("/v1/products"),
                        Some(&op),
                        Some(json!({"name": format!("{kind} {i}"), "kind": kind,
                                    "attributes": {"model": format!("m{}", i % 50), "colour": colour},
                                    "list_price": {"amount": 1000 + (i % 90) as i64 * 10, "currency": "EUR"}})),
                        201,
                    )
                    .await?;
                let pid = field(&product, "id")?;
                api.expect(
                    Method::PUT,
                    api.b(&format!("/v1/stores/{store_id}/offers/{pid}")),
                    Some(&seller),
                    Some(json!({"price": {"amount": 1000 + (i % 90) as i64 * 10, "currency": "EUR"},
                                "stock": stock, "sellable": true})),
                    200,
                )
                .await?;
                api.expect(
                    Method::PUT,
                    api.d(&format!("/v1/nodes/{node_id}/inventory/{pid}")),
                    Some(&op),
                    Some(json!({"quantity": stock})),
                    200,
                )
                .await?;
                Ok::<_, anyhow::Error>((pid, kind.to_string()))
            }
        })
        // In creation order, so that `products[j]` has the kind and model that product j got.
        .buffered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;

    let courier_email = format!("courier-{}@example.org", &suffix[..8]);
    api.expect(
        Method::POST,
        api.d("/v1/couriers"),
        Some(&op),
        Some(json!({"name": "Bench courier", "email": courier_email, "password": "courier password 1"})),
        201,
    )
    .await?;
    let courier = api
        .expect(
            Method::POST,
            api.d("/v1/sessions"),
            None,
            Some(json!({"email": courier_email, "password": "courier password 1"})),
            200,
        )
        .await?;
    let partner =
        api.expect(Method::POST, api.s("/v1/partners"), Some(&op), Some(json!({"name": "Bench partner"})), 201).await?;
    Ok(World {
        products,
        union_id: field(&union, "id")?,
        store_id,
        seller_token: seller,
        partner_id: field(&partner, "id")?,
        partner_key: field(&partner, "api_key")?,
        courier_token: field(&courier, "access_token")?,
    })
}

use futures_util::StreamExt;

/// Times one step; a failure is counted under its code and ends the checkout.
async fn step<T, F>(rec: &mut Recorder, name: &'static str, f: F) -> Result<T, CallError>
where
    F: std::future::Future<Output = Result<T, CallError>>,
{
    let t = Instant::now();
    match f.await {
        Ok(v) => {
            rec.record(name, t.elapsed());
            Ok(v)
        }
        Err(e) => {
            rec.error(name, &e.0);
            Err(e)
        }
    }
}

async fn search(api: &Api, world: &World, i: usize, rec: &mut Recorder) -> Result<Value, CallError> {
    // Product j's own kind and model, so every search finds what it looks for.
    let j = i % world.products.len();
    let (_, kind) = &world.products[j];
    let url = api.b(&format!("/v1/search?kind={kind}&attr.model=m{}", j % 50));
    step(rec, "search", api.expect(Method::GET, url, None, None, 200)).await
}

async fn place_order(
    api: &Api,
    world: &World,
    i: usize,
    rec: &mut Recorder,
) -> Result<(String, String, Value), CallError> {
    search(api, world, i, rec).await?;
    let (product, _) = &world.products[i % world.products.len()];
    let body = json!({"store_id": world.store_id, "product_id": product, "quantity": 1});
    let order = step(rec, "order", api.expect(Method::POST, api.b("/v1/orders"), None, Some(body), 201)).await?;
    let id = order["order_id"].as_str().unwrap_or_default().to_string();
    let capability = order["capability"].as_str().unwrap_or_default().to_string();
    Ok((id, capability, order["amount"].clone()))
}

async fn checkout(api: &Api, world: &World, buyer: usize, i: usize, rec: &mut Recorder) -> Result<(), CallError> {
    let (product, _) = &world.products[i % world.products.len()];
    search(api, world, i, rec).await?;
    let select = json!({"product_id": product, "quantity": 1});
    let url = api.b(&format!("/v1/stores/{}/selections", world.store_id));
    step(rec, "select", api.expect(Method::POST, url, None, Some(select), 200)).await?;
    let body = json!({"store_id": world.store_id, "product_id": product, "quantity": 1});
    let order = step(rec, "order", api.expect(Method::POST, api.b("/v1/orders"), None, Some(body), 201)).await?;
    let order_id = order["order_id"].as_str().unwrap_or_default().to_string();
    let cap = order["capability"].as_str().unwrap_or_default().to_string();

    let address = json!({"name": format!("Buyer {buyer}"), "line1": "1 Bench Street", "city": "Northtown",
                         "postal_code": "10115", "region": REGION, "country": "DE"});
    let url = api.d(&format!("/v1/shipments/{order_id}/address"));
    step(rec, "address", api.expect(Method::PUT, url, Some(&cap), Some(address), 204)).await?;

    // The partner pays; until the broker's message reached settlement the answer is
    // 404 unknown_order and the partner retries with the same key.
    let key = format!("bench-{order_id}");
    let payment = json!({"order_id": order_id, "amount": order["amount"], "partner_reference": key});
    let waited = Instant::now();
    let mut pause = Backoff::new();
    loop {
        let t = Instant::now();
        let (status, body) = api
            .call(Method::POST, api.s("/v1/payments"), Some(&world.partner_key), Some(payment.clone()), Some(&key))
            .await?;
        match (status, body["status"].as_str()) {
            (201, Some("captured")) => {
                rec.record("pay", t.elapsed());
                break;
            }
            (404, _) if waited.elapsed() < Duration::from_secs(30) => {
                rec.error("pay", "unknown_order (retried)");
                pause.wait().await;
            }
            _ => {
                let code = body["code"].as_str().or(body["reason"].as_str()).unwrap_or("unexpected").to_string();
                rec.error("pay", &code);
                return Err(CallError(code));
            }
        }
    }

    // Delivery creates the shipment once paid; wait for it, then the courier moves it.
    let shipment_url = api.d(&format!("/v1/shipments/{order_id}"));
    let t = Instant::now();
    let mut pause = Backoff::new();
    let shipment_id = loop {
        let (status, body) = api.call(Method::GET, shipment_url.clone(), Some(&cap), None, None).await?;
        if status == 200 && body["status"] == "routed" {
            break body["shipment_id"].as_str().unwrap_or_default().to_string();
        }
        if t.elapsed() > Duration::from_secs(30) {
            rec.error("route", "timeout");
            return Err(CallError("route timeout".into()));
        }
        pause.wait().await;
    };
    rec.record("route (async)", t.elapsed());
    let events = api.d(&format!("/v1/courier/shipments/{shipment_id}/events"));
    for kind in ["picked_up", "delivered"] {
        let name = if kind == "picked_up" { "pickup" } else { "deliver" };
        step(
            rec,
            name,
            api.expect(Method::POST, events.clone(), Some(&world.courier_token), Some(json!({"type": kind})), 200),
        )
        .await?;
    }
    let url = api.s(&format!("/v1/orders/{order_id}/settlement"));
    let t = Instant::now();
    let mut pause = Backoff::new();
    loop {
        let (status, body) = api.call(Method::GET, url.clone(), Some(&cap), None, None).await?;
        if status == 200 && body["status"] == "released" {
            break;
        }
        if t.elapsed() > Duration::from_secs(30) {
            rec.error("release", "timeout");
            return Err(CallError("release timeout".into()));
        }
        pause.wait().await;
    }
    rec.record("release (async)", t.elapsed());
    Ok(())
}

/// Pauses between polls for an asynchronous step: 2 ms, doubling to 32 ms, so that a
/// waiting buyer does not spend the server's CPU asking again and again.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(Duration::from_millis(2))
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Duration::from_millis(32));
    }
}

/// Spaces starts evenly at a fixed rate across all buyers.
struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

fn report(args: &BenchArgs, rec: &Recorder, wall: Duration) -> Value {
    let secs = wall.as_secs_f64();
    let steps: serde_json::Map<String, Value> = rec
        .steps
        .iter()
        .map(|(name, h)| {
            let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            (
                name.to_string(),
                json!({
                    "count": h.len(),
                    "per_second": h.len() as f64 / secs,
                    "p50_ms": ms(0.50), "p90_ms": ms(0.90), "p99_ms": ms(0.99),
                    "max_ms": h.max() as f64 / 1000.0,
                }),
            )
        })
        .collect();
    json!({
        "scenario": format!("{:?}", args.scenario).to_lowercase(),
        "buyers": args.buyers,
        "catalog": args.catalog,
        "wall_seconds": secs,
        "steps": steps,
        "errors": rec.errors,
    })
}

fn print_report(r: &Value) {
    println!(
        "scenario {}  buyers {}  catalog {}  wall {:.2}s",
        r["scenario"].as_str().unwrap_or(""),
        r["buyers"],
        r["catalog"],
        r["wall_seconds"].as_f64().unwrap_or(0.0)
    );
    println!(
        "{:<16} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "step", "count", "per sec", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    if let Some(steps) = r["steps"].as_object() {
        for (name, s) in steps {
            println!(
                "{:<16} {:>8} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                name,
                s["count"],
                s["per_second"].as_f64().unwrap_or(0.0),
                s["p50_ms"].as_f64().unwrap_or(0.0),
                s["p90_ms"].as_f64().unwrap_or(0.0),
                s["p99_ms"].as_f64().unwrap_or(0.0),
                s["max_ms"].as_f64().unwrap_or(0.0),
            );
        }
    }
    if let Some(errors) = r["errors"].as_object() {
        if !errors.is_empty() {
            println!("errors:");
            for (k, v) in errors {
                println!("  {k}: {v}");
            }
        }
    }
}

/// The services in this process, on random ports and a fresh data dir.
struct InProcess {
    running: Vec<shared::server::Running>,
    /// The configuration they run with (database URLs, fees).
    config: Config,
    /// The PostgreSQL admin URL and the databases made for this run, dropped at the end.
    postgres: Option<(String, Vec<String>)>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    /// Stops the services before the data dir goes, so that nothing still writes into it
    /// while it is removed.
    async fn stop(mut self) {
        for r in self.running.drain(..) {
            r.stop(false).await;
        }
        if let Some((admin, names)) = self.postgres.take() {
            for name in names {
                if let Err(e) = shared::db::drop_postgres_database(&admin, &name) {
                    eprintln!("could not drop the bench database {name}: {e}");
                }
            }
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.running.clear();
    }
}

async fn start_in_process(postgres: Option<&str>) -> anyhow::Result<(Endpoints, InProcess)> {
    let dir = tempfile::tempdir()?;
    let mut config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    config.operator_token = Some(shared::crypto::random_token("op"));
    config.outbox.poll_interval_ms = 20;
    // Every simulated buyer comes from this one address.
    let unlimited =
        Config::from_toml("[settings.rate_limits]\nplacement = { per_minute = 60000000, burst = 1000000 }")?;
    config.settings.extend(unlimited.settings);
    let listeners: Vec<std::net::TcpListener> =
        ServiceName::ALL.iter().map(|_| std::net::TcpListener::bind("127.0.0.1:0")).collect::<Result<_, _>>()?;
    let run = shared::ids::random_hex128();
    let mut databases = Vec::new();
    for (service, listener) in ServiceName::ALL.into_iter().zip(&listeners) {
        let svc = config.service_mut(service);
        svc.addr = listener.local_addr()?;
        svc.workers = 2;
        svc.pool_size = 8;
        if let Some(admin) = postgres {
            let name = format!("bench_{}_{}", &run[..12], service);
            svc.database_url = Some(shared::db::create_postgres_database(admin, &name)?);
            databases.push(name);
        }
    }
    let mut running = Vec::new();
    for (service, listener) in ServiceName::ALL.into_iter().zip(listeners) {
        running.push(crate::run::start(&config, service, listener)?);
    }
    if running.len() != 3 {
        bail!("not all services started");
    }
    let e = Endpoints {
        broker: config.broker.public_url(),
        settlement: config.settlement.public_url(),
        delivery: config.delivery.public_url(),
        operator: config.operator_token.clone().unwrap_or_default(),
    };
    let postgres = postgres.map(|admin| (admin.to_string(), databases));
    Ok((e, InProcess { running, config, postgres, _dir: dir }))
}
