//! Budgets, released copies and purchases in a service's own database (the tables of
//! `migrations/<service>/*/…_reports`, the same in broker and settlement).
//!
//! Budget reservations are conditional updates (`spent = spent + ε WHERE spent ≤ cap − ε`),
//! so two purchases racing on one month can never both pass the check, on SQLite or on
//! PostgreSQL, and a reservation made in a transaction that rolls back spends nothing.

use crate::analyses::{grid, AnalysisError, PublicLabels, ReportKind, Request, Settings};
use crate::budget::{Analyst, Budget, Exhausted, Limit, Spent};
use crate::epsilon::Epsilon;
use crate::period::{Month, Window};
use crate::report::{Contribution, MeasureNoise, Plan, Release, ReportError};
use diesel::prelude::*;
use serde::Serialize;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::{ReportId, SellerId, StoreId};
use shared::money::{Currency, Money};

/// The budgets, released copies and purchases of the analyses, in the database of each
/// service that sells them.
pub const MIGRATIONS: shared::db::Migrations = shared::migrations!("migrations/sqlite", "migrations/postgres");

/// What the database of a service that sells analyses (the broker, settlement) builds on:
/// the outbox, the operators' audit log, the idempotency keys its API takes and these
/// tables.
pub const SELLING_SERVICE: &[shared::db::Migrations] =
    &[shared::outbox::MIGRATIONS, shared::audit::MIGRATIONS, shared::idempotency::MIGRATIONS, MIGRATIONS];
use shared::time::{now, Timestamp};

use crate::schema::{
    privacy_budget, privacy_seller_budget, privacy_spends, report_meta, report_purchases, report_releases,
};

shared::typed_id!(
    /// A released copy of a report.
    ReleaseId,
    "rel"
);

shared::sql_text!(ReportKind);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Exhausted(#[from] Exhausted),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

fn corrupt(what: &str, value: &str) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("invalid {what} in the database: {value}").into())
}

fn month(s: &str) -> QueryResult<Month> {
    Month::parse(s).map_err(|_| corrupt("month", s))
}

/// The first month of data this service holds (set when its report tables were created),
/// or the configured one.
pub fn first_month(conn: &mut AnyConnection, settings: &Settings) -> QueryResult<Month> {
    if let Some(m) = settings.first_month {
        return Ok(m);
    }
    let v: Option<String> = report_meta::table.find("first_month").select(report_meta::value).first(conn).optional()?;
    match v {
        Some(v) => month(&v),
        None => Ok(Month::of(now())),
    }
}

/// What has been spent on `m`, by everyone and by `seller`.
pub fn spent(conn: &mut AnyConnection, seller: &SellerId, m: Month) -> QueryResult<Spent> {
    let key = m.to_string();
    let service: Option<Epsilon> =
        privacy_budget::table.find(&key).select(privacy_budget::spent).first(conn).optional()?;
    let own: Option<Epsilon> = privacy_seller_budget::table
        .find((seller, &key))
        .select(privacy_seller_budget::spent)
        .first(conn)
        .optional()?;
    // A month nobody bought yet has no counter: nothing spent.
    Ok(Spent { service: service.unwrap_or(Epsilon::ZERO), seller: own.unwrap_or(Epsilon::ZERO) })
}

/// The least `seller` can still spend over the months of `window`.
pub fn left(
    conn: &mut AnyConnection,
    budget: &Budget,
    analyst: Analyst,
    seller: &SellerId,
    window: Window,
) -> QueryResult<Epsilon> {
    let mut least = budget.seller_cap(analyst);
    for m in window.months() {
        least = least.min(budget.left(analyst, spent(conn, seller, m)?));
    }
    Ok(least)
}

/// Reserves `cost` in every month of `window`, for the service and for `seller`, or
/// nothing: on `Err` the caller's transaction must roll back (returning the error from a
/// `db.write` closure does).
pub fn reserve(
    conn: &mut AnyConnection,
    budget: &Budget,
    analyst: Analyst,
    seller: &SellerId,
    window: Window,
    cost: Epsilon,
    purchase: &ReportId,
) -> Result<(), StoreError> {
    if cost == Epsilon::ZERO {
        return Ok(());
    }
    let c = cost.to_db();
    let service_cap = budget.service_cap(analyst).to_db();
    let seller_cap = budget.seller_cap(analyst).to_db();
    let t = now();
    for m in window.months() {
        let key = m.to_string();
        ensure_rows(conn, seller, &key, t)?;
        let n = diesel::update(privacy_budget::table.find(&key))
            .filter(privacy_budget::spent.le(service_cap - c))
            .set((privacy_budget::spent.eq(privacy_budget::spent + c), privacy_budget::updated_at.eq(t)))
            .execute(conn)?;
        if n == 0 {
            let left = budget.service_cap(analyst).saturating_sub(spent(conn, seller, m)?.service);
            return Err(Exhausted { month: m, limit: Limit::Service, left, needed: cost }.into());
        }
        let n = diesel::update(privacy_seller_budget::table.find((seller, &key)))
            .filter(privacy_seller_budget::spent.le(seller_cap - c))
            .set((
                privacy_seller_budget::spent.eq(privacy_seller_budget::spent + c),
                privacy_seller_budget::updated_at.eq(t),
            ))
            .execute(conn)?;
        if n == 0 {
            let left = budget.seller_cap(analyst).saturating_sub(spent(conn, seller, m)?.seller);
            return Err(Exhausted { month: m, limit: Limit::Seller, left, needed: cost }.into());
        }
        record_spend(conn, purchase, seller, &key, c, t)?;
    }
    Ok(())
}

/// Returns a reservation whose computation was never shown to anyone (the charge was
/// refused, or another purchase released the same report first).
pub fn give_back(
    conn: &mut AnyConnection,
    seller: &SellerId,
    window: Window,
    cost: Epsilon,
    purchase: &ReportId,
) -> QueryResult<()> {
    if cost == Epsilon::ZERO {
        return Ok(());
    }
    let c = cost.to_db();
    let t = now();
    for m in window.months() {
        let key = m.to_string();
        diesel::update(privacy_budget::table.find(&key))
            .filter(privacy_budget::spent.ge(c))
            .set((privacy_budget::spent.eq(privacy_budget::spent - c), privacy_budget::updated_at.eq(t)))
            .execute(conn)?;
        diesel::update(privacy_seller_budget::table.find((seller, &key)))
            .filter(privacy_seller_budget::spent.ge(c))
            .set((
                privacy_seller_budget::spent.eq(privacy_seller_budget::spent - c),
                privacy_seller_budget::updated_at.eq(t),
            ))
            .execute(conn)?;
        record_spend(conn, purchase, seller, &key, -c, t)?;
    }
    Ok(())
}

fn record_spend(
    conn: &mut AnyConnection,
    purchase: &ReportId,
    seller: &SellerId,
    month: &str,
    epsilon: i64,
    t: Timestamp,
) -> QueryResult<()> {
    diesel::insert_into(privacy_spends::table)
        .values((
            privacy_spends::purchase_id.eq(purchase),
            privacy_spends::seller_id.eq(seller),
            privacy_spends::month.eq(month),
            privacy_spends::epsilon.eq(epsilon),
            privacy_spends::created_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

/// Creates the month's counters at zero if they do not exist yet. Each insert runs in a
/// savepoint, so a concurrent creator's unique violation leaves the transaction usable.
fn ensure_rows(conn: &mut AnyConnection, seller: &SellerId, month: &str, t: Timestamp) -> QueryResult<()> {
    let exists: i64 = privacy_budget::table.filter(privacy_budget::month.eq(month)).count().get_result(conn)?;
    if exists == 0 {
        let r = conn.transaction(|c| {
            diesel::insert_into(privacy_budget::table)
                .values((
                    privacy_budget::month.eq(month),
                    privacy_budget::spent.eq(0i64),
                    privacy_budget::updated_at.eq(t),
                ))
                .execute(c)
        });
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e),
        }
    }
    let exists: i64 = privacy_seller_budget::table
        .filter(privacy_seller_budget::seller_id.eq(seller))
        .filter(privacy_seller_budget::month.eq(month))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        let r = conn.transaction(|c| {
            diesel::insert_into(privacy_seller_budget::table)
                .values((
                    privacy_seller_budget::seller_id.eq(seller),
                    privacy_seller_budget::month.eq(month),
                    privacy_seller_budget::spent.eq(0i64),
                    privacy_seller_budget::updated_at.eq(t),
                ))
                .execute(c)
        });
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A released copy as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRelease {
    pub id: ReleaseId,
    pub epsilon: Epsilon,
    pub release: Release,
    pub created_at: Timestamp,
}

type ReleaseRow = (ReleaseId, Epsilon, String, Timestamp);

fn stored(row: ReleaseRow) -> QueryResult<StoredRelease> {
    let (id, epsilon, body, created_at) = row;
    let release: Release = serde_json::from_str(&body).map_err(|_| corrupt("release body", id.as_ref()))?;
    Ok(StoredRelease { id, epsilon, release, created_at })
}

/// The released copy of a report, if it was computed before.
pub fn find_release(
    conn: &mut AnyConnection,
    kind: ReportKind,
    group_by: &str,
    window: Window,
) -> QueryResult<Option<StoredRelease>> {
    let row: Option<ReleaseRow> = report_releases::table
        .filter(report_releases::kind.eq(kind))
        .filter(report_releases::group_by.eq(group_by))
        .filter(report_releases::from_month.eq(window.from.to_string()))
        .filter(report_releases::to_month.eq(window.to.to_string()))
        .select((report_releases::id, report_releases::epsilon, report_releases::body, report_releases::created_at))
        .first(conn)
        .optional()?;
    row.map(stored).transpose()
}

pub fn release_by_id(conn: &mut AnyConnection, id: &ReleaseId) -> QueryResult<Option<StoredRelease>> {
    let row: Option<ReleaseRow> = report_releases::table
        .find(id)
        .select((report_releases::id, report_releases::epsilon, report_releases::body, report_releases::created_at))
        .first(conn)
        .optional()?;
    row.map(stored).transpose()
}

/// Stores a fresh release as the one copy of its report. `None` when another purchase
/// stored one first (in a concurrent transaction): use that copy instead.
pub fn insert_release(
    conn: &mut AnyConnection,
    kind: ReportKind,
    group_by: &str,
    window: Window,
    release: Release,
) -> QueryResult<Option<StoredRelease>> {
    let id = ReleaseId::generate();
    let body = serde_json::to_string(&release).map_err(|e| diesel::result::Error::SerializationError(e.into()))?;
    let t = now();
    let inserted = conn.transaction(|c| {
        diesel::insert_into(report_releases::table)
            .values((
                report_releases::id.eq(&id),
                report_releases::kind.eq(kind),
                report_releases::group_by.eq(group_by),
                report_releases::from_month.eq(window.from.to_string()),
                report_releases::to_month.eq(window.to.to_string()),
                report_releases::epsilon.eq(release.epsilon.to_db()),
                report_releases::body.eq(&body),
                report_releases::created_at.eq(t),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(Some(StoredRelease { id, epsilon: release.epsilon, release, created_at: t })),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Exhausted(#[from] Exhausted),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Settings(#[from] crate::budget::BudgetError),
}

impl From<StoreError> for ReleaseError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Exhausted(x) => ReleaseError::Exhausted(x),
            StoreError::Db(x) => ReleaseError::Db(x),
        }
    }
}

/// Reserves what a purchase will cost in privacy: nothing when the report was released
/// before (the copy is resold), the plan's ε in every month of the window otherwise.
pub fn reserve_for(
    conn: &mut AnyConnection,
    settings: &Settings,
    seller: &SellerId,
    purchase: &ReportId,
    request: &Request,
) -> Result<Epsilon, ReleaseError> {
    if find_release(conn, request.kind, request.grouping.as_str(), request.window)?.is_some() {
        return Ok(Epsilon::ZERO);
    }
    let plan = Plan::new(request.kind.spec(settings))?;
    let cost = plan.epsilon();
    let budget = settings.budget()?;
    reserve(conn, &budget, request.kind.analyst(), seller, request.window, cost, purchase)?;
    Ok(cost)
}

/// The released copy a purchase gets, and the ε it finally spent: the existing copy (its
/// reservation, if any, given back since nothing fresh was shown), or a fresh release
/// computed from `load` (public labels and the records as contributions) and stored as
/// the one copy.
pub fn release_for<F>(
    conn: &mut AnyConnection,
    settings: &Settings,
    seller: &SellerId,
    purchase: &ReportId,
    request: &Request,
    reserved: Epsilon,
    load: F,
) -> Result<(StoredRelease, Epsilon), ReleaseError>
where
    F: FnOnce(&mut AnyConnection) -> QueryResult<(PublicLabels, Vec<Contribution>)>,
{
    let (kind, group_by, window) = (request.kind, request.grouping.as_str(), request.window);
    if let Some(existing) = find_release(conn, kind, group_by, window)? {
        give_back(conn, seller, window, reserved, purchase)?;
        return Ok((existing, Epsilon::ZERO));
    }
    let plan = Plan::new(kind.spec(settings))?;
    let cost = plan.epsilon();
    let mut spent = reserved;
    if reserved < cost {
        // Only if the settings changed between reservation and release: reserve the rest.
        let budget = settings.budget()?;
        let more = cost.saturating_sub(reserved);
        reserve(conn, &budget, kind.analyst(), seller, window, more, purchase)?;
        spent = cost;
    }
    let (labels, contributions) = load(conn)?;
    let g = grid(request.grouping, &labels, window)?;
    let release = plan.release(&g, &contributions)?;
    match insert_release(conn, kind, group_by, window, release)? {
        Some(stored) => Ok((stored, spent)),
        None => {
            // Another purchase stored the copy first: ours was never shown.
            give_back(conn, seller, window, spent, purchase)?;
            let existing = find_release(conn, kind, group_by, window)?.ok_or(diesel::result::Error::NotFound)?;
            Ok((existing, Epsilon::ZERO))
        }
    }
}

shared::text_enum! {
    pub enum PurchaseStatus {
        /// Waiting for the charge; nothing is shown yet.
        Charging,
        /// Charged and released to the buyer.
        Completed,
        /// The charge was refused (or could not be completed and was refunded); nothing shown.
        Failed,
    }
}

impl PurchaseStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    pub id: ReportId,
    pub seller_id: SellerId,
    pub store_id: StoreId,
    pub kind: ReportKind,
    pub group_by: String,
    pub window: Window,
    pub price: Money,
    /// ε reserved for a fresh computation; zero for a copy already released.
    pub epsilon_spent: Epsilon,
    pub release_id: Option<ReleaseId>,
    pub status: PurchaseStatus,
    pub failure: Option<String>,
    pub created_at: Timestamp,
    pub completed_at: Option<Timestamp>,
}

/// A purchase as stored: typed but for its months (text) and its price (two columns).
#[derive(Queryable, Selectable)]
#[diesel(table_name = report_purchases)]
struct PurchaseRow {
    id: ReportId,
    seller_id: SellerId,
    store_id: StoreId,
    kind: ReportKind,
    group_by: String,
    from_month: String,
    to_month: String,
    price_amount: i64,
    price_currency: Currency,
    epsilon_spent: Epsilon,
    release_id: Option<ReleaseId>,
    status: PurchaseStatus,
    failure: Option<String>,
    created_at: Timestamp,
    completed_at: Option<Timestamp>,
}

fn purchase(r: PurchaseRow) -> QueryResult<Purchase> {
    Ok(Purchase {
        window: Window { from: month(&r.from_month)?, to: month(&r.to_month)? },
        price: Money::new(r.price_amount, r.price_currency),
        id: r.id,
        seller_id: r.seller_id,
        store_id: r.store_id,
        kind: r.kind,
        group_by: r.group_by,
        epsilon_spent: r.epsilon_spent,
        release_id: r.release_id,
        status: r.status,
        failure: r.failure,
        created_at: r.created_at,
        completed_at: r.completed_at,
    })
}

pub fn insert_purchase(conn: &mut AnyConnection, p: &Purchase) -> QueryResult<()> {
    diesel::insert_into(report_purchases::table)
        .values((
            report_purchases::id.eq(&p.id),
            report_purchases::seller_id.eq(&p.seller_id),
            report_purchases::store_id.eq(&p.store_id),
            report_purchases::kind.eq(p.kind),
            report_purchases::group_by.eq(&p.group_by),
            report_purchases::from_month.eq(p.window.from.to_string()),
            report_purchases::to_month.eq(p.window.to.to_string()),
            report_purchases::price_amount.eq(p.price.amount),
            report_purchases::price_currency.eq(p.price.currency),
            report_purchases::epsilon_spent.eq(p.epsilon_spent.to_db()),
            report_purchases::release_id.eq(&p.release_id),
            report_purchases::status.eq(p.status),
            report_purchases::failure.eq(p.failure.as_deref()),
            report_purchases::created_at.eq(p.created_at),
            report_purchases::completed_at.eq(p.completed_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get_purchase(conn: &mut AnyConnection, id: &ReportId) -> QueryResult<Option<Purchase>> {
    let row: Option<PurchaseRow> =
        report_purchases::table.find(id).select(PurchaseRow::as_select()).first(conn).optional()?;
    row.map(purchase).transpose()
}

/// A salesperson's purchases, newest first.
pub fn list_purchases(
    conn: &mut AnyConnection,
    seller: &SellerId,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Purchase>> {
    let rows: Vec<PurchaseRow> = report_purchases::table
        .filter(report_purchases::seller_id.eq(seller))
        .order((report_purchases::created_at.desc(), report_purchases::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(PurchaseRow::as_select())
        .load(conn)?;
    rows.into_iter().map(purchase).collect()
}

/// Takes the row lock of a purchase that is still charging (a no-op update) and says
/// whether it is: whoever completes or fails it must hold this first, so that two workers
/// settling the same purchase (the handler and the outbox) cannot both act on it; on
/// PostgreSQL the second waits for the first to commit and then sees it settled.
pub fn lock_charging(conn: &mut AnyConnection, id: &ReportId) -> QueryResult<bool> {
    let n = diesel::update(report_purchases::table.find(id))
        .filter(report_purchases::status.eq(PurchaseStatus::Charging))
        .set(report_purchases::status.eq(PurchaseStatus::Charging))
        .execute(conn)?;
    Ok(n == 1)
}

/// Moves a charging purchase to completed with its release; `false` if it was no longer
/// charging (another worker finished it).
pub fn complete(
    conn: &mut AnyConnection,
    id: &ReportId,
    release: &ReleaseId,
    epsilon_spent: Epsilon,
) -> QueryResult<bool> {
    let n = diesel::update(report_purchases::table.find(id))
        .filter(report_purchases::status.eq(PurchaseStatus::Charging))
        .set((
            report_purchases::status.eq(PurchaseStatus::Completed),
            report_purchases::release_id.eq(Some(release)),
            report_purchases::epsilon_spent.eq(epsilon_spent.to_db()),
            report_purchases::completed_at.eq(Some(now())),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Moves a charging purchase to failed; `false` if it was no longer charging.
pub fn fail(conn: &mut AnyConnection, id: &ReportId, failure: &str) -> QueryResult<bool> {
    let n = diesel::update(report_purchases::table.find(id))
        .filter(report_purchases::status.eq(PurchaseStatus::Charging))
        .set((
            report_purchases::status.eq(PurchaseStatus::Failed),
            report_purchases::failure.eq(Some(failure)),
            report_purchases::epsilon_spent.eq(0i64),
            report_purchases::completed_at.eq(Some(now())),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Purchases still charging that were created before `before` (for a recovery sweep).
pub fn stale_charging(conn: &mut AnyConnection, before: Timestamp, limit: i64) -> QueryResult<Vec<ReportId>> {
    report_purchases::table
        .filter(report_purchases::status.eq(PurchaseStatus::Charging))
        .filter(report_purchases::created_at.lt(before))
        .order(report_purchases::created_at)
        .limit(limit)
        .select(report_purchases::id)
        .load(conn)
}

/// How a purchased report is shown: the same for JSON and (its rows) for CSV.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    #[schema(value_type = String)]
    pub report_id: ReportId,
    /// `charging`, `completed` or `failed`: rows are shown only once completed.
    #[schema(value_type = String)]
    pub status: PurchaseStatus,
    #[schema(value_type = String)]
    pub kind: ReportKind,
    pub group_by: String,
    #[schema(value_type = Object)]
    pub period: Period,
    #[schema(value_type = String)]
    pub store_id: StoreId,
    pub price: Money,
    /// ε this purchase spent: zero for a copy released before.
    #[schema(value_type = f64)]
    pub epsilon_spent: Epsilon,
    /// What the buyer may still spend on the report's months.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub budget_left: Option<Epsilon>,
    /// The privacy unit: `order` or `session`.
    pub unit: &'static str,
    /// The currency of every value column (minor units).
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub privacy: Option<PrivacyView>,
    /// One object per cell of the public grid: its labels, `suppressed`, then the noisy
    /// figures (`null` where suppressed).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub rows: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub bought_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub from: Month,
    pub to: Month,
}

/// What the report says about its own protection, so that signal can be told from noise.
#[derive(Debug, Clone, Serialize)]
pub struct PrivacyView {
    pub release_id: ReleaseId,
    /// ε of the release (what its first buyer paid in privacy), δ is always 0.
    pub epsilon: Epsilon,
    pub delta: f64,
    pub mechanism: &'static str,
    pub threshold: i64,
    pub suppressed_cells: usize,
    pub cells: usize,
    pub dimensions: Vec<String>,
    pub measures: Vec<String>,
    pub noise: Vec<MeasureNoise>,
    #[serde(with = "shared::time::rfc3339")]
    pub computed_at: Timestamp,
}

impl ReportView {
    pub fn of(p: &Purchase, release: Option<&StoredRelease>, budget_left: Option<Epsilon>, currency: &str) -> Self {
        let shown = release.filter(|_| p.status == PurchaseStatus::Completed);
        ReportView {
            report_id: p.id.clone(),
            status: p.status,
            kind: p.kind,
            group_by: p.group_by.clone(),
            period: Period { from: p.window.from, to: p.window.to },
            store_id: p.store_id.clone(),
            price: p.price,
            epsilon_spent: p.epsilon_spent,
            budget_left,
            unit: p.kind.unit(),
            currency: currency.to_string(),
            privacy: shown.map(|r| PrivacyView {
                release_id: r.id.clone(),
                epsilon: r.epsilon,
                delta: 0.0,
                mechanism: "discrete Laplace (OpenDP make_laplace), contribution bounding, noisy-count threshold",
                threshold: r.release.threshold,
                suppressed_cells: r.release.suppressed_cells,
                cells: r.release.rows.len(),
                dimensions: r.release.dimensions.clone(),
                measures: r.release.measures.clone(),
                noise: r.release.noise.clone(),
                computed_at: r.created_at,
            }),
            rows: shown.map(|r| r.release.json_rows()),
            failure: p.failure.clone(),
            bought_at: p.created_at,
        }
    }
}

/// One entry of `GET /v1/seller/reports/catalogue`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogueEntry {
    pub kind: &'static str,
    pub group_by: &'static str,
    pub price: Money,
    /// ε a fresh computation costs in each month of its window (a copy already released
    /// costs nothing).
    #[schema(value_type = f64)]
    pub epsilon: Epsilon,
    pub delta: f64,
    pub unit: &'static str,
    /// The months that may be asked for.
    #[schema(value_type = Object)]
    pub period: Period,
    pub max_window_months: usize,
    pub measures: Vec<String>,
    pub threshold: i64,
}

/// The catalogue of an analyst's reports over the months `[first, last]`.
pub fn catalogue(
    settings: &Settings,
    analyst: Analyst,
    currency: Currency,
    first: Month,
    last: Month,
) -> Vec<CatalogueEntry> {
    let mut out = vec![];
    for kind in ReportKind::of(analyst) {
        let spec = kind.spec(settings);
        let mut measures = vec![spec.count.clone()];
        measures.extend(spec.sums.iter().map(|s| s.name.clone()));
        measures.extend(spec.ratios.iter().map(|r| r.name.clone()));
        for g in kind.groupings() {
            out.push(CatalogueEntry {
                kind: kind.as_str(),
                group_by: g,
                price: Money::new(kind.price_minor(settings), currency),
                epsilon: spec.epsilon,
                delta: 0.0,
                unit: kind.unit(),
                period: Period { from: first, to: last },
                max_window_months: settings.max_window_months,
                measures: measures.clone(),
                threshold: settings.threshold,
            });
        }
    }
    out
}
