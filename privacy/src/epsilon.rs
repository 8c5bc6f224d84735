//! Privacy loss as an exact integer number of micro-ε, so that budgets add up without
//! floating-point drift and a spend is never rounded in the analyst's favour.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

const MICROS: u64 = 1_000_000;

/// An amount of ε (pure differential privacy, δ = 0), stored as millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "store", derive(diesel::FromSqlRow))]
pub struct Epsilon(u64);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("ε must be a finite, non-negative number, not {0}")]
pub struct InvalidEpsilon(pub f64);

impl Epsilon {
    pub const ZERO: Epsilon = Epsilon(0);

    pub const fn from_micros(micros: u64) -> Epsilon {
        Epsilon(micros)
    }

    pub const fn micros(self) -> u64 {
        self.0
    }

    /// The smallest number of micro-ε that is at least `value`: a measured privacy loss is
    /// always rounded up, never down.
    pub fn from_f64_ceil(value: f64) -> Result<Epsilon, InvalidEpsilon> {
        if !value.is_finite() || value < 0.0 || value > (u64::MAX / MICROS) as f64 {
            return Err(InvalidEpsilon(value));
        }
        let mut micros = (value * MICROS as f64).ceil() as u64;
        // `value * 1e6` may land just above an integer that already covers `value`
        // (0.05 · 1e6 = 50000.000000000007): step back while the smaller amount still covers it.
        while micros > 0 && ((micros - 1) as f64) / (MICROS as f64) >= value {
            micros -= 1;
        }
        Ok(Epsilon(micros))
    }

    /// Parses a configured ε (e.g. `0.2`), rounding to the nearest micro-ε.
    pub fn from_config(value: f64) -> Result<Epsilon, InvalidEpsilon> {
        if !value.is_finite() || value < 0.0 || value > (u64::MAX / MICROS) as f64 {
            return Err(InvalidEpsilon(value));
        }
        Ok(Epsilon((value * MICROS as f64).round() as u64))
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / MICROS as f64
    }

    pub fn checked_add(self, other: Epsilon) -> Option<Epsilon> {
        self.0.checked_add(other.0).map(Epsilon)
    }

    pub fn saturating_sub(self, other: Epsilon) -> Epsilon {
        Epsilon(self.0.saturating_sub(other.0))
    }

    /// `self · bps / 10 000`, rounded down: a share of a budget never exceeds its part.
    pub fn share(self, bps: u32) -> Epsilon {
        Epsilon((self.0 as u128 * bps as u128 / 10_000) as u64)
    }

    /// As an i64 for a BIGINT column.
    pub fn to_db(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

/// Read back from a BIGINT column of micro-ε; a negative amount is a read error, never
/// taken for zero.
#[cfg(feature = "store")]
impl<DB> diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB> for Epsilon
where
    DB: diesel::backend::Backend,
    i64: diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        let micros = <i64 as diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>>::from_sql(bytes)?;
        u64::try_from(micros).map(Epsilon).map_err(|_| format!("stored Epsilon `{micros}` is negative").into())
    }
}

impl fmt::Display for Epsilon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / MICROS;
        let frac = self.0 % MICROS;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:06}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// In JSON an ε is a plain number (`0.2`), as analysts expect to read it.
impl Serialize for Epsilon {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Epsilon {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Epsilon, D::Error> {
        let value = f64::deserialize(d)?;
        Epsilon::from_config(value).map_err(serde::de::Error::custom)
    }
}

impl std::iter::Sum for Epsilon {
    fn sum<I: Iterator<Item = Epsilon>>(iter: I) -> Epsilon {
        Epsilon(iter.map(|e| e.0).fold(0u64, |a, b| a.saturating_add(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_losses_round_up_but_not_past_an_exact_amount() {
        assert_eq!(Epsilon::from_f64_ceil(0.05).unwrap().micros(), 50_000);
        assert_eq!(Epsilon::from_f64_ceil(0.1).unwrap().micros(), 100_000);
        assert_eq!(Epsilon::from_f64_ceil(0.1000001).unwrap().micros(), 100_001);
        assert_eq!(Epsilon::from_f64_ceil(1.0 / 3.0).unwrap().micros(), 333_334);
        assert_eq!(Epsilon::from_f64_ceil(0.0).unwrap(), Epsilon::ZERO);
        assert!(Epsilon::from_f64_ceil(f64::INFINITY).is_err());
        assert!(Epsilon::from_f64_ceil(-0.1).is_err());
    }

    #[test]
    fn shares_round_down() {
        let e = Epsilon::from_micros(600_000);
        assert_eq!(e.share(5_000).micros(), 300_000);
        assert_eq!(Epsilon::from_micros(1).share(5_000).micros(), 0);
    }

    #[test]
    fn displays_and_serializes_as_a_decimal() {
        assert_eq!(Epsilon::from_micros(200_000).to_string(), "0.2");
        assert_eq!(Epsilon::from_micros(1_000_000).to_string(), "1");
        assert_eq!(Epsilon::from_micros(1_250).to_string(), "0.00125");
        assert_eq!(serde_json::to_string(&Epsilon::from_micros(250_000)).unwrap(), "0.25");
        let e: Epsilon = serde_json::from_str("0.3").unwrap();
        assert_eq!(e.micros(), 300_000);
    }
}
