//! One remittance batch.

use crate::error::{Result, SettlementError};
use crate::ledger::{store as ledger, Account, AccountKind, Transaction};
use crate::schema::{accounts, remittances};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{RemittanceId, StoreId};
use shared::money::{Currency, Money};
use shared::time::now;

pub use client::settlement::{Batch, Remittance, SkipReason, Skipped};

/// Pays out every store balance above zero to the store's payout account, each in its own
/// savepoint: a store whose balance changed under us (another batch on another copy of the
/// service) is left for the next batch. A suspended store, a store without a payout
/// account, or one whose account changed within its hold, keeps its balance.
pub fn run(conn: &mut AnyConnection) -> Result<Batch> {
    let started = now();
    // In account id order, the order postings lock accounts in.
    let due: Vec<(Option<StoreId>, Currency, i64, i64)> = accounts::table
        .filter(accounts::kind.eq(AccountKind::Store))
        .filter(accounts::credits.gt(accounts::debits))
        .order(accounts::id)
        .select((accounts::owner, accounts::currency, accounts::debits, accounts::credits))
        .load(conn)?;
    let mut out = Batch::default();
    for (owner, currency, debits, credits) in due {
        let Some(store) = owner else { continue };
        let amount = Money::new(credits - debits, currency);
        if crate::stores::store::is_suspended(conn, &store)? {
            out.skipped.push(Skipped { store_id: store, amount, reason: SkipReason::Suspended });
            continue;
        }
        let Some(account) = crate::payouts::store::summary(conn, &store)? else {
            out.skipped.push(Skipped { store_id: store, amount, reason: SkipReason::NoPayoutAccount });
            continue;
        };
        if account.hold_until.is_some_and(|until| until > started) {
            out.skipped.push(Skipped { store_id: store, amount, reason: SkipReason::PayoutAccountHold });
            continue;
        }
        let paid = conn.transaction(|c| remit(c, &store, amount, &account.last4));
        match paid {
            Ok(r) => out.remittances.push(r),
            Err(SettlementError::InsufficientBalance) => {
                tracing::info!(store = %store, "balance changed during remittance; next batch");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn remit(conn: &mut AnyConnection, store: &StoreId, amount: Money, last4: &str) -> Result<Remittance> {
    let id = RemittanceId::generate();
    let txn = Transaction::new(crate::ledger::TransactionKind::Remittance, amount.currency).reference(&id).move_money(
        Account::Store(store.clone()),
        Account::Payouts,
        amount,
    );
    let txn_id = ledger::post(conn, &txn)?;
    if ledger::owed(conn, &Account::Store(store.clone()), amount.currency)?.amount < 0 {
        return Err(SettlementError::InsufficientBalance);
    }
    diesel::insert_into(remittances::table)
        .values((
            remittances::id.eq(&id),
            remittances::store_id.eq(store),
            remittances::amount.eq(amount.amount),
            remittances::currency.eq(amount.currency),
            remittances::transaction_id.eq(txn_id),
            remittances::created_at.eq(now()),
            remittances::account_last4.eq(Some(last4)),
        ))
        .execute(conn)?;
    Ok(Remittance { id, store_id: store.clone(), amount, iban_last4: last4.to_string() })
}

/// The store's remittances, newest first: its statement of payouts.
pub fn of_store(conn: &mut AnyConnection, store: &StoreId, limit: i64, offset: i64) -> Result<Vec<Statement>> {
    let rows: Vec<StatementRow> = remittances::table
        .filter(remittances::store_id.eq(store))
        .order(remittances::created_at.desc())
        .limit(limit)
        .offset(offset)
        .select((
            remittances::id,
            remittances::amount,
            remittances::currency,
            remittances::created_at,
            remittances::account_last4,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, amount, currency, created, iban_last4)| Statement {
            id,
            amount: Money::new(amount, currency),
            created,
            iban_last4,
        })
        .collect())
}

pub use client::settlement::Statement;

type StatementRow = (RemittanceId, i64, Currency, shared::time::Timestamp, Option<String>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payouts::{domain::PayoutAccount, store as accounts_of};
    use shared::db::Db;

    fn owed(conn: &mut AnyConnection, store: &StoreId, amount: i64) -> Result<()> {
        let txn = Transaction::new(crate::ledger::TransactionKind::ReportCharge, Currency::EUR).move_money(
            Account::MarketplaceFees,
            Account::Store(store.clone()),
            Money::new(amount, Currency::EUR),
        );
        ledger::post(conn, &txn)?;
        Ok(())
    }

    #[test]
    fn a_store_whose_account_changed_within_its_hold_keeps_its_balance() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db").to_str().unwrap(), 1, crate::MIGRATIONS).unwrap();
        let sealer = shared::crypto::Sealer::ephemeral();
        let account = PayoutAccount::parse("Shop", "GB82WEST12345698765432").unwrap();
        let (held, free) = (StoreId::generate(), StoreId::generate());
        let t = now();
        db.write_blocking(|c| {
            owed(c, &held, 700)?;
            owed(c, &free, 300)?;
            accounts_of::set(c, &sealer, &held, &account, t, Some(t + chrono::Duration::hours(72)))?;
            // A hold that has ended holds nothing.
            accounts_of::set(c, &sealer, &free, &account, t, Some(t - chrono::Duration::seconds(1)))?;
            let batch = run(c)?;
            assert_eq!(batch.remittances.len(), 1);
            assert_eq!(batch.remittances[0].store_id, free);
            assert_eq!(batch.skipped.len(), 1);
            assert_eq!((&batch.skipped[0].store_id, batch.skipped[0].reason), (&held, SkipReason::PayoutAccountHold));
            assert_eq!(ledger::owed(c, &Account::Store(held.clone()), Currency::EUR)?.amount, 700);
            // Once the hold has passed, the next batch pays it.
            accounts_of::set(c, &sealer, &held, &account, t, None)?;
            let batch = run(c)?;
            assert_eq!((batch.remittances.len(), batch.skipped.len()), (1, 0));
            Ok::<_, SettlementError>(())
        })
        .unwrap();
    }
}
