//! Synthetic history, for benchmarks and load tests only (the services never call it):
//! grows a ledger to a given number of entries quickly, so that reads and writes can be
//! measured against a long history.
//!
//! Every transaction goes through [`post`], the path that keeps the cached account sums, and
//! has the shape of a real one: a partner's payment into an order's escrow, the release of
//! that escrow to the store less the marketplace fee, and now and then a remittance of the
//! store's balance. The orders exist only on the ledger (no order or payment rows, no
//! messages), and every transaction carries the reference [`SEED_REFERENCE`].

use super::domain::{Account, Transaction};
use super::store::{owed, post};
use crate::error::Result;
use crate::escrow::domain::split;
use crate::schema::{accounts, ledger_entries};
use diesel::prelude::*;
use shared::config::FeeConfig;
use shared::db::AnyConnection;
use shared::ids::{OrderId, PartnerId, StoreId};
use shared::money::Money;

/// The reference on every seeded transaction, so that seeded history is told apart.
pub const SEED_REFERENCE: &str = "seed";

/// Whose history to grow.
#[derive(Debug, Clone)]
pub struct History {
    /// The store paid for every synthetic order.
    pub store: StoreId,
    /// The partner that collected every payment.
    pub partner: PartnerId,
    /// What each synthetic order is worth.
    pub order_value: Money,
    /// The store's whole balance is remitted after every this many orders (0: never).
    pub remit_every: usize,
}

/// What one call wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Grown {
    pub orders: usize,
    pub transactions: usize,
    pub entries: usize,
}

/// Posts whole synthetic orders until at least `entries` entries are written (a few more at
/// most: an order is never cut in half). Runs in the caller's transaction, so callers
/// batch: a few thousand entries per call keeps each transaction short.
pub fn grow(conn: &mut AnyConnection, history: &History, fees: &FeeConfig, entries: usize) -> Result<Grown> {
    let currency = history.order_value.currency;
    let mut grown = Grown::default();
    while grown.entries < entries {
        let order = OrderId::generate();
        let escrow = || Account::Escrow(order.clone());
        let payment = Transaction::new(crate::ledger::TransactionKind::Payment, currency)
            .order(&order)
            .reference(SEED_REFERENCE)
            .move_money(Account::PartnerClearing(history.partner.clone()), escrow(), history.order_value);
        let s = split(history.order_value, fees, false, false);
        let release = Transaction::new(crate::ledger::TransactionKind::Release, currency)
            .order(&order)
            .reference(SEED_REFERENCE)
            .move_money(escrow(), Account::MarketplaceFees, s.marketplace)
            .move_money(escrow(), Account::Store(history.store.clone()), s.store);
        for txn in [payment, release] {
            post(conn, &txn)?;
            grown.transactions += 1;
            grown.entries += txn.lines.len();
        }
        grown.orders += 1;
        if history.remit_every > 0 && grown.orders % history.remit_every == 0 {
            let store = Account::Store(history.store.clone());
            let balance = owed(conn, &store, currency)?;
            if balance.amount > 0 {
                let txn = Transaction::new(crate::ledger::TransactionKind::Remittance, currency)
                    .reference(SEED_REFERENCE)
                    .move_money(store, Account::Payouts, balance);
                post(conn, &txn)?;
                grown.transactions += 1;
                grown.entries += txn.lines.len();
            }
        }
    }
    Ok(grown)
}

/// How many entries the ledger holds. Counts every row: for reports, not for hot paths.
pub fn entry_count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(ledger_entries::table.count().get_result(conn)?)
}

/// How many accounts the ledger holds (one escrow account per order paid).
pub fn account_count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(accounts::table.count().get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::store::{balance, reconcile, trial_balance};
    use shared::db::Db;
    use shared::money::Currency;

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    #[test]
    fn seeded_history_balances_and_caches_the_sums_of_its_entries() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db").to_str().unwrap(), 2, crate::MIGRATIONS).unwrap();
        let fees = FeeConfig::default();
        let history = History {
            store: StoreId::generate(),
            partner: PartnerId::generate(),
            order_value: eur(1000),
            remit_every: 7,
        };
        // Three batches, as a caller growing a large ledger would write them.
        let mut total = Grown::default();
        for _ in 0..3 {
            let g = db.write_blocking(|c| grow(c, &history, &fees, 100)).unwrap();
            assert!(g.entries >= 100 && g.entries < 100 + 6, "{g:?}");
            total.orders += g.orders;
            total.entries += g.entries;
        }
        db.read_blocking(|c| {
            assert_eq!(entry_count(c)? as usize, total.entries);
            let tb = trial_balance(c, Currency::EUR)?;
            assert!(tb.balanced, "{tb:?}");
            assert_eq!(tb.total_debits, tb.total_credits);
            let report = reconcile(c)?;
            assert!(report.is_clean(), "cached sums differ from the entries: {report:?}");

            // 3 % of 10.00 is 0.30 per order; the rest went to the store, then partly out.
            let orders = total.orders as i64;
            let partner = balance(c, &Account::PartnerClearing(history.partner.clone()), Currency::EUR)?;
            assert_eq!(partner, eur(1000 * orders));
            assert_eq!(owed(c, &Account::MarketplaceFees, Currency::EUR)?, eur(30 * orders));
            let store = owed(c, &Account::Store(history.store.clone()), Currency::EUR)?;
            let remitted = owed(c, &Account::Payouts, Currency::EUR)?;
            assert_eq!(store.amount + remitted.amount, 970 * orders);
            assert!(remitted.amount > 0 && store.amount >= 0, "store {store:?}, remitted {remitted:?}");
            // Every synthetic order's escrow opened and closed.
            assert_eq!(account_count(c)?, orders + 4);
            Ok::<_, crate::SettlementError>(())
        })
        .unwrap();
    }

    #[test]
    fn growing_by_nothing_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db").to_str().unwrap(), 2, crate::MIGRATIONS).unwrap();
        let history = History {
            store: StoreId::generate(),
            partner: PartnerId::generate(),
            order_value: eur(1000),
            remit_every: 0,
        };
        let g = db.write_blocking(|c| grow(c, &history, &FeeConfig::default(), 0)).unwrap();
        assert_eq!(g, Grown::default());
        assert_eq!(db.read_blocking(entry_count).unwrap(), 0);
    }
}
