//! End-to-end tests: the courier page at delivery and the manufacturer desk at the broker,
//! without a browser: plain form posts over real HTTP, as a phone with JavaScript off
//! sends them.

use crate::helpers::{json_of, money, TestMarket};
use reqwest::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, SET_COOKIE};
use serde_json::{json, Value};
use shared::config::ServiceName;
use shared::ids::{ManufacturerId, OrderId, ProductId, StoreId};
use shared::messages::Message;

const NAME: &str = "Ada Quillfeather";
const LINE1: &str = "12 Marrowdale Lane";
const PASSWORD: &str = "correct horse battery";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A paid order whose single leg starts at a north branch holding the goods:
/// `(order_id, shipment_id)`.
async fn shipment(m: &TestMarket) -> (OrderId, String) {
    let product = ProductId::generate();
    let body = json!({ "kind": "branch", "name": "North branch", "region": "north",
                       "position": { "lat": 50.0, "lon": 0.0 }, "rank": 1 });
    let node = json_of(&m.post(&format!("{}/v1/nodes", m.delivery), Some(&m.operator), body).await.expect(201), "id");
    let url = format!("{}/v1/nodes/{node}/inventory/{product}", m.delivery);
    m.put(&url, Some(&m.operator), json!({ "quantity": 5 })).await.expect(200);
    let order = OrderId::generate();
    let address = json!({ "name": NAME, "line1": LINE1, "city": "Thistlebury", "postal_code": "QX7 4ZZ",
                          "region": "north", "country": "GB" });
    let cap = m.capability_for(&order);
    m.put(&format!("{}/v1/shipments/{order}/address", m.delivery), Some(&cap), address).await.expect(204);
    let request = Message::ShipmentRequested {
        order_id: order.clone(),
        product_id: product,
        quantity: 1,
        store_id: StoreId::generate(),
        shipper_store_id: None,
        manufacturer_id: Some(ManufacturerId::generate()),
        backorder: false,
    };
    assert_eq!(m.send_message(ServiceName::Broker, ServiceName::Delivery, request).await, 204);
    let paid = Message::OrderPaid { order_id: order.clone() };
    assert_eq!(m.send_message(ServiceName::Settlement, ServiceName::Delivery, paid).await, 204);
    let tracking = m.get(&format!("{}/v1/shipments/{order}", m.delivery), Some(&cap)).await.expect(200);
    (order, json_of(&tracking, "shipment_id"))
}

async fn tracking(m: &TestMarket, order: &OrderId) -> Value {
    let cap = m.capability_for(order);
    m.get(&format!("{}/v1/shipments/{order}", m.delivery), Some(&cap)).await.expect(200)
}

async fn courier_account(m: &TestMarket) -> String {
    let email = format!("{}@couriers.example", shared::ids::random_hex128());
    let body = json!({ "name": "Courier", "email": email, "password": PASSWORD });
    m.post(&format!("{}/v1/couriers", m.delivery), Some(&m.operator), body).await.expect(201);
    email
}

/// A browser's form post from the page itself (`Sec-Fetch-Site: same-origin`), or from
/// another site.
async fn form(url: &str, cookie: Option<&str>, fields: &[(&str, &str)], site: &str) -> reqwest::Response {
    let mut req = no_redirects().post(url).form(fields).header("sec-fetch-site", site);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

async fn page(url: &str, cookie: Option<&str>) -> (u16, String) {
    let mut req = no_redirects().get(url);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Signs in through a page's form; the session cookie as the browser would send it back.
async fn sign_in(url: &str, email: &str, cookie_name: &str, path: &str) -> String {
    let r = form(url, None, &[("email", email), ("password", PASSWORD)], "same-origin").await;
    assert_eq!(r.status(), 303);
    let set = r.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_string();
    assert!(set.starts_with(&format!("{cookie_name}=")), "{set}");
    for part in ["HttpOnly", "SameSite=Strict", &format!("Path={path}")] {
        assert!(set.contains(part), "{set}");
    }
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn a_courier_works_a_leg_through_the_page_and_nobody_else_can() {
    let m = TestMarket::spawn().await;
    let (order, shipment) = shipment(&m).await;
    let base = format!("{}/courier", m.delivery);
    let (a, b) = (courier_account(&m).await, courier_account(&m).await);

    // The sign-in page: phone-sized, no script, the storefront's headers.
    let r = no_redirects().get(&base).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers().get(CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_string();
    assert!(csp.starts_with("default-src 'self'") && csp.contains("script-src 'none'"), "{csp}");
    assert_eq!(r.headers().get(REFERRER_POLICY).unwrap(), "no-referrer");
    assert!(r.headers().get(SET_COOKIE).is_none());
    let html = r.text().await.unwrap();
    assert!(html.contains("name=\"viewport\"") && html.contains("courier-sign-in"), "{html}");
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"), "{html}");
    let (status, css) = page(&format!("{base}/style.css"), None).await;
    assert!(status == 200 && !css.contains("http"), "{css}");

    // A wrong password says so and sets nothing; a form from another site is refused.
    let sign_in_url = format!("{base}/sign-in");
    let r = form(&sign_in_url, None, &[("email", &a), ("password", "wrong password!")], "same-origin").await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().get(SET_COOKIE).is_none());
    assert!(r.text().await.unwrap().contains("sign-in-error"));
    let r = form(&sign_in_url, None, &[("email", &a), ("password", PASSWORD)], "cross-site").await;
    assert_eq!(r.status(), 403);
    assert!(r.headers().get(SET_COOKIE).is_none(), "no session from another site's form");
    let a_cookie = sign_in(&sign_in_url, &a, "mp_courier", "/courier").await;

    // The open leg is listed; no order id, no label while nobody holds it.
    let (status, html) = page(&base, Some(&a_cookie)).await;
    assert_eq!(status, 200);
    assert!(html.contains(&shipment) && html.contains("Pick up"), "{html}");
    assert!(!html.contains(order.as_str()) && !html.contains(LINE1), "{html}");

    // Without the page's origin the pickup is refused and changes nothing.
    let events = format!("{base}/shipments/{shipment}/events");
    let r = form(&events, Some(&a_cookie), &[("type", "picked_up")], "cross-site").await;
    assert_eq!(r.status(), 403);
    assert_eq!(tracking(&m, &order).await["legs"][0]["status"], "open");

    let r = form(&events, Some(&a_cookie), &[("type", "picked_up")], "same-origin").await;
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/courier"));
    // A's now, and the final leg: the label shows, to A alone.
    let (_, html) = page(&base, Some(&a_cookie)).await;
    assert!(html.contains("(yours)") && html.contains(NAME) && html.contains(LINE1), "{html}");
    assert!(html.contains("In transit") && html.contains("name=\"reason\""), "{html}");

    // Another courier's claimed leg: the API's refusal, shown on B's page.
    let b_cookie = sign_in(&sign_in_url, &b, "mp_courier", "/courier").await;
    let (_, html) = page(&base, Some(&b_cookie)).await;
    assert!(!html.contains(&shipment) && !html.contains(LINE1), "{html}");
    for kind in ["picked_up", "delivered"] {
        let r = form(&events, Some(&b_cookie), &[("type", kind)], "same-origin").await;
        assert_eq!(r.status(), 403);
        let html = r.text().await.unwrap();
        assert!(html.contains("courier-error") && !html.contains(LINE1), "{html}");
    }

    // In transit; a failure needs a reason, then reopens the leg.
    let r = form(&events, Some(&a_cookie), &[("type", "in_transit")], "same-origin").await;
    assert_eq!(r.status(), 303);
    assert_eq!(tracking(&m, &order).await["legs"][0]["status"], "in_transit");
    let r = form(&events, Some(&a_cookie), &[("type", "failed"), ("reason", "  ")], "same-origin").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("needs a reason"));
    assert_eq!(tracking(&m, &order).await["legs"][0]["status"], "in_transit");
    let r = form(&events, Some(&a_cookie), &[("type", "failed"), ("reason", "nobody home")], "same-origin").await;
    assert_eq!(r.status(), 303);
    assert_eq!(tracking(&m, &order).await["legs"][0]["status"], "open");

    // Picked up again; the page asks for the buyer's PIN, and delivers only with it.
    let r = form(&events, Some(&a_cookie), &[("type", "picked_up")], "same-origin").await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&base, Some(&a_cookie)).await;
    assert!(html.contains("name=\"pin\""), "{html}");
    let r = form(&events, Some(&a_cookie), &[("type", "delivered")], "same-origin").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("not the delivery PIN"));
    let pin = tracking(&m, &order).await["pin"].as_str().unwrap().to_string();
    let r = form(&events, Some(&a_cookie), &[("type", "delivered"), ("pin", &pin)], "same-origin").await;
    assert_eq!(r.status(), 303);
    let t = tracking(&m, &order).await;
    assert_eq!((t["status"].as_str(), t["delivered"].as_bool()), (Some("delivered"), Some(true)));
    let (_, html) = page(&base, Some(&a_cookie)).await;
    assert!(!html.contains(LINE1), "the label is gone once delivered: {html}");

    // Signed out, the page asks for a sign-in again; a made-up cookie is no session.
    let r = form(&format!("{base}/sign-out"), Some(&a_cookie), &[], "same-origin").await;
    assert!(r.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let (status, html) = page(&base, Some("mp_courier=not-a-token")).await;
    assert!(status == 401 && html.contains("courier-sign-in"), "{status} {html}");
}

#[tokio::test]
async fn courier_sign_in_on_the_page_is_rate_limited_per_courier_like_the_api() {
    // The couriers' addresses come through a configured proxy (the test's loopback).
    let m = TestMarket::spawn_with(|c| {
        let limits = "login = { per_minute = 1, burst = 2 }\ntrusted_proxies = [\"127.0.0.1\"]";
        c.settings.insert("rate_limits".into(), toml::Value::Table(toml::from_str(limits).unwrap()));
    })
    .await;
    let email = courier_account(&m).await;
    let url = format!("{}/courier/sign-in", m.delivery);
    let guess = |from: &'static str| {
        let (url, email) = (url.clone(), email.clone());
        async move {
            let r = no_redirects()
                .post(&url)
                .form(&[("email", email.as_str()), ("password", "a guess at it")])
                .header("sec-fetch-site", "same-origin")
                .header("x-forwarded-for", from)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(guess("192.0.2.1").await);
    }
    assert_eq!(statuses.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![401, 401, 429]);
    assert!(statuses[2].1.contains("too many requests"), "{}", statuses[2].1);
    // Another courier behind the same page is not held by the first one's guesses: the
    // page names each courier to the API, which keys its limit by them.
    assert_eq!(guess("192.0.2.2").await.0, 401);
    // The page and the API share one bucket per client.
    let api = no_redirects()
        .post(format!("{}/v1/sessions", m.delivery))
        .header("x-forwarded-for", "192.0.2.1")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 429);
}

/// A product that needs its manufacturer's approval, offered by a seller's store:
/// `(store_id, product_id, manufacturer's email)`.
async fn approval_offer(m: &TestMarket) -> (String, String, String) {
    let email = format!("{}@makers.example", shared::ids::random_hex128());
    let v = m
        .post(
            &format!("{}/v1/manufacturers", m.broker),
            Some(&m.operator),
            json!({"name": "Tonerworks", "email": email, "password": PASSWORD}),
        )
        .await
        .expect(201);
    let maker = json_of(&v, "id");
    let v = m
        .post(
            &format!("{}/v1/products", m.broker),
            Some(&m.operator),
            json!({"name": "Drum DR-9", "kind": "drum", "attributes": {}, "list_price": money(2_500),
                   "manufacturer_id": maker, "requires_approval": true}),
        )
        .await
        .expect(201);
    let product = json_of(&v, "id");
    let union = m.create_union("North union", "north").await;
    let (_seller, seller_token) = m.create_seller("Seller B").await;
    let store = m.create_store(&seller_token, &union, "Corner B", "office").await;
    m.put_offer(&seller_token, &store, &product, 2_000, 4, true, json!({})).await;
    (store.into_string(), product, email)
}

async fn place(m: &TestMarket, store: &str, product: &str) -> (String, String) {
    let body = json!({"store_id": store, "product_id": product, "quantity": 1, "contact": "buyer@mail.example"});
    let v = m.post(&format!("{}/v1/orders", m.broker), None, body).await.expect(201);
    assert_eq!(v["status"], "awaiting_approval");
    (json_of(&v, "order_id"), json_of(&v, "capability"))
}

async fn order_status(m: &TestMarket, order: &str, cap: &str) -> String {
    json_of(&m.get(&format!("{}/v1/orders/{order}", m.broker), Some(cap)).await.expect(200), "status")
}

#[tokio::test]
async fn a_manufacturer_approves_and_refuses_on_its_desk_and_sees_no_buyer() {
    let m = TestMarket::spawn().await;
    let (store, product, email) = approval_offer(&m).await;
    let (first, first_cap) = place(&m, &store, &product).await;
    let (second, second_cap) = place(&m, &store, &product).await;
    let base = format!("{}/manufacturer", m.broker);

    let r = no_redirects().get(&base).send().await.unwrap();
    let csp = r.headers().get(CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_string();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(r.text().await.unwrap().contains("manufacturer-sign-in"));
    let sign_in_url = format!("{base}/sign-in");
    let r = form(&sign_in_url, None, &[("email", &email), ("password", "wrong password!")], "same-origin").await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().get(SET_COOKIE).is_none());
    let cookie = sign_in(&sign_in_url, &email, "mp_manufacturer", "/manufacturer").await;

    let (status, html) = page(&base, Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(html.contains(&first) && html.contains(&second) && html.contains("Approve"), "{html}");
    assert!(!html.contains("buyer@mail.example") && !html.contains("bh_"), "no buyer data: {html}");

    // A form from another site changes nothing.
    let r = form(&format!("{base}/orders/{first}/approve"), Some(&cookie), &[], "cross-site").await;
    assert_eq!(r.status(), 403);
    assert_eq!(order_status(&m, &first, &first_cap).await, "awaiting_approval");

    let r = form(&format!("{base}/orders/{first}/approve"), Some(&cookie), &[], "same-origin").await;
    assert_eq!(r.status(), 303);
    assert_eq!(order_status(&m, &first, &first_cap).await, "awaiting_payment");
    let r = form(&format!("{base}/orders/{second}/refuse"), Some(&cookie), &[("reason", "")], "same-origin").await;
    assert_eq!(r.status(), 303);
    assert_eq!(order_status(&m, &second, &second_cap).await, "cancelled");
    let (_, html) = page(&base, Some(&cookie)).await;
    assert!(!html.contains(&first) && !html.contains(&second) && html.contains("nothing-waiting"), "{html}");

    // Acting twice: the API's refusal, shown on the desk.
    let r = form(&format!("{base}/orders/{second}/approve"), Some(&cookie), &[], "same-origin").await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("manufacturer-error"));
    assert_eq!(order_status(&m, &second, &second_cap).await, "cancelled");

    // A refusal with a reason; a seller's account is no manufacturer's.
    let (third, third_cap) = place(&m, &store, &product).await;
    let refuse = format!("{base}/orders/{third}/refuse");
    let r = form(&refuse, Some(&cookie), &[("reason", "not for this market")], "same-origin").await;
    assert_eq!(r.status(), 303);
    let v = m.get(&format!("{}/v1/orders/{third}", m.broker), Some(&third_cap)).await.expect(200);
    assert_eq!(v["status"], "cancelled");
    assert!(v.to_string().contains("not for this market"), "{v}");
    let seller_email = format!("{}@sellers.example", shared::ids::random_hex128());
    let body = json!({"name": "Seller C", "email": seller_email, "password": PASSWORD});
    m.post(&format!("{}/v1/sellers", m.broker), None, body).await.expect(201);
    let seller_cookie = sign_in(&sign_in_url, &seller_email, "mp_manufacturer", "/manufacturer").await;
    let (status, html) = page(&base, Some(&seller_cookie)).await;
    assert!(status == 403 && html.contains("not a manufacturer"), "{status} {html}");
}
