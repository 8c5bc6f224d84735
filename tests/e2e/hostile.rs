//! Hostile input: forged and confused tokens, tokens outside their validity, oversize
//! bodies and headers, path traversal and malformed ids, random JSON thrown at every public
//! route, and per-client rate limits. Each case is answered 4xx problem+json (except where
//! the HTTP codec itself refuses, said below) and leaves no trace.

use crate::helpers::{json_of, money, Answer, TestMarket};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use shared::config::ServiceName;
use shared::ids::{OrderId, ProductId, StoreId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PRICE: i64 = 2_500;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// A store with one product on offer and a placed order: the things hostile requests aim at.
struct Target {
    store: StoreId,
    product: ProductId,
    seller: String,
    order: OrderId,
    capability: String,
}

async fn target(m: &TestMarket) -> Target {
    let shop = m.shop("Hostile", "saw", PRICE, 10).await;
    let order = m.place(&shop.store, &shop.product, 1).await;
    Target {
        store: shop.store,
        product: shop.product,
        seller: shop.seller_token,
        order: order.order_id,
        capability: order.capability,
    }
}

/// The order as its real capability sees it: unchanged by whatever was refused.
async fn order_status(m: &TestMarket, t: &Target) -> String {
    let v = m.get(&format!("{}/v1/orders/{}", m.broker, t.order), Some(&t.capability)).await.expect(200);
    json_of(&v, "status")
}

/// Every route a capability opens, tried with `token`: each must be 401 problem+json with
/// `code`, and the order must not move.
async fn refused_everywhere(m: &TestMarket, t: &Target, token: &str, code: &str, what: &str) {
    let o = &t.order;
    let attempts = [
        (Method::GET, format!("{}/v1/orders/{o}", m.broker), None),
        (Method::POST, format!("{}/v1/orders/{o}/cancel", m.broker), Some(json!({"reason": "forged"}))),
        (Method::GET, format!("{}/v1/orders/{o}/settlement", m.settlement), None),
        (
            Method::PUT,
            format!("{}/v1/shipments/{o}/address", m.delivery),
            Some(
                json!({"name": "X", "line1": "1 Forged Road", "city": "Y", "postal_code": "1", "region": "north", "country": "DE"}),
            ),
        ),
        (Method::GET, format!("{}/v1/shipments/{o}", m.delivery), None),
    ];
    for (method, url, body) in attempts {
        let a = m.call(method.clone(), &url, Some(token), body.as_ref(), &[]).await;
        assert_eq!(a.status.as_u16(), 401, "{what}: {method} {url} answered {}: {}", a.status, a.body);
        a.expect_problem(401, code);
    }
    assert_eq!(order_status(m, t).await, "awaiting_payment", "{what} changed the order");
    // The address was not taken either: the shipment view knows no address-bearing order.
    let tracked = m.get(&format!("{}/v1/shipments/{o}", m.delivery), Some(&t.capability)).await;
    assert_ne!(tracked.body["status"], "routed", "{what}: {}", tracked.body);
}

/// The broker's published signing key: `(kid, raw public key, the JWK as text)`.
async fn broker_jwk(m: &TestMarket) -> (String, Vec<u8>, String) {
    let jwks = m.get(&format!("{}/.well-known/jwks.json", m.broker), None).await.expect(200);
    let jwk = jwks["keys"][0].clone();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    (json_of(&jwk, "kid"), x, jwk.to_string())
}

fn capability_claims(order: &OrderId) -> Value {
    let now = shared::time::unix_seconds();
    json!({"iss": "broker", "sub": order, "aud": ["broker", "settlement", "delivery"], "iat": now, "exp": now + 3600,
           "role": "capability", "scope": ["read", "cancel", "address", "message"]})
}

/// A token signed with the broker's real Ed25519 key, with any header fields and claims.
fn signed_by_broker(m: &TestMarket, claims: &Value) -> String {
    let ring = shared::crypto::KeyRing::load_or_create(&m.config.data_dir, "broker").unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(ring.signing().kid.clone());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(ring.signing().pkcs8())).unwrap()
}

fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mac = unhex(&shared::crypto::hmac_sha256_hex(secret, signing_input.as_bytes()));
    format!("{signing_input}.{}", b64(&mac))
}

#[tokio::test]
async fn alg_none_and_hs256_keyed_with_the_public_key_are_refused() {
    let m = TestMarket::spawn().await;
    let t = target(&m).await;
    let (kid, public, jwk_text) = broker_jwk(&m).await;
    let claims = capability_claims(&t.order);

    // The genuine token passes, so a refusal below is the verifier's doing.
    let genuine = signed_by_broker(&m, &claims);
    m.get(&format!("{}/v1/orders/{}", m.broker, t.order), Some(&genuine)).await.expect(200);

    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        let unsigned = format!("{}.{}.", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        refused_everywhere(&m, &t, &unsigned, "unauthorized", &format!("alg {alg}")).await;
    }
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    let x_text = b64(&public);
    for (secret, what) in [
        (public.as_slice(), "the raw public key"),
        (x_text.as_bytes(), "the JWK's x"),
        (jwk_text.as_bytes(), "the JWK as text"),
    ] {
        let token = hs256(&header, &claims, secret);
        refused_everywhere(&m, &t, &token, "unauthorized", &format!("HS256 keyed with {what}")).await;
    }
}

#[tokio::test]
async fn forged_tampered_and_stripped_signatures_are_refused() {
    let m = TestMarket::spawn().await;
    let t = target(&m).await;
    let (kid, _, _) = broker_jwk(&m).await;
    let claims = capability_claims(&t.order);

    // Signed by a key of the attacker's, naming the broker's key id.
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = shared::crypto::KeyRing::load_or_create(stranger_dir.path(), "broker").unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.clone());
    let forged = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(stranger.signing().pkcs8())).unwrap();
    refused_everywhere(&m, &t, &forged, "unauthorized", "a stranger's signature").await;

    // A genuine capability for another order, with its payload swapped for this order's.
    let other = m
        .post(
            &format!("{}/v1/orders", m.broker),
            None,
            json!({"store_id": t.store, "product_id": t.product, "quantity": 1}),
        )
        .await
        .expect(201);
    let other_cap = json_of(&other, "capability");
    let parts: Vec<&str> = other_cap.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(claims.to_string().as_bytes()), parts[2]);
    refused_everywhere(&m, &t, &tampered, "unauthorized", "a swapped payload").await;

    // A genuine token with its signature cut off, or another kid, or garbage.
    let genuine = signed_by_broker(&m, &claims);
    let cut = genuine.rsplit_once('.').unwrap().0.to_string() + ".";
    refused_everywhere(&m, &t, &cut, "unauthorized", "no signature").await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k_unknown".into());
    let ring = shared::crypto::KeyRing::load_or_create(&m.config.data_dir, "broker").unwrap();
    let unknown_kid =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(ring.signing().pkcs8())).unwrap();
    refused_everywhere(&m, &t, &unknown_kid, "unauthorized", "an unknown kid").await;
    refused_everywhere(&m, &t, "a.b.c", "unauthorized", "garbage").await;
    refused_everywhere(&m, &t, &"A".repeat(8_000), "unauthorized", "a long garbage token").await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let m = TestMarket::spawn().await;
    let t = target(&m).await;
    let now = shared::time::unix_seconds();
    let mut expired = capability_claims(&t.order);
    expired["iat"] = json!(now - 7_200);
    expired["exp"] = json!(now - 3_600);
    refused_everywhere(&m, &t, &signed_by_broker(&m, &expired), "token_expired", "an expired token").await;

    // Issued in the future: a token minted by a clock (or a key holder) ahead of time.
    let mut future = capability_claims(&t.order);
    future["iat"] = json!(now + 3_600);
    future["exp"] = json!(now + 7_200);
    refused_everywhere(&m, &t, &signed_by_broker(&m, &future), "unauthorized", "iat in the future").await;

    let mut not_before = capability_claims(&t.order);
    not_before["nbf"] = json!(now + 3_600);
    refused_everywhere(&m, &t, &signed_by_broker(&m, &not_before), "unauthorized", "nbf in the future").await;

    // Within the clock leeway, both are fine.
    let mut skewed = capability_claims(&t.order);
    skewed["iat"] = json!(now + 5);
    skewed["nbf"] = json!(now + 5);
    m.get(&format!("{}/v1/orders/{}", m.broker, t.order), Some(&signed_by_broker(&m, &skewed))).await.expect(200);
}

/// An answer read off a raw socket, for requests a well-behaved client would not send.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    #[track_caller]
    fn expect_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        assert_eq!(self.json()["code"], code, "{}", self.json());
    }
}

/// Sends `head` (request line and headers, without the blank line) and `body` as they are.
async fn raw(base: &str, head: &str, body: &[u8]) -> Raw {
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n").into_bytes();
    req.extend_from_slice(body);
    // The server may answer and close before reading all of an oversize request.
    let _ = s.write_all(&req).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no answer to {head:.80}"));
    let head_text = String::from_utf8_lossy(&out[..split]).to_string();
    let mut lines = head_text.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = out[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Raw { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

#[tokio::test]
async fn oversize_bodies_are_413_and_change_nothing() {
    let m = TestMarket::spawn().await;
    let t = target(&m).await;
    let orders_url = format!("{}/v1/seller/orders", m.broker);
    let before = m.get(&orders_url, Some(&t.seller)).await.expect(200)["orders"].as_array().unwrap().len();

    let pad = "x".repeat(shared::http::MAX_BODY + 1);
    let big = json!({"store_id": t.store, "product_id": t.product, "quantity": 1, "note": pad});
    m.post(&format!("{}/v1/orders", m.broker), None, big.clone()).await.expect_problem(413, "payload_too_large");
    // Without a length up front (chunked), the limit holds as the body streams in.
    let text = big.to_string();
    let mut chunked = Vec::new();
    for piece in text.as_bytes().chunks(8_192) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    raw(
        &m.broker,
        "POST /v1/orders HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked",
        &chunked,
    )
    .await
    .expect_problem(413, "payload_too_large");
    let after = m.get(&orders_url, Some(&t.seller)).await.expect(200)["orders"].as_array().unwrap().len();
    assert_eq!(before, after, "an oversize order was placed");

    // An oversize payment does not use up its idempotency key: the real one goes through.
    let partner = m.post(&format!("{}/v1/partners", m.settlement), Some(&m.operator), json!({"name": "P"})).await;
    let key = json_of(&partner.expect(201), "api_key");
    let cap = t.capability.clone();
    let view = format!("{}/v1/orders/{}/settlement", m.settlement, t.order);
    m.eventually("settlement to learn the order", || async {
        (m.get(&view, Some(&cap)).await.status == 200).then_some(())
    })
    .await;
    let idem = shared::ids::random_hex128();
    let pay = |reference: String| json!({"order_id": t.order, "amount": money(PRICE), "partner_reference": reference});
    let url = format!("{}/v1/payments", m.settlement);
    m.call(Method::POST, &url, Some(&key), Some(&pay(pad.clone())), &[("Idempotency-Key", &idem)])
        .await
        .expect_problem(413, "payload_too_large");
    let v = m.get(&view, Some(&cap)).await.expect(200);
    assert_eq!(v["paid"]["amount"], 0, "{v}");
    let a = m.call(Method::POST, &url, Some(&key), Some(&pay("ref".into())), &[("Idempotency-Key", &idem)]).await;
    assert_eq!(a.expect(201)["status"], "captured");
}

#[tokio::test]
async fn oversize_headers_are_refused_before_any_handler() {
    let m = TestMarket::spawn().await;
    let t = target(&m).await;
    // A bearer token far past any real one, still within the codec's limit: 401.
    let long = "e".repeat(12_000);
    m.get(&format!("{}/v1/orders/{}", m.broker, t.order), Some(&long)).await.expect_problem(401, "unauthorized");
    // Past 32 KiB of headers: 431 as problem+json, on every service, before any handler.
    let pad = "p".repeat(40 * 1024);
    for base in [&m.broker, &m.settlement, &m.delivery] {
        let url = format!("{base}/v1/orders/{}/cancel", t.order);
        let a = m.call(Method::POST, &url, Some(&t.capability), Some(&json!({})), &[("X-Pad", &pad)]).await;
        a.expect_problem(431, "headers_too_large");
    }
    // Past the codec's limit on the request head (128 KiB in actix-http), or more than
    // its 96 headers: the codec answers 431 itself, before routing (so without a problem
    // body), and nothing runs.
    let huge = format!(
        "POST /v1/orders/{}/cancel HTTP/1.1\r\nAuthorization: Bearer {}\r\nX-Pad: {}\r\nContent-Type: application/json\r\nContent-Length: 2",
        t.order,
        t.capability,
        "p".repeat(256 * 1024)
    );
    let a = raw(&m.broker, &huge, b"{}").await;
    assert_eq!(a.status, 431, "{}", String::from_utf8_lossy(&a.body));
    let many: String = (0..200).map(|i| format!("\r\nX-H{i}: v")).collect();
    let head = format!(
        "POST /v1/orders/{}/cancel HTTP/1.1\r\nAuthorization: Bearer {}{many}\r\nContent-Type: application/json\r\nContent-Length: 2",
        t.order, t.capability
    );
    let a = raw(&m.broker, &head, b"{}").await;
    assert!(a.status == 431 || a.status == 400, "{} {}", a.status, String::from_utf8_lossy(&a.body));
    assert_eq!(order_status(&m, &t).await, "awaiting_payment", "a refused request cancelled the order");
}

#[tokio::test]
async fn path_traversal_and_malformed_ids_are_refused_without_effect() {
    let m = TestMarket::spawn().await;
    let t = target(&m).await;
    let long = format!("ord_{}", "a".repeat(10_000));
    let bad_ids = [
        "..".to_string(),
        "%2e%2e".to_string(),
        "..%2F..%2Fetc%2Fpasswd".to_string(),
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_string(),
        format!("..%2F{}", t.order),
        format!("{}%00", t.order),
        format!("{}%2F..", t.order),
        "%c0%ae%c0%ae".to_string(),
        format!("{}A", t.order),
        t.order.as_str().to_uppercase(),
        long.clone(),
    ];
    let auth = format!("Authorization: Bearer {}", t.capability);
    for id in &bad_ids {
        for (base, method, path, body) in [
            (&m.broker, "GET", format!("/v1/orders/{id}"), ""),
            (&m.broker, "POST", format!("/v1/orders/{id}/cancel"), "{}"),
            (&m.settlement, "GET", format!("/v1/orders/{id}/settlement"), ""),
            (&m.delivery, "GET", format!("/v1/shipments/{id}"), ""),
            (
                &m.delivery,
                "PUT",
                format!("/v1/shipments/{id}/address"),
                r#"{"name":"A","line1":"1 Road","city":"C","postal_code":"1","region":"north","country":"DE"}"#,
            ),
        ] {
            let head = format!(
                "{method} {path} HTTP/1.1\r\n{auth}\r\nContent-Type: application/json\r\nContent-Length: {}",
                body.len()
            );
            let a = raw(base, &head, body.as_bytes()).await;
            assert!((400..500).contains(&a.status), "{method} {path:.120} answered {}", a.status);
            assert_eq!(a.header("content-type"), Some("application/problem+json"), "{method} {path:.120}");
            assert!(a.json()["code"].is_string(), "{method} {path:.120}: {}", a.json());
            // The input is never echoed back whole.
            assert!(a.body.len() < 2_000, "{method} {path:.80}: {} bytes", a.body.len());
        }
    }
    // The over-long id is named as an invalid id or path.
    let a = raw(&m.broker, &format!("GET /v1/orders/{long} HTTP/1.1\r\n{auth}"), b"").await;
    assert_eq!(a.status, 400);
    assert!(["invalid_id", "invalid_path"].contains(&a.json()["code"].as_str().unwrap_or("")), "{}", a.json());
    assert_eq!(order_status(&m, &t).await, "awaiting_payment");

    // Offers: a traversal in either id changes no offer.
    let offer_body = json!({"price": money(1), "stock": 999, "sellable": true}).to_string();
    for (store, product) in [
        (format!("..%2F{}", t.store), t.product.to_string()),
        (t.store.to_string(), format!("..%2F{}", t.product)),
        (t.store.to_string(), format!("{}%2F..%2F..", t.product)),
        ("%2e%2e".to_string(), "%2e%2e".to_string()),
    ] {
        let head = format!(
            "PUT /v1/stores/{store}/offers/{product} HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}",
            t.seller,
            offer_body.len()
        );
        let a = raw(&m.broker, &head, offer_body.as_bytes()).await;
        assert!((400..500).contains(&a.status), "{store}/{product}: {}", a.status);
        assert_eq!(a.header("content-type"), Some("application/problem+json"));
    }
    let found = m.get(&format!("{}/v1/search?kind=saw", m.broker), None).await.expect(200);
    let offer = &found["results"][0];
    assert_eq!((offer["price"]["amount"].as_i64(), offer["stock"].as_i64()), (Some(PRICE), Some(9)), "{found}");
}

/// A reproducible stream of hostile JSON: wrong types, huge and negative numbers, floats
/// for money, deep nesting, control characters, unknown fields, truncation.
struct Junk(fastrand::Rng);

impl Junk {
    fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn value(&mut self, depth: u32) -> Value {
        match self.next() % if depth > 3 { 9 } else { 12 } {
            0 => Value::Null,
            1 => json!(self.next().is_multiple_of(2)),
            2 => json!(*self.pick(&[0i64, -1, 1, i64::MAX, i64::MIN, 4_200, 99_999_999_999])),
            3 => json!(*self.pick(&[0.5f64, -0.0, 1e308, 42.42])),
            4 => json!(*self.pick(&[
                "",
                "EUR",
                "eur",
                "ord_",
                "../..",
                "\u{0000}",
                "🦀",
                "%2e%2e",
                "DROP TABLE orders;"
            ])),
            5 => json!("x".repeat((self.next() % 5_000) as usize)),
            6 => json!({"amount": self.value(depth + 1), "currency": self.value(depth + 1)}),
            7 => json!(format!("ord_{:032x}", self.next())),
            8 => json!(*self.pick(&["picked_up", "delivered", "failed", "branch", "north", "DE"])),
            9 => Value::Array((0..self.next() % 4).map(|_| self.value(depth + 1)).collect()),
            _ => {
                let keys = [
                    "amount",
                    "order_id",
                    "payment_id",
                    "price",
                    "stock",
                    "quantity",
                    "name",
                    "email",
                    "password",
                    "type",
                    "kind",
                    "currency",
                    "region",
                    "extra",
                    "__proto__",
                ];
                let mut map = serde_json::Map::new();
                for _ in 0..self.next() % 5 {
                    map.insert(self.pick(&keys).to_string(), self.value(depth + 1));
                }
                Value::Object(map)
            }
        }
    }

    /// A body shaped like `template` with some fields broken, or something else entirely.
    fn body(&mut self, template: &Value) -> String {
        match self.next() % 10 {
            0 => "[".repeat(100_000),
            1 => format!("{}", self.value(0)),
            2 => template.to_string()[..(self.next() as usize % template.to_string().len().max(1))].to_string(),
            3 => format!("{{\"a\":{}}}", "{\"a\":".repeat(200) + "1" + &"}".repeat(200)),
            _ => {
                let mut v = template.clone();
                if let Some(map) = v.as_object_mut() {
                    let keys: Vec<String> = map.keys().cloned().collect();
                    for _ in 0..1 + self.next() % 2 {
                        match self.next() % 3 {
                            0 if !keys.is_empty() => {
                                map.remove(self.pick(&keys));
                            }
                            1 => {
                                map.insert("unexpected".into(), self.value(0));
                            }
                            _ if !keys.is_empty() => {
                                let k = self.pick(&keys).clone();
                                map.insert(k, self.value(0));
                            }
                            _ => {}
                        }
                    }
                }
                v.to_string()
            }
        }
    }
}

#[tokio::test]
async fn random_json_on_every_public_route_is_4xx_problem_json_never_5xx() {
    let m = TestMarket::spawn().await;
    let t = target(&m).await;
    let partner = m.post(&format!("{}/v1/partners", m.settlement), Some(&m.operator), json!({"name": "P"})).await;
    let partner = json_of(&partner.expect(201), "api_key");
    let courier = m.get(&format!("{}/v1/courier/shipments", m.delivery), None).await;
    assert_eq!(courier.status, 401);
    let seed = std::env::var("MARKETPLACE_JUNK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_cafe_u64);
    let mut junk = Junk(fastrand::Rng::with_seed(seed));
    let o = &t.order;
    let address =
        json!({"name": "A", "line1": "1 Road", "city": "C", "postal_code": "1", "region": "north", "country": "DE"});
    let routes: Vec<(String, Method, Option<String>, Value)> = vec![
        (
            format!("{}/v1/orders", m.broker),
            Method::POST,
            None,
            json!({"store_id": t.store, "product_id": t.product, "quantity": 1}),
        ),
        (
            format!("{}/v1/stores/{}/selections", m.broker, t.store),
            Method::POST,
            None,
            json!({"product_id": t.product, "quantity": 1}),
        ),
        (
            format!("{}/v1/sellers", m.broker),
            Method::POST,
            None,
            json!({"name": "n", "email": "a@b.example", "password": "long enough pw"}),
        ),
        (
            format!("{}/v1/sessions", m.broker),
            Method::POST,
            None,
            json!({"email": "a@b.example", "password": "long enough pw"}),
        ),
        (format!("{}/v1/buyers", m.broker), Method::POST, None, json!({"handle": "h", "password": "long enough pw"})),
        (
            format!("{}/v1/buyer-sessions", m.broker),
            Method::POST,
            None,
            json!({"handle": "h", "password": "long enough pw"}),
        ),
        (
            format!("{}/v1/stores", m.broker),
            Method::POST,
            Some(t.seller.clone()),
            json!({"name": "s", "union_id": "uni_x", "category": "c"}),
        ),
        (
            format!("{}/v1/stores/{}/offers/{}", m.broker, t.store, t.product),
            Method::PUT,
            Some(t.seller.clone()),
            json!({"price": money(PRICE), "stock": 10, "sellable": true}),
        ),
        (
            format!("{}/v1/orders/{o}/cancel", m.broker),
            Method::POST,
            Some(t.capability.clone()),
            json!({"reason": "r"}),
        ),
        (
            format!("{}/v1/seller/reports", m.broker),
            Method::POST,
            Some(t.seller.clone()),
            json!({"kind": "sales_history", "group_by": "product", "from": "2026-01-01", "to": "2026-02-01"}),
        ),
        (
            format!("{}/v1/payments", m.settlement),
            Method::POST,
            Some(partner.clone()),
            json!({"order_id": o, "amount": money(PRICE), "partner_reference": "r"}),
        ),
        (
            format!("{}/v1/refunds", m.settlement),
            Method::POST,
            Some(partner.clone()),
            json!({"payment_id": "pay_00000000000000000000000000000000", "amount": money(1), "reason": "r"}),
        ),
        (format!("{}/v1/shipments/{o}/address", m.delivery), Method::PUT, Some(t.capability.clone()), address),
        (
            format!("{}/v1/sessions", m.delivery),
            Method::POST,
            None,
            json!({"email": "c@d.example", "password": "long enough pw"}),
        ),
    ];
    let mut tried = 0;
    for (url, method, token, template) in &routes {
        for _ in 0..25 {
            let body = junk.body(template);
            let mut req = m.client.request(method.clone(), url).header("content-type", "application/json");
            if let Some(tok) = token {
                req = req.bearer_auth(tok);
            }
            if url.contains("/v1/payments") || url.contains("/v1/refunds") {
                req = req.header("Idempotency-Key", shared::ids::random_hex128());
            }
            let resp = req.body(body.clone()).send().await.expect("answered");
            let status = resp.status().as_u16();
            let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let text = resp.text().await.unwrap_or_default();
            assert!(status < 500, "{method} {url} answered {status} to {body:.200}: {text:.300}");
            if status >= 400 {
                assert_eq!(ctype, "application/problem+json", "{method} {url} {status} to {body:.200}: {text:.300}");
                let v: Value = serde_json::from_str(&text).unwrap();
                assert!(v["code"].is_string(), "{v}");
            }
            tried += 1;
        }
    }
    assert_eq!(tried, routes.len() * 25);
    // Still up, and whatever junk happened to be valid (a cancel, a payment) kept the
    // books straight.
    let tb = m.get(&format!("{}/v1/ledger/trial-balance", m.settlement), Some(&m.operator)).await.expect(200);
    assert_eq!(tb["total_debits"], tb["total_credits"], "{tb}");
    assert!(settlement::reconcile(&m.config).expect("reconcile runs").is_clean());
    for s in ServiceName::ALL {
        m.get(&format!("{}/healthz", m.url(s)), None).await.expect(200);
    }
}

/// A market whose login and partner limits are small enough to reach in a test.
/// Tight limits. Logins refill one guess per 5 s, so that slow password hashing on a
/// busy machine cannot refill the burst between guesses.
async fn limited_market() -> TestMarket {
    TestMarket::spawn_with(|c| {
        c.settings.insert(
            "rate_limits".into(),
            toml::Value::Table(
                toml::from_str("login = { per_minute = 12, burst = 3 }\npartner = { per_minute = 60, burst = 2 }\n")
                    .unwrap(),
            ),
        );
    })
    .await
}

fn retry_after(a: &Answer) -> u64 {
    a.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("Retry-After")
}

#[tokio::test]
async fn login_routes_are_rate_limited_per_client_with_retry_after() {
    let m = limited_market().await;
    let email = format!("{}@limits.example", shared::ids::random_hex128());
    m.register_seller("L", &email).await;
    m.post(
        &format!("{}/v1/buyers", m.broker),
        None,
        json!({"handle": "limited-buyer", "password": "correct horse battery"}),
    )
    .await
    .expect(201);
    let courier_email = format!("{}@couriers.example", shared::ids::random_hex128());
    m.post(
        &format!("{}/v1/couriers", m.delivery),
        Some(&m.operator),
        json!({"name": "C", "email": courier_email, "password": "correct horse battery"}),
    )
    .await
    .expect(201);
    for (url, good, bad) in [
        (
            format!("{}/v1/sessions", m.broker),
            json!({"email": email, "password": "correct horse battery"}),
            json!({"email": email, "password": "guess"}),
        ),
        (
            format!("{}/v1/buyer-sessions", m.broker),
            json!({"handle": "limited-buyer", "password": "correct horse battery"}),
            json!({"handle": "limited-buyer", "password": "guess"}),
        ),
        (
            format!("{}/v1/sessions", m.delivery),
            json!({"email": courier_email, "password": "correct horse battery"}),
            json!({"email": courier_email, "password": "guess"}),
        ),
    ] {
        // Guesses spend the burst of three (the broker's two login routes share one
        // bucket per client, so the second starts where the first left off) ...
        let mut guesses = 0;
        loop {
            let a = m.post(&url, None, bad.clone()).await;
            if a.status == 429 {
                break;
            }
            assert!(a.status == 401 || a.status == 422, "{url}: {}", a.body);
            guesses += 1;
            assert!(guesses <= 3, "{url}: more than the burst of guesses went through");
        }
        // ... so even the right password is held back, without a token.
        let held = m.post(&url, None, good.clone()).await;
        let wait = retry_after(&held);
        assert!((1..=60).contains(&wait), "{wait}");
        let body = held.expect_problem(429, "rate_limited");
        assert!(body.get("access_token").is_none());
        // After the wait the client is let through again.
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        m.post(&url, None, good).await.expect(200);
    }
}

#[tokio::test]
async fn partner_routes_are_rate_limited_per_api_key_and_a_refused_payment_has_no_effect() {
    let m = limited_market().await;
    let t = target(&m).await;
    let new_partner = || async {
        let v =
            m.post(&format!("{}/v1/partners", m.settlement), Some(&m.operator), json!({"name": "P"})).await.expect(201);
        json_of(&v, "api_key")
    };
    let (busy, quiet) = (new_partner().await, new_partner().await);
    let view = format!("{}/v1/orders/{}/settlement", m.settlement, t.order);
    let cap = t.capability.clone();
    m.eventually("settlement to learn the order", || async {
        (m.get(&view, Some(&cap)).await.status == 200).then_some(())
    })
    .await;
    let url = format!("{}/v1/payments", m.settlement);
    let refunds = format!("{}/v1/refunds", m.settlement);
    let unknown = json!({"payment_id": "pay_00000000000000000000000000000000", "amount": money(1), "reason": "r"});
    // Two calls spend the busy partner's burst (refunds count with payments).
    for _ in 0..2 {
        let k = shared::ids::random_hex128();
        m.call(Method::POST, &refunds, Some(&busy), Some(&unknown), &[("Idempotency-Key", &k)]).await;
    }
    let key = shared::ids::random_hex128();
    let body = json!({"order_id": t.order, "amount": money(PRICE), "partner_reference": "r"});
    let held = m.call(Method::POST, &url, Some(&busy), Some(&body), &[("Idempotency-Key", &key)]).await;
    let wait = retry_after(&held);
    held.expect_problem(429, "rate_limited");
    assert_eq!(m.get(&view, Some(&cap)).await.expect(200)["paid"]["amount"], 0, "a refused payment was taken");
    // Another partner is not held by the busy one.
    let k = shared::ids::random_hex128();
    let a = m.call(Method::POST, &refunds, Some(&quiet), Some(&unknown), &[("Idempotency-Key", &k)]).await;
    assert_ne!(a.status, 429, "{}", a.body);
    // The refused call did not use up its key: after the wait the same call is taken.
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    let a = m.call(Method::POST, &url, Some(&busy), Some(&body), &[("Idempotency-Key", &key)]).await;
    assert_eq!(a.headers.get("idempotent-replayed"), None);
    assert_eq!(a.expect(201)["status"], "captured");
}

/// The ledger's balance invariant under any sequence of money movements a hostile or
/// unlucky world can produce (orders, payments short, exact or over, releases, partial
/// and whole refunds, cancellations, remittances, report charges), with shrinking to the
/// shortest failing sequence: after every step the books balance, every cached balance
/// matches its entries, a released order holds nothing in escrow, an unreleased one holds
/// exactly what was paid, and no payment is refunded beyond its capture.
mod ledger_properties {
    use diesel::Connection;
    use proptest::prelude::*;
    use settlement::ledger::store::{owed, reconcile, trial_balance};
    use settlement::ledger::Account;
    use settlement::orders::store::{self as orders, NewOrder};
    use settlement::payments::workflow::{take_payment, PaymentRequest};
    use settlement::refunds::workflow::{refund_order, refund_payment, OrderRefund};
    use settlement::SettlementError;
    use shared::config::FeeConfig;
    use shared::db::{AnyConnection, Db};
    use shared::ids::{OrderId, PartnerId, PaymentId, ProductId, StoreId};
    use shared::money::{Currency, Money};

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    #[derive(Debug, Clone)]
    enum Step {
        Order { amount: i64, store: usize, referral: Option<usize>, shipper: Option<usize> },
        Pay { order: usize, amount: i64 },
        Release { order: usize },
        Refund { payment: usize, amount: i64 },
        RefundOrder { order: usize, why: usize },
        Remit,
        Charge { store: usize, purchase: u8, amount: i64 },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (1i64..50_000, 0usize..3, proptest::option::of(0usize..3), proptest::option::of(0usize..3))
                .prop_map(|(amount, store, referral, shipper)| Step::Order { amount, store, referral, shipper }),
            3 => (any::<usize>(), prop_oneof![1i64..60_000, Just(1), Just(i64::MAX / 4)])
                .prop_map(|(order, amount)| Step::Pay { order, amount }),
            2 => any::<usize>().prop_map(|order| Step::Release { order }),
            2 => (any::<usize>(), 1i64..40_000).prop_map(|(payment, amount)| Step::Refund { payment, amount }),
            1 => (any::<usize>(), 0usize..3).prop_map(|(order, why)| Step::RefundOrder { order, why }),
            1 => Just(Step::Remit),
            1 => (0usize..3, any::<u8>(), 1i64..2_000).prop_map(|(store, purchase, amount)| Step::Charge { store, purchase: purchase % 8, amount }),
        ]
    }

    fn check(conn: &mut AnyConnection, seen: &[OrderId]) -> Result<(), TestCaseError> {
        let tb = trial_balance(conn, Currency::EUR).unwrap();
        prop_assert!(tb.balanced && tb.total_debits == tb.total_credits, "{:?}", tb);
        let report = reconcile(conn).unwrap();
        prop_assert!(report.is_clean(), "{:?}", report);
        for o in seen {
            let row = orders::find(conn, o).unwrap().unwrap();
            let held = owed(conn, &Account::Escrow(o.clone()), Currency::EUR).unwrap().amount;
            use settlement::orders::OrderStatus as S;
            if matches!(row.status, S::Released | S::PartiallyRefunded) {
                prop_assert_eq!(held, 0, "released {} still holds money", o);
            } else {
                prop_assert_eq!(held, row.paid, "escrow of {} ({}) differs from what was paid", o, row.status);
            }
            for p in settlement::payments::store::of_order(conn, o).unwrap() {
                prop_assert!(0 <= p.refunded && p.refunded <= p.captured, "{:?}", p);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 200, ..ProptestConfig::default() })]

        #[test]
        fn the_books_balance_after_any_sequence_of_money_movements(steps in proptest::collection::vec(step(), 1..60)) {
            let dir = tempfile::tempdir().unwrap();
            let db = Db::open(dir.path().join("s.db").to_str().unwrap(), 1, settlement::MIGRATIONS).unwrap();
            let fees = FeeConfig::default();
            db.write_blocking(|conn| -> Result<(), SettlementError> {
                let partner = PartnerId::generate();
                let sealed = shared::crypto::Sealer::ephemeral().seal(b"whsec_x", partner.as_str().as_bytes());
                settlement::partners::store::insert(conn, &partner, "p", &shared::crypto::random_token("h"), None, &sealed)?;
                let stores: Vec<StoreId> = (0..3).map(|_| StoreId::generate()).collect();
                let account = settlement::payouts::domain::PayoutAccount::parse("Shop", "GB82WEST12345698765432")?;
                let sealer = shared::crypto::Sealer::ephemeral();
                for s in &stores[..2] {
                    settlement::payouts::store::set(conn, &sealer, s, &account, shared::time::now(), None)?;
                }
                let mut seen: Vec<OrderId> = Vec::new();
                let mut payments: Vec<PaymentId> = Vec::new();
                for s in &steps {
                    match s.clone() {
                        Step::Order { amount, store, referral, shipper } => {
                            let id = OrderId::generate();
                            orders::insert(conn, &NewOrder {
                                order_id: &id,
                                amount: eur(amount),
                                store_id: &stores[store],
                                product_id: &ProductId::generate(),
                                referral_store_id: referral.map(|r| &stores[r]),
                                shipper_store_id: shipper.map(|r| &stores[r]),
                                pay_by: None,
                            })?;
                            seen.push(id);
                        }
                        Step::Pay { order, amount } if !seen.is_empty() => {
                            let req = PaymentRequest {
                                order_id: seen[order % seen.len()].clone(),
                                amount: eur(amount),
                                partner_reference: "r".into(),
                            };
                            payments.push(take_payment(conn, &partner, &req)?.payment_id);
                        }
                        Step::Release { order } if !seen.is_empty() => {
                            settlement::escrow::workflow::release(conn, &seen[order % seen.len()], &fees)?;
                        }
                        Step::Refund { payment, amount } if !payments.is_empty() => {
                            let p = &payments[payment % payments.len()];
                            match refund_payment(conn, Some(&partner), p, eur(amount), "test") {
                                Ok(_) | Err(SettlementError::RefundExceedsPayment { .. }) => {}
                                Err(e) => return Err(e),
                            }
                        }
                        Step::RefundOrder { order, why } if !seen.is_empty() => {
                            let why = [OrderRefund::Cancelled, OrderRefund::Undeliverable, OrderRefund::PartialExpired][why];
                            refund_order(conn, &seen[order % seen.len()], why, "test")?;
                        }
                        Step::Remit => {
                            settlement::remittances::workflow::run(conn)?;
                        }
                        Step::Charge { store, purchase, amount } => {
                            let r = conn.transaction(|c| {
                                settlement::charges::store::charge(c, &format!("pur{purchase}"), &stores[store], eur(amount))
                            });
                            match r {
                                Ok(_)
                                | Err(SettlementError::InsufficientBalance)
                                | Err(SettlementError::Refused { code: settlement::error::Code::PurchaseIdReused, .. }) => {}
                                Err(e) => return Err(e),
                            }
                        }
                        _ => {}
                    }
                    if let Err(e) = check(conn, &seen) {
                        panic!("after {s:?}: {e}");
                    }
                }
                for s in &stores[..2] {
                    // A remittance never takes a payable store below zero.
                    settlement::remittances::workflow::run(conn)?;
                    let available = owed(conn, &Account::Store(s.clone()), Currency::EUR)?.amount;
                    assert!(available <= 0, "a payable store kept {available} after a remittance");
                }
                Ok(())
            }).unwrap();
        }
    }
}
