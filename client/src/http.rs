//! Calls over HTTP: one service's base URL, what every call carries, and the raw answer.
//!
//! A page's visitor travels in a header signed with the calling service's own key
//! (`shared::visitor`), for the call's exact method, path and query, so per-client limits
//! hold per visitor behind a page and nobody else can name one.

use reqwest::Method;
use serde_json::Value;
use shared::visitor::VisitorSigner;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

/// An answer from an API: status and JSON body (`Null` when empty or not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The problem+json `detail`, or a plain sentence when the API gave none.
    pub fn detail(&self) -> String {
        self.body["detail"]
            .as_str()
            .or(self.body["title"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("the request failed ({})", self.status))
    }

    /// The problem+json `code` (empty when there is none).
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// A refusal made on this side, shown as the API would have answered it.
    pub fn refused(status: u16, detail: &str) -> Reply {
        Reply { status, body: serde_json::json!({ "detail": detail }) }
    }
}

/// Reaching the API failed (not an error answer: those are `Reply`s).
#[derive(Debug, thiserror::Error)]
#[error("the marketplace API could not be reached: {0}")]
pub struct Unreachable(String);

impl Unreachable {
    pub(crate) fn new(why: String) -> Unreachable {
        Unreachable(why)
    }
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // No idle pool: pages call from several runtimes (one per worker), and a pooled
        // connection is tied to the runtime that opened it.
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("HTTP client")
    })
}

/// Calls to one service, with what every call carries.
pub struct Api {
    base: String,
    bearer: Option<String>,
    headers: Vec<(&'static str, String)>,
    /// The visitor and the key to vouch for it with: each call carries it signed for that
    /// call's method and path.
    visitor: Option<(VisitorSigner, IpAddr)>,
    /// The HTTP client to call with, when not the shared one without an idle pool.
    http: Option<reqwest::Client>,
}

impl Api {
    /// A service at its public URL (`http://host:port`, no trailing slash).
    pub fn new(base: impl Into<String>) -> Api {
        Api { base: base.into(), bearer: None, headers: Vec::new(), visitor: None, http: None }
    }

    /// A service on its listening address; a wildcard address is reached on loopback.
    pub fn listening_on(addr: SocketAddr) -> Api {
        if addr.ip().is_unspecified() {
            Api::new(format!("http://127.0.0.1:{}", addr.port()))
        } else {
            Api::new(format!("http://{addr}"))
        }
    }

    pub fn bearer(mut self, token: Option<String>) -> Api {
        self.bearer = token;
        self
    }

    /// Calls through `http` (its own pool and timeouts) instead of the shared client, e.g.
    /// from a load generator that keeps connections open across many calls.
    pub fn through(mut self, http: reqwest::Client) -> Api {
        self.http = Some(http);
        self
    }

    /// A header every call carries (when `value` is given).
    pub fn header(mut self, name: &'static str, value: Option<String>) -> Api {
        if let Some(value) = value {
            self.headers.push((name, value));
        }
        self
    }

    /// Names the visitor a page acts for, vouched for by `signer` (the called service's
    /// own key, or it will not believe it).
    pub fn visitor(mut self, visitor: Option<(VisitorSigner, IpAddr)>) -> Api {
        self.visitor = visitor;
        self
    }

    pub async fn get(&self, path: &str) -> Result<Reply, Unreachable> {
        self.call(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Reply, Unreachable> {
        self.call(Method::POST, path, Some(body), &[]).await
    }

    /// A POST with a typed body.
    pub async fn post_json<B: serde::Serialize>(&self, path: &str, body: &B) -> Result<Reply, Unreachable> {
        self.send(Method::POST, path, body, &[]).await
    }

    /// A call with a typed body and headers of its own.
    pub async fn send<B: serde::Serialize>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<Reply, Unreachable> {
        let body = serde_json::to_value(body).map_err(|e| Unreachable(e.to_string()))?;
        self.call(method, path, Some(body), headers).await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, Unreachable> {
        let url = reqwest::Url::parse(&format!("{}{path}", self.base)).map_err(|e| Unreachable(e.to_string()))?;
        // Signed over the path and query exactly as they go on the wire.
        let visitor = self.visitor.as_ref().map(|(signer, ip)| {
            let target = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            signer.sign(*ip, method.as_str(), &target)
        });
        // What a failure names: the call's method and path, never its query or the host.
        let call = format!("{method} {}", url.path());
        let failed = |e: reqwest::Error| Unreachable(format!("{call}: {}", e.without_url()));
        let mut req = self.http.as_ref().unwrap_or_else(|| http()).request(method, url);
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t);
        }
        if let Some(v) = visitor {
            req = req.header(shared::visitor::HEADER, v);
        }
        for (k, v) in self.headers.iter().map(|(k, v)| (*k, v.as_str())).chain(headers.iter().copied()) {
            req = req.header(k, v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(failed)?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(failed)?;
        Ok(Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) })
    }
}

/// Everything but the unreserved characters of RFC 3986.
const COMPONENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes one path or query component.
pub fn enc(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_keeps_only_unreserved_characters() {
        assert_eq!(enc("ord_0a-Z.~"), "ord_0a-Z.~");
        assert_eq!(enc("a b/c?d&e=f#g"), "a%20b%2Fc%3Fd%26e%3Df%23g");
        assert_eq!(enc("é"), "%C3%A9");
    }

    #[test]
    fn a_wildcard_listener_is_reached_on_loopback() {
        assert_eq!(Api::listening_on("0.0.0.0:8080".parse().unwrap()).base, "http://127.0.0.1:8080");
        assert_eq!(Api::listening_on("10.0.0.2:8080".parse().unwrap()).base, "http://10.0.0.2:8080");
    }

    #[test]
    fn a_reply_names_the_problem_or_says_it_failed() {
        let problem = Reply { status: 409, body: serde_json::json!({"detail": "sold out", "code": "out_of_stock"}) };
        assert_eq!((problem.detail().as_str(), problem.code(), problem.ok()), ("sold out", "out_of_stock", false));
        let bare = Reply { status: 502, body: Value::Null };
        assert_eq!((bare.detail().as_str(), bare.code()), ("the request failed (502)", ""));
    }
}
