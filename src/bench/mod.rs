//! `marketplace bench`: a load generator that drives complete checkouts the way buyers,
//! a payment partner and couriers would, over real HTTP, and reports throughput and
//! latency percentiles per step.
//!
//! It either starts the three services in this process on a fresh data dir (SQLite, or
//! PostgreSQL with `--postgres ADMIN_URL`), or targets running services by URL. The
//! `ledger` scenario (in [`ledger`]) measures reads and writes as the ledger grows.

mod ledger;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use client::broker::accounts::{Credentials, NewSeller};
use client::broker::catalog::{NewProduct, NewUnion, OfferBody, Results, SelectionBody};
use client::broker::orders::{PlaceOrder, Placed};
use client::broker::stores::NewStoreBody;
use client::broker::Broker;
use client::delivery::{
    AddressInput, CourierBody, Delivery, EventBody, InventoryBody, LoginBody, NodeBody, ShipmentStatus,
};
use client::settlement::{
    NewPartner, OrderStatus as SettlementStatus, PaymentAnswer, PaymentBody, PaymentStatus, Settlement,
};
use client::{Answer, Failure};
use hdrhistogram::Histogram;
use shared::config::{Config, ServiceName};
use shared::ids::{PartnerId, ProductId, StoreId};
use shared::money::{Currency, Money};
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
    /// search → select → order → address → pay → pickup → deliver → accept → escrow released
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
    products: Vec<(ProductId, String)>, // (product id, kind)
    union_id: String,
    store_id: StoreId,
    seller_token: String,
    partner_id: PartnerId,
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

/// Where the services are, and one HTTP client with a pool of open connections for every
/// call, so that the figures measure the services and not the connecting.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
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

impl From<Failure> for CallError {
    fn from(f: Failure) -> CallError {
        match f {
            Failure::Refused(reply) if reply.code().is_empty() => CallError(format!("http_{}", reply.status)),
            Failure::Refused(reply) => CallError(reply.code().to_string()),
            Failure::Unreachable(e) => CallError(format!("transport: {e}")),
        }
    }
}

/// A typed answer, or its failure named as [`CallError`] does.
fn named<T>(answer: Answer<T>) -> Result<T, CallError> {
    answer.map_err(CallError::from)
}

impl Api {
    fn new(endpoints: Endpoints) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder().pool_max_idle_per_host(256).timeout(Duration::from_secs(60)).build()?;
        Ok(Api { http, e: Arc::new(endpoints) })
    }

    fn at(&self, base: &str, token: Option<&str>) -> client::Api {
        client::Api::new(base).bearer(token.map(str::to_string)).through(self.http.clone())
    }

    fn broker(&self, token: Option<&str>) -> Broker {
        Broker::new(self.at(&self.e.broker, token))
    }

    fn settlement(&self, token: Option<&str>) -> Settlement {
        Settlement::new(self.at(&self.e.settlement, token))
    }

    fn delivery(&self, token: Option<&str>) -> Delivery {
        Delivery::new(self.at(&self.e.delivery, token))
    }
}

const KINDS: [&str; 5] = ["toner", "drum", "paper", "ink", "stapler"];
const REGION: &str = "north";

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::EUR)
}

/// A product's flat characteristics, as `POST /v1/products` takes them.
fn attributes(pairs: &[(&str, &str)]) -> serde_json::Value {
    serde_json::Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect())
}

async fn setup(api: &Api, args: &BenchArgs) -> anyhow::Result<World> {
    let op = api.e.operator.clone();
    let operator = api.broker(Some(&op));
    let union = named(operator.create_union(&NewUnion { name: "Bench union".into(), region: REGION.into() }).await)?;
    let suffix = shared::ids::random_hex128();
    let email = format!("bench-{}@example.org", &suffix[..8]);
    let password = "bench password 1".to_string();
    let anyone = api.broker(None);
    named(
        anyone
            .register_seller(&NewSeller {
                name: "Bench seller".into(),
                email: email.clone(),
                password: password.clone(),
            })
            .await,
    )?;
    let seller = named(anyone.sign_in_account(&Credentials { email, password }).await)?.access_token;
    let store = NewStoreBody { name: "Bench store".into(), union_id: union.id.to_string(), category: "office".into() };
    let store_id = named(api.broker(Some(&seller)).create_store(&store).await)?.id;
    let node = NodeBody::branch("Bench branch", REGION, (52.0, 13.0), 1);
    let node_id = named(api.delivery(Some(&op)).create_node(&node).await)?.id;

    // Products, offers and inventory, created concurrently.
    let stock = (args.count as i64 * 2).max(1000);
    let products: Vec<(ProductId, String)> = futures_util::stream::iter(0..args.catalog)
        .map(|i| {
            let (api, op, seller, store_id, node_id) =
                (api.clone(), op.clone(), seller.clone(), store_id.clone(), node_id.clone());
            async move {
                let kind = KINDS[i % KINDS.len()];
                let colour = ["black", "cyan"][i % 2];
                let price = eur(1000 + (i % 90) as i64 * 10);
                let product = NewProduct {
                    name: format!("{kind} {i}"),
                    kind: kind.into(),
                    attributes: Some(attributes(&[("model", &format!("m{}", i % 50)), ("colour", colour)])),
                    list_price: price,
                    manufacturer_id: None,
                    requires_approval: false,
                    backorder_days: None,
                    compatible_with: Vec::new(),
                };
                let pid = named(api.broker(Some(&op)).create_product(&product).await)?.id;
                let offer = OfferBody {
                    price,
                    stock,
                    sellable: true,
                    reason: None,
                    union_fulfilment: false,
                    requires_price_confirmation: false,
                    reserve_threshold: None,
                };
                named(api.broker(Some(&seller)).put_offer(store_id.as_ref(), pid.as_ref(), &offer).await)?;
                let counted = InventoryBody { quantity: stock };
                named(api.delivery(Some(&op)).set_stock(node_id.as_ref(), pid.as_ref(), &counted).await)?;
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
    let courier_password = "courier password 1".to_string();
    let courier = CourierBody {
        name: "Bench courier".into(),
        email: courier_email.clone(),
        password: courier_password.clone(),
        region: None,
    };
    named(api.delivery(Some(&op)).create_courier(&courier).await)?;
    let courier =
        named(api.delivery(None).sign_in(&LoginBody { email: courier_email, password: courier_password }).await)?;
    let partner = NewPartner { name: "Bench partner".into(), webhook_url: None };
    let partner = named(api.settlement(Some(&op)).create_partner(&partner).await)?;
    Ok(World {
        products,
        union_id: union.id.into_string(),
        store_id,
        seller_token: seller,
        partner_id: partner.id,
        partner_key: partner.api_key,
        courier_token: courier.access_token,
    })
}

use futures_util::StreamExt;

/// Times one step; a failure is counted under its code and ends the checkout.
async fn step<T, F>(rec: &mut Recorder, name: &'static str, f: F) -> Result<T, CallError>
where
    F: std::future::Future<Output = Answer<T>>,
{
    let t = Instant::now();
    match named(f.await) {
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

async fn search(api: &Api, world: &World, i: usize, rec: &mut Recorder) -> Result<Results, CallError> {
    // Product j's own kind and model, so every search finds what it looks for.
    let j = i % world.products.len();
    let (_, kind) = &world.products[j];
    let query = format!("kind={kind}&attr.model=m{}", j % 50);
    step(rec, "search", api.broker(None).search(&query)).await
}

/// One unit of the `i`th product at the bench store, without an account or a key.
fn order_of(world: &World, i: usize) -> PlaceOrder {
    let (product, _) = &world.products[i % world.products.len()];
    PlaceOrder {
        store_id: world.store_id.clone(),
        product_id: product.clone(),
        quantity: 1,
        referral: None,
        referral_store_id: None,
        expected_price: None,
        contact: None,
        points: None,
    }
}

async fn place_order(api: &Api, world: &World, i: usize, rec: &mut Recorder) -> Result<Placed, CallError> {
    search(api, world, i, rec).await?;
    step(rec, "order", api.broker(None).place_unkeyed(&order_of(world, i))).await
}

/// A payment captured, or why not: the problem's code, else the payment's reason, else
/// `unexpected`.
fn captured(answer: Answer<PaymentAnswer>) -> Result<(), CallError> {
    match answer {
        Ok(payment) if payment.status == PaymentStatus::Captured => Ok(()),
        Ok(payment) => Err(CallError(payment.reason.unwrap_or_else(|| "unexpected".into()))),
        Err(Failure::Refused(reply)) if reply.code().is_empty() => Err(CallError("unexpected".into())),
        Err(failure) => Err(failure.into()),
    }
}

async fn checkout(api: &Api, world: &World, buyer: usize, i: usize, rec: &mut Recorder) -> Result<(), CallError> {
    let (product, _) = &world.products[i % world.products.len()];
    search(api, world, i, rec).await?;
    let select = SelectionBody { product_id: product.to_string(), quantity: 1 };
    step(rec, "select", api.broker(None).select(world.store_id.as_ref(), &select)).await?;
    let order = step(rec, "order", api.broker(None).place_unkeyed(&order_of(world, i))).await?;
    let order_id = order.order_id.to_string();
    let cap = order.capability;

    let address = AddressInput {
        name: format!("Buyer {buyer}"),
        line1: "1 Bench Street".into(),
        line2: None,
        city: "Northtown".into(),
        postal_code: "10115".into(),
        region: REGION.into(),
        country: "DE".into(),
        position: None,
    };
    let delivery = api.delivery(Some(&cap));
    step(rec, "address", delivery.set_address(&order_id, &address)).await?;

    // The partner pays; until the broker's message reached settlement the answer is
    // 404 unknown_order and the partner retries with the same key.
    let key = format!("bench-{order_id}");
    let payment = PaymentBody { order_id: order_id.clone(), amount: order.amount, partner_reference: key.clone() };
    let partner = api.settlement(Some(&world.partner_key));
    let waited = Instant::now();
    let mut pause = Backoff::new();
    loop {
        let t = Instant::now();
        let answer = partner.pay(&payment, &key).await;
        match &answer {
            Err(Failure::Refused(reply)) if reply.status == 404 && waited.elapsed() < Duration::from_secs(30) => {
                rec.error("pay", "unknown_order (retried)");
                pause.wait().await;
                continue;
            }
            Err(Failure::Unreachable(_)) => return captured(answer),
            _ => {}
        }
        match captured(answer) {
            Ok(()) => {
                rec.record("pay", t.elapsed());
                break;
            }
            Err(e) => {
                rec.error("pay", &e.0);
                return Err(e);
            }
        }
    }

    // Delivery creates the shipment once paid; wait for it, then the courier moves it.
    let t = Instant::now();
    let mut pause = Backoff::new();
    let (shipment_id, pin) = loop {
        match delivery.shipment(&order_id).await {
            // The buyer reads the PIN they will tell the courier at the door.
            Ok(shipment) if shipment.status == ShipmentStatus::Routed => break (shipment.shipment_id, shipment.pin),
            Err(Failure::Unreachable(e)) => return Err(Failure::Unreachable(e).into()),
            _ => {}
        }
        if t.elapsed() > Duration::from_secs(30) {
            rec.error("route", "timeout");
            return Err(CallError("route timeout".into()));
        }
        pause.wait().await;
    };
    rec.record("route (async)", t.elapsed());
    let courier = api.delivery(Some(&world.courier_token));
    for kind in ["picked_up", "delivered"] {
        let name = if kind == "picked_up" { "pickup" } else { "deliver" };
        let pin = (kind == "delivered").then(|| pin.clone()).flatten();
        let event = EventBody { kind: kind.into(), reason: None, pin };
        step(rec, name, courier.report(shipment_id.as_ref(), &event)).await?;
    }
    // The buyer accepts as soon as the broker has heard of the delivery.
    let t = Instant::now();
    let mut pause = Backoff::new();
    loop {
        match api.broker(Some(&cap)).accept(&order_id).await {
            Ok(_) => break,
            Err(Failure::Refused(r)) if r.status == 409 => {}
            Err(Failure::Refused(r)) => {
                rec.error("accept", r.code());
                return Err(CallError(format!("accept refused: {}", r.detail())));
            }
            Err(Failure::Unreachable(e)) => return Err(Failure::Unreachable(e).into()),
        }
        if t.elapsed() > Duration::from_secs(30) {
            rec.error("accept", "timeout");
            return Err(CallError("accept timeout".into()));
        }
        pause.wait().await;
    }
    rec.record("accept (async)", t.elapsed());
    let buyer = api.settlement(Some(&cap));
    let t = Instant::now();
    let mut pause = Backoff::new();
    loop {
        match buyer.order_settlement(&order_id).await {
            Ok(settled) if settled.status == SettlementStatus::Released => break,
            Err(Failure::Unreachable(e)) => return Err(Failure::Unreachable(e).into()),
            _ => {}
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

/// What `--json` writes (fields in alphabetical order, as the file has always listed them).
#[derive(serde::Serialize)]
struct Report {
    buyers: usize,
    catalog: usize,
    /// Failures counted by `step: code`.
    errors: BTreeMap<String, u64>,
    scenario: String,
    steps: BTreeMap<String, StepReport>,
    wall_seconds: f64,
}

/// One step's count, throughput and latency percentiles.
#[derive(serde::Serialize)]
struct StepReport {
    count: u64,
    max_ms: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    per_second: f64,
}

fn report(args: &BenchArgs, rec: &Recorder, wall: Duration) -> Report {
    let secs = wall.as_secs_f64();
    let steps = rec
        .steps
        .iter()
        .map(|(name, h)| {
            let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            let step = StepReport {
                count: h.len(),
                max_ms: h.max() as f64 / 1000.0,
                p50_ms: ms(0.50),
                p90_ms: ms(0.90),
                p99_ms: ms(0.99),
                per_second: h.len() as f64 / secs,
            };
            (name.to_string(), step)
        })
        .collect();
    Report {
        buyers: args.buyers,
        catalog: args.catalog,
        errors: rec.errors.clone(),
        scenario: format!("{:?}", args.scenario).to_lowercase(),
        steps,
        wall_seconds: secs,
    }
}

fn print_report(r: &Report) {
    println!("scenario {}  buyers {}  catalog {}  wall {:.2}s", r.scenario, r.buyers, r.catalog, r.wall_seconds);
    println!(
        "{:<16} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "step", "count", "per sec", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (name, s) in &r.steps {
        println!(
            "{:<16} {:>8} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            name, s.count, s.per_second, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms,
        );
    }
    if !r.errors.is_empty() {
        println!("errors:");
        for (k, v) in &r.errors {
            println!("  {k}: {v}");
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
