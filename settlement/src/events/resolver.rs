//! The resolver webhooks connect through. Checking a name when the URL is registered (or
//! just before sending) is not enough: the name can resolve to another address a moment
//! later (DNS rebinding). Here the check is made on the addresses the connection will
//! actually use, handed straight to the connector, so what was checked is what is dialled.

use crate::partners::domain::may_connect;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Resolves a webhook host and refuses it when any of its addresses is one webhooks may
/// not reach in this mode: a name that answers with one public and one internal address
/// is treated as internal, so that the connector cannot fall back to the internal one.
#[derive(Debug, Clone, Default)]
pub struct CheckedResolver {
    strict: bool,
    /// Fixed answers for names, in place of the system resolver (tests).
    fixed: HashMap<String, Vec<IpAddr>>,
}

impl CheckedResolver {
    pub fn new(strict: bool) -> Self {
        CheckedResolver { strict, fixed: HashMap::new() }
    }

    /// A resolver that answers `names` itself and nothing else.
    pub fn with_names(strict: bool, names: &[(&str, IpAddr)]) -> Self {
        let mut fixed: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (n, ip) in names {
            fixed.entry(n.to_ascii_lowercase()).or_default().push(*ip);
        }
        CheckedResolver { strict, fixed }
    }

    async fn lookup(&self, name: &str) -> std::io::Result<Vec<IpAddr>> {
        if !self.fixed.is_empty() {
            return self
                .fixed
                .get(&name.to_ascii_lowercase())
                .cloned()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{name}: no such name")));
        }
        // The port is set by the connector from the URL.
        Ok(tokio::net::lookup_host((name, 0)).await?.map(|a| a.ip()).collect())
    }

    /// The addresses to connect to, all of them checked.
    pub async fn checked(&self, name: &str) -> Result<Vec<SocketAddr>, String> {
        let ips = self.lookup(name).await.map_err(|e| format!("resolving {name}: {e}"))?;
        if ips.is_empty() {
            return Err(format!("{name} has no address"));
        }
        if let Some(bad) = ips.iter().find(|ip| !may_connect(**ip, self.strict)) {
            return Err(format!("{name} resolves to {bad}, which webhooks may not reach"));
        }
        Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect())
    }
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let addrs = this.checked(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The client webhooks are posted with: every name through [`CheckedResolver`], no
/// redirect followed (a 3xx could point anywhere), no proxy (the proxy would resolve the
/// name, unchecked).
pub fn client(resolver: CheckedResolver) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(resolver))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A listener on loopback that counts the connections it accepts.
    async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    let _ = socket.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
                });
            }
        });
        (port, accepted)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_a_metadata_address_is_never_dialled() {
        let (port, accepted) = counting_listener().await;
        let names = [
            ("metadata.test", ip("169.254.169.254")),
            ("mixed.test", ip("127.0.0.1")),
            ("mixed.test", ip("169.254.169.254")),
            ("mapped.test", ip("::ffff:169.254.169.254")),
            ("fine.test", ip("127.0.0.1")),
        ];
        let http = client(CheckedResolver::with_names(false, &names)).unwrap();
        for host in ["metadata.test", "mixed.test", "mapped.test"] {
            let e = http.post(format!("http://{host}:{port}/hook")).send().await.unwrap_err();
            let chain = format!("{:?}", e);
            assert!(chain.contains("which webhooks may not reach"), "{host}: {chain}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 0, "a refused name was connected to");
        // The same client reaches an allowed address: the refusals above were the check.
        let ok = http.post(format!("http://fine.test:{port}/hook")).send().await.unwrap();
        assert_eq!(ok.status().as_u16(), 204);
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn strict_mode_refuses_a_name_that_resolves_to_loopback() {
        let (port, accepted) = counting_listener().await;
        let names = [("rebound.example", ip("127.0.0.1"))];
        let http = client(CheckedResolver::with_names(true, &names)).unwrap();
        let e = http.post(format!("http://rebound.example:{port}/hook")).send().await.unwrap_err();
        assert!(format!("{e:?}").contains("which webhooks may not reach"), "{e:?}");
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let answer =
                    "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\n\r\n";
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        let http = client(CheckedResolver::with_names(false, &[("hooks.test", ip("127.0.0.1"))])).unwrap();
        let r = http.post(format!("http://hooks.test:{port}/hook")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 307, "the redirect is answered, not followed");
    }
}
