//! A refund after release (a chargeback the partner reports): the money no longer sits in
//! escrow, so it comes back from where the release sent it. Each fee returns in proportion
//! to what the chargeback refunds of what was released, at the amount taken then: the
//! marketplace's from its revenue, the referral and fulfilment fees from the stores they
//! were passed to. The store gives back the rest. Decided here over values read under the
//! order's lock; no database.
//!
//! Points a buyer spent are not given back: a chargeback returns money the buyer paid, and
//! the part of the sale the points bought stands, with its fees (the store keeps what the
//! points liability paid it for them).

use crate::escrow::domain::Split;
use crate::ledger::{Account, Transaction};
use crate::orders::OrderRow;
use shared::ids::{RefundId, StoreId};
use shared::money::Money;

/// What the release split (the store's credit and each fee, adding up to the order's value
/// then, points included), and what chargebacks gave back since, part by part (`store`
/// being what the store gave back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    pub split: Split,
    pub back: Split,
}

/// One chargeback, as recorded beside its refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chargeback {
    pub refund_id: RefundId,
    /// The store that gave back.
    pub store_id: StoreId,
    pub amount: Money,
    /// Where the amount comes back from: each fee returned, and the store's part.
    pub back: Split,
}

/// Where a chargeback of `amount` comes back from. Each fee returns what makes its
/// returns so far its share of all that chargebacks refunded (this one included) of the
/// value released, rounded down; the store gives back the rest, never more in all than it
/// was credited (what rounding would take beyond that comes from the fees instead). Once
/// chargebacks have refunded the whole value, every part has come back exactly as it went.
pub fn fees_back(r: &Released, amount: Money) -> Split {
    let c = amount.currency;
    let value = i128::from(r.split.total().amount);
    let refunded = (i128::from(r.back.total().amount) + i128::from(amount.amount)).min(value);
    let share = |taken: Money| {
        let s = if value > 0 { i128::from(taken.amount) * refunded / value } else { 0 };
        i64::try_from(s).unwrap_or(taken.amount)
    };
    let parts = [
        (r.split.marketplace, r.back.marketplace),
        (r.split.referral, r.back.referral),
        (r.split.fulfilment, r.back.fulfilment),
    ];
    let mut left = amount.amount;
    let mut fees = parts.map(|(taken, returned)| {
        let f = (share(taken) - returned.amount).clamp(0, left);
        left -= f;
        f
    });
    // The store's part, capped at what it still holds of its credit; the excess comes from
    // what the fees have not returned yet.
    let store_left = (r.split.store.amount - r.back.store.amount).max(0);
    let mut excess = (left - store_left).max(0);
    for (f, (taken, returned)) in fees.iter_mut().zip(parts) {
        let more = (taken.amount - returned.amount - *f).clamp(0, excess);
        *f += more;
        excess -= more;
        left -= more;
    }
    let [marketplace, referral, fulfilment] = fees.map(|f| Money::new(f, c));
    Split { marketplace, referral, fulfilment, store: Money::new(left, c) }
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

    fn split(marketplace: i64, referral: i64, fulfilment: i64, store: i64) -> Split {
        Split { marketplace: eur(marketplace), referral: eur(referral), fulfilment: eur(fulfilment), store: eur(store) }
    }

    fn released(s: Split) -> Released {
        Released { split: s, back: Split::zero(Currency::EUR) }
    }

    #[test]
    fn a_whole_chargeback_returns_every_fee() {
        let back = fees_back(&released(split(300, 200, 200, 9_300)), eur(10_000));
        assert_eq!(back, split(300, 200, 200, 9_300));
    }

    #[test]
    fn a_partial_chargeback_returns_the_fees_on_its_part() {
        let r = released(split(300, 0, 0, 9_700));
        let first = fees_back(&r, eur(4_000));
        assert_eq!(first, split(120, 0, 0, 3_880));
        // The rest afterwards: the fees returned in all are the fees taken.
        let r = Released { split: r.split, back: first };
        assert_eq!(fees_back(&r, eur(6_000)), split(180, 0, 0, 5_820));
    }

    #[test]
    fn the_fees_taken_return_whatever_the_rates_are_today() {
        // Nothing depends on a rate: a fee taken at 1 % returns at 1 %, one never taken
        // (released before fees existed) returns nothing, and the store gives back all.
        assert_eq!(fees_back(&released(split(100, 0, 0, 9_900)), eur(5_000)), split(50, 0, 0, 4_950));
        assert_eq!(fees_back(&released(split(0, 0, 0, 10_000)), eur(5_000)), split(0, 0, 0, 5_000));
    }

    #[test]
    fn many_small_chargebacks_return_exactly_the_fees_taken() {
        let taken = split(301, 203, 199, 9_297);
        let mut r = released(taken);
        for _ in 0..1_000 {
            let b = fees_back(&r, eur(10));
            assert_eq!(b.total(), eur(10));
            assert!(b.store.amount >= 0);
            r.back = Split {
                marketplace: eur(r.back.marketplace.amount + b.marketplace.amount),
                referral: eur(r.back.referral.amount + b.referral.amount),
                fulfilment: eur(r.back.fulfilment.amount + b.fulfilment.amount),
                store: eur(r.back.store.amount + b.store.amount),
            };
        }
        assert_eq!(r.back, taken);
    }

    #[test]
    fn rounding_never_takes_more_from_the_store_than_it_was_credited() {
        let taken = split(300, 200, 200, 9_300);
        let first = fees_back(&released(taken), eur(9_999));
        assert_eq!(first.total(), eur(9_999));
        assert!(first.store.amount <= 9_300, "{first:?}");
        let last = fees_back(&Released { split: taken, back: first }, eur(1));
        let all = Split {
            marketplace: eur(first.marketplace.amount + last.marketplace.amount),
            referral: eur(first.referral.amount + last.referral.amount),
            fulfilment: eur(first.fulfilment.amount + last.fulfilment.amount),
            store: eur(first.store.amount + last.store.amount),
        };
        assert_eq!(all, taken);
    }

    #[test]
    fn points_spent_leave_their_part_of_the_sale_standing() {
        // 10 000 released of which the buyer paid 7 000 and points 3 000: refunding all
        // the buyer paid returns 70 % of each fee; the points' part stays with the store.
        let back = fees_back(&released(split(300, 0, 200, 9_500)), eur(7_000));
        assert_eq!(back, split(210, 0, 140, 6_650));
    }
}
