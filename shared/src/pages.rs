//! What the server-rendered pages (the broker's storefront, delivery's courier page)
//! share: the form-origin check that stands for CSRF protection, and the rule for when a
//! cookie is `Secure`.

use actix_web::{http::header, HttpRequest};

/// Form posts must come from the service's own pages; together with `SameSite=Strict`
/// cookies this keeps other sites from acting for the signed-in visitor. Browsers name
/// where a request comes from in `Sec-Fetch-Site`; under `Referrer-Policy: no-referrer`
/// their `Origin` on a form post is `null`, so that header decides only where it names a
/// site. `public_url` is the service's own public address.
pub fn same_origin(req: &HttpRequest, public_url: &str) -> bool {
    let h = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
    if let Some(site) = h("sec-fetch-site") {
        return site == "same-origin";
    }
    match h(header::ORIGIN.as_str()) {
        None => true,
        Some(origin) if origin == "null" => true,
        Some(origin) => {
            let own = crate::cors::origin_of(public_url);
            let host = req.connection_info().host().to_ascii_lowercase();
            origin == own || origin.split_once("://").is_some_and(|(_, h)| h == host)
        }
    }
}

/// Cookies get `Secure` unless the pages are served from this machine over plain http
/// (development and tests).
pub fn secure_cookies(public_url: &str) -> bool {
    let origin = crate::cors::origin_of(public_url);
    let host = origin.split_once("://").map(|(_, h)| h).unwrap_or_default();
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    !(origin.starts_with("http://") && matches!(host, "127.0.0.1" | "localhost" | "[::1]"))
}

/// A session cookie as the pages set every cookie: `HttpOnly`, `SameSite=Strict`, and
/// `Secure` off this machine.
pub fn cookie(public_url: &str, name: &str, value: &str, path: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if secure_cookies(public_url) {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// A cookie's value from the request.
pub fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn cross_site_posts_are_refused_and_own_or_blank_origins_pass() {
        let own = "http://127.0.0.1:8083";
        let req = |h: &[(&str, &str)]| {
            let mut r = TestRequest::post().uri("/courier/sign-in").insert_header(("host", "127.0.0.1:8083"));
            for (k, v) in h {
                r = r.insert_header((*k, *v));
            }
            r.to_http_request()
        };
        assert!(!same_origin(&req(&[("sec-fetch-site", "cross-site")]), own));
        assert!(!same_origin(&req(&[("sec-fetch-site", "same-site")]), own));
        assert!(!same_origin(&req(&[("origin", "https://evil.example")]), own));
        assert!(same_origin(&req(&[("sec-fetch-site", "same-origin")]), own));
        assert!(same_origin(&req(&[("origin", "null")]), own));
        assert!(same_origin(&req(&[("origin", "http://127.0.0.1:8083")]), own));
        assert!(same_origin(&req(&[]), own));
    }

    #[test]
    fn cookies_are_secure_except_on_this_machine_over_http() {
        assert!(!secure_cookies("http://127.0.0.1:8083"));
        assert!(!secure_cookies("http://localhost:8083/"));
        assert!(secure_cookies("http://delivery.example"));
        assert!(secure_cookies("https://127.0.0.1:8083"));
        let c = cookie("https://delivery.example", "mp_courier", "t", "/courier", Some(60));
        assert_eq!(c, "mp_courier=t; Path=/courier; HttpOnly; SameSite=Strict; Secure; Max-Age=60");
    }
}
