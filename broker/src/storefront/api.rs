//! The pages call the broker's own JSON API (and, for the seller's balance and the demo
//! partner, settlement's), so that every rule, check and record stays where it is. The
//! API sees the storefront on loopback as its peer; the page's visitor travels in a
//! header signed with the broker's own key (`shared::visitor`), so that per-client limits
//! (sign-in, sign-up, ordering) still hold per visitor and nobody else can name one.

use super::SESSION_COOKIE;
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

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

/// Reaching the API failed (not an error answer: those are `Reply`s).
#[derive(Debug, thiserror::Error)]
#[error("the marketplace API could not be reached: {0}")]
pub struct Unreachable(String);

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // No idle pool: the page's calls run on several runtimes (one per worker), and a
        // pooled connection is tied to the runtime that opened it.
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
    session: Option<String>,
    bearer: Option<String>,
    /// The page's visitor and the broker's key to vouch for it with: each call carries it
    /// signed for that call's method and path.
    visitor: Option<(VisitorSigner, IpAddr)>,
}

impl Api {
    /// The broker itself, reached on its listening address; the browsing pseudonym of the
    /// page's request travels along so the API records the sequence as it would.
    pub fn broker(state: &State, req: &HttpRequest) -> Api {
        let addr = state.core.config.broker.addr;
        let base = if addr.ip().is_unspecified() {
            format!("http://127.0.0.1:{}", addr.port())
        } else {
            format!("http://{addr}")
        };
        // The visitor as the limits see the page's own request: its peer, or what a
        // configured proxy in front of the broker forwarded.
        let visitor = match req.app_data::<web::Data<RateLimits>>() {
            Some(limits) => limits.client_of(req).ip(),
            None => req.peer_addr().map(|a| a.ip()),
        };
        let visitor = visitor.and_then(|ip| VisitorSigner::new(state.core.keys.signing()).map(|s| (s, ip)));
        Api { base, session: cookie(req, SESSION_COOKIE), bearer: None, visitor }
    }

    pub fn settlement(state: &State) -> Api {
        Api { base: state.core.config.settlement.public_url(), session: None, bearer: None, visitor: None }
    }

    pub fn delivery(state: &State) -> Api {
        Api { base: state.core.config.delivery.public_url(), session: None, bearer: None, visitor: None }
    }

    pub fn bearer(mut self, token: Option<String>) -> Api {
        self.bearer = token;
        self
    }

    pub async fn get(&self, path: &str) -> Result<Reply, Unreachable> {
        self.call(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Reply, Unreachable> {
        self.call(Method::POST, path, Some(body), &[]).await
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
        let mut req = client().request(method, url);
        if let Some(s) = &self.session {
            req = req.header(crate::browsing::routes::HEADER, s);
        }
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t);
        }
        if let Some(v) = visitor {
            req = req.header(shared::visitor::HEADER, v);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
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

/// A cookie's value from the request.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Percent-encodes one query or path component.
pub fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
