//! Releasing escrow: only once the order has both facts that let money move, delivery's
//! `order_delivered` and the broker's `order_accepted` (in either order), so that no single
//! service, nor a key stolen from one, can pay a store for goods nobody accepted.

use super::domain::split;
use crate::error::Result;
use crate::ledger::{store as ledger, Account, Transaction};
use crate::orders::{store as orders, OrderStatus};
use shared::config::{FeeConfig, ServiceName};
use shared::db::AnyConnection;
use shared::ids::OrderId;
use shared::money::Money;

/// One of the two facts a release waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// Delivery: the final leg was delivered.
    Delivered,
    /// The broker: the buyer accepted, or the acceptance window ended.
    Accepted,
}

/// Records `fact` (the first time it arrives) and releases escrow if the other one is in
/// too. Answers whether this released it. An acceptance for an order settlement does not
/// know yet is "not yet": its payment is on the way.
pub fn learn(conn: &mut AnyConnection, order_id: &OrderId, fact: Fact, fees: &FeeConfig) -> Result<bool> {
    let Some(order) = orders::lock(conn, order_id)? else {
        return match fact {
            Fact::Accepted => {
                Err(shared::Error::NotYet(format!("order_accepted for an order not known yet: {order_id}")).into())
            }
            Fact::Delivered => Ok(false),
        };
    };
    let at = shared::time::now();
    let (delivered, accepted) = match fact {
        Fact::Delivered => (order.delivered_at.or(Some(at)), order.accepted_at),
        Fact::Accepted => (order.delivered_at, order.accepted_at.or(Some(at))),
    };
    orders::set_facts(conn, order_id, delivered, accepted)?;
    if delivered.is_none() || accepted.is_none() {
        return Ok(false);
    }
    let released = release(conn, order_id, fees)?;
    if released {
        let m = shared::messages::Message::EscrowReleased { order_id: order_id.clone() };
        shared::outbox::send(conn, ServiceName::Settlement, ServiceName::Broker, m)?;
    }
    Ok(released)
}

/// Releases the order's escrow once: only a `captured` order moves to `released`, so a
/// repeated fact finds nothing to do. Callers check that both facts are in ([`learn`]).
pub fn release(conn: &mut AnyConnection, order_id: &OrderId, fees: &FeeConfig) -> Result<bool> {
    release_from(conn, order_id, fees, OrderStatus::Captured, OrderStatus::Released)
}

/// Releases what escrow still holds for the order to its store (and the fees on that part
/// only), moving it from `from` to `to`; `false` when it is not in `from`.
pub fn release_from(
    conn: &mut AnyConnection,
    order_id: &OrderId,
    fees: &FeeConfig,
    from: OrderStatus,
    to: OrderStatus,
) -> Result<bool> {
    let Some(order) = orders::lock(conn, order_id)? else {
        return Ok(false);
    };
    if !orders::transition(conn, order_id, from, to)? {
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
    crate::orders::pricing::released(conn, order_id, &order.store_id, &s)?;
    Ok(true)
}
