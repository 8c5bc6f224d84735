//! A referral token's claims and when an order earns the referral.

use super::settings::ReferralSettings;
use serde::{Deserialize, Serialize};
use shared::auth::REFERRAL_AUDIENCE;
use shared::config::ServiceName;
use shared::ids::{ProductId, StoreId};

/// The claims of a referral token. There is no `iat` and the expiry is rounded up, so
/// the token does not say when the buyer browsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralClaims {
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    /// Unique per token: an order claims it once.
    pub jti: String,
    /// The referring store: where the buyer selected.
    pub from: String,
    pub product: String,
    /// The ordering store: the alternative the buyer was sent to.
    pub to: String,
}

impl ReferralClaims {
    pub fn new(from: &StoreId, product: &ProductId, to: &StoreId, now: i64, s: &ReferralSettings) -> ReferralClaims {
        ReferralClaims {
            iss: ServiceName::Broker.as_str().into(),
            aud: REFERRAL_AUDIENCE.into(),
            exp: expiry(now, s.referral_ttl_secs, s.referral_expiry_rounding_secs),
            jti: shared::ids::random_hex128(),
            from: from.as_str().into(),
            product: product.as_str().into(),
            to: to.as_str().into(),
        }
    }

    /// The referral, if every id in it is well formed.
    pub fn referral(self) -> Option<Referral> {
        Some(Referral {
            from: StoreId::parse(&self.from).ok()?,
            product: ProductId::parse(&self.product).ok()?,
            to: StoreId::parse(&self.to).ok()?,
            jti: self.jti,
            exp: self.exp,
        })
    }
}

/// `now + ttl`, rounded up to a multiple of `rounding` (at least a second).
pub fn expiry(now: i64, ttl: i64, rounding: i64) -> i64 {
    let r = rounding.max(1);
    let at = now.saturating_add(ttl.max(1));
    at.div_euclid(r).saturating_add(i64::from(at.rem_euclid(r) != 0)).saturating_mul(r)
}

/// A verified referral token's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Referral {
    pub jti: String,
    pub from: StoreId,
    pub product: ProductId,
    pub to: StoreId,
    /// Unix seconds.
    pub exp: i64,
}

impl Referral {
    /// The store that earns the fee on an order of `product` at `store` placed at `now`,
    /// if this referral is for that order: it names the order's store and product, it is
    /// unexpired, and the referring store is another store.
    pub fn earner(&self, store: &StoreId, product: &ProductId, now: i64) -> Option<&StoreId> {
        (&self.to == store && &self.product == product && &self.from != store && now < self.exp).then_some(&self.from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiry_is_rounded_up_to_the_hour() {
        let hour = 3_600;
        // 2026-12-01 20:17:05 UTC + 24 h, rounded up: 2026-12-02 21:00:00.
        let now = 1_796_156_225;
        let exp = expiry(now, 24 * hour, hour);
        assert_eq!(exp % hour, 0);
        assert!(exp >= now + 24 * hour && exp < now + 25 * hour);
        assert_eq!(exp, 1_796_245_200);
        // Exactly on the hour stays there; one second past goes to the next.
        assert_eq!(expiry(1_796_155_200 - 24 * hour, 24 * hour, hour), 1_796_155_200);
        assert_eq!(expiry(1_796_155_201 - 24 * hour, 24 * hour, hour), 1_796_155_200 + hour);
        // Two buyers browsing in the same hour get the same expiry.
        assert_eq!(expiry(now, 24 * hour, hour), expiry(now + 1_000, 24 * hour, hour));
        // A degenerate setting never makes a token that is already expired.
        assert!(expiry(now, 0, 0) > now);
    }

    #[test]
    fn claims_carry_no_issue_time_and_a_fresh_id() {
        let (a, b, p) = (StoreId::generate(), StoreId::generate(), ProductId::generate());
        let s = ReferralSettings::default();
        let c = ReferralClaims::new(&a, &p, &b, 1_796_156_225, &s);
        let v = serde_json::to_value(&c).unwrap();
        assert!(v.get("iat").is_none() && v.get("nbf").is_none(), "{v}");
        assert_eq!(v["aud"], REFERRAL_AUDIENCE);
        assert_ne!(c.jti, ReferralClaims::new(&a, &p, &b, 1_796_156_225, &s).jti);
    }

    #[test]
    fn a_referral_earns_only_for_its_own_order_and_before_it_expires() {
        let (a, b, c, p, q) = (
            StoreId::generate(),
            StoreId::generate(),
            StoreId::generate(),
            ProductId::generate(),
            ProductId::generate(),
        );
        let r = ReferralClaims::new(&a, &p, &b, 1_000, &ReferralSettings::default()).referral().unwrap();
        assert_eq!(r.earner(&b, &p, 1_000), Some(&a));
        assert_eq!(r.earner(&c, &p, 1_000), None, "another ordering store");
        assert_eq!(r.earner(&b, &q, 1_000), None, "another product");
        assert_eq!(r.earner(&b, &p, r.exp), None, "expired");
        let own = ReferralClaims::new(&b, &p, &b, 1_000, &ReferralSettings::default()).referral().unwrap();
        assert_eq!(own.earner(&b, &p, 1_000), None, "a store does not refer to itself");
        let mut bad = ReferralClaims::new(&a, &p, &b, 1_000, &ReferralSettings::default());
        bad.from = "not-a-store".into();
        assert!(bad.referral().is_none());
    }
}
