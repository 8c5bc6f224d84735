//! What every service serves, and how every service answers bad input.

use crate::helpers::TestMarket;
use shared::config::ServiceName;

#[tokio::test]
async fn every_service_serves_health_readiness_openapi_metrics_and_keys() {
    let m = TestMarket::spawn().await;
    for service in ServiceName::ALL {
        let base = m.url(service);
        assert_eq!(m.get(&format!("{base}/healthz"), None).await.expect(200)["status"], "ok");
        assert_eq!(m.get(&format!("{base}/readyz"), None).await.expect(200)["status"], "ready");
        let doc = m.get(&format!("{base}/openapi.json"), None).await.expect(200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{service}: {doc}");
        let jwks = m.get(&format!("{base}/.well-known/jwks.json"), None).await.expect(200);
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
        // /metrics is Prometheus text and counts the calls above by route.
        let text = m.client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(text.contains(&format!("{service}_http_requests_total")), "{service}: {text}");
        assert!(text.contains("endpoint=\"/healthz\""), "{service}: {text}");
    }
}

#[tokio::test]
async fn unknown_routes_and_bad_json_answer_problem_json() {
    let m = TestMarket::spawn().await;
    for service in ServiceName::ALL {
        let base = m.url(service);
        m.get(&format!("{base}/v1/nope"), None).await.expect_problem(404, "route_not_found");
        // The inbox route refuses callers without a service token before reading the body.
        let inbox = format!("{base}{}", shared::messages::INBOX_PATH);
        m.post_raw(&inbox, None, "{").await.expect_problem(401, "unauthorized");
    }
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let m = TestMarket::spawn().await;
    let given = m
        .call(reqwest::Method::GET, &format!("{}/healthz", m.broker), None, None, &[("x-request-id", "abc-123")])
        .await;
    assert_eq!(given.headers["x-request-id"], "abc-123");
    let made = m.get(&format!("{}/healthz", m.broker), None).await;
    assert_eq!(made.headers["x-request-id"].len(), 32);
}
