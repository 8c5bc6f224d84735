//! Charges and their refunds.

use crate::error::{Code, Result, SettlementError};
use crate::ledger::{store as ledger, Account, Transaction, TransactionKind};
use crate::schema::charges;
use diesel::prelude::*;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::StoreId;
use shared::money::{Currency, Money};
use shared::time::now;

shared::text_enum! {
    /// Whether a charge still stands, stored as text; an unknown stored status is a read error.
    pub enum ChargeStatus {
        Charged,
        /// Given back to the store, once.
        Refunded,
    }
}

shared::text_enum! {
    /// What a charge pays for, and so which account it credits; stored as text, and an
    /// unknown stored purpose is a read error.
    #[derive(Default, utoipa::ToSchema)]
    pub enum Purpose {
        /// A report purchase: report revenue.
        #[default]
        Report,
        /// Points minted at a collection point: the points liability, before the points exist.
        Points,
    }
}

impl Purpose {
    fn account(&self) -> Account {
        match self {
            Purpose::Report => Account::ReportRevenue,
            Purpose::Points => Account::PointsLiability,
        }
    }

    /// The ledger transactions of the charge and of its refund.
    fn kinds(&self) -> (TransactionKind, TransactionKind) {
        match self {
            Purpose::Report => (TransactionKind::ReportCharge, TransactionKind::ReportChargeRefund),
            Purpose::Points => (TransactionKind::PointsMint, TransactionKind::PointsMintRefund),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Charge {
    pub purchase_id: String,
    pub store_id: StoreId,
    pub amount: Money,
    /// `charged` or `refunded`.
    #[schema(value_type = String)]
    pub status: ChargeStatus,
    pub purpose: Purpose,
}

type ChargeRow = (String, StoreId, i64, Currency, ChargeStatus, Purpose);

fn find(conn: &mut AnyConnection, purchase: &str) -> Result<Option<Charge>> {
    let row: Option<ChargeRow> = charges::table
        .find(purchase)
        .select((
            charges::purchase_id,
            charges::store_id,
            charges::amount,
            charges::currency,
            charges::status,
            charges::purpose,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(purchase_id, store_id, amount, currency, status, purpose)| Charge {
        purchase_id,
        store_id,
        amount: Money::new(amount, currency),
        status,
        purpose,
    }))
}

/// Charges a report purchase once per purchase id (see [`charge_for`]).
pub fn charge(conn: &mut AnyConnection, purchase: &str, store: &StoreId, amount: Money) -> Result<Charge> {
    charge_for(conn, purchase, store, amount, Purpose::Report)
}

/// Charges once per purchase id; a retry gets the first charge back. The same purchase id
/// for another store, amount or purpose is a conflict.
pub fn charge_for(
    conn: &mut AnyConnection,
    purchase: &str,
    store: &StoreId,
    amount: Money,
    purpose: Purpose,
) -> Result<Charge> {
    if let Some(existing) = find(conn, purchase)? {
        return same_or_conflict(existing, store, amount, purpose);
    }
    let inserted = conn.transaction(|c| {
        diesel::insert_into(charges::table)
            .values((
                charges::purchase_id.eq(purchase),
                charges::store_id.eq(store),
                charges::amount.eq(amount.amount),
                charges::currency.eq(amount.currency),
                charges::status.eq(ChargeStatus::Charged),
                charges::purpose.eq(purpose),
                charges::created_at.eq(now()),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            let existing = find(conn, purchase)?.ok_or(SettlementError::InsufficientBalance)?;
            return same_or_conflict(existing, store, amount, purpose);
        }
        Err(e) => return Err(e.into()),
    }
    let txn = Transaction::new(purpose.kinds().0, amount.currency).reference(purchase).move_money(
        Account::Store(store.clone()),
        purpose.account(),
        amount,
    );
    ledger::post(conn, &txn)?;
    // Checked after the debit: the account row stays locked until commit, so two charges
    // cannot both see the same balance.
    if ledger::owed(conn, &Account::Store(store.clone()), amount.currency)?.amount < 0 {
        return Err(SettlementError::InsufficientBalance);
    }
    Ok(Charge {
        purchase_id: purchase.to_string(),
        store_id: store.clone(),
        amount,
        status: ChargeStatus::Charged,
        purpose,
    })
}

fn same_or_conflict(existing: Charge, store: &StoreId, amount: Money, purpose: Purpose) -> Result<Charge> {
    if existing.store_id == *store && existing.amount == amount && existing.purpose == purpose {
        Ok(existing)
    } else {
        Err(SettlementError::refused(
            Code::PurchaseIdReused,
            "this purchase id was charged with another store or amount",
        ))
    }
}

/// Gives a charge back once; refunding again answers the refunded charge.
pub fn refund(conn: &mut AnyConnection, purchase: &str) -> Result<Charge> {
    let existing = find(conn, purchase)?.ok_or_else(|| shared::Error::NotFound("charge".into()))?;
    let n = diesel::update(charges::table.find(purchase))
        .filter(charges::status.eq(ChargeStatus::Charged))
        .set((charges::status.eq(ChargeStatus::Refunded), charges::refunded_at.eq(Some(now()))))
        .execute(conn)?;
    if n == 1 {
        let txn = Transaction::new(existing.purpose.kinds().1, existing.amount.currency)
            .reference(purchase)
            .move_money(existing.purpose.account(), Account::Store(existing.store_id.clone()), existing.amount);
        ledger::post(conn, &txn)?;
    }
    Ok(Charge { status: ChargeStatus::Refunded, ..existing })
}
