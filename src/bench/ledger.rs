//! `marketplace bench --scenario ledger`: how settlement behaves as its ledger grows, from a
//! thousand entries to a million.
//!
//! For each size the ledger is grown in-process with settlement's seeder (whole synthetic
//! orders posted through the same path that keeps the cached account sums, in batched
//! write transactions), and then, over real HTTP with the configured concurrency:
//! the seller's balance (`GET /v1/seller/balance`), the operator's trial balance
//! (`GET /v1/ledger/trial-balance`, which sums every account: fewer calls) and pay flows
//! (orders placed at the broker, whose `order_payable` reaches settlement by its outbox,
//! then the partner's payment, captured into escrow) are timed.
//!
//! The history is the seller's second store's, and the pay flows go to the catalog's store:
//! a balance also sums the store's open escrow (orders paid, not yet delivered), which the
//! pay flows would otherwise pile up, so the read measures history and nothing else. Reads
//! of that store alternate with reads of a third store that has no history at all: the
//! control, read under the same load at the same moment.

use super::{captured, named, order_of, setup, start_in_process, Api, BenchArgs, CallError, Recorder, World};
use anyhow::{bail, Context};
use client::broker::orders::Placed;
use client::broker::stores::NewStoreBody;
use client::settlement::PaymentBody;
use client::{Answer, Failure};
use futures_util::StreamExt;
use serde_json::{json, Value};
use settlement::ledger::seed::{account_count, entry_count, grow, History};
use settlement::SettlementError;
use shared::config::{FeeConfig, ServiceName};
use shared::db::Db;
use shared::ids::StoreId;
use shared::money::{Currency, Money};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Entries per seeding transaction: short enough not to hold the writer for long.
const SEED_BATCH: usize = 5_000;

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.broker.is_some() || args.settlement.is_some() {
        bail!(
            "--scenario ledger grows settlement's database directly, so it starts the services itself: \
             leave out --broker/--settlement/--delivery (add --postgres ADMIN_URL for PostgreSQL)"
        );
    }
    let mut sizes = args.ledger_sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() {
        bail!("--ledger-sizes names no size");
    }
    let backend = if args.postgres.is_some() { "postgresql" } else { "sqlite" };
    let (endpoints, services) = start_in_process(args.postgres.as_deref()).await?;
    let api = Api::new(endpoints)?;
    let world = Arc::new(setup(&api, &args).await.context("setting up the catalog")?);
    let history_store = open_store(&api, &world, "Bench history store").await?;
    let empty_store = open_store(&api, &world, "Bench empty store").await?;
    let stores = Arc::new([history_store.clone(), empty_store]);
    for store in stores.iter() {
        wait_for_store(&api, &world, store).await?;
    }

    let db = Db::open(&services.config.database_url(ServiceName::Settlement), 2, settlement::MIGRATIONS)
        .context("opening settlement's database")?;
    let history = History {
        store: history_store,
        partner: world.partner_id.clone(),
        order_value: Money::new(25_00, Currency::EUR),
        remit_every: 100,
    };
    let trial_ops = (args.count / 10).max(20);
    let mut rows = Vec::new();
    for &size in &sizes {
        let seeded = grow_to(&db, &history, &services.config.fees, size).await?;
        let (entries, accounts) = db.read(|c| Ok::<_, SettlementError>((entry_count(c)?, account_count(c)?))).await?;
        eprintln!("ledger at {entries} entries ({accounts} accounts): measuring");
        check_trial_balance(&api).await?;

        let balance = measure_steps(args.buyers, 2 * args.count, |i| [HISTORY, EMPTY][i % 2], {
            let (api, world, stores) = (api.clone(), world.clone(), stores.clone());
            move |i| {
                let (api, world, stores) = (api.clone(), world.clone(), stores.clone());
                async move {
                    let seller = api.settlement(Some(&world.seller_token));
                    named(seller.balance(stores[i % 2].as_ref()).await).map(|_| ())
                }
            }
        })
        .await?;
        let trial = measure(args.buyers, trial_ops, {
            let api = api.clone();
            move |_| {
                let api = api.clone();
                async move { named(trial_balance(&api).await).map(|_| ()) }
            }
        })
        .await?;
        let (orders, payments) = pay_flows(&api, &world, args.buyers, args.ledger_writes).await?;
        rows.push(json!({
            "size": size,
            "entries": entries,
            "accounts": accounts,
            "seeded": seeded,
            "balance_read": balance.summary(HISTORY),
            "balance_read_no_history": balance.summary(EMPTY),
            "balance_reads_per_second": balance.per_second(),
            "trial_balance": trial.summary(OP),
            "orders": orders.summary(OP),
            "payments": payments.summary(OP),
        }));
    }
    let report = json!({
        "scenario": "ledger",
        "backend": backend,
        "buyers": args.buyers,
        "rows": rows,
    });
    print_table(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    drop(db);
    services.stop().await;
    Ok(())
}

/// Another store of the bench seller, in the same union.
async fn open_store(api: &Api, world: &World, name: &str) -> anyhow::Result<StoreId> {
    let store = NewStoreBody { name: name.into(), union_id: world.union_id.clone(), category: "office".into() };
    Ok(named(api.broker(Some(&world.seller_token)).create_store(&store).await)?.id)
}

/// Settlement learns the store from the broker's outbox; balances answer 404 until then.
async fn wait_for_store(api: &Api, world: &World, store: &StoreId) -> anyhow::Result<()> {
    let seller = api.settlement(Some(&world.seller_token));
    let waited = Instant::now();
    loop {
        let status = match seller.balance(store.as_ref()).await {
            Ok(_) => return Ok(()),
            Err(Failure::Refused(reply)) => reply.status,
            Err(unreachable) => return Err(CallError::from(unreachable).into()),
        };
        if waited.elapsed() > Duration::from_secs(30) {
            bail!("settlement did not learn the bench store within 30 s (balance answers {status})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Grows the ledger to at least `size` entries in batched write transactions; reports what
/// was written and how fast.
async fn grow_to(db: &Db, history: &History, fees: &FeeConfig, size: u64) -> anyhow::Result<Value> {
    let started = Instant::now();
    let mut present = db.read(entry_count).await.map_err(anyhow_of)? as u64;
    let (mut written, mut orders) = (0usize, 0usize);
    let mut reported = present;
    while present < size {
        let want = ((size - present) as usize).min(SEED_BATCH);
        let (h, f) = (history.clone(), fees.clone());
        let grown = db.write(move |c| grow(c, &h, &f, want)).await.map_err(anyhow_of)?;
        present += grown.entries as u64;
        written += grown.entries;
        orders += grown.orders;
        if present - reported >= 100_000 {
            eprintln!("seeding: {present} entries ({:.0}/s)", written as f64 / started.elapsed().as_secs_f64());
            reported = present;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "entries": written,
        "orders": orders,
        "seconds": secs,
        "entries_per_second": if secs > 0.0 { written as f64 / secs } else { 0.0 },
    }))
}

fn anyhow_of(e: SettlementError) -> anyhow::Error {
    anyhow::anyhow!("settlement database: {e}")
}

/// The seeded history must leave the books balanced, or the figures measure a broken ledger.
async fn check_trial_balance(api: &Api) -> anyhow::Result<()> {
    let tb = named(trial_balance(api).await)?;
    if tb["balanced"] != Value::Bool(true) {
        bail!("the trial balance does not balance: {tb}");
    }
    Ok(())
}

/// `GET /v1/ledger/trial-balance` (the operator), as it answers: its totals may exceed 64 bits.
async fn trial_balance(api: &Api) -> Answer<Value> {
    api.settlement(Some(&api.e.operator)).api().get("/v1/ledger/trial-balance").await?.into_answer()
}

/// `n` orders placed at the broker (timed apart), waited for until settlement knows them,
/// then paid by the partner: each payment posts the capture into escrow.
async fn pay_flows(
    api: &Api,
    world: &Arc<World>,
    concurrency: usize,
    n: usize,
) -> anyhow::Result<(Measured, Measured)> {
    let placed = Arc::new(std::sync::Mutex::new(vec![None; n]));
    let orders = measure(concurrency, n, {
        let (api, world, placed) = (api.clone(), world.clone(), placed.clone());
        move |i| {
            let (api, world, placed) = (api.clone(), world.clone(), placed.clone());
            async move {
                let order = named(api.broker(None).place_unkeyed(&order_of(&world, i)).await)?;
                placed.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(order);
                Ok(())
            }
        }
    })
    .await?;
    let placed: Vec<Placed> =
        std::mem::take(&mut *placed.lock().unwrap_or_else(|p| p.into_inner())).into_iter().flatten().collect();
    let known = futures_util::stream::iter(placed.iter())
        .map(|order| wait_until_payable(api, order))
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    known.into_iter().collect::<Result<Vec<_>, _>>()?;

    let placed = Arc::new(placed);
    let payments = measure(concurrency, placed.len(), {
        let (api, world) = (api.clone(), world.clone());
        move |i| {
            let (api, world, placed) = (api.clone(), world.clone(), placed.clone());
            async move {
                let order = &placed[i];
                let key = format!("bench-{}", order.order_id);
                let payment =
                    PaymentBody { order_id: order.order_id.to_string(), amount: order.amount, partner_reference: key };
                captured(api.settlement(Some(&world.partner_key)).pay(&payment, &payment.partner_reference).await)
            }
        }
    })
    .await?;
    Ok((orders, payments))
}

async fn wait_until_payable(api: &Api, order: &Placed) -> anyhow::Result<()> {
    let id = &order.order_id;
    let buyer = api.settlement(Some(&order.capability));
    let waited = Instant::now();
    loop {
        let status = match buyer.order_settlement(id.as_ref()).await {
            Ok(_) => return Ok(()),
            Err(Failure::Refused(reply)) => reply.status,
            Err(unreachable) => return Err(CallError::from(unreachable).into()),
        };
        if waited.elapsed() > Duration::from_secs(60) {
            bail!("settlement did not learn order {id} within 60 s (answers {status})");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Latencies of one kind of operation, run `ops` times by `concurrency` tasks.
struct Measured {
    rec: Recorder,
    wall: Duration,
}

const OP: &str = "op";
/// Balance reads of the store with the history, and of the one without.
const HISTORY: &str = "history";
const EMPTY: &str = "empty";

async fn measure<F, Fut>(concurrency: usize, ops: usize, op: F) -> anyhow::Result<Measured>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), CallError>> + Send + 'static,
{
    measure_steps(concurrency, ops, |_| OP, op).await
}

/// [`measure`], recording operation `i` under `step_of(i)`.
async fn measure_steps<F, Fut>(
    concurrency: usize,
    ops: usize,
    step_of: fn(usize) -> &'static str,
    op: F,
) -> anyhow::Result<Measured>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), CallError>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                let mut rec = Recorder::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= ops {
                        break;
                    }
                    let t = Instant::now();
                    match op(i).await {
                        Ok(()) => rec.record(step_of(i), t.elapsed()),
                        Err(e) => rec.error(step_of(i), &e.0),
                    }
                }
                rec
            })
        })
        .collect();
    let mut all = Recorder::default();
    for t in tasks {
        all.merge(t.await?);
    }
    Ok(Measured { rec: all, wall: started.elapsed() })
}

impl Measured {
    /// Count, throughput and latency of one step; `per_second` counts that step's
    /// operations only, over the whole measurement.
    fn summary(&self, step: &str) -> Value {
        let secs = self.wall.as_secs_f64();
        let prefix = format!("{step}: ");
        let codes: BTreeMap<&str, u64> =
            self.rec.errors.iter().filter_map(|(k, n)| k.strip_prefix(&prefix).map(|code| (code, *n))).collect();
        let errors: u64 = codes.values().sum();
        match self.rec.steps.get(step) {
            Some(h) => {
                let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
                json!({
                    "count": h.len(),
                    "per_second": h.len() as f64 / secs,
                    "p50_ms": ms(0.50), "p90_ms": ms(0.90), "p99_ms": ms(0.99),
                    "max_ms": h.max() as f64 / 1000.0,
                    "errors": errors,
                    "error_codes": codes,
                })
            }
            None => json!({"count": 0, "per_second": 0.0, "errors": errors, "error_codes": codes}),
        }
    }

    /// Every step's successful operations per second.
    fn per_second(&self) -> f64 {
        self.rec.steps.values().map(|h| h.len()).sum::<u64>() as f64 / self.wall.as_secs_f64()
    }
}

fn print_table(r: &Value) {
    println!("scenario ledger  backend {}  concurrency {}", r["backend"].as_str().unwrap_or(""), r["buyers"]);
    println!(
        "{:>9} {:>9} {:>8} {:>7} | {:>11} {:>7} | {:>10} {:>7} | {:>8} | {:>9} {:>8} {:>7} | {:>7} {:>8} | errors (ms throughout)",
        "size",
        "entries",
        "accounts",
        "seed s",
        "balance p50",
        "p99",
        "empty p50",
        "p99",
        "reads/s",
        "trial p50",
        "p99",
        "per sec",
        "pay/s",
        "pay p99",
    );
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let steps = ["balance_read", "balance_read_no_history", "trial_balance", "orders", "payments"];
    for row in r["rows"].as_array().into_iter().flatten() {
        let (b, e, t, p) =
            (&row["balance_read"], &row["balance_read_no_history"], &row["trial_balance"], &row["payments"]);
        let errors = steps
            .iter()
            .filter_map(|k| row[k]["error_codes"].as_object().map(|m| (k, m)))
            .flat_map(|(k, m)| m.iter().map(move |(code, n)| format!("{k} {code}: {n}")))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "{:>9} {:>9} {:>8} {:>7.1} | {:>11.2} {:>7.2} | {:>10.2} {:>7.2} | {:>8.0} | {:>9.2} {:>8.2} {:>7.0} | {:>7.0} {:>8.2} | {}",
            row["size"].as_u64().unwrap_or(0),
            row["entries"].as_i64().unwrap_or(0),
            row["accounts"].as_i64().unwrap_or(0),
            f(&row["seeded"]["seconds"]),
            f(&b["p50_ms"]),
            f(&b["p99_ms"]),
            f(&e["p50_ms"]),
            f(&e["p99_ms"]),
            f(&row["balance_reads_per_second"]),
            f(&t["p50_ms"]),
            f(&t["p99_ms"]),
            f(&t["per_second"]),
            f(&p["per_second"]),
            f(&p["p99_ms"]),
            if errors.is_empty() { "-".to_string() } else { errors },
        );
    }
}
