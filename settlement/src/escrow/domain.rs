//! How a released amount splits.

use shared::config::FeeConfig;
use shared::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub marketplace: Money,
    pub referral: Money,
    pub fulfilment: Money,
    /// What the payee store keeps.
    pub store: Money,
}

impl Split {
    pub fn zero(currency: shared::money::Currency) -> Split {
        let z = Money::zero(currency);
        Split { marketplace: z, referral: z, fulfilment: z, store: z }
    }

    /// The fees together.
    pub fn fees(&self) -> Money {
        let c = self.store.currency;
        Money::new(self.marketplace.amount + self.referral.amount + self.fulfilment.amount, c)
    }

    /// The fees and the store's part: the value split.
    pub fn total(&self) -> Money {
        Money::new(self.fees().amount + self.store.amount, self.store.currency)
    }
}

/// Each fee is `Money::fee` of the whole value (half-even to the minor unit, at least one
/// unit when its rate is non-zero), taken in this order while money remains, so that the
/// fees together never exceed the value and the store's share is never negative.
pub fn split(value: Money, fees: &FeeConfig, referral: bool, shipper: bool) -> Split {
    let zero = Money::zero(value.currency);
    let mut left = value.amount.max(0);
    let mut take = |fee: Money| {
        let f = fee.amount.min(left);
        left -= f;
        Money::new(f, value.currency)
    };
    let marketplace = take(value.fee(fees.marketplace()));
    let referral = if referral { take(value.fee(fees.referral())) } else { zero };
    let fulfilment = if shipper { take(value.fee(fees.fulfilment())) } else { zero };
    Split { marketplace, referral, fulfilment, store: Money::new(left, value.currency) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::money::Currency;

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    #[test]
    fn default_rates_on_ten_thousand() {
        let f = FeeConfig::default();
        let s = split(eur(10_000), &f, false, false);
        assert_eq!((s.marketplace, s.referral, s.fulfilment, s.store), (eur(300), eur(0), eur(0), eur(9_700)));
        let s = split(eur(10_000), &f, true, false);
        assert_eq!((s.marketplace, s.referral, s.store), (eur(300), eur(200), eur(9_500)));
        let s = split(eur(10_000), &f, true, true);
        assert_eq!((s.marketplace, s.referral, s.fulfilment, s.store), (eur(300), eur(200), eur(200), eur(9_300)));
    }

    #[test]
    fn rounding_is_half_even_with_a_floor_of_one_unit() {
        let f = FeeConfig::default();
        // 3 % of 50 = 1.5 -> 2; 2 % of 50 = 1.
        let s = split(eur(50), &f, true, false);
        assert_eq!((s.marketplace, s.referral, s.store), (eur(2), eur(1), eur(47)));
        // 3 % of 150 = 4.5 -> 4.
        assert_eq!(split(eur(150), &f, false, false).marketplace, eur(4));
    }

    #[test]
    fn fees_never_exceed_the_value() {
        let f = FeeConfig::default();
        let s = split(eur(2), &f, true, true);
        assert_eq!((s.marketplace, s.referral, s.fulfilment, s.store), (eur(1), eur(1), eur(0), eur(0)));
        let greedy = FeeConfig { marketplace_bps: 9_000, referral_bps: 9_000, fulfilment_bps: 9_000 };
        for v in [1, 3, 99, 10_000, 123_457] {
            let s = split(eur(v), &greedy, true, true);
            let total = s.marketplace.amount + s.referral.amount + s.fulfilment.amount + s.store.amount;
            assert_eq!(total, v);
            assert!(s.store.amount >= 0);
        }
    }
}
