//! The visitor's address, as the broker's own storefront hands it to the broker's API
//! (and delivery's courier page to delivery's, with delivery's key: each service believes
//! only headers signed with its own keys).
//!
//! The storefront calls the API over HTTP on loopback, so the API sees the storefront as
//! its peer. No proxy is trusted by default (loopback included), so a plain
//! `X-Forwarded-For` from there would either be ignored (every visitor in one bucket) or,
//! if believed, let any local client pick its own bucket. Instead the storefront signs the
//! visitor's address with the broker's own Ed25519 key, over a timestamp and the method,
//! path and query of the one request it sends:
//!
//! `X-Marketplace-Visitor: <ip>;<unix seconds>;<base64url signature>`
//!
//! The rate limiter believes the header only when the signature verifies with one of the
//! broker's own public keys, the timestamp is within [`VALID_SECS`] of now and the method
//! and path are the request's own; otherwise it is ignored and the peer address counts.
//! A copied header is good for one route for a few seconds only, and only the broker's
//! own key makes one.

use crate::crypto::{KeyRing, SigningKey};
use base64::Engine;
use ring::signature::{Ed25519KeyPair, UnparsedPublicKey, ED25519};
use std::net::IpAddr;

/// The request header.
pub const HEADER: &str = "x-marketplace-visitor";

/// How far the header's timestamp may be from now, either way. The storefront signs just
/// before sending, on the same machine.
pub const VALID_SECS: i64 = 10;

/// What is signed: a fixed label, so that no other signature of the broker's key (a
/// token's) can pass as one of these, then the fields on lines of their own.
fn message(ip: IpAddr, ts: i64, method: &str, path_and_query: &str) -> Vec<u8> {
    format!("marketplace-visitor/1\n{ip}\n{ts}\n{method}\n{path_and_query}").into_bytes()
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

/// Signs visitor headers with the broker's newest key (the storefront's side).
pub struct VisitorSigner {
    pair: Ed25519KeyPair,
}

impl VisitorSigner {
    pub fn new(key: &SigningKey) -> Option<VisitorSigner> {
        Ed25519KeyPair::from_pkcs8(key.pkcs8()).ok().map(|pair| VisitorSigner { pair })
    }

    /// The header value for a request with `method` to `path_and_query` on behalf of the
    /// visitor at `ip`, signed now.
    pub fn sign(&self, ip: IpAddr, method: &str, path_and_query: &str) -> String {
        self.sign_at(ip, crate::time::now().and_utc().timestamp(), method, path_and_query)
    }

    fn sign_at(&self, ip: IpAddr, ts: i64, method: &str, path_and_query: &str) -> String {
        let sig = self.pair.sign(&message(ip, ts, method, path_and_query));
        format!("{ip};{ts};{}", b64().encode(sig.as_ref()))
    }
}

/// The visitor a page request acts for, as the rate limits see it (its peer, or what a
/// trusted proxy in front forwarded), with the service's own `key` to vouch for it on the
/// page's calls to that service's API.
pub fn of_page_request(req: &actix_web::HttpRequest, key: &SigningKey) -> Option<(VisitorSigner, IpAddr)> {
    let ip = match req.app_data::<actix_web::web::Data<crate::ratelimit::RateLimits>>() {
        Some(limits) => limits.client_of(req).ip(),
        None => req.peer_addr().map(|a| a.ip()),
    }?;
    VisitorSigner::new(key).map(|signer| (signer, ip))
}

/// Checks visitor headers against the broker's own public keys (the API's side).
pub struct VisitorVerifier {
    keys: Vec<UnparsedPublicKey<Vec<u8>>>,
}

impl VisitorVerifier {
    /// Every key of the ring: a header signed just before a rotation still verifies.
    pub fn new(ring: &KeyRing) -> VisitorVerifier {
        VisitorVerifier {
            keys: ring.keys.iter().map(|k| UnparsedPublicKey::new(&ED25519, k.public_key().to_vec())).collect(),
        }
    }

    /// The visitor's address when `header` is a fresh signature of the broker over this
    /// request's method and path; `None` for anything else.
    pub fn verify(&self, header: &str, method: &str, path_and_query: &str) -> Option<IpAddr> {
        self.verify_at(header, method, path_and_query, crate::time::now().and_utc().timestamp())
    }

    fn verify_at(&self, header: &str, method: &str, path_and_query: &str, now: i64) -> Option<IpAddr> {
        let mut parts = header.trim().splitn(3, ';');
        let ip: IpAddr = parts.next()?.parse().ok()?;
        let ts: i64 = parts.next()?.parse().ok()?;
        // Checked before the signature: a stale header costs no verification.
        if now.abs_diff(ts) > VALID_SECS.unsigned_abs() {
            return None;
        }
        let sig = b64().decode(parts.next()?).ok()?;
        let signed = message(ip, ts, method, path_and_query);
        self.keys.iter().any(|k| k.verify(&signed, &sig).is_ok()).then_some(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_ring() -> (tempfile::TempDir, KeyRing) {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path(), "broker").unwrap();
        (dir, ring)
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_fresh_signature_over_this_request_names_the_visitor() {
        let (_dir, ring) = fresh_ring();
        let signer = VisitorSigner::new(ring.signing()).unwrap();
        let verifier = VisitorVerifier::new(&ring);
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let header = signer.sign_at(ip, NOW, "POST", "/v1/buyer-sessions");
        assert_eq!(verifier.verify_at(&header, "POST", "/v1/buyer-sessions", NOW), Some(ip));
        assert_eq!(verifier.verify_at(&header, "POST", "/v1/buyer-sessions", NOW + VALID_SECS), Some(ip));
        let v6: IpAddr = "2001:db8::5".parse().unwrap();
        let header = signer.sign_at(v6, NOW, "GET", "/v1/search?q=toner&page=2");
        assert_eq!(verifier.verify_at(&header, "GET", "/v1/search?q=toner&page=2", NOW - 3), Some(v6));
        // Signed now, checked now.
        let header = signer.sign(ip, "POST", "/v1/orders");
        assert_eq!(verifier.verify(&header, "POST", "/v1/orders"), Some(ip));
    }

    #[test]
    fn anything_but_the_signed_request_is_ignored() {
        let (_dir, ring) = fresh_ring();
        let signer = VisitorSigner::new(ring.signing()).unwrap();
        let verifier = VisitorVerifier::new(&ring);
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let header = signer.sign_at(ip, NOW, "POST", "/v1/buyer-sessions");
        let check = |h: &str, method: &str, path: &str, now: i64| verifier.verify_at(h, method, path, now);

        // Another visitor's address under the same signature.
        let (_, rest) = header.split_once(';').unwrap();
        assert_eq!(check(&format!("198.51.100.8;{rest}"), "POST", "/v1/buyer-sessions", NOW), None, "tampered ip");
        // Another route, another query, another method.
        assert_eq!(check(&header, "POST", "/v1/sessions", NOW), None, "other path");
        assert_eq!(check(&header, "POST", "/v1/buyer-sessions?x=1", NOW), None, "other query");
        assert_eq!(check(&header, "GET", "/v1/buyer-sessions", NOW), None, "other method");
        // Stale, and from the future.
        assert_eq!(check(&header, "POST", "/v1/buyer-sessions", NOW + VALID_SECS + 1), None, "stale");
        assert_eq!(check(&header, "POST", "/v1/buyer-sessions", NOW - VALID_SECS - 1), None, "early");
        // A moved timestamp breaks the signature.
        let sig = header.rsplit(';').next().unwrap();
        assert_eq!(check(&format!("{ip};{};{sig}", NOW + 1), "POST", "/v1/buyer-sessions", NOW), None);
        // Signed with another key than the broker's.
        let (_other_dir, stranger) = fresh_ring();
        let forged = VisitorSigner::new(stranger.signing()).unwrap().sign_at(ip, NOW, "POST", "/v1/buyer-sessions");
        assert_eq!(check(&forged, "POST", "/v1/buyer-sessions", NOW), None, "forged key");
        // Malformed.
        for junk in ["", "198.51.100.7", "198.51.100.7;1800000000", "nonsense;1800000000;AAAA", "198.51.100.7;x;AAAA"] {
            assert_eq!(check(junk, "POST", "/v1/buyer-sessions", NOW), None, "{junk:?}");
        }
        assert_eq!(check(&format!("{ip};{NOW};!!"), "POST", "/v1/buyer-sessions", NOW), None);
    }

    #[test]
    fn a_header_signed_before_a_rotation_still_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let old = KeyRing::load_or_create(dir.path(), "broker").unwrap();
        let header =
            VisitorSigner::new(old.signing()).unwrap().sign_at("192.0.2.4".parse().unwrap(), NOW, "POST", "/x");
        KeyRing::rotate(dir.path(), "broker").unwrap();
        let rotated = KeyRing::load_or_create(dir.path(), "broker").unwrap();
        assert_eq!(
            VisitorVerifier::new(&rotated).verify_at(&header, "POST", "/x", NOW),
            Some("192.0.2.4".parse().unwrap())
        );
    }
}
