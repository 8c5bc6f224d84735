//! One clock for the whole code base: UTC, stored as naive timestamps (diesel's `Timestamp`
//! works the same on SQLite and PostgreSQL), shown as RFC 3339 in JSON.

use chrono::{DateTime, NaiveDateTime, Utc};

pub type Timestamp = NaiveDateTime;

/// Now, truncated to microseconds so that what PostgreSQL stores equals what we computed.
pub fn now() -> Timestamp {
    let now = Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(now, chrono::Duration::microseconds(1)).unwrap_or(now)
}

pub fn to_rfc3339(t: Timestamp) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(t, Utc).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn unix_seconds() -> i64 {
    Utc::now().timestamp()
}

/// Serde helpers so that stored naive UTC timestamps appear as RFC 3339 with a `Z`.
pub mod rfc3339 {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc).naive_utc()).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;
        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&to_rfc3339(*t)),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| {
                    DateTime::parse_from_rfc3339(&s)
                        .map(|t| t.with_timezone(&Utc).naive_utc())
                        .map_err(serde::de::Error::custom)
                })
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_z() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap().and_hms_opt(3, 4, 5).unwrap();
        assert_eq!(to_rfc3339(t), "2026-01-02T03:04:05.000Z");
    }
}
