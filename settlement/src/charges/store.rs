//! Charges and their refunds.

use crate::error::{Result, SettlementError};
use crate::ledger::{store as ledger, Account, Transaction};
use crate::schema::charges;
use diesel::prelude::*;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::StoreId;
use shared::money::{Currency, Money};
use shared::time::now;

pub const CHARGED: &str = "charged";
pub const REFUNDED: &str = "refunded";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Charge {
    pub purchase_id: String,
    pub store_id: StoreId,
    pub amount: Money,
    /// `charged` or `refunded`.
    pub status: String,
}

fn find(conn: &mut AnyConnection, purchase: &str) -> Result<Option<Charge>> {
    let row: Option<(String, String, i64, String, String)> = charges::table
        .find(purchase)
        .select((charges::purchase_id, charges::store_id, charges::amount, charges::currency, charges::status))
        .first(conn)
        .optional()?;
    row.map(|(p, s, a, c, st)| {
        Ok(Charge {
            purchase_id: p,
            store_id: StoreId::from_db(s),
            amount: Money::new(a, Currency::parse(&c)?),
            status: st,
        })
    })
    .transpose()
}

/// Charges once per purchase id; a retry gets the first charge back. The same purchase id
/// for another store or amount is a conflict.
pub fn charge(conn: &mut AnyConnection, purchase: &str, store: &StoreId, amount: Money) -> Result<Charge> {
    if let Some(existing) = find(conn, purchase)? {
        return same_or_conflict(existing, store, amount);
    }
    let inserted = conn.transaction(|c| {
        diesel::insert_into(charges::table)
            .values((
                charges::purchase_id.eq(purchase),
                charges::store_id.eq(store.as_str()),
                charges::amount.eq(amount.amount),
                charges::currency.eq(amount.currency.as_str()),
                charges::status.eq(CHARGED),
                charges::created_at.eq(now()),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            let existing = find(conn, purchase)?.ok_or(SettlementError::InsufficientBalance)?;
            return same_or_conflict(existing, store, amount);
        }
        Err(e) => return Err(e.into()),
    }
    let txn = Transaction::new("report_charge", amount.currency).reference(purchase).move_money(
        Account::Store(store.clone()),
        Account::ReportRevenue,
        amount,
    );
    ledger::post(conn, &txn)?;
    // Checked after the debit: the account row stays locked until commit, so two charges
    // cannot both see the same balance.
    if ledger::owed(conn, &Account::Store(store.clone()), amount.currency)?.amount < 0 {
        return Err(SettlementError::InsufficientBalance);
    }
    Ok(Charge { purchase_id: purchase.to_string(), store_id: store.clone(), amount, status: CHARGED.into() })
}

fn same_or_conflict(existing: Charge, store: &StoreId, amount: Money) -> Result<Charge> {
    if existing.store_id == *store && existing.amount == amount {
        Ok(existing)
    } else {
        Err(shared::Error::Conflict {
            code: "purchase_id_reused",
            detail: "this purchase id was charged with another store or amount".into(),
        }
        .into())
    }
}

/// Gives a charge back once; refunding again answers the refunded charge.
pub fn refund(conn: &mut AnyConnection, purchase: &str) -> Result<Charge> {
    let existing = find(conn, purchase)?.ok_or_else(|| shared::Error::NotFound("charge".into()))?;
    let n = diesel::update(charges::table.find(purchase))
        .filter(charges::status.eq(CHARGED))
        .set((charges::status.eq(REFUNDED), charges::refunded_at.eq(Some(now()))))
        .execute(conn)?;
    if n == 1 {
        let txn = Transaction::new("report_charge_refund", existing.amount.currency).reference(purchase).move_money(
            Account::ReportRevenue,
            Account::Store(existing.store_id.clone()),
            existing.amount,
        );
        ledger::post(conn, &txn)?;
    }
    Ok(Charge { status: REFUNDED.into(), ..existing })
}
