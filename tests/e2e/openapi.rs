//! The services' OpenAPI documents: valid (checked by a real validator), complete (every
//! API route registered in the source is documented, every documented route is served) and
//! honest about methods (405 with `Allow` for a documented path asked the wrong way).

use crate::helpers::TestMarket;
use serde_json::Value;
use shared::config::ServiceName;
use std::collections::BTreeSet;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

/// The API routes a service's source registers (`.route("/v1/…", web::post()…)`).
fn registered(service: ServiceName) -> BTreeSet<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(service.to_string()).join("src");
    let mut out = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                for piece in text.split("route(").skip(1) {
                    let Some(start) = piece.find('"') else { continue };
                    let rest = &piece[start + 1..];
                    let Some(end) = rest.find('"') else { continue };
                    let route = &rest[..end];
                    if !(route.starts_with("/v1/") || route.starts_with("/internal/")) {
                        continue;
                    }
                    let after = &rest[end..];
                    let method =
                        METHODS.iter().filter_map(|m| after.find(&format!("web::{m}()")).map(|i| (i, m))).min();
                    if let Some((i, method)) = method {
                        if i < 200 {
                            out.insert((method.to_string(), route.to_string()));
                        }
                    }
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn every_registered_api_route_is_documented_and_every_documented_one_is_served() {
    let m = TestMarket::spawn().await;
    for service in ServiceName::ALL {
        let base = m.url(service);
        let doc = m.get(&format!("{base}/openapi.json"), None).await.expect(200);
        let documented = documented(&doc);
        let registered = registered(service);
        assert!(!registered.is_empty(), "{service}: no routes found in the source");
        let missing: Vec<_> = registered.difference(&documented).collect();
        assert!(missing.is_empty(), "{service} serves undocumented routes: {missing:?}");
        for shared in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/.well-known/jwks.json"] {
            assert!(documented.contains(&("get".to_string(), shared.to_string())), "{service}: {shared}");
        }
        for (method, path) in &documented {
            let concrete: String = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "x_0123456789abcdef0123456789abcdef" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = m.call(method.clone(), &format!("{base}{concrete}"), None, None, &[]).await;
            assert!(
                !matches!(answer.code(), "route_not_found" | "method_not_allowed"),
                "{service}: {method} {path} is documented but not served"
            );
        }
    }
}

#[tokio::test]
async fn a_documented_path_asked_with_another_method_is_405_with_allow() {
    let m = TestMarket::spawn().await;
    for service in ServiceName::ALL {
        let base = m.url(service);
        let answer = m.call(reqwest::Method::DELETE, &format!("{base}/healthz"), None, None, &[]).await;
        assert_eq!(answer.headers.get("allow").and_then(|v| v.to_str().ok()), Some("GET"), "{service}");
        answer.expect_problem(405, "method_not_allowed");
        // Not a documented path: still 404.
        m.call(reqwest::Method::DELETE, &format!("{base}/v1/nope"), None, None, &[])
            .await
            .expect_problem(404, "route_not_found");
    }
    let payments = format!("{}/v1/payments", m.settlement);
    let answer = m.call(reqwest::Method::PATCH, &payments, None, None, &[]).await;
    assert!(answer.headers.get("allow").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("POST")));
    answer.expect_problem(405, "method_not_allowed");
}

#[tokio::test]
async fn every_document_passes_the_openapi_validator() {
    let validator = std::process::Command::new("openapi-spec-validator").arg("--help").output();
    if validator.is_err() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "openapi-spec-validator is missing (pip install openapi-spec-validator)"
        );
        eprintln!("openapi-spec-validator is missing: validation NOT RUN (pip install openapi-spec-validator)");
        return;
    }
    let m = TestMarket::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    for service in ServiceName::ALL {
        let doc = m.get(&format!("{}/openapi.json", m.url(service)), None).await.expect(200);
        assert_eq!(doc["openapi"], "3.1.0", "{service}");
        let file = dir.path().join(format!("{service}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        let out = std::process::Command::new("openapi-spec-validator").arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "{service}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
