//! Booking a release.

use super::domain::split;
use crate::error::Result;
use crate::ledger::{store as ledger, Account, Transaction};
use crate::orders::{store as orders, OrderStatus};
use shared::config::FeeConfig;
use shared::db::AnyConnection;
use shared::ids::OrderId;
use shared::money::Money;

/// Releases the order's escrow once: only a `captured` order moves to `released`, so a
/// second `order_delivered` finds nothing to do.
pub fn release(conn: &mut AnyConnection, order_id: &OrderId, fees: &FeeConfig) -> Result<bool> {
    let Some(order) = orders::lock(conn, order_id)? else {
        return Ok(false);
    };
    if !orders::transition(conn, order_id, OrderStatus::Captured, OrderStatus::Released)? {
        return Ok(false);
    }
    let currency = order.currency;
    // What escrow holds: the order's value less any partial refund made before delivery.
    let held = ledger::owed(conn, &Account::Escrow(order_id.clone()), currency)?;
    // Points the buyer spent were funded when they were minted: the points liability pays
    // their value into escrow now, so the store is paid the order's whole value (less the
    // fees on it) although the buyer paid less.
    let points = crate::orders::pricing::get(conn, order_id)?
        .map(|p| p.points_discount)
        .filter(|p| p.currency == currency && p.amount > 0)
        .unwrap_or(Money::zero(currency));
    let value = held.checked_add(points)?;
    let referral = order.referral_store_id.clone();
    let shipper = order.shipper_store_id.clone();
    let s = split(value, fees, referral.is_some(), shipper.is_some());
    let escrow = || Account::Escrow(order_id.clone());
    let mut txn = Transaction::new(crate::ledger::TransactionKind::Release, currency)
        .order(order_id)
        .move_money(Account::PointsLiability, escrow(), points)
        .move_money(escrow(), Account::MarketplaceFees, s.marketplace)
        .move_money(escrow(), Account::Store(order.store_id.clone()), s.store);
    if let Some(r) = referral {
        txn = txn.move_money(escrow(), Account::ReferralFees, s.referral).move_money(
            Account::ReferralFees,
            Account::Store(r),
            s.referral,
        );
    }
    if let Some(sh) = shipper {
        txn = txn.move_money(escrow(), Account::FulfilmentFees, s.fulfilment).move_money(
            Account::FulfilmentFees,
            Account::Store(sh),
            s.fulfilment,
        );
    }
    if value.amount > 0 {
        ledger::post(conn, &txn)?;
    }
    let fees_taken = Money::new(value.amount - s.store.amount, currency);
    crate::orders::pricing::released(conn, order_id, &order.store_id, value, s.store, fees_taken)?;
    Ok(true)
}
