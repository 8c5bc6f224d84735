//! Abuse of expensive or unbounded work: sign-up floods against the password-hashing pool,
//! sign-ups beyond the per-client limit, and requests that would grow `/metrics` without
//! bound. Each is refused (503 `busy` or 429 `rate_limited`, with `Retry-After`) or
//! absorbed into a fixed set of series, and leaves nothing behind.

use crate::helpers::{Answer, TestMarket};
use reqwest::Method;
use serde_json::json;
use shared::config::{Config, ServiceName};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const PASSWORD: &str = "correct horse battery";

fn settings(config: &mut Config, table: &str, toml_text: &str) {
    config.settings.insert(table.into(), toml::Value::Table(toml::from_str(toml_text).unwrap()));
}

fn retry_after(a: &Answer) -> u64 {
    a.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("Retry-After")
}

/// The value of one sample in a service's `/metrics`.
async fn sample(m: &TestMarket, service: ServiceName, series: &str) -> f64 {
    let text = m.client.get(format!("{}/metrics", m.url(service))).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

async fn sign_up_seller(m: &TestMarket, email: &str, client: &str) -> Answer {
    let body = json!({"name": "Flood", "email": email, "password": PASSWORD});
    m.call(Method::POST, &format!("{}/v1/sellers", m.broker), None, Some(&body), &[("x-forwarded-for", client)]).await
}

fn new_email() -> String {
    format!("{}@flood.example", shared::ids::random_hex128())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_flood_is_held_to_the_hashing_pool_and_sellers_still_sign_in() {
    // Two permits, one kept for sign-ins; a request waits at most 5 ms. The sign-up rate
    // limit is out of the way (each flooder also comes from its own address), so the pool
    // alone holds the flood.
    let m = Arc::new(
        TestMarket::spawn_with(|c| {
            settings(c, "hashing", "permits = 2\nreserved_for_sign_in = 1\nqueue_wait_ms = 5\n");
            // The flooders' addresses come through a configured proxy (the test's loopback).
            settings(
                c,
                "rate_limits",
                "signup = { per_minute = 600000, burst = 100000 }\ntrusted_proxies = [\"127.0.0.1\"]\n",
            );
        })
        .await,
    );
    let email = new_email();
    sign_up_seller(&m, &email, "192.0.2.1").await.expect(201);

    let stop = Arc::new(AtomicBool::new(false));
    let flooders: Vec<_> = (0..48)
        .map(|i| {
            let (m, stop) = (m.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                let client = format!("198.51.100.{}", i + 1);
                while !stop.load(Ordering::Relaxed) {
                    let email = new_email();
                    let a = sign_up_seller(&m, &email, &client).await;
                    answers.push((
                        a.status.as_u16(),
                        a.code().to_string(),
                        a.headers.get("retry-after").cloned(),
                        email,
                    ));
                }
                answers
            })
        })
        .collect();
    // During the flood, sellers sign in: the reserved permit is theirs.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for _ in 0..5 {
        let a = m
            .call(
                Method::POST,
                &format!("{}/v1/sessions", m.broker),
                None,
                Some(&json!({"email": email, "password": PASSWORD})),
                &[("x-forwarded-for", "192.0.2.1")],
            )
            .await;
        assert_eq!(a.status, 200, "a sign-in was starved by the sign-up flood: {}", a.body);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut created = 0;
    let mut busy = 0;
    let mut refused_email = None;
    for f in flooders {
        for (status, code, retry, email) in f.await.unwrap() {
            match status {
                201 => created += 1,
                503 => {
                    assert_eq!(code, "busy");
                    let secs: u64 = retry.expect("Retry-After").to_str().unwrap().parse().unwrap();
                    assert!((1..=60).contains(&secs), "{secs}");
                    busy += 1;
                    refused_email.get_or_insert(email);
                }
                other => panic!("a flooded sign-up answered {other} {code}"),
            }
        }
    }
    assert!(busy > 0, "no sign-up was refused busy ({created} created)");
    // Never more than the pool's two hashes at once, and a refused sign-up ran none.
    let peak = sample(&m, ServiceName::Broker, "broker_password_hashes_in_flight_peak").await;
    assert!((1.0..=2.0).contains(&peak), "{peak} hashes ran at once");
    let hashed = sample(&m, ServiceName::Broker, "broker_password_hashes_total{purpose=\"sign_up\"}").await;
    assert_eq!(hashed as i64, created + 1, "hashes run for sign-ups other than those created");
    let refused = sample(&m, ServiceName::Broker, "broker_password_hashes_refused_total{purpose=\"sign_up\"}").await;
    assert_eq!(refused as i64, busy);
    // A refused sign-up left no account: its address is free afterwards.
    sign_up_seller(&m, &refused_email.unwrap(), "192.0.2.2").await.expect(201);
}

#[tokio::test]
async fn operator_created_accounts_wait_their_turn_in_the_pool() {
    // Couriers and manufacturers are sign-ups too: with the sign-up share of the pool held,
    // the operator's request is refused busy and nothing is created.
    let m = TestMarket::spawn_with(|c| {
        settings(c, "hashing", "permits = 2\nreserved_for_sign_in = 1\nqueue_wait_ms = 1\n");
    })
    .await;
    let courier = json!({"name": "C", "email": new_email(), "password": PASSWORD});
    let url = format!("{}/v1/couriers", m.delivery);
    let mut answers = Vec::new();
    let calls: Vec<_> = (0..16)
        .map(|i| {
            let mut body = courier.clone();
            body["email"] = json!(format!("{i}-{}", new_email()));
            let (m, url) = (&m, url.clone());
            async move { m.post(&url, Some(&m.operator), body).await }
        })
        .collect();
    for a in futures_util::future::join_all(calls).await {
        answers.push(a.status.as_u16());
        if a.status == 503 {
            assert_eq!(a.code(), "busy");
            assert!(retry_after(&a) >= 1);
        }
    }
    assert!(answers.iter().all(|s| *s == 201 || *s == 503), "{answers:?}");
    let peak = sample(&m, ServiceName::Delivery, "delivery_password_hashes_in_flight_peak").await;
    assert!(peak <= 1.0, "sign-ups took the permit kept for sign-ins ({peak} at once)");
    let created = answers.iter().filter(|s| **s == 201).count() as f64;
    let hashed = sample(&m, ServiceName::Delivery, "delivery_password_hashes_total{purpose=\"sign_up\"}").await;
    assert_eq!(hashed, created);
}

#[tokio::test]
async fn sign_ups_beyond_the_per_client_limit_are_429_and_create_no_account() {
    let m = TestMarket::spawn_with(|c| {
        // Clients come through a configured proxy (the test's loopback).
        settings(
            c,
            "rate_limits",
            "signup = { per_minute = 1, burst = 3 }\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n",
        );
    })
    .await;
    let buyers = format!("{}/v1/buyers", m.broker);
    let buyer = |handle: &str| json!({"handle": handle, "password": PASSWORD});
    let client = "203.0.113.5";
    // Sellers and buyers share the client's sign-up bucket: three go through ...
    let email = new_email();
    sign_up_seller(&m, &email, client).await.expect(201);
    sign_up_seller(&m, &new_email(), client).await.expect(201);
    m.call(Method::POST, &buyers, None, Some(&buyer("first-buyer")), &[("x-forwarded-for", client)]).await.expect(201);
    // ... the next ones are held, before any hash is run or anything written.
    let held_email = new_email();
    let held = sign_up_seller(&m, &held_email, client).await;
    let wait = retry_after(&held);
    assert!((1..=60).contains(&wait), "{wait}");
    held.expect_problem(429, "rate_limited");
    let held = m.call(Method::POST, &buyers, None, Some(&buyer("held-buyer")), &[("x-forwarded-for", client)]).await;
    assert!(retry_after(&held) >= 1);
    held.expect_problem(429, "rate_limited");
    let hashed = sample(&m, ServiceName::Broker, "broker_password_hashes_total{purpose=\"sign_up\"}").await;
    assert_eq!(hashed, 3.0, "a held sign-up ran a hash");
    // The held client still signs in (logins have their own limit).
    m.call(
        Method::POST,
        &format!("{}/v1/sessions", m.broker),
        None,
        Some(&json!({"email": email, "password": PASSWORD})),
        &[("x-forwarded-for", client)],
    )
    .await
    .expect(200);
    // Nothing was created for the held requests: another client takes the same address and
    // handle.
    sign_up_seller(&m, &held_email, "203.0.113.6").await.expect(201);
    m.call(Method::POST, &buyers, None, Some(&buyer("held-buyer")), &[("x-forwarded-for", "203.0.113.6")])
        .await
        .expect(201);

    // An IPv6 client is its /64: fresh addresses inside it share one bucket.
    for i in 1..=3 {
        sign_up_seller(&m, &new_email(), &format!("2001:db8:5:6::{i}")).await.expect(201);
    }
    sign_up_seller(&m, &new_email(), "2001:db8:5:6:ffff::4").await.expect_problem(429, "rate_limited");
    sign_up_seller(&m, &new_email(), "2001:db8:5:7::1").await.expect(201);

    // The storefront's sign-up form is held the same, for the visitor it relays.
    let form = m
        .client
        .post(format!("{}/shop/account/register", m.broker))
        .header("origin", m.broker.as_str())
        .header("x-forwarded-for", client)
        .form(&[("handle", "form-buyer"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 429);
    m.call(Method::POST, &format!("{}/v1/buyer-sessions", m.broker), None, Some(&buyer("form-buyer")), &[])
        .await
        .expect_problem(401, "unauthorized");
}

async fn bad_login(m: &TestMarket, headers: &[(&str, &str)]) -> Answer {
    let body = json!({"handle": "nobody-here", "password": "wrong password"});
    m.call(Method::POST, &format!("{}/v1/buyer-sessions", m.broker), None, Some(&body), headers).await
}

#[tokio::test]
async fn forty_bad_logins_from_loopback_are_held_whatever_they_forward() {
    // The default limits (a burst of 30) and no trusted proxy: loopback is one client, its
    // `X-Forwarded-For` and a visitor header signed with another key count for nothing.
    // The forty arrive at once, so the bucket does not refill between them.
    let m = TestMarket::spawn().await;
    let stranger = tempfile::tempdir().unwrap();
    let ring = shared::crypto::KeyRing::load_or_create(stranger.path(), "broker").unwrap();
    let forger = shared::visitor::VisitorSigner::new(ring.signing()).unwrap();
    let logins = (0..40).map(|i| {
        let forwarded = format!("198.51.100.{}", i + 1);
        let forged = forger.sign(format!("203.0.113.{}", i + 1).parse().unwrap(), "POST", "/v1/buyer-sessions");
        let m = &m;
        async move {
            let mut headers = vec![("x-forwarded-for", forwarded.as_str())];
            if i % 2 == 1 {
                headers.push((shared::visitor::HEADER, forged.as_str()));
            }
            let a = bad_login(m, &headers).await;
            if a.status == 429 {
                a.expect_problem(429, "rate_limited");
                return 429;
            }
            a.status.as_u16()
        }
    });
    let statuses = futures_util::future::join_all(logins).await;
    // Those let through were refused as bad logins (or the hashing pool was busy).
    assert!(statuses.iter().all(|s| matches!(s, 401 | 429 | 503)), "{statuses:?}");
    let held = statuses.iter().filter(|s| **s == 429).count();
    assert!(held >= 5, "forty bad logins met no limit: {statuses:?}");
}

/// The storefront's sign-in form, posted by a browser at `visitor` (a loopback address of
/// its own).
async fn sign_in_form(m: &TestMarket, visitor: &str) -> u16 {
    let client =
        reqwest::Client::builder().local_address(visitor.parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let page = client
        .post(format!("{}/shop/account/sign-in", m.broker))
        .form(&[("handle", "nobody-here"), ("password", "wrong password")])
        .send()
        .await
        .unwrap();
    page.status().as_u16()
}

#[tokio::test]
async fn the_storefront_sign_in_is_limited_per_visitor() {
    // Two visitors at their own addresses; the storefront reaches the API on loopback and
    // names each in its signed header, so each has a bucket of its own.
    let m = TestMarket::spawn_with(|c| settings(c, "rate_limits", "login = { per_minute = 1, burst = 2 }\n")).await;
    assert_eq!(sign_in_form(&m, "127.0.0.2").await, 401);
    assert_eq!(sign_in_form(&m, "127.0.0.2").await, 401);
    assert_eq!(sign_in_form(&m, "127.0.0.2").await, 429, "the first visitor is held");
    assert_eq!(sign_in_form(&m, "127.0.0.3").await, 401, "the second visitor shares the first one's bucket");
    // The API's own loopback client is yet another.
    bad_login(&m, &[]).await.expect_problem(401, "unauthorized");
}

/// The series of a `/metrics` text: each sample's name and labels, without its value.
fn series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(name, _)| name.to_string()))
        .collect()
}

/// A method no service knows: `Q` and random hex digits, `len` long in all.
fn odd_method(len: usize) -> Method {
    let mut name = String::from("Q");
    while name.len() < len {
        name.push_str(&shared::ids::random_hex128().to_uppercase());
    }
    name.truncate(len.max(1));
    Method::from_bytes(name.as_bytes()).unwrap()
}

#[tokio::test]
async fn odd_methods_and_unknown_paths_add_no_metrics_series() {
    let m = TestMarket::spawn().await;
    for service in ServiceName::ALL {
        let base = m.url(service).to_string();
        let send = |method: Method, path: String| {
            let url = format!("{base}{path}");
            let client = m.client.clone();
            async move { client.request(method, url).send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
        };
        let metrics = || async { m.client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap() };
        let round = |i: usize| {
            let len = 1 + (i * 97) % 2000;
            let unknown = format!("/{}/{}", shared::ids::random_hex128(), "p".repeat(i % 300));
            vec![
                send(odd_method(len), unknown.clone()),
                send(odd_method(len), "/healthz".into()),
                send(Method::GET, unknown.clone()),
                send(Method::POST, unknown),
            ]
        };
        // The first odd requests make the `other` and `unmatched` series ...
        for s in futures_util::future::join_all(round(0)).await {
            assert!(s < 500, "{service}: {s}");
        }
        metrics().await;
        let before = metrics().await;
        // ... and no number of further ones adds another.
        for i in 1..40 {
            for s in futures_util::future::join_all(round(i)).await {
                assert!(s < 500, "{service}: {s}");
            }
        }
        let after = metrics().await;
        assert_eq!(series(&before), series(&after), "{service}: new series appeared:\n{after}");
        assert!(after.contains("endpoint=\"unmatched\",method=\"other\""), "{service}: {after}");
        assert!(after.contains("endpoint=\"/healthz\",method=\"other\""), "{service}: {after}");
        assert!(
            after.len() < before.len() + 2_000,
            "{service}: /metrics grew from {} to {}",
            before.len(),
            after.len()
        );
        let sent = odd_method(40);
        send(sent.clone(), "/healthz".into()).await;
        assert!(!metrics().await.contains(sent.as_str()), "{service}: a sent method reached /metrics");
        assert!(!after.contains("pppp"), "{service}: a sent path reached /metrics");
    }
}
