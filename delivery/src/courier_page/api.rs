//! The page calls delivery's own JSON API over loopback, so every rule and check stays in
//! the API. The API sees the page as its peer; the courier's address travels in a header
//! signed with delivery's own key (`shared::visitor`), so the sign-in limit still holds
//! per courier and no other client can name one.

use crate::State;
use actix_web::{web, HttpRequest};
use reqwest::Method;
use serde_json::Value;
use shared::ratelimit::RateLimits;
use shared::visitor::VisitorSigner;
use std::net::IpAddr;
use std::sync::OnceLock;

/// An answer from the API: status and JSON body (`Null` when empty).
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
}

/// Reaching the API failed (not an error answer: those are `Reply`s).
#[derive(Debug, thiserror::Error)]
#[error("the delivery API could not be reached: {0}")]
pub struct Unreachable(String);

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // No idle pool: calls run on several runtimes (one per worker), and a pooled
        // connection is tied to the runtime that opened it.
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("HTTP client")
    })
}

/// Calls made on behalf of one page request.
pub struct Api {
    base: String,
    bearer: Option<String>,
    visitor: Option<(VisitorSigner, IpAddr)>,
}

impl Api {
    pub fn new(state: &State, req: &HttpRequest, bearer: Option<String>) -> Api {
        let addr = state.core.config.delivery.addr;
        let base = if addr.ip().is_unspecified() {
            format!("http://127.0.0.1:{}", addr.port())
        } else {
            format!("http://{addr}")
        };
        let visitor = match req.app_data::<web::Data<RateLimits>>() {
            Some(limits) => limits.client_of(req).ip(),
            None => req.peer_addr().map(|a| a.ip()),
        };
        let visitor = visitor.and_then(|ip| VisitorSigner::new(state.core.keys.signing()).map(|s| (s, ip)));
        Api { base, bearer, visitor }
    }

    pub async fn get(&self, path: &str) -> Result<Reply, Unreachable> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Reply, Unreachable> {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Reply, Unreachable> {
        let url = reqwest::Url::parse(&format!("{}{path}", self.base)).map_err(|e| Unreachable(e.to_string()))?;
        // Signed over the path and query exactly as they go on the wire.
        let visitor = self.visitor.as_ref().map(|(signer, ip)| {
            let target = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            signer.sign(*ip, method.as_str(), &target)
        });
        let mut req = client().request(method, url);
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t);
        }
        if let Some(v) = visitor {
            req = req.header(shared::visitor::HEADER, v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| Unreachable(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| Unreachable(e.without_url().to_string()))?;
        Ok(Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) })
    }
}

/// Percent-encodes one path component.
pub fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
