//! The storefront in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over WebDriver through a whole purchase: search, the
//! redirect from a store that cannot sell, the order and its receipt code, the address
//! sent straight to delivery, the demo partner's payment, the courier (through the API),
//! and "delivered" on the page. Every request the page makes must go to the marketplace's
//! own three origins. A screenshot of each step lands in `target/browser-screenshots/`.
//!
//! Runs on SQLite only (the pages do not depend on the backend); without `chromedriver`
//! the test fails rather than skipping, so CI cannot pass without the browser.

use crate::helpers::{json_of, postgres_admin_url, TestMarket};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Chromedriver on a free port, stopped when dropped.
struct Driver {
    child: std::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("chromedriver")).find(|p| p.is_file()))
        .expect("chromedriver is required for the browser test: apt-get install -y chromium chromium-driver")
}

async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new(chromedriver())
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok_and(|r| r.status().is_success()) {
            return Driver { child, url };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1400",
    ]
    .into_iter()
    .map(String::from)
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), json!({"args": args}));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector).capabilities(caps).connect(&driver.url).await.expect("a browser session")
}

/// Records each page's requests and writes a screenshot per step.
struct Tour<'a> {
    client: &'a Client,
    dir: PathBuf,
    step: u32,
    requests: BTreeSet<String>,
}

impl Tour<'_> {
    /// Takes note of every request the current document made (itself, its script and
    /// style, and every fetch), then saves the screenshot.
    async fn snap(&mut self, name: &str) {
        let seen = self
            .client
            .execute(
                "return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name));",
                vec![],
            )
            .await
            .expect("the page answers scripts");
        for url in seen.as_array().into_iter().flatten().filter_map(Value::as_str) {
            self.requests.insert(url.to_string());
        }
        self.step += 1;
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(self.dir.join(format!("{:02}-{name}.png", self.step)), png).expect("screenshot written");
    }

    async fn go(&mut self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    async fn click(&mut self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("no `{css}` on the page ({e}): {}", self.client.source().await.unwrap_or_default()),
        }
    }

    async fn type_into(&mut self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_default()
    }

    async fn until_nonempty(&self, css: &str) -> String {
        for _ in 0..40 {
            let t = self.text(css).await;
            if !t.trim().is_empty() {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("`{css}` stayed empty; page: {}", self.client.source().await.unwrap_or_default());
    }

    /// Waits until the element's text contains `wanted`, reloading the page between looks.
    async fn until_text(&self, css: &str, wanted: &str, reload: bool) -> String {
        for _ in 0..60 {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                let t = e.text().await.unwrap_or_default();
                if t.contains(wanted) {
                    return t;
                }
            }
            if reload {
                self.client.refresh().await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("`{css}` never said `{wanted}`; page: {}", self.client.source().await.unwrap_or_default());
    }
}

#[tokio::test]
async fn a_buyer_completes_a_purchase_in_a_real_browser() {
    if postgres_admin_url().is_some() {
        return; // The pages are the same on both backends; the browser runs on SQLite only.
    }
    let driver = start_driver().await;
    let m = TestMarket::spawn().await;

    // A union with two stores: A cannot sell the toner, B can; the goods sit at a node.
    let union = m.create_union("North union", "north").await;
    let (_a, seller_a) = m.create_seller("Seller A").await;
    let (_b, seller_b) = m.create_seller("Seller B").await;
    let store_a = m.create_store(&seller_a, &union, "Corner A", "office").await;
    let store_b = m.create_store(&seller_b, &union, "Corner B", "office").await;
    let product = m.create_product(&m.operator, "Toner T-9", "toner", json!({"colour": "black"}), 1_990).await;
    m.put_offer(&seller_a, &store_a, &product, 1_890, 4, false, json!({})).await;
    m.put_offer(&seller_b, &store_b, &product, 1_990, 6, true, json!({})).await;
    let node = m
        .post(
            &format!("{}/v1/nodes", m.delivery),
            Some(&m.operator),
            json!({"kind": "branch", "name": "North 1", "region": "north", "position": {"lat": 53.5, "lon": 10.0}, "rank": 1}),
        )
        .await
        .expect(201);
    let node = json_of(&node, "id");
    m.put(&format!("{}/v1/nodes/{node}/inventory/{product}", m.delivery), Some(&m.operator), json!({"quantity": 5}))
        .await
        .expect(200);
    m.post(
        &format!("{}/v1/couriers", m.delivery),
        Some(&m.operator),
        json!({"name": "Cora", "email": "cora@couriers.example", "password": "courier password 1"}),
    )
    .await
    .expect(201);
    let courier = m
        .post(
            &format!("{}/v1/sessions", m.delivery),
            None,
            json!({"email": "cora@couriers.example", "password": "courier password 1"}),
        )
        .await
        .expect(200);
    let courier = json_of(&courier, "access_token");
    // Demo mode: the demo partner's key sits in the data dir, as `marketplace demo` leaves it.
    let partner = m
        .post(&format!("{}/v1/partners", m.settlement), Some(&m.operator), json!({"name": "Demo Pay"}))
        .await
        .expect(201);
    std::fs::write(
        m.config.data_dir.join("demo-credentials.json"),
        json!({"payment partner Demo Pay": partner}).to_string(),
    )
    .unwrap();

    // The page's own answers carry the privacy headers and set no cookie.
    let home = m.client.get(format!("{}/", m.broker)).send().await.unwrap();
    assert_eq!(home.status().as_u16(), 200);
    let csp = home.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains(&m.delivery) && csp.contains(&m.settlement), "connect-src names the two services: {csp}");
    assert_eq!(home.headers()["referrer-policy"], "no-referrer");
    assert!(home.headers().get("set-cookie").is_none(), "no cookie unless asked for");

    let profile = tempfile::tempdir().unwrap();
    let client = browser(&driver, profile.path()).await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("browser-screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut t = Tour { client: &client, dir, step: 0, requests: BTreeSet::new() };

    // Search by kind and characteristics: only the store that sells it shows.
    t.go(&format!("{}/", m.broker)).await;
    t.type_into("#kind", "toner").await;
    t.type_into("#characteristics", "colour=black").await;
    t.snap("home").await;
    t.click("form.search button").await;
    let results = t.text("table.results").await;
    assert!(results.contains("Corner B") && results.contains("19.90 EUR"), "{results}");
    assert!(!results.contains("Corner A"), "a store that cannot sell is not a search result: {results}");
    t.snap("search").await;

    // Browsing to store A and choosing there: not sellable, with B as the alternative.
    t.go(&format!("{}/shop/unions/{union}", m.broker)).await;
    t.snap("union").await;
    t.go(&format!("{}/shop/stores/{store_a}", m.broker)).await;
    assert!(t.text("table.results").await.contains("not sold here"));
    t.click("a.product-link").await;
    t.click("#choose").await;
    assert!(t.text("#unsellable").await.contains("cannot sell"));
    let alternative = t.text("a.alternative").await;
    assert!(alternative.contains("Corner B"), "{alternative}");
    t.snap("redirect").await;
    t.click("a.alternative").await;
    t.click("#choose").await;
    t.snap("sellable").await;

    // Ordering without an account: the receipt code is shown once.
    let form: Vec<(String, String)> = {
        let mut fields = Vec::new();
        for name in [
            "idempotency_key",
            "store_id",
            "product_id",
            "quantity",
            "expected_amount",
            "expected_currency",
            "referral_store_id",
        ] {
            let input = t.find(&format!("form.order input[name={name}]")).await;
            fields.push((name.to_string(), input.prop("value").await.unwrap().unwrap_or_default()));
        }
        fields
    };
    t.click("#place-order").await;
    let order_id = t.text("#order-id").await;
    assert!(order_id.starts_with("ord_"), "{order_id}");
    let capability = t.find("#capability").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(capability.split('.').count() == 3, "the receipt code is the capability");
    t.snap("receipt").await;
    // A reload (or a second click) posts the same form again: the same order comes back.
    let again = m.client.post(format!("{}/shop/order", m.broker)).form(&form).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
    assert!(again.text().await.unwrap().contains(&order_id), "a resent form answers with the first order");
    let seller_b_orders =
        m.get(&format!("{}/v1/seller/orders", m.broker), Some(&seller_b)).await.expect(200)["orders"].clone();
    assert_eq!(seller_b_orders.as_array().map(Vec::len), Some(1), "one order: {seller_b_orders}");
    assert_eq!(seller_b_orders[0]["referral_store_id"], store_a.as_str(), "the redirect counts as a referral");

    // The order page: the address goes from the browser straight to delivery.
    t.click("#to-order").await;
    t.until_text("#o-status", "awaiting payment", false).await;
    t.type_into("#a-name", "Collection code 7731").await;
    t.type_into("#a-line1", "1 Browser Way").await;
    t.type_into("#a-city", "Northtown").await;
    t.type_into("#a-postal_code", "20095").await;
    t.type_into("#a-region", "north").await;
    t.type_into("#a-country", "Germany").await;
    t.click("#send-address").await;
    // Delivery refuses a country that is not two letters; its `detail` shows next to the field.
    let detail = t.until_nonempty("#a-country-error").await;
    assert!(!detail.is_empty());
    t.snap("address-refused").await;
    t.type_into("#a-country", "DE").await;
    t.snap("address").await;
    t.click("#send-address").await;
    t.until_text("#address-done", "carrier has your address", false).await;
    t.snap("address-sent").await;

    // Paying through the demo partner's page.
    t.click("#pay-link").await;
    assert!(t.text(".demo-banner").await.contains("DEMO PAYMENT PARTNER"));
    t.snap("demo-pay").await;
    t.click("#demo-pay").await;
    let paid = t.find("#payment-result").await.attr("data-status").await.unwrap();
    assert_eq!(paid.as_deref(), Some("captured"));
    t.snap("paid").await;
    t.click("#back-to-order").await;
    t.until_text("#o-payment", "captured", true).await;
    t.snap("order-paid").await;

    // The courier works through delivery's API; the page follows.
    let shipment = m
        .eventually("the shipment to be routed", || async {
            let a = m.get(&format!("{}/v1/shipments/{order_id}", m.delivery), Some(&capability)).await;
            (a.status.as_u16() == 200 && a.body["status"] == "routed").then_some(a.body)
        })
        .await;
    let shipment_id = json_of(&shipment, "shipment_id");
    for event in ["picked_up", "delivered"] {
        m.post(
            &format!("{}/v1/courier/shipments/{shipment_id}/events", m.delivery),
            Some(&courier),
            json!({"type": event}),
        )
        .await
        .expect(200);
    }
    t.until_text("#o-shipment", "delivered", true).await;
    t.until_text("#o-status", "delivered", true).await;
    t.snap("delivered").await;

    // Every request the page made went to the marketplace's own origins.
    let own = [&m.broker, &m.settlement, &m.delivery];
    for url in &t.requests {
        assert!(own.iter().any(|o| url.starts_with(o.as_str())), "the page called another origin: {url}");
    }
    assert!(t.requests.iter().any(|u| u.starts_with(m.delivery.as_str())), "the address went to delivery");
    assert!(t.requests.iter().any(|u| u.starts_with(m.settlement.as_str())), "the payment state came from settlement");
    let screenshots = std::fs::read_dir(&t.dir).unwrap().count();
    assert!(screenshots >= 10, "a screenshot per step: {screenshots}");
    client.close().await.unwrap();
}
