//! Rules for partner data: names and webhook URLs.

use crate::error::{Code, Result, SettlementError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub fn parse_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(SettlementError::refused(Code::InvalidName, "the name must be 1 to 200 characters"));
    }
    Ok(name.to_string())
}

/// A webhook URL, checked on the text the partner gave. In every mode: http(s) only, no
/// credentials, no link-local or metadata address, and a numeric host only in canonical
/// dotted-quad form (`2130706433`, `0x7f.1`, `0177.0.0.1` and `127.1` all name loopback
/// to a URL parser, and would slip past a check that reads them as names). With `strict`:
/// https to a public host only. Names are checked again on every address they resolve to
/// when a webhook is sent (see `events::resolver`).
pub fn parse_webhook_url(url: &str, strict: bool) -> Result<reqwest::Url> {
    let bad = |why: &str| SettlementError::InvalidWebhookUrl(why.to_string());
    let raw = url.trim();
    let parsed = reqwest::Url::parse(raw).map_err(|e| SettlementError::InvalidWebhookUrl(e.to_string()))?;
    match parsed.scheme() {
        "https" => {}
        "http" if !strict => {}
        other => return Err(SettlementError::InvalidWebhookUrl(format!("scheme `{other}` is not allowed"))),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("credentials in the URL are not allowed"));
    }
    let host = parsed.host_str().ok_or_else(|| bad("no host"))?;
    // The parser has normalised an IPv4 host to a dotted quad (a name never looks like
    // one); what the partner wrote must already be that, or it was another spelling.
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        if raw_host(raw).as_deref() != Some(host) {
            return Err(bad("a numeric host must be a plain dotted-quad address"));
        }
        if !may_connect(IpAddr::V4(v4), strict) {
            return Err(bad("the host is not an address webhooks may reach"));
        }
    } else if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let v6: Ipv6Addr = v6.parse().map_err(|_| bad("not an IPv6 address"))?;
        if !may_connect(IpAddr::V6(v6), strict) {
            return Err(bad("the host is not an address webhooks may reach"));
        }
    } else if is_metadata_name(host) || (strict && !public_host(host)) {
        return Err(bad("the host is not a public address"));
    }
    Ok(parsed)
}

/// The host as written in `url` (`scheme://[user@]host[:port]/...`), lowercased; `None`
/// when it cannot be told apart, which the caller treats as a mismatch.
fn raw_host(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    let host_port = &authority[authority.rfind('@').map_or(0, |i| i + 1)..];
    let host = if host_port.starts_with('[') {
        &host_port[..=host_port.find(']')?]
    } else {
        &host_port[..host_port.rfind(':').unwrap_or(host_port.len())]
    };
    Some(host.to_ascii_lowercase())
}

/// Names of cloud metadata services, which resolve to link-local addresses anyway.
fn is_metadata_name(name: &str) -> bool {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    n == "metadata.google.internal" || n == "metadata.goog"
}

/// A host name or address literal that may be reached in strict mode. Names are checked
/// again after resolution, when a webhook is sent.
pub fn public_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return may_connect(ip, true);
    }
    let d = bare.trim_end_matches('.').to_ascii_lowercase();
    !(d == "localhost"
        || d.ends_with(".localhost")
        || d.ends_with(".local")
        || d.ends_with(".internal")
        || !d.contains('.'))
}

/// Whether a webhook may connect to `ip`: never to a link-local, metadata or unspecified
/// address; with `strict`, only to a public one.
pub fn may_connect(ip: IpAddr, strict: bool) -> bool {
    !never_reachable(ip) && (!strict || is_public(ip))
}

/// The IPv4 address an IPv6 one stands for: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`, deprecated but still routed by some stacks), NAT64 (`64:ff9b::/96` and
/// the local-use `64:ff9b:1::/48`, translated by a gateway on our own network), 6to4
/// (`2002::/16`) or Teredo (`2001::/32`).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6].iter().all(|&x| x == 0) && !(s[6] == 0 && s[7] <= 1) {
        return Some(low);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|&x| x == 0) {
        return Some(low);
    }
    // Local-use NAT64 (64:ff9b:1::/48, RFC 8215): the IPv4 address is in the low 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        return Some(low);
    }
    // 6to4 (2002::/16): the IPv4 address follows the prefix.
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    // Teredo (2001::/32): the client's IPv4 address is the low 32 bits, inverted.
    if s[0] == 0x2001 && s[1] == 0 {
        return Some(Ipv4Addr::from(!u32::from(low)));
    }
    None
}

/// Addresses no webhook reaches in any mode: where cloud metadata services answer
/// (link-local 169.254.0.0/16 and fe80::/10, AWS's fd00:ec2::254, Alibaba's
/// 100.100.100.200), "this network" 0.0.0.0/8 and the unspecified `::`, and IPv6 forms of
/// any of them.
pub fn never_reachable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local() || v4.octets()[0] == 0 || v4 == Ipv4Addr::new(100, 100, 100, 200),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return never_reachable(IpAddr::V4(v4));
            }
            v6.is_unspecified()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
        }
    }
}

/// An address a webhook may reach in strict mode: none of loopback, private (RFC 1918,
/// carrier-grade NAT 100.64.0.0/10, unique local fc00::/7), link-local, multicast,
/// broadcast, documentation, benchmarking or reserved ranges.
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
                || o[0] >= 240
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x100 && s[1..4].iter().all(|&x| x == 0))
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

    /// Each URL with whether it is accepted `(default mode, strict mode)`.
    const CASES: &[(&str, bool, bool)] = &[
        ("https://hooks.partner.example/x", true, true),
        ("https://93.184.216.34/x", true, true),
        ("https://93.184.216.34:8443/x", true, true),
        ("https://[2606:4700::1111]/x", true, true),
        ("http://hooks.partner.example/x", true, false),
        ("http://127.0.0.1:9000/x", true, false),
        ("http://localhost:9000/x", true, false),
        ("https://10.0.0.5/x", true, false),
        ("https://172.16.1.1/x", true, false),
        ("https://192.168.1.1/x", true, false),
        ("https://100.64.0.1/x", true, false),
        ("https://224.0.0.1/x", true, false),
        ("https://255.255.255.255/x", true, false),
        ("https://192.0.2.1/x", true, false),
        ("https://[fc00::1]/x", true, false),
        ("https://[fd12:3456::1]/x", true, false),
        ("https://[::1]/x", true, false),
        ("https://[ff02::1]/x", true, false),
        ("https://[::ffff:10.0.0.1]/x", true, false),
        // Link-local and metadata addresses, never.
        ("http://169.254.169.254/latest/meta-data/", false, false),
        ("https://169.254.0.1/x", false, false),
        ("http://100.100.100.200/x", false, false),
        ("http://0.0.0.0:9000/x", false, false),
        ("http://0.1.2.3/x", false, false),
        ("http://[::]/x", false, false),
        ("http://[fe80::1]/x", false, false),
        ("http://[febf::1]/x", false, false),
        ("http://[fd00:ec2::254]/x", false, false),
        ("http://[::ffff:169.254.169.254]/x", false, false),
        ("http://[::ffff:a9fe:a9fe]/x", false, false),
        ("http://[::169.254.169.254]/x", false, false),
        ("http://[64:ff9b::169.254.169.254]/x", false, false),
        ("http://[::ffff:0.0.0.0]/x", false, false),
        ("http://[::ffff:100.100.100.200]/x", false, false),
        ("http://metadata.google.internal/computeMetadata/v1/", false, false),
        // Numeric hosts in any form but a plain dotted quad, never.
        ("http://2130706433/x", false, false),
        ("http://0x7f.1/x", false, false),
        ("http://0x7f000001/x", false, false),
        ("http://0177.0.0.1/x", false, false),
        ("http://127.1/x", false, false),
        ("http://127.0.1/x", false, false),
        ("http://127.0.0.1./x", false, false),
        ("http://2852039166/x", false, false),
        ("https://0x5d.0xb8.0xd8.0x22/x", false, false),
        ("https://093.184.216.34/x", false, false),
        ("http://１２７.0.0.1/x", false, false),
    ];

    #[test]
    fn webhook_urls_in_both_modes() {
        for &(url, default, strict) in CASES {
            assert_eq!(parse_webhook_url(url, false).is_ok(), default, "{url} (default mode)");
            assert_eq!(parse_webhook_url(url, true).is_ok(), strict, "{url} (strict mode)");
        }
        let refused = parse_webhook_url("http://0x7f.1/", false).unwrap_err();
        assert_eq!(shared::error::ApiError::code(&refused), "invalid_webhook_url");
    }

    #[test]
    fn addresses_in_both_modes() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for never in [
            "169.254.169.254",
            "0.0.0.0",
            "100.100.100.200",
            "fe80::1",
            "fd00:ec2::254",
            "::",
            "::ffff:169.254.169.254",
            // 169.254.169.254 through 6to4, local-use NAT64 and Teredo (inverted).
            "2002:a9fe:a9fe::1",
            "64:ff9b:1::a9fe:a9fe",
            "2001:0:4136:e378:8000:63bf:5601:5601",
        ] {
            assert!(!may_connect(ip(never), false) && !may_connect(ip(never), true), "{never}");
        }
        for internal in ["127.0.0.1", "10.1.1.1", "::1", "fc00::1", "::ffff:127.0.0.1", "64:ff9b::a00:1"] {
            assert!(may_connect(ip(internal), false) && !may_connect(ip(internal), true), "{internal}");
        }
        for public in ["93.184.216.34", "2606:4700::1111", "::ffff:93.184.216.34", "100.128.0.1"] {
            assert!(may_connect(ip(public), true), "{public}");
        }
    }

    #[test]
    fn the_host_is_read_as_written() {
        assert_eq!(raw_host("http://127.0.0.1:9000/x").as_deref(), Some("127.0.0.1"));
        assert_eq!(raw_host("http://u@127.1/x").as_deref(), Some("127.1"));
        assert_eq!(raw_host("http://0X7F.1?x").as_deref(), Some("0x7f.1"));
        assert_eq!(raw_host("https://[::1]:8443/").as_deref(), Some("[::1]"));
        assert_eq!(raw_host("no scheme"), None);
    }
}
