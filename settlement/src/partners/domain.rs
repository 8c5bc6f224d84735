//! Rules for partner data: names and webhook URLs.

use crate::error::{Result, SettlementError};
use std::net::IpAddr;

pub fn parse_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(SettlementError::invalid("invalid_name", "the name must be 1 to 200 characters"));
    }
    Ok(name.to_string())
}

/// A webhook URL: http(s) always parsed; with `strict`, https to a public host only (no
/// loopback, private, link-local or otherwise internal address), so a partner cannot make
/// us call into our own network.
pub fn parse_webhook_url(url: &str, strict: bool) -> Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| SettlementError::InvalidWebhookUrl(e.to_string()))?;
    match parsed.scheme() {
        "https" => {}
        "http" if !strict => {}
        other => return Err(SettlementError::InvalidWebhookUrl(format!("scheme `{other}` is not allowed"))),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(SettlementError::InvalidWebhookUrl("credentials in the URL are not allowed".into()));
    }
    let host = parsed.host_str().ok_or_else(|| SettlementError::InvalidWebhookUrl("no host".into()))?;
    if strict && !public_host(host) {
        return Err(SettlementError::InvalidWebhookUrl("the host is not a public address".into()));
    }
    Ok(parsed)
}

/// A host name or address literal that may be reached in strict mode. Names are checked
/// again after resolution, when a webhook is sent.
pub fn public_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return is_public(ip);
    }
    let d = bare.to_ascii_lowercase();
    !(d == "localhost"
        || d.ends_with(".localhost")
        || d.ends_with(".local")
        || d.ends_with(".internal")
        || !d.contains('.'))
}

/// An address a webhook may reach in strict mode.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_is_fine_by_default_but_not_when_strict() {
        assert!(parse_webhook_url("http://127.0.0.1:9000/hook", false).is_ok());
        assert!(parse_webhook_url("http://127.0.0.1:9000/hook", true).is_err());
        assert!(parse_webhook_url("https://127.0.0.1/hook", true).is_err());
        assert!(parse_webhook_url("https://10.1.2.3/hook", true).is_err());
        assert!(parse_webhook_url("https://[::1]/hook", true).is_err());
        assert!(parse_webhook_url("https://localhost/hook", true).is_err());
        assert!(parse_webhook_url("https://hooks.partner.example/x", true).is_ok());
        assert!(parse_webhook_url("https://93.184.216.34/x", true).is_ok());
        assert!(parse_webhook_url("ftp://hooks.partner.example/x", false).is_err());
        assert!(parse_webhook_url("https://user:pw@hooks.partner.example/x", false).is_err());
        assert!(parse_webhook_url("not a url", false).is_err());
    }
}
