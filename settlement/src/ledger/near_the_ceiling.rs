//! Random movements of amounts near the money ceiling, on books whose accounts already
//! hold sums near the limit of `i64`: every posting either applies exactly or is refused
//! and changes nothing; the books balance after every step, the totals (beyond `i64`)
//! are exact, reconciliation finds nothing, and no stored sum is ever anything but an
//! integer.

use crate::error::SettlementError;
use crate::ledger::store::{post, reconcile, trial_balance};
use crate::ledger::{Account, Transaction};
use crate::schema::accounts;
use diesel::sql_types::BigInt;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use proptest::prelude::*;
use shared::db::{AnyConnection, Db};
use shared::ids::{OrderId, PartnerId, StoreId};
use shared::money::{Currency, Money, MAX_AMOUNT};

const ACCOUNTS: usize = 6;

fn chart() -> Vec<Account> {
    vec![
        Account::PartnerClearing(PartnerId::generate()),
        Account::Escrow(OrderId::generate()),
        Account::Store(StoreId::generate()),
        Account::Store(StoreId::generate()),
        Account::MarketplaceFees,
        Account::Refunds,
    ]
}

#[derive(Debug, Clone)]
enum Step {
    /// One amount from one account to another.
    Move { debit: usize, credit: usize, amount: i64 },
    /// One debit split over two credits, as a capture with fees is.
    Split { debit: usize, credits: (usize, usize), amount: i64 },
}

fn near_ceiling() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => (MAX_AMOUNT - 1_000)..=MAX_AMOUNT,
        1 => Just(MAX_AMOUNT),
        1 => 1i64..1_000,
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..ACCOUNTS, 0..ACCOUNTS, near_ceiling()).prop_map(|(debit, credit, amount)| Step::Move {
            debit,
            credit,
            amount
        }),
        (0..ACCOUNTS, (0..ACCOUNTS, 0..ACCOUNTS), near_ceiling()).prop_map(|(debit, credits, amount)| Step::Split {
            debit,
            credits,
            amount
        }),
    ]
}

fn eur(a: i64) -> Money {
    Money::new(a, Currency::EUR)
}

impl Step {
    fn transaction(&self, chart: &[Account]) -> Transaction {
        let t = Transaction::new(crate::ledger::TransactionKind::ReportCharge, Currency::EUR);
        match *self {
            Step::Move { debit, credit, amount } => {
                t.move_money(chart[debit].clone(), chart[credit].clone(), eur(amount))
            }
            Step::Split { debit, credits: (a, b), amount } => {
                let half = amount / 2;
                t.move_money(chart[debit].clone(), chart[a].clone(), eur(half)).move_money(
                    chart[debit].clone(),
                    chart[b].clone(),
                    eur(amount - half),
                )
            }
        }
    }
}

/// What each account's cached sums must be: (debits, credits), exact.
type Model = Vec<(i128, i128)>;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn non_integers(conn: &mut AnyConnection) -> i64 {
    let q = "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM accounts \
             WHERE typeof(debits) <> 'integer' OR typeof(credits) <> 'integer'";
    diesel::sql_query(q).get_result::<Count>(conn).unwrap().n
}

fn sums(conn: &mut AnyConnection, chart: &[Account]) -> Model {
    chart
        .iter()
        .map(|a| {
            use diesel::prelude::*;
            let (d, c): (i64, i64) = accounts::table
                .find(a.id(Currency::EUR))
                .select((accounts::debits, accounts::credits))
                .first(conn)
                .optional()
                .unwrap()
                .unwrap_or((0, 0));
            (d as i128, c as i128)
        })
        .collect()
}

fn check(conn: &mut AnyConnection, chart: &[Account], model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(non_integers(conn), 0, "an account's sums stopped being integers");
    prop_assert_eq!(&sums(conn, chart), model);
    let tb = trial_balance(conn, Currency::EUR).unwrap();
    prop_assert!(tb.balanced, "{:?}", tb);
    let debits: i128 = model.iter().map(|(d, _)| d).sum();
    prop_assert_eq!(tb.total_debits.amount, debits, "the total is not the exact sum");
    prop_assert_eq!(tb.total_credits.amount, debits);
    let report = reconcile(conn).unwrap();
    prop_assert!(report.is_clean(), "{:?}", report);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 100, ..ProptestConfig::default() })]

    #[test]
    fn movements_near_the_ceiling_apply_exactly_or_change_nothing(
        opening in proptest::collection::vec(0i64..6, ACCOUNTS),
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db").to_str().unwrap(), 1, crate::MIGRATIONS).unwrap();
        let chart = chart();
        db.write_blocking(|conn| -> Result<(), SettlementError> {
            // Opening books: account i owes account i+1 a sum a few ceilings short of
            // i64::MAX, so every account starts near the limit on both sides.
            let mut model: Model = vec![(0, 0); ACCOUNTS];
            for (i, k) in opening.iter().enumerate() {
                let amount = i64::MAX - k * MAX_AMOUNT;
                let next = (i + 1) % ACCOUNTS;
                let t = Transaction::new(crate::ledger::TransactionKind::ReportCharge, Currency::EUR).move_money(chart[i].clone(), chart[next].clone(), eur(amount));
                post(conn, &t)?;
                model[i].0 += amount as i128;
                model[next].1 += amount as i128;
            }
            check(conn, &chart, &model).map_err(|e| shared::Error::Internal(e.to_string()))?;
            for s in &steps {
                let t = s.transaction(&chart);
                let mut after = model.clone();
                for line in &t.lines {
                    let i = chart.iter().position(|a| *a == line.account).unwrap();
                    after[i].0 += line.debit as i128;
                    after[i].1 += line.credit as i128;
                }
                let fits = after.iter().all(|(d, c)| *d <= i64::MAX as i128 && *c <= i64::MAX as i128);
                // The caller's transaction: a refusal rolls back every entry it wrote.
                match conn.transaction(|c| post(c, &t)) {
                    Ok(_) => {
                        assert!(fits, "{s:?} was applied although it overflows");
                        model = after;
                    }
                    Err(SettlementError::Shared(shared::Error::Money(shared::money::MoneyError::Overflow))) => {
                        assert!(!fits, "{s:?} was refused although it fits");
                    }
                    Err(e) => return Err(e),
                }
                check(conn, &chart, &model).map_err(|e| shared::Error::Internal(e.to_string()))?;
            }
            Ok(())
        }).unwrap();
    }
}
