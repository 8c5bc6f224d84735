//! Writing transactions and reading balances. Every posting updates the accounts' cached
//! sums in the same database transaction as its entries, so a balance read is one row.
//!
//! Sums fail closed: a posting that would take an account's sums past `i64` is refused
//! (`amount_out_of_range`) and, being an error, rolls back the whole transaction that made
//! it; totals over many accounts are added in `i128` and never overflow.

use super::domain::{Account, AccountKind, Transaction};
use crate::error::{Result, SettlementError};
use crate::schema::{accounts, ledger_entries, ledger_transactions};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use shared::db::{is_unique_violation, AnyConnection};
use shared::money::{Currency, Money, MoneyError, Total};
use shared::time::now;

/// Writes a balanced transaction; returns its id. Call inside the write transaction that
/// makes the change it records.
pub fn post(conn: &mut AnyConnection, txn: &Transaction) -> Result<String> {
    txn.check().map_err(|e| {
        tracing::error!(error = %e, kind = %txn.kind, "refused an unbalanced ledger transaction");
        SettlementError::Unbalanced
    })?;
    let id = format!("txn_{}", shared::ids::random_hex128());
    let t = now();
    diesel::insert_into(ledger_transactions::table)
        .values((
            ledger_transactions::id.eq(&id),
            ledger_transactions::kind.eq(txn.kind),
            ledger_transactions::order_id.eq(txn.order.as_ref()),
            ledger_transactions::reference.eq(txn.reference.as_deref()),
            ledger_transactions::currency.eq(txn.currency),
            ledger_transactions::created_at.eq(t),
        ))
        .execute(conn)?;
    // Accounts are created, and their cached sums updated, in account id order whatever the
    // order of the lines, so concurrent postings lock account rows in one global order and
    // cannot deadlock.
    let mut totals: std::collections::BTreeMap<String, (i64, i64)> = std::collections::BTreeMap::new();
    let mut accounts_used: std::collections::BTreeMap<String, &Account> = std::collections::BTreeMap::new();
    for line in &txn.lines {
        accounts_used.insert(line.account.id(txn.currency), &line.account);
    }
    for account in accounts_used.values() {
        ensure_account(conn, account, txn.currency)?;
    }
    for line in &txn.lines {
        let account_id = line.account.id(txn.currency);
        diesel::insert_into(ledger_entries::table)
            .values((
                ledger_entries::transaction_id.eq(&id),
                ledger_entries::account_id.eq(&account_id),
                ledger_entries::debit.eq(line.debit),
                ledger_entries::credit.eq(line.credit),
                ledger_entries::created_at.eq(t),
            ))
            .execute(conn)?;
        let total = totals.entry(account_id).or_default();
        total.0 = total.0.checked_add(line.debit).ok_or(MoneyError::Overflow)?;
        total.1 = total.1.checked_add(line.credit).ok_or(MoneyError::Overflow)?;
    }
    for (account_id, (debit, credit)) in totals {
        // Checked addition in SQL, so that it stays one atomic statement under concurrent
        // postings: the row changes only while both sums stay within i64. Unchecked,
        // SQLite would store an overflowing sum as a float and PostgreSQL would fail.
        let updated = diesel::update(
            accounts::table
                .filter(accounts::id.eq(&account_id))
                .filter(accounts::debits.le(i64::MAX - debit))
                .filter(accounts::credits.le(i64::MAX - credit)),
        )
        .set((accounts::debits.eq(accounts::debits + debit), accounts::credits.eq(accounts::credits + credit)))
        .execute(conn)?;
        if updated != 1 {
            tracing::error!(account = %account_id, kind = %txn.kind, "refused a posting that would overflow an account");
            return Err(MoneyError::Overflow.into());
        }
    }
    Ok(id)
}

fn ensure_account(conn: &mut AnyConnection, account: &Account, currency: Currency) -> Result<String> {
    let id = account.id(currency);
    let exists = accounts::table.find(&id).count().get_result::<i64>(conn)? > 0;
    if !exists {
        // A savepoint: a concurrent creator's unique violation must not abort our transaction.
        let inserted = conn.transaction(|c| {
            diesel::insert_into(accounts::table)
                .values((
                    accounts::id.eq(&id),
                    accounts::kind.eq(account.kind()),
                    accounts::owner.eq(account.owner()),
                    accounts::currency.eq(currency),
                    accounts::debits.eq(0i64),
                    accounts::credits.eq(0i64),
                    accounts::created_at.eq(now()),
                ))
                .execute(c)
        });
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(id)
}

/// Debits minus credits (assets and expenses are positive, what we owe is negative).
pub fn balance(conn: &mut AnyConnection, account: &Account, currency: Currency) -> Result<Money> {
    let sums: Option<(i64, i64)> = accounts::table
        .find(account.id(currency))
        .select((accounts::debits, accounts::credits))
        .first(conn)
        .optional()?;
    let (d, c) = sums.unwrap_or((0, 0));
    Ok(Money::new(d.checked_sub(c).ok_or(shared::money::MoneyError::Overflow)?, currency))
}

/// What we owe the account's holder: credits minus debits (a store's available balance,
/// an order's escrow).
pub fn owed(conn: &mut AnyConnection, account: &Account, currency: Currency) -> Result<Money> {
    let b = balance(conn, account, currency)?;
    Ok(Money::new(-b.amount, currency))
}

/// Sums over many accounts are [`Total`]s: money whose amount may exceed 2^63 − 1 on
/// very large books (an exact JSON integer either way).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct KindTotals {
    #[schema(value_type = String)]
    pub kind: AccountKind,
    pub accounts: i64,
    pub debits: Total,
    pub credits: Total,
    /// Debits minus credits.
    pub balance: Total,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct TrialBalance {
    pub currency: Currency,
    pub total_debits: Total,
    pub total_credits: Total,
    pub balanced: bool,
    /// Totals per kind of account: one escrow account exists per order, so listing each
    /// would grow with history.
    pub accounts: Vec<KindTotals>,
}

/// Summing `i64` columns in SQL can overflow (SQLite fails, PostgreSQL's sum is NUMERIC,
/// which diesel's common path does not read), so a column is summed in two halves that
/// cannot: the high part `x / 2^32` (below 2^31) and the low part `x % 2^32` (below 2^32),
/// each of which fits an `i64` summed over 2^31 rows. [`wide`] puts them back together.
/// `x = (x / 2^32)·2^32 + x % 2^32` holds for truncating division in both databases.
macro_rules! split_sum {
    ($col:literal, $as:literal) => {
        concat!(
            "CAST(COALESCE(SUM(",
            $col,
            " / 4294967296), 0) AS BIGINT) AS ",
            $as,
            "_hi, ",
            "CAST(COALESCE(SUM(",
            $col,
            " % 4294967296), 0) AS BIGINT) AS ",
            $as,
            "_lo"
        )
    };
}

fn wide(hi: i64, lo: i64) -> i128 {
    ((hi as i128) << 32) + lo as i128
}

/// Debit and credit sums as SQL hands them back, each split at 2^32 so that neither
/// backend's `SUM` can overflow; put together in `i128`.
#[derive(QueryableByName)]
struct WideSums {
    #[diesel(sql_type = BigInt)]
    debits_hi: i64,
    #[diesel(sql_type = BigInt)]
    debits_lo: i64,
    #[diesel(sql_type = BigInt)]
    credits_hi: i64,
    #[diesel(sql_type = BigInt)]
    credits_lo: i64,
}

impl WideSums {
    fn debits(&self) -> i128 {
        wide(self.debits_hi, self.debits_lo)
    }

    fn credits(&self) -> i128 {
        wide(self.credits_hi, self.credits_lo)
    }
}

/// Entries or accounts counted and summed per `grouped` (an account kind, a transaction).
#[derive(QueryableByName)]
struct Grouped<K> {
    #[diesel(sql_type = Text)]
    grouped: K,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(embed)]
    sums: WideSums,
}

/// The trial balance from the cached account sums, added up in `i128`.
pub fn trial_balance(conn: &mut AnyConnection, currency: Currency) -> Result<TrialBalance> {
    let rows: Vec<Grouped<AccountKind>> = diesel::sql_query(concat!(
        "SELECT kind AS grouped, CAST(COUNT(*) AS BIGINT) AS n, ",
        split_sum!("debits", "debits"),
        ", ",
        split_sum!("credits", "credits"),
        " FROM accounts WHERE currency = $1 GROUP BY kind ORDER BY kind"
    ))
    .bind::<Text, _>(currency)
    .load(conn)?;
    let (mut d, mut c) = (0i128, 0i128);
    let mut kinds = Vec::with_capacity(rows.len());
    for r in rows {
        let (debits, credits) = (r.sums.debits(), r.sums.credits());
        d += debits;
        c += credits;
        kinds.push(KindTotals {
            kind: r.grouped,
            accounts: r.n,
            debits: Total::new(debits, currency),
            credits: Total::new(credits, currency),
            balance: Total::new(debits - credits, currency),
        });
    }
    Ok(TrialBalance {
        currency,
        total_debits: Total::new(d, currency),
        total_credits: Total::new(c, currency),
        balanced: d == c,
        accounts: kinds,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    pub account_id: String,
    pub cached_debits: i64,
    pub cached_credits: i64,
    /// Summed from the entries in `i128`: exact JSON integers, whatever their size.
    pub derived_debits: i128,
    pub derived_credits: i128,
}

/// What reconciliation found: every cached balance that differs from its entries, and
/// every transaction whose entries do not balance.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileReport {
    pub accounts_checked: usize,
    pub transactions_checked: i64,
    pub differences: Vec<Difference>,
    pub unbalanced_transactions: Vec<String>,
    /// Points liabilities that differ from what minted and spent points say.
    pub points_differences: Vec<PointsDifference>,
}

impl ReconcileReport {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty() && self.unbalanced_transactions.is_empty() && self.points_differences.is_empty()
    }
}

/// The points liability of one currency as the ledger holds it and as the mints (points
/// charges not refunded) less the points paid out on released orders derive it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PointsDifference {
    pub currency: String,
    pub ledger: i64,
    pub derived: i64,
}

#[derive(QueryableByName)]
struct PointsRow {
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    ledger: i64,
    #[diesel(sql_type = BigInt)]
    minted: i64,
    #[diesel(sql_type = BigInt)]
    spent: i64,
}

/// The chain of points through the books: every mint credited the liability, every
/// release of an order bought with points debited it, and it is never overdrawn.
fn reconcile_points(conn: &mut AnyConnection) -> Result<Vec<PointsDifference>> {
    let rows: Vec<PointsRow> = diesel::sql_query(
        "SELECT c.currency AS currency,          CAST(COALESCE((SELECT SUM(a.credits) - SUM(a.debits) FROM accounts a             WHERE a.kind = 'points_liability' AND a.currency = c.currency), 0) AS BIGINT) AS ledger,          CAST(COALESCE((SELECT SUM(ch.amount) FROM charges ch             WHERE ch.purpose = 'points' AND ch.status = 'charged' AND ch.currency = c.currency), 0) AS BIGINT) AS minted,          CAST(COALESCE((SELECT SUM(p.points_discount) FROM order_pricing p             WHERE p.released_at IS NOT NULL AND p.currency = c.currency), 0) AS BIGINT) AS spent          FROM (SELECT currency FROM accounts WHERE kind = 'points_liability'                UNION SELECT currency FROM charges WHERE purpose = 'points'                UNION SELECT currency FROM order_pricing WHERE points_discount > 0) c",
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let derived = r.minted.checked_sub(r.spent)?;
            (derived != r.ledger || r.ledger < 0).then_some(PointsDifference {
                currency: r.currency,
                ledger: r.ledger,
                derived,
            })
        })
        .collect())
}

#[derive(QueryableByName)]
struct DerivedRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    cached_debits: i64,
    #[diesel(sql_type = BigInt)]
    cached_credits: i64,
    #[diesel(embed)]
    sums: WideSums,
}

/// Re-derives every account's sums from its entries and re-checks every transaction.
pub fn reconcile(conn: &mut AnyConnection) -> Result<ReconcileReport> {
    let derived: Vec<DerivedRow> = diesel::sql_query(concat!(
        "SELECT a.id AS id, a.debits AS cached_debits, a.credits AS cached_credits, ",
        split_sum!("e.debit", "debits"),
        ", ",
        split_sum!("e.credit", "credits"),
        " FROM accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id GROUP BY a.id, a.debits, a.credits"
    ))
    .load(conn)?;
    // Split too, so that no transaction's sums can overflow. Equal halves mean equal sums;
    // differing halves may still add up to equal sums (a carry), so those few are checked
    // exactly here.
    let candidates: Vec<Grouped<String>> = diesel::sql_query(concat!(
        "SELECT transaction_id AS grouped, CAST(COUNT(*) AS BIGINT) AS n, ",
        split_sum!("debit", "debits"),
        ", ",
        split_sum!("credit", "credits"),
        " FROM ledger_entries GROUP BY transaction_id \
         HAVING SUM(debit / 4294967296) <> SUM(credit / 4294967296) \
         OR SUM(debit % 4294967296) <> SUM(credit % 4294967296) OR COUNT(*) < 2"
    ))
    .load(conn)?;
    let unbalanced = candidates.into_iter().filter(|t| t.n < 2 || t.sums.debits() != t.sums.credits());
    let transactions_checked = ledger_transactions::table.count().get_result::<i64>(conn)?;
    let mut report = ReconcileReport {
        accounts_checked: derived.len(),
        transactions_checked,
        unbalanced_transactions: unbalanced.map(|r| r.grouped).collect(),
        points_differences: reconcile_points(conn)?,
        ..ReconcileReport::default()
    };
    for r in derived {
        let (debits, credits) = (r.sums.debits(), r.sums.credits());
        if r.cached_debits as i128 != debits || r.cached_credits as i128 != credits {
            report.differences.push(Difference {
                account_id: r.id,
                cached_debits: r.cached_debits,
                cached_credits: r.cached_credits,
                derived_debits: debits,
                derived_credits: credits,
            });
        }
    }
    Ok(report)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AccountBalance {
    pub id: String,
    #[schema(value_type = String)]
    pub kind: AccountKind,
    /// The order, store or partner the account belongs to.
    pub owner: Option<String>,
    pub debits: Money,
    pub credits: Money,
    /// Debits minus credits.
    pub balance: Money,
}

/// Accounts one page at a time, optionally of one kind, in id order.
pub fn accounts_page(
    conn: &mut AnyConnection,
    currency: Currency,
    kind: Option<AccountKind>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AccountBalance>> {
    let mut q = accounts::table.filter(accounts::currency.eq(currency)).into_boxed();
    if let Some(kind) = kind {
        q = q.filter(accounts::kind.eq(kind));
    }
    let rows: Vec<(String, AccountKind, Option<String>, i64, i64)> = q
        .order(accounts::id)
        .limit(limit)
        .offset(offset)
        .select((accounts::id, accounts::kind, accounts::owner, accounts::debits, accounts::credits))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, owner, d, c)| AccountBalance {
            id,
            kind,
            owner,
            debits: Money::new(d, currency),
            credits: Money::new(c, currency),
            balance: Money::new(d - c, currency),
        })
        .collect())
}
