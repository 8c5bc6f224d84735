//! Money as an integer number of minor units plus an ISO 4217 currency. No floats, ever;
//! every arithmetic step is checked and refuses overflow and mixed currencies.
//!
//! Every amount that enters from outside (a price, a payment, a refund, a charge, a
//! configured price) is at most [`MAX_AMOUNT`] minor units, or the lower [`Ceiling`] an
//! operator configured: [`Ceiling::admit`] is the one rule every entry point applies, and
//! JSON can never carry a larger amount at all (`Money`'s deserializer refuses it). With
//! single amounts that small, a sum of millions of them still fits an `i64` and a sum of
//! any number of them fits the `i128` that totals are computed in ([`Total`]).

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// An ISO 4217 currency code that this marketplace accepts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "EUR")]
pub struct Currency([u8; 3]);

/// The currencies we settle in, with their minor-unit exponent. A short list on purpose:
/// accepting a code we cannot display or remit correctly would be worse than refusing it.
const KNOWN: &[(&str, u8)] = &[
    ("EUR", 2),
    ("USD", 2),
    ("GBP", 2),
    ("CHF", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("SEK", 2),
    ("NOK", 2),
    ("DKK", 2),
    ("PLN", 2),
    ("CZK", 2),
    ("CAD", 2),
    ("AUD", 2),
];

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");

    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        KNOWN
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, _)| {
                let b = c.as_bytes();
                Currency([b[0], b[1], b[2]])
            })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.chars().take(8).collect()))
    }

    pub fn as_str(&self) -> &str {
        // Only built from KNOWN, which is ASCII.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    pub fn exponent(&self) -> u8 {
        KNOWN.iter().find(|(c, _)| *c == self.as_str()).map(|(_, e)| *e).unwrap_or(2)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse(&s)
    }
}

impl std::str::FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl AsRef<str> for Currency {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

crate::sql_text!(Currency);

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency `{0}`")]
    UnknownCurrency(String),
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
    #[error("amount must not be negative")]
    Negative,
    #[error("amount must be greater than zero")]
    NotPositive,
    /// Above the money ceiling; the message starts with [`TOO_LARGE`].
    #[error("amount exceeds the ceiling of {max} minor units")]
    TooLarge { max: i64 },
    #[error("the money ceiling must be between 1 and {MAX_AMOUNT} minor units, not {0}")]
    InvalidCeiling(i64),
}

/// The highest amount any single price, payment, refund, fee or charge may carry:
/// 10^12 minor units (ten billion euros). A ceiling may be configured lower, never higher.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// How every "above the ceiling" message begins, so that a refusal raised inside a JSON
/// deserializer (which carries only text) is still answered `amount_too_large`.
pub const TOO_LARGE: &str = "amount exceeds the ceiling";

/// Whether a deserializer's error is the money ceiling's refusal.
pub fn is_too_large(error: &impl fmt::Display) -> bool {
    error.to_string().contains(TOO_LARGE)
}

/// The configured money ceiling: at most [`MAX_AMOUNT`], at least one minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ceiling(i64);

impl Ceiling {
    pub const MAX: Ceiling = Ceiling(MAX_AMOUNT);

    /// A ceiling of `max` minor units; refuses one above [`MAX_AMOUNT`] or below 1.
    pub fn new(max: i64) -> Result<Ceiling, MoneyError> {
        if (1..=MAX_AMOUNT).contains(&max) {
            Ok(Ceiling(max))
        } else {
            Err(MoneyError::InvalidCeiling(max))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// An amount entering from outside (a price, payment, refund or charge): at least one
    /// minor unit (`NotPositive` otherwise, as before) and at most the ceiling.
    pub fn admit(self, money: Money) -> Result<Money, MoneyError> {
        self.bound(money.positive()?)
    }

    /// A computed amount (an order's value, unit price × quantity): at most the ceiling.
    pub fn bound(self, money: Money) -> Result<Money, MoneyError> {
        if money.amount <= self.0 {
            Ok(money)
        } else {
            Err(MoneyError::TooLarge { max: self.0 })
        }
    }
}

impl Default for Ceiling {
    fn default() -> Self {
        Ceiling::MAX
    }
}

/// An amount of money: integer minor units and a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "RawMoney")]
pub struct Money {
    /// Integer minor units (cents for EUR), at most 10^12 in magnitude.
    pub amount: i64,
    pub currency: Currency,
}

/// Money as the wire carries it, before the ceiling is applied.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMoney {
    amount: i64,
    currency: Currency,
}

impl TryFrom<RawMoney> for Money {
    type Error = MoneyError;
    /// No JSON amount is larger than [`MAX_AMOUNT`] either way (a negative one is a
    /// balance shown, never an input, but is bounded the same), so no route, message or
    /// stored answer can bring one in, whatever it checks itself.
    fn try_from(raw: RawMoney) -> Result<Self, Self::Error> {
        if raw.amount.unsigned_abs() > MAX_AMOUNT as u64 {
            return Err(MoneyError::TooLarge { max: MAX_AMOUNT });
        }
        Ok(Money { amount: raw.amount, currency: raw.currency })
    }
}

/// A sum of many amounts (a trial balance's totals), computed in `i128` so that no book
/// is too large to add up. It is written as money (`{"amount", "currency"}`); the amount
/// is an exact JSON integer that may exceed 2^63 − 1 on very large books, so a client
/// should read it into a 128-bit or arbitrary-precision integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub struct Total {
    /// Integer minor units; may exceed the range of a 64-bit integer.
    #[schema(value_type = i64)]
    pub amount: i128,
    pub currency: Currency,
}

impl Total {
    pub fn new(amount: i128, currency: Currency) -> Self {
        Total { amount, currency }
    }
}

/// A rate in basis points (1 % = 100 bp), used for fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasisPoints(pub u32);

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money { amount: 0, currency }
    }

    /// A price or payment: must be at least one minor unit.
    pub fn positive(self) -> Result<Self, MoneyError> {
        if self.amount > 0 {
            Ok(self)
        } else {
            Err(MoneyError::NotPositive)
        }
    }

    pub fn non_negative(self) -> Result<Self, MoneyError> {
        if self.amount >= 0 {
            Ok(self)
        } else {
            Err(MoneyError::Negative)
        }
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let amount = self.amount.checked_sub(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let amount = self.amount.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// A fee of `rate` on this amount, rounded half-even to the minor unit, never below one
    /// minor unit when the rate and the amount are non-zero, and never above the amount.
    pub fn fee(self, rate: BasisPoints) -> Money {
        if rate.0 == 0 || self.amount <= 0 {
            return Money::zero(self.currency);
        }
        let scaled = self.amount as i128 * rate.0 as i128;
        let quotient = scaled / 10_000;
        let remainder = scaled % 10_000;
        let rounded = match remainder.cmp(&5_000) {
            std::cmp::Ordering::Less => quotient,
            std::cmp::Ordering::Greater => quotient + 1,
            std::cmp::Ordering::Equal => quotient + (quotient & 1),
        };
        let fee = rounded.max(1).min(self.amount as i128);
        Money::new(fee as i64, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent() as u32;
        if exp == 0 {
            return write!(f, "{} {}", self.amount, self.currency);
        }
        let div = 10i64.pow(exp);
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        write!(f, "{sign}{}.{:0width$} {}", abs / div as u64, abs % div as u64, self.currency, width = exp as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    #[test]
    fn unknown_currency_is_refused() {
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("eur").is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"ABC"}"#).is_err());
    }

    #[test]
    fn floats_and_overflow_are_refused_at_parse() {
        assert!(serde_json::from_str::<Money>(r#"{"amount":1.5,"currency":"EUR"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":99999999999999999999,"currency":"EUR"}"#).is_err());
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(eur(5).checked_add(eur(7)).unwrap(), eur(12));
        assert_eq!(eur(i64::MAX).checked_add(eur(1)), Err(MoneyError::Overflow));
        let usd = Money::new(1, Currency::parse("USD").unwrap());
        assert!(matches!(eur(1).checked_add(usd), Err(MoneyError::CurrencyMismatch(..))));
        assert_eq!(eur(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
    }

    #[test]
    fn fee_rounds_half_even_with_a_floor_of_one_unit() {
        assert_eq!(eur(10_000).fee(BasisPoints(300)), eur(300));
        // 3 % of 50 = 1.5 -> 2 (half to even), 3 % of 150 = 4.5 -> 4
        assert_eq!(eur(50).fee(BasisPoints(300)), eur(2));
        assert_eq!(eur(150).fee(BasisPoints(300)), eur(4));
        assert_eq!(eur(1).fee(BasisPoints(300)), eur(1));
        assert_eq!(eur(1).fee(BasisPoints(0)), eur(0));
        assert_eq!(eur(0).fee(BasisPoints(300)), eur(0));
        assert_eq!(eur(i64::MAX).fee(BasisPoints(10_000)), eur(i64::MAX));
    }

    #[test]
    fn the_ceiling_admits_up_to_its_value_and_keeps_the_old_errors_below_one() {
        assert_eq!(Ceiling::MAX.admit(eur(MAX_AMOUNT)), Ok(eur(MAX_AMOUNT)));
        assert_eq!(Ceiling::MAX.admit(eur(MAX_AMOUNT + 1)), Err(MoneyError::TooLarge { max: MAX_AMOUNT }));
        assert_eq!(Ceiling::MAX.admit(eur(i64::MAX)), Err(MoneyError::TooLarge { max: MAX_AMOUNT }));
        assert_eq!(Ceiling::MAX.admit(eur(0)), Err(MoneyError::NotPositive));
        assert_eq!(Ceiling::MAX.admit(eur(-1)), Err(MoneyError::NotPositive));
        let low = Ceiling::new(10_000).unwrap();
        assert_eq!(low.admit(eur(10_000)), Ok(eur(10_000)));
        assert!(low.admit(eur(10_001)).is_err());
        assert!(Ceiling::new(MAX_AMOUNT + 1).is_err());
        assert!(Ceiling::new(0).is_err());
        assert_eq!(Ceiling::default(), Ceiling::MAX);
        assert!(is_too_large(&MoneyError::TooLarge { max: 5 }));
    }

    #[test]
    fn json_never_carries_an_amount_above_the_ceiling() {
        let parse = |a: i64| serde_json::from_str::<Money>(&format!(r#"{{"amount":{a},"currency":"EUR"}}"#));
        assert_eq!(parse(MAX_AMOUNT).unwrap(), eur(MAX_AMOUNT));
        assert_eq!(parse(-MAX_AMOUNT).unwrap(), eur(-MAX_AMOUNT));
        for hostile in [MAX_AMOUNT + 1, i64::MAX, i64::MIN, -MAX_AMOUNT - 1] {
            let e = parse(hostile).unwrap_err();
            assert!(is_too_large(&e), "{hostile}: {e}");
        }
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"EUR","x":1}"#).is_err());
        let big = Total::new(i64::MAX as i128 * 3, Currency::EUR);
        assert_eq!(serde_json::to_string(&big).unwrap(), r#"{"amount":27670116110564327421,"currency":"EUR"}"#);
    }

    #[test]
    fn positive_and_display() {
        assert!(eur(0).positive().is_err());
        assert!(eur(-1).non_negative().is_err());
        assert_eq!(eur(-1234).to_string(), "-12.34 EUR");
        assert_eq!(Money::new(500, Currency::parse("JPY").unwrap()).to_string(), "500 JPY");
    }
}

/// Hostile and random amounts: the arithmetic never wraps, never mixes currencies, and
/// fees keep their promises for every amount and rate.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(KNOWN.iter().map(|(c, _)| Currency::parse(c).unwrap()).collect::<Vec<_>>())
    }

    /// The exact fee in rational terms: `amount · rate / 10 000` as (quotient, remainder).
    fn exact(amount: i64, rate: u32) -> (i128, i128) {
        let scaled = amount as i128 * rate as i128;
        (scaled / 10_000, scaled % 10_000)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        #[test]
        fn add_and_sub_are_exact_or_refused(a in any::<i64>(), b in any::<i64>(), c in currency()) {
            let (x, y) = (Money::new(a, c), Money::new(b, c));
            match (a as i128 + b as i128).try_into() {
                Ok(sum) => prop_assert_eq!(x.checked_add(y), Ok(Money::new(sum, c))),
                Err(_) => prop_assert_eq!(x.checked_add(y), Err(MoneyError::Overflow)),
            }
            match (a as i128 - b as i128).try_into() {
                Ok(diff) => {
                    prop_assert_eq!(x.checked_sub(y), Ok(Money::new(diff, c)));
                    // Subtraction undoes addition whenever both fit.
                    if let Ok(sum) = x.checked_add(y) {
                        prop_assert_eq!(sum.checked_sub(y), Ok(x));
                    }
                }
                Err(_) => prop_assert_eq!(x.checked_sub(y), Err(MoneyError::Overflow)),
            }
            prop_assert_eq!(x.checked_add(y).ok(), y.checked_add(x).ok());
        }

        #[test]
        fn multiplication_is_exact_or_refused(a in any::<i64>(), f in any::<i64>()) {
            let m = Money::new(a, Currency::EUR);
            match (a as i128 * f as i128).try_into() {
                Ok(p) => prop_assert_eq!(m.checked_mul(f), Ok(Money::new(p, Currency::EUR))),
                Err(_) => prop_assert_eq!(m.checked_mul(f), Err(MoneyError::Overflow)),
            }
        }

        #[test]
        fn currencies_never_mix(a in any::<i64>(), b in any::<i64>(), c1 in currency(), c2 in currency()) {
            prop_assume!(c1 != c2);
            let is_mismatch = |r: Result<Money, MoneyError>| matches!(r, Err(MoneyError::CurrencyMismatch(..)));
            prop_assert!(is_mismatch(Money::new(a, c1).checked_add(Money::new(b, c2))));
            prop_assert!(is_mismatch(Money::new(a, c1).checked_sub(Money::new(b, c2))));
        }

        #[test]
        fn fee_is_the_half_even_rounding_floored_at_one_and_capped_at_the_amount(
            amount in prop_oneof![1i64..1_000_000, any::<i64>(), Just(i64::MAX), Just(1i64)],
            rate in prop_oneof![0u32..=10_000, any::<u32>()],
        ) {
            let fee = Money::new(amount, Currency::EUR).fee(BasisPoints(rate)).amount;
            if amount <= 0 || rate == 0 {
                prop_assert_eq!(fee, 0);
                return Ok(());
            }
            prop_assert!(fee >= 1, "a non-zero rate on a positive amount costs at least one unit");
            prop_assert!(fee <= amount, "a fee above the amount: {} on {}", fee, amount);
            let (q, r) = exact(amount, rate);
            let rounded = if r > 5_000 || (r == 5_000 && q % 2 == 1) { q + 1 } else { q };
            prop_assert_eq!(fee as i128, rounded.max(1).min(amount as i128));
            // Within half a unit of the exact value whenever neither bound applies.
            if rounded >= 1 && rounded <= amount as i128 {
                let twice_error = (fee as i128 * 10_000 - amount as i128 * rate as i128).abs() * 2;
                prop_assert!(twice_error <= 10_000);
            }
        }

        #[test]
        fn fee_never_decreases_with_the_amount_or_the_rate(a in 1i64..i64::MAX, rate in 1u32..=10_000) {
            let m = Money::new(a, Currency::EUR);
            let more = Money::new(a.saturating_add(1), Currency::EUR);
            prop_assert!(m.fee(BasisPoints(rate)).amount <= more.fee(BasisPoints(rate)).amount);
            prop_assert!(m.fee(BasisPoints(rate)).amount <= m.fee(BasisPoints(rate.saturating_add(1))).amount);
        }

        #[test]
        fn a_seller_keeps_the_amount_less_the_fees_and_nothing_is_lost(
            amount in 1i64..10_000_000_000, marketplace in 0u32..=2_000, referral in 0u32..=2_000,
        ) {
            let m = Money::new(amount, Currency::EUR);
            let (f1, f2) = (m.fee(BasisPoints(marketplace)), m.fee(BasisPoints(referral)));
            let kept = m.checked_sub(f1).and_then(|k| k.checked_sub(f2)).unwrap();
            prop_assert_eq!(kept.checked_add(f1).and_then(|k| k.checked_add(f2)).unwrap(), m);
        }

        #[test]
        fn no_amount_above_the_ceiling_is_ever_accepted(a in prop_oneof![any::<i64>(), (MAX_AMOUNT - 3)..=(MAX_AMOUNT + 3)]) {
            let parsed = serde_json::from_value::<Money>(serde_json::json!({"amount": a, "currency": "EUR"}));
            prop_assert_eq!(parsed.is_ok(), a.unsigned_abs() <= MAX_AMOUNT as u64);
            let m = Money::new(a, Currency::EUR);
            prop_assert_eq!(Ceiling::MAX.admit(m).is_ok(), (1..=MAX_AMOUNT).contains(&a));
            if a > MAX_AMOUNT {
                prop_assert_eq!(Ceiling::MAX.admit(m), Err(MoneyError::TooLarge { max: MAX_AMOUNT }));
            }
        }

        #[test]
        fn json_round_trips_and_hostile_json_is_refused(a in -MAX_AMOUNT..=MAX_AMOUNT, c in currency(), junk in ".{0,40}") {
            let m = Money::new(a, c);
            let text = serde_json::to_string(&m).unwrap();
            prop_assert_eq!(serde_json::from_str::<Money>(&text).unwrap(), m);
            // Any string that is not one of the known codes is refused, never guessed.
            let hostile = serde_json::json!({"amount": a, "currency": junk});
            let parsed = serde_json::from_value::<Money>(hostile);
            prop_assert_eq!(parsed.is_ok(), Currency::parse(&junk).is_ok());
        }
    }
}
