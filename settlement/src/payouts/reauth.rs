//! A payout account change needs a recent password sign-in, not just a valid token: a
//! token copied from a seller's browser lives for its whole lifetime, and redirecting the
//! store's money is the one thing such a token must not do.

use crate::error::{Result, SettlementError};

/// Accepts a sign-in made at most `max_age` seconds before `now` (a few seconds of clock
/// skew ahead too, as tokens are). No sign-in time at all (a token not from a password
/// sign-in) is refused like an old one.
pub fn require_fresh_sign_in(auth_time: Option<i64>, now: i64, max_age: i64) -> Result<()> {
    const SKEW_SECS: i64 = 30;
    match auth_time {
        Some(t) if t <= now.saturating_add(SKEW_SECS) && now.saturating_sub(t) <= max_age => Ok(()),
        _ => Err(SettlementError::ReauthenticationRequired { max_age }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::error::ApiError;

    #[test]
    fn only_a_recent_sign_in_may_change_the_account() {
        let now = 1_800_000_000;
        assert!(require_fresh_sign_in(Some(now), now, 300).is_ok());
        assert!(require_fresh_sign_in(Some(now - 300), now, 300).is_ok());
        assert!(require_fresh_sign_in(Some(now + 10), now, 300).is_ok(), "clock skew");
        let old = require_fresh_sign_in(Some(now - 301), now, 300).unwrap_err();
        assert_eq!((old.status().as_u16(), old.code()), (401, "reauthentication_required"));
        assert!(require_fresh_sign_in(None, now, 300).is_err(), "no sign-in time");
        assert!(require_fresh_sign_in(Some(now + 3_600), now, 300).is_err(), "a sign-in in the future");
        assert!(require_fresh_sign_in(Some(0), now, i64::MAX).is_ok());
        assert!(require_fresh_sign_in(Some(now - 1), now, 0).is_err());
        assert!(require_fresh_sign_in(Some(i64::MIN), now, 300).is_err(), "no overflow");
    }
}
