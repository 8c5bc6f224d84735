//! `[settings.payouts]`: how fresh a sign-in a payout account change needs, and how long
//! remittances wait after one.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PayoutSettings {
    /// A change is accepted only from a token whose password sign-in (`auth_time`) is at
    /// most this old: a stolen long-lived token cannot redirect the money.
    pub reauth_seconds: i64,
    /// After a change, the store's remittances wait this long, so that the seller (mailed
    /// at once) can stop a change they did not make before money leaves. 0 turns it off.
    pub account_hold_hours: i64,
}

/// A hold longer than a year is a typo, and far enough out it would not fit a timestamp.
const MAX_HOLD_HOURS: i64 = 366 * 24;

impl Default for PayoutSettings {
    fn default() -> Self {
        PayoutSettings { reauth_seconds: 300, account_hold_hours: 72 }
    }
}

impl PayoutSettings {
    /// From `[settings.payouts]`; a table that does not parse, or negative times, stop the
    /// start rather than run with a check that is not what the operator wrote.
    pub fn from_config(config: &shared::config::Config) -> Result<PayoutSettings, String> {
        let s: PayoutSettings = match config.settings.get("payouts") {
            None => PayoutSettings::default(),
            Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| format!("[settings.payouts]: {e}"))?,
        };
        if s.reauth_seconds < 0 || s.account_hold_hours < 0 {
            return Err("[settings.payouts] reauth_seconds and account_hold_hours must not be negative".into());
        }
        if s.account_hold_hours > MAX_HOLD_HOURS {
            return Err(format!("[settings.payouts] account_hold_hours must be at most {MAX_HOLD_HOURS} (a year)"));
        }
        Ok(s)
    }

    /// Until when a change made at `changed_at` holds remittances; `None` when holds are off.
    pub fn hold_until(&self, changed_at: shared::time::Timestamp) -> Option<shared::time::Timestamp> {
        (self.account_hold_hours > 0).then(|| changed_at + chrono::Duration::hours(self.account_hold_hours))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> shared::config::Config {
        shared::config::Config { settings: toml::from_str(toml).unwrap(), ..Default::default() }
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(PayoutSettings::from_config(&config("")).unwrap(), PayoutSettings::default());
        let s =
            PayoutSettings::from_config(&config("[payouts]\nreauth_seconds = 1\naccount_hold_hours = 0\n")).unwrap();
        assert_eq!((s.reauth_seconds, s.account_hold_hours), (1, 0));
        assert_eq!(s.hold_until(shared::time::now()), None);
        assert!(PayoutSettings::from_config(&config("[payouts]\nreauth_secs = 1\n")).is_err());
        assert!(PayoutSettings::from_config(&config("[payouts]\naccount_hold_hours = -1\n")).is_err());
        let huge = format!("[payouts]\naccount_hold_hours = {}\n", i64::MAX);
        assert!(PayoutSettings::from_config(&config(&huge)).is_err());
        let t = shared::time::now();
        assert_eq!(PayoutSettings::default().hold_until(t), Some(t + chrono::Duration::hours(72)));
    }
}
