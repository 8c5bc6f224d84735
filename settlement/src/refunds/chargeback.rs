//! A refund after release (a chargeback the partner reports): the money no longer sits in
//! escrow, so it comes back from where the release sent it. The store gives back the
//! refunded part less the fees on that part; the fees return from the marketplace's
//! revenue and from the referring and shipping stores they were passed to, as a dispute's
//! refund would never have charged them. Decided here over values read under the order's
//! lock; no database.

use crate::escrow::domain::{split, Split};
use crate::ledger::{Account, Transaction};
use crate::orders::OrderRow;
use shared::config::FeeConfig;
use shared::ids::{RefundId, StoreId};
use shared::money::Money;

/// What the release credited and took, and what chargebacks gave back since, in the
/// order's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Released {
    /// The order's value when released: the store's credit and the fees together.
    pub value: i64,
    /// The fees taken at release.
    pub fees: i64,
    /// What chargebacks refunded before this one.
    pub charged_back: i64,
    /// The fees they returned.
    pub fees_returned: i64,
}

/// One chargeback, as recorded beside its refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chargeback {
    pub refund_id: RefundId,
    /// The store that gave back.
    pub store_id: StoreId,
    pub amount: Money,
    /// What the store gave back: the amount less the fees returned.
    pub store_debit: Money,
    pub fees_returned: Money,
}

/// The fees that return with a chargeback of `amount`: each at today's rate on what the
/// order was still worth less the same on what it is worth after this refund, never more
/// in all than the fees taken at release and not returned yet. The fees' own order
/// (marketplace, referral, fulfilment) decides which return first.
pub fn fees_back(r: &Released, amount: Money, fees: &FeeConfig, referral: bool, shipper: bool) -> Split {
    let c = amount.currency;
    let worth = (r.value - r.charged_back).max(0);
    let before = split(Money::new(worth, c), fees, referral, shipper);
    let after = split(Money::new((worth - amount.amount).max(0), c), fees, referral, shipper);
    let mut left = (r.fees - r.fees_returned).clamp(0, amount.amount);
    let mut back = |b: Money, a: Money| {
        let f = (b.amount - a.amount).clamp(0, left);
        left -= f;
        Money::new(f, c)
    };
    let marketplace = back(before.marketplace, after.marketplace);
    let referral = back(before.referral, after.referral);
    let fulfilment = back(before.fulfilment, after.fulfilment);
    let returned = marketplace.amount + referral.amount + fulfilment.amount;
    Split { marketplace, referral, fulfilment, store: Money::new(amount.amount - returned, c) }
}

/// Adds a chargeback's money movement to `txn`: each part back from where the release
/// sent it, through the refunds pass-through; the caller adds the way out to the partner.
/// The store's balance may go below zero (the next remittance recovers it).
pub fn movement(order: &OrderRow, back: &Split, txn: &mut Transaction) {
    txn.add(Account::Store(order.store_id.clone()), Account::Refunds, back.store);
    txn.add(Account::MarketplaceFees, Account::Refunds, back.marketplace);
    if let Some(r) = &order.referral_store_id {
        txn.add(Account::Store(r.clone()), Account::ReferralFees, back.referral);
        txn.add(Account::ReferralFees, Account::Refunds, back.referral);
    }
    if let Some(s) = &order.shipper_store_id {
        txn.add(Account::Store(s.clone()), Account::FulfilmentFees, back.fulfilment);
        txn.add(Account::FulfilmentFees, Account::Refunds, back.fulfilment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::money::Currency;

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    fn released(value: i64, fees: i64) -> Released {
        Released { value, fees, ..Released::default() }
    }

    #[test]
    fn a_whole_chargeback_returns_every_fee() {
        let f = FeeConfig::default();
        let back = fees_back(&released(10_000, 700), eur(10_000), &f, true, true);
        assert_eq!((back.marketplace, back.referral, back.fulfilment), (eur(300), eur(200), eur(200)));
        assert_eq!(back.store, eur(9_300));
    }

    #[test]
    fn a_partial_chargeback_returns_the_fees_on_its_part() {
        let f = FeeConfig::default();
        let back = fees_back(&released(10_000, 300), eur(4_000), &f, false, false);
        assert_eq!((back.marketplace, back.store), (eur(120), eur(3_880)));
        // The rest afterwards: the fees returned in all are the fees taken.
        let r = Released { value: 10_000, fees: 300, charged_back: 4_000, fees_returned: 120 };
        let back = fees_back(&r, eur(6_000), &f, false, false);
        assert_eq!((back.marketplace, back.store), (eur(180), eur(5_820)));
    }

    #[test]
    fn never_more_fees_back_than_were_taken() {
        // Rates raised since the release: what returns is capped by what was taken.
        let greedy = FeeConfig { marketplace_bps: 5_000, referral_bps: 0, fulfilment_bps: 0 };
        let back = fees_back(&released(10_000, 300), eur(10_000), &greedy, false, false);
        assert_eq!((back.marketplace, back.store), (eur(300), eur(9_700)));
        // Nothing was taken (released before fees existed): the store gives back all.
        let back = fees_back(&released(10_000, 0), eur(5_000), &FeeConfig::default(), true, false);
        assert_eq!((back.marketplace.amount + back.referral.amount, back.store), (0, eur(5_000)));
        for amount in [1, 2, 33, 9_999] {
            let back = fees_back(&released(10_000, 700), eur(amount), &FeeConfig::default(), true, true);
            let total = back.marketplace.amount + back.referral.amount + back.fulfilment.amount + back.store.amount;
            assert_eq!(total, amount);
            assert!(back.store.amount >= 0);
        }
    }
}
