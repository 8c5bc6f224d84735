//! Events and their signature.

pub use client::settlement::{Event, EventData};

pub const SIGNATURE_HEADER: &str = "Settlement-Signature";

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 over "t.body">`, keyed with the secret's UTF-8
/// bytes as the partner received it.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mac = shared::crypto::hmac_sha256_hex(secret.as_bytes(), format!("{t}.{body}").as_bytes());
    format!("t={t},v1={mac}")
}

/// How a receiver checks a webhook (the example in the docs): parse the header, recompute
/// the HMAC over `t.body`, compare in constant time, refuse timestamps older than
/// `tolerance_secs`.
///
/// ```
/// let secret = "whsec_example";
/// let body = r#"{"seq":1}"#;
/// let header = settlement::events::domain::signature(secret, 1_700_000_000, body);
/// assert!(settlement::events::domain::verify(&header, secret, body, 1_700_000_010, 300));
/// assert!(!settlement::events::domain::verify(&header, secret, body, 1_700_000_400, 300));
/// ```
pub fn verify(header: &str, secret: &str, body: &str, now: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    let expected = shared::crypto::hmac_sha256_hex(secret.as_bytes(), format!("{t}.{body}").as_bytes());
    v1.iter().any(|sig| shared::crypto::constant_time_eq(sig.as_bytes(), expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_verifies_and_detects_tampering() {
        let h = signature("whsec_a", 1000, "{\"x\":1}");
        assert!(h.starts_with("t=1000,v1="));
        assert!(verify(&h, "whsec_a", "{\"x\":1}", 1100, 300));
        assert!(!verify(&h, "whsec_b", "{\"x\":1}", 1100, 300));
        assert!(!verify(&h, "whsec_a", "{\"x\":2}", 1100, 300));
        assert!(!verify(&h, "whsec_a", "{\"x\":1}", 1400, 300));
        assert!(!verify("v1=abc", "whsec_a", "{}", 0, 300));
    }
}
