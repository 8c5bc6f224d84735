//! Random sequences of every money movement, checking after each step that the ledger
//! balances, that reconciliation finds nothing, and that no payment is refunded beyond
//! what it captured.

use crate::error::SettlementError;
use crate::escrow::workflow::release;
use crate::ledger::store::{owed, reconcile, trial_balance};
use crate::ledger::Account;
use crate::orders::store::{self as orders, NewOrder};
use crate::payments::workflow::{take_payment, PaymentRequest};
use crate::refunds::workflow::{refund_order, refund_payment, OrderRefund};
use diesel::Connection;
use shared::config::FeeConfig;
use shared::db::{AnyConnection, Db};
use shared::ids::{OrderId, PartnerId, PaymentId, ProductId, StoreId};
use shared::money::{Currency, Money};

fn eur(a: i64) -> Money {
    Money::new(a, Currency::EUR)
}

fn partner(conn: &mut AnyConnection) -> PartnerId {
    let id = PartnerId::generate();
    let sealed = shared::crypto::Sealer::ephemeral().seal(b"whsec_x", id.as_str().as_bytes());
    crate::partners::store::insert(conn, &id, "p", &shared::crypto::random_token("h"), None, &sealed).unwrap();
    id
}

fn check(conn: &mut AnyConnection, orders_seen: &[OrderId]) {
    let tb = trial_balance(conn, Currency::EUR).unwrap();
    assert!(tb.balanced, "trial balance off: {tb:?}");
    assert_eq!(tb.total_debits, tb.total_credits);
    let report = reconcile(conn).unwrap();
    assert!(report.is_clean(), "{report:?}");
    for o in orders_seen {
        let row = orders::find(conn, o).unwrap().unwrap();
        let held = owed(conn, &Account::Escrow(o.clone()), Currency::EUR).unwrap();
        // Released (in part refunded after release, a chargeback) holds nothing.
        if !matches!(row.status, crate::orders::OrderStatus::Released | crate::orders::OrderStatus::PartiallyRefunded) {
            assert_eq!(held.amount, row.paid, "escrow of {o} differs from what was paid");
        } else {
            assert_eq!(held.amount, 0, "released escrow of {o} still holds money");
        }
        for p in crate::payments::store::of_order(conn, o).unwrap() {
            assert!(p.refunded <= p.captured && p.refunded >= 0, "{p:?}");
        }
    }
}

#[test]
fn the_ledger_balances_after_any_sequence_of_flows() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("s.db").to_str().unwrap(), 2, crate::MIGRATIONS).unwrap();
    let fees = FeeConfig::default();
    for seed in [0x9e37_79b9_7f4a_7c15u64, 42, 7_777_777, 0xdead_beef] {
        let mut rng = fastrand::Rng::with_seed(seed);
        db.write_blocking(|conn| {
            let partners: Vec<PartnerId> = (0..2).map(|_| partner(conn)).collect();
            let stores: Vec<StoreId> = (0..3).map(|_| StoreId::generate()).collect();
            let sealer = shared::crypto::Sealer::ephemeral();
            let account = crate::payouts::domain::PayoutAccount::parse("Shop", "GB82WEST12345698765432").unwrap();
            // Two of the three stores can be paid out; the third keeps its balance.
            for s in &stores[..2] {
                crate::payouts::store::set(conn, &sealer, s, &account, shared::time::now(), None)?;
            }
            let mut orders_seen: Vec<OrderId> = Vec::new();
            let mut payments_seen: Vec<(PartnerId, PaymentId)> = Vec::new();
            for _ in 0..150 {
                match rng.u64(..9) {
                    0 | 1 => {
                        let id = OrderId::generate();
                        let s = |i: u64| stores[i as usize % stores.len()].clone();
                        let referral = (rng.u64(..2) == 0).then(|| s(rng.u64(..3)));
                        let shipper = (rng.u64(..2) == 0).then(|| s(rng.u64(..3)));
                        orders::insert(
                            conn,
                            &NewOrder {
                                order_id: &id,
                                amount: eur(1 + rng.u64(..20_000) as i64),
                                store_id: &s(rng.u64(..3)),
                                product_id: &ProductId::generate(),
                                referral_store_id: referral.as_ref(),
                                shipper_store_id: shipper.as_ref(),
                                pay_by: None,
                            },
                        )?;
                        orders_seen.push(id);
                    }
                    2 | 3 if !orders_seen.is_empty() => {
                        let o = orders_seen[rng.usize(..orders_seen.len())].clone();
                        let p = partners[rng.usize(..2)].clone();
                        let req = PaymentRequest {
                            order_id: o,
                            amount: eur(1 + rng.u64(..25_000) as i64),
                            partner_reference: "r".into(),
                        };
                        let a = take_payment(conn, &p, &req)?;
                        payments_seen.push((p, a.payment_id));
                    }
                    4 if !orders_seen.is_empty() => {
                        let o = &orders_seen[rng.usize(..orders_seen.len())];
                        release(conn, o, &fees)?;
                    }
                    5 if !payments_seen.is_empty() => {
                        let (p, pay) = payments_seen[rng.usize(..payments_seen.len())].clone();
                        match refund_payment(conn, Some(&p), &pay, eur(1 + rng.u64(..15_000) as i64), "test") {
                            Ok(_) | Err(SettlementError::RefundExceedsPayment { .. }) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    6 if !orders_seen.is_empty() => {
                        let o = &orders_seen[rng.usize(..orders_seen.len())];
                        let why = [
                            OrderRefund::Cancelled,
                            OrderRefund::Undeliverable,
                            OrderRefund::PartialExpired,
                            OrderRefund::Expired,
                        ][rng.usize(..4)];
                        refund_order(conn, o, why, "test")?;
                    }
                    7 => {
                        crate::remittances::workflow::run(conn)?;
                    }
                    8 => {
                        let store = &stores[rng.usize(..3)];
                        let purchase = format!("pur{}", rng.u64(..20));
                        let r = conn.transaction(|c| {
                            crate::charges::store::charge(c, &purchase, store, eur(1 + rng.u64(..500) as i64))
                        });
                        match r {
                            Ok(_)
                            | Err(SettlementError::InsufficientBalance)
                            | Err(SettlementError::Refused { code: crate::error::Code::PurchaseIdReused, .. }) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    _ => {}
                }
                check(conn, &orders_seen);
            }
            // A store's balance is never taken below zero by a remittance or a charge.
            for s in &stores {
                let _ = owed(conn, &Account::Store(s.clone()), Currency::EUR)?;
            }
            Ok::<_, SettlementError>(())
        })
        .unwrap();
    }
}

#[test]
fn entries_cannot_be_edited_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("s.db").to_str().unwrap(), 2, crate::MIGRATIONS).unwrap();
    db.write_blocking(|conn| {
        let txn = crate::ledger::Transaction::new(crate::ledger::TransactionKind::ReportCharge, Currency::EUR)
            .move_money(Account::Refunds, Account::Payouts, eur(5));
        crate::ledger::store::post(conn, &txn)?;
        Ok::<_, SettlementError>(())
    })
    .unwrap();
    use diesel::{ExpressionMethods, RunQueryDsl};
    let edit = db.write_blocking(|conn| {
        diesel::update(crate::schema::ledger_entries::table)
            .set(crate::schema::ledger_entries::debit.eq(6i64))
            .execute(conn)
            .map_err(SettlementError::from)
    });
    assert!(edit.is_err());
    let delete = db.write_blocking(|conn| {
        diesel::delete(crate::schema::ledger_entries::table).execute(conn).map_err(SettlementError::from)
    });
    assert!(delete.is_err());
}
