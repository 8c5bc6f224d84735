//! The storefront in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over WebDriver through a whole purchase: search, the
//! redirect from a store that cannot sell, the order and its receipt code, the address
//! sent straight to delivery, the demo partner's payment, the courier (on delivery's courier page),
//! and "delivered" on the page. Every request the page makes must go to the marketplace's
//! own three origins. A screenshot of each step lands in `target/browser-screenshots/`.
//!
//! Runs on SQLite only (the pages do not depend on the backend); without `chromedriver`
//! the test fails rather than skipping, so CI cannot pass without the browser.

use crate::helpers::{
    id_of, json_of, order_of, page_text, post_form, postgres_admin_url, Expect, TestMarket, PASSWORD,
};
use client::broker::orders::{OrderStatus, PlaceOrder};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use shared::ids::{ProductId, StoreId, UnionId};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Chromedriver on a free port, stopped when dropped.
pub(crate) struct Driver {
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

pub(crate) async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new(chromedriver())
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok_and(|r| r.status().is_success()) {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

pub(crate) async fn browser(driver: &Driver, profile: &Path) -> Client {
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

/// A fresh folder for one test's screenshots under `target/browser-screenshots/`.
pub(crate) fn screenshots(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("browser-screenshots").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Records each page's requests and writes a screenshot per step.
pub(crate) struct Tour<'a> {
    pub client: &'a Client,
    pub dir: PathBuf,
    pub step: u32,
    pub requests: BTreeSet<String>,
}

impl Tour<'_> {
    /// Takes note of every request the current document made (itself, its script and
    /// style, and every fetch), then saves the screenshot.
    pub async fn snap(&mut self, name: &str) {
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

    pub async fn go(&mut self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn click(&mut self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("no `{css}` on the page ({e}): {}", self.client.source().await.unwrap_or_default()),
        }
    }

    pub async fn type_into(&mut self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_default()
    }

    pub async fn until_nonempty(&self, css: &str) -> String {
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
    pub async fn until_text(&self, css: &str, wanted: &str, reload: bool) -> String {
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
    let SmallMarket { union, store_a, product, seller_b, .. } = small_market(&m, 6).await;
    m.branch_with_stock(&product, 5).await;
    m.post(
        &format!("{}/v1/couriers", m.delivery),
        Some(&m.operator),
        json!({"name": "Cora", "email": "cora@couriers.example", "password": "courier password 1"}),
    )
    .await
    .expect(201);
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
    let dir = screenshots("purchase");
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
            "referral",
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
    assert_eq!(seller_b_orders[0]["referral_store_id"], store_a.as_str(), "the referral token counts");

    // The order page: the address goes from the browser straight to delivery.
    t.click("#to-order").await;
    t.until_text("#o-status", "awaiting payment", false).await;
    // The buyer writes to the store through the broker's relay.
    t.type_into("#message", "Please ring twice.").await;
    t.click("#message-form button").await;
    t.until_text("#messages", "Please ring twice.", false).await;
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

    // The courier works on delivery's courier page, phone-sized and without script; the
    // buyer's order page follows.
    let order_url = client.current_url().await.unwrap().to_string();
    let shipment = m
        .eventually("the shipment to be routed", || async {
            let a = m.get(&format!("{}/v1/shipments/{order_id}", m.delivery), Some(&capability)).await;
            (a.status.as_u16() == 200 && a.body["status"] == "routed").then_some(a.body)
        })
        .await;
    let shipment_id = json_of(&shipment, "shipment_id");
    // The buyer's page shows the delivery PIN they will tell the courier.
    client.refresh().await.unwrap();
    let pin = t.until_nonempty("#o-pin").await;
    assert!(pin.len() == 6 && pin.chars().all(|c| c.is_ascii_digit()), "{pin}");
    assert_eq!(shipment["pin"], pin.as_str());
    client.set_window_size(360, 780).await.unwrap();
    let mut c = Tour { client: &client, dir: screenshots("courier"), step: 0, requests: BTreeSet::new() };
    c.go(&format!("{}/courier", m.delivery)).await;
    c.type_into("#email", "cora@couriers.example").await;
    c.type_into("#password", "courier password 1").await;
    c.snap("sign-in").await;
    c.click("#courier-sign-in button").await;
    let leg = format!("section.leg[data-shipment='{shipment_id}']");
    c.find(&format!("#open {leg}")).await;
    c.snap("open-leg").await;
    c.click(&format!("#open {leg} form.event-picked_up button")).await;
    let label = c.text(&format!("#claimed {leg} dd.label")).await;
    assert!(label.contains("1 Browser Way"), "the final leg's label, to its courier: {label}");
    let fits = client.execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![]).await;
    assert_eq!(fits.unwrap(), json!(true), "the courier page fits a 360 px screen");
    c.snap("picked-up").await;
    // The final leg asks for the buyer's PIN; a wrong one delivers nothing.
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    c.type_into(&format!("#claimed {leg} form.event-delivered input[name='pin']"), wrong).await;
    c.click(&format!("#claimed {leg} form.event-delivered button")).await;
    c.until_text("#courier-error", "not the delivery PIN", false).await;
    c.snap("wrong-pin").await;
    c.type_into(&format!("#claimed {leg} form.event-delivered input[name='pin']"), &pin).await;
    c.click(&format!("#claimed {leg} form.event-delivered button")).await;
    c.find("#no-claimed").await;
    c.snap("delivered").await;
    for url in &c.requests {
        assert!(url.starts_with(m.delivery.as_str()), "the courier page called another origin: {url}");
    }
    client.set_window_size(1280, 1400).await.unwrap();
    t.go(&order_url).await;
    t.until_text("#o-shipment", "delivered", true).await;
    t.until_text("#o-status", "delivered", true).await;
    t.find("#accept-box:not([hidden])").await;
    t.snap("delivered").await;
    // The store is paid only once the buyer accepts.
    let held = m.settlement_as(Some(&capability)).order_settlement(&order_id).await.done();
    assert_eq!(held.status, crate::flows::SettledAs::Captured);
    t.click("#accept").await;
    t.until_text("#o-status", "completed", true).await;
    t.find("#accepted:not([hidden])").await;
    t.snap("accepted").await;
    let oid = shared::ids::OrderId::parse(&order_id).unwrap();
    m.settled(&oid, &capability, crate::flows::SettledAs::Released).await;

    // A receipt code that is not one says so plainly.
    t.go(&format!("{}/shop/orders", m.broker)).await;
    t.type_into("#receipt-code", "not-a-receipt-code").await;
    t.click("#receipt-form button").await;
    t.until_text("#receipt-code-error", "not a receipt code", false).await;
    t.snap("wrong-code").await;

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

#[tokio::test]
async fn a_buyer_cancels_an_unpaid_order_from_the_order_page() {
    if postgres_admin_url().is_some() {
        return;
    }
    let driver = start_driver().await;
    let m = TestMarket::spawn().await;
    let SmallMarket { store_b, product, seller_b, .. } = small_market(&m, 3).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&driver, profile.path()).await;
    let mut t = Tour { client: &client, dir: screenshots("cancel"), step: 0, requests: BTreeSet::new() };

    t.go(&format!("{}/shop/stores/{store_b}/products/{product}", m.broker)).await;
    t.click("#choose").await;
    t.click("#place-order").await;
    let order_id = t.text("#order-id").await;
    t.click("#remember").await;
    t.click("#to-order").await;
    t.until_text("#o-status", "awaiting payment", false).await;
    t.snap("before-cancel").await;
    t.click("#cancel").await;
    t.until_text("#o-status", "cancelled", false).await;
    // The page updates the status before it hides the cancel box: give it a moment.
    let mut hidden = false;
    for _ in 0..50 {
        if !t.find("#cancel-box").await.is_displayed().await.unwrap() {
            hidden = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(hidden, "nothing left to cancel");
    t.snap("cancelled").await;
    let seen = m.get(&format!("{}/v1/orders/{order_id}", m.broker), Some(&seller_b)).await.expect(200);
    assert_eq!(seen["status"], "cancelled", "{seen}");

    // The code was kept in this browser at the buyer's request: the order opens again from
    // the list, and removing it leaves the page asking for the code.
    t.go(&format!("{}/shop/orders", m.broker)).await;
    t.click("#kept-orders a").await;
    t.until_text("#o-status", "cancelled", false).await;
    t.click("#forget-code").await;
    t.until_text("#code-problem", "removed", false).await;
    t.snap("code-removed").await;
    for url in &t.requests {
        assert!(
            [&m.broker, &m.settlement, &m.delivery].iter().any(|o| url.starts_with(o.as_str())),
            "the page called another origin: {url}"
        );
    }
    client.close().await.unwrap();
}

// ---- the same pages without a browser: JavaScript off, headers, cookies, bad input

pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A union with a store that sells a toner (Corner B, `stock` of it) and one that cannot
/// sell it (Corner A).
struct SmallMarket {
    union: UnionId,
    store_a: StoreId,
    store_b: StoreId,
    product: ProductId,
    seller_b: String,
}

async fn small_market(m: &TestMarket, stock: i64) -> SmallMarket {
    let union = m.create_union("North union", "north").await;
    let (_a, seller_a) = m.create_seller("Seller A").await;
    let (_b, seller_b) = m.create_seller("Seller B").await;
    let store_a = m.create_store(&seller_a, &union, "Corner A", "office").await;
    let store_b = m.create_store(&seller_b, &union, "Corner B", "office").await;
    let product = m.create_product(&m.operator, "Toner T-9", "toner", json!({"colour": "black"}), 1_990).await;
    m.put_offer(&seller_a, &store_a, &product, 1_890, 4, false, json!({})).await;
    m.put_offer(&seller_b, &store_b, &product, 1_990, stock, true, json!({})).await;
    SmallMarket { union, store_a, store_b, product, seller_b }
}

#[tokio::test]
async fn browsing_and_search_work_without_javascript_and_set_no_cookie() {
    let m = TestMarket::spawn().await;
    let SmallMarket { store_a, store_b, product, .. } = small_market(&m, 3).await;
    let c = no_redirects();
    for path in [
        "/".to_string(),
        "/shop/search?kind=toner&characteristics=colour%3Dblack&max_price=25".to_string(),
        format!("/shop/stores/{store_a}"),
        format!("/shop/stores/{store_b}/products/{product}"),
        "/static/app.js".to_string(),
    ] {
        let r = c.get(format!("{}{path}", m.broker)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert!(r.headers().get("set-cookie").is_none(), "{path} sets a cookie");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer", "{path}");
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.starts_with("default-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("<script>") && !body.contains("https://"), "{path}: no inline or outside script");
    }
    let found =
        page_text(c.get(format!("{}/shop/search?kind=toner&characteristics=colour%3Dblack&max_price=25", m.broker)))
            .await;
    assert!(found.contains("Corner B") && found.contains("19.90 EUR") && !found.contains("Corner A"), "{found}");
    // A price the buyer cannot mean is refused next to its field, and nothing is searched.
    let bad = c.get(format!("{}/shop/search?kind=toner&max_price=cheap", m.broker)).send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 422);
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("id=\"max_price-error\"") && bad.contains("not an amount"), "{bad}");
    // The selection at the store that cannot sell answers with the alternative, JavaScript off.
    let chosen = post_form(
        &c,
        format!("{}/shop/stores/{store_a}/products/{product}/select", m.broker),
        None,
        &[("quantity", "1")],
    )
    .await;
    assert_eq!(chosen.status().as_u16(), 200);
    let chosen = chosen.text().await.unwrap();
    assert!(
        chosen.contains("cannot sell")
            && chosen.contains(&format!("/shop/stores/{store_b}/products/{product}?referral=")),
        "{chosen}"
    );
}

#[tokio::test]
async fn the_browsing_pseudonym_is_opt_in_and_its_sequence_can_be_deleted() {
    let m = TestMarket::spawn().await;
    let SmallMarket { store_a, .. } = small_market(&m, 3).await;
    let c = no_redirects();
    // Another site cannot make the browser take a pseudonym.
    let forged = c
        .post(format!("{}/shop/privacy/pseudonym", m.broker))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert!(forged.headers().get("set-cookie").is_none());

    let r = post_form(&c, format!("{}/shop/privacy/pseudonym", m.broker), None, &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http on this machine: {cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let session = pair.split_once('=').unwrap().1.to_string();
    c.get(format!("{}/shop/stores/{store_a}", m.broker)).header("cookie", &pair).send().await.unwrap();
    let seq = m
        .call(reqwest::Method::GET, &format!("{}/v1/browsing", m.broker), None, None, &[("x-session-id", &session)])
        .await;
    assert!(!seq.body["events"].as_array().unwrap().is_empty(), "the store visit is in the sequence: {}", seq.body);
    let page = page_text(c.get(format!("{}/shop/privacy", m.broker)).header("cookie", &pair)).await;
    assert!(page.contains("pseudonym-on"), "{page}");

    let gone = post_form(&c, format!("{}/shop/privacy/forget", m.broker), Some(&pair), &[]).await;
    assert_eq!(gone.status().as_u16(), 303);
    assert!(gone.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let seq = m
        .call(reqwest::Method::GET, &format!("{}/v1/browsing", m.broker), None, None, &[("x-session-id", &session)])
        .await;
    assert_eq!(seq.body["events"].as_array().map(Vec::len), Some(0), "the sequence is deleted: {}", seq.body);
}

#[tokio::test]
async fn an_order_form_sent_twice_places_one_order_and_a_refused_one_says_why() {
    let m = TestMarket::spawn().await;
    let SmallMarket { store_b, product, seller_b, .. } = small_market(&m, 3).await;
    let c = no_redirects();
    let key = shared::ids::random_hex128();
    let form = [
        ("idempotency_key", key.as_str()),
        ("store_id", store_b.as_str()),
        ("product_id", product.as_str()),
        ("quantity", "1"),
        ("expected_amount", "1990"),
        ("expected_currency", "EUR"),
        ("contact", ""),
    ];
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = c.post(format!("{}/shop/order", m.broker)).form(&form).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store", "the receipt is never cached");
        let page = r.text().await.unwrap();
        let id = page.split("id=\"order-id\">").nth(1).unwrap().split('<').next().unwrap().to_string();
        assert!(page.contains("id=\"capability\""));
        seen.push(id);
    }
    assert_eq!(seen[0], seen[1], "the second post answers with the first order");
    let orders = m.get(&format!("{}/v1/seller/orders", m.broker), Some(&seller_b)).await.expect(200);
    assert_eq!(orders["orders"].as_array().map(Vec::len), Some(1), "{orders}");

    // The same key for another order is refused rather than replayed.
    let mut changed = form;
    changed[3] = ("quantity", "2");
    let r = c.post(format!("{}/shop/order", m.broker)).form(&changed).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 422);

    // More than the store has: the API's answer, with the alternatives, and no order.
    let key = shared::ids::random_hex128();
    let mut short = form;
    short[0] = ("idempotency_key", key.as_str());
    short[3] = ("quantity", "50");
    let r = c.post(format!("{}/shop/order", m.broker)).form(&short).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.unwrap().contains("not enough in stock"));
    let orders = m.get(&format!("{}/v1/seller/orders", m.broker), Some(&seller_b)).await.expect(200);
    assert_eq!(orders["orders"].as_array().map(Vec::len), Some(1), "no partial write: {orders}");
}

#[tokio::test]
async fn the_demo_partner_page_exists_only_in_demo_mode_and_never_shows_its_key() {
    let m = TestMarket::spawn().await;
    let c = no_redirects();
    let url = format!("{}/demo-pay/ord_00000000000000000000000000000000?amount=1990&currency=EUR", m.broker);
    assert_eq!(c.get(&url).send().await.unwrap().status().as_u16(), 404);
    let partner = m
        .post(&format!("{}/v1/partners", m.settlement), Some(&m.operator), json!({"name": "Demo Pay"}))
        .await
        .expect(201);
    let key = json_of(&partner, "api_key");
    std::fs::write(
        m.config.data_dir.join("demo-credentials.json"),
        json!({"payment partner Demo Pay": partner}).to_string(),
    )
    .unwrap();
    let page = c.get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("DEMO PAYMENT PARTNER") && page.contains("19.90"), "{page}");
    assert!(!page.contains(&key), "the partner's key stays on the server");
    // An order settlement never heard of is refused as the partner API refuses it.
    let r = post_form(
        &c,
        format!("{}/demo-pay/ord_00000000000000000000000000000000", m.broker),
        None,
        &[("idempotency_key", "k1234567890abcdef"), ("amount", "abc"), ("currency", "EUR")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("amount-error"));
}

#[tokio::test]
async fn the_seller_desk_shows_orders_by_buyer_handle_only() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North union", "north").await;
    let email = format!("{}@sellers.example", shared::ids::random_hex128());
    m.register_seller("Desk Seller", &email).await;
    let token = m.login(&email, PASSWORD).await;
    let store = m.create_store(&token, &union, "Desk store", "office").await;
    let product = m.create_product(&m.operator, "Toner T-9", "toner", json!({"colour": "black"}), 1_990).await;
    m.put_offer(&token, &store, &product, 1_990, 3, true, json!({})).await;
    let order = m.place(&store, &product, 1).await;

    let c = no_redirects();
    let wrong = post_form(
        &c,
        format!("{}/seller/sign-in", m.broker),
        None,
        &[("email", email.as_str()), ("password", "wrong password")],
    )
    .await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.text().await.unwrap().contains("sign-in-error"));
    let r = post_form(
        &c,
        format!("{}/seller/sign-in", m.broker),
        None,
        &[("email", email.as_str()), ("password", "correct horse battery")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("Path=/seller") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_string();
    let desk = c.get(format!("{}/seller", m.broker)).header("cookie", &pair).send().await.unwrap();
    assert_eq!(desk.status().as_u16(), 200);
    let desk = desk.text().await.unwrap();
    let seller_view = m.get(&format!("{}/v1/seller/orders", m.broker), Some(&token)).await.expect(200);
    let handle = seller_view["orders"][0]["buyer_handle"].as_str().unwrap().to_string();
    assert!(desk.contains(order.order_id.as_str()) && desk.contains(&handle) && desk.contains("Desk store"), "{desk}");
    assert!(!desk.contains(&order.capability));
    let reports = c.get(format!("{}/seller/reports", m.broker)).header("cookie", &pair).send().await.unwrap();
    assert_eq!(reports.status().as_u16(), 200);
    let reports = reports.text().await.unwrap();
    assert!(reports.contains("sales_history") && reports.contains("id=\"buy-report\""), "{reports}");
    // Outside `/seller` the seller's cookie is not sent, and without it the desk asks to sign in.
    let anonymous = page_text(c.get(format!("{}/seller", m.broker))).await;
    assert!(anonymous.contains("seller-sign-in") && !anonymous.contains(order.order_id.as_str()));

    // An offer that needs the salesperson's price: confirmed from the desk at a new price.
    m.put_offer(&token, &store, &product, 1_990, 3, true, json!({"requires_price_confirmation": true})).await;
    let waiting = m.place(&store, &product, 1).await;
    assert_eq!(waiting.status, OrderStatus::AwaitingConfirmation, "{waiting:?}");
    let waiting_id = waiting.order_id;
    let desk = page_text(c.get(format!("{}/seller", m.broker)).header("cookie", &pair)).await;
    assert!(desk.contains(&format!("/seller/orders/{waiting_id}/confirm")), "{desk}");
    let bad = post_form(
        &c,
        format!("{}/seller/orders/{waiting_id}/confirm", m.broker),
        Some(&pair),
        &[("price", "lots"), ("currency", "EUR")],
    )
    .await;
    assert_eq!(bad.status().as_u16(), 422);
    let ok = post_form(
        &c,
        format!("{}/seller/orders/{waiting_id}/confirm", m.broker),
        Some(&pair),
        &[("price", "18.50"), ("currency", "EUR")],
    )
    .await;
    assert_eq!(ok.status().as_u16(), 303);
    let after = m.get(&format!("{}/v1/orders/{waiting_id}", m.broker), Some(&token)).await.expect(200);
    assert_eq!(after["status"], "awaiting_payment", "{after}");
    assert_eq!(after["unit_price"]["amount"], 1_850, "{after}");
}

#[tokio::test]
async fn the_tour_shows_each_party_only_its_share() {
    if postgres_admin_url().is_some() {
        return; // The tour runs its own SQLite market.
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_marketplace"))
        .arg("tour")
        .env("MARKETPLACE_LOG", "error")
        .output()
        .expect("the tour runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|-"))
        .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect())
        .collect();
    let header = &rows[0];
    let cell = |fact: &str, who: &str| -> String {
        let col = header.iter().position(|h| h == who).unwrap_or_else(|| panic!("no column {who}: {text}"));
        let row = rows.iter().find(|r| r[0] == fact).unwrap_or_else(|| panic!("no row {fact}: {text}"));
        row[col].clone()
    };
    for who in ["buyer", "salesperson", "payment partner", "broker db", "settlement db", "delivery db (after)"] {
        assert_eq!(cell("delivery address", who), "-", "{who} knows the address: {text}");
    }
    assert_eq!(cell("delivery address", "delivery db (in transit)"), "sealed", "{text}");
    assert_eq!(cell("delivery address", "courier"), "yes", "the final leg's label: {text}");
    assert_eq!(cell("order id", "courier"), "-", "{text}");
    for fact in ["product", "selling store"] {
        assert_eq!(cell(fact, "payment partner"), "-", "{text}");
    }
    assert_eq!(cell("salesperson's legal name", "buyer"), "-", "{text}");
    // The arbiter decides from what was bought and how it went: never who or where.
    assert_eq!(cell("order id", "arbiter"), "yes", "{text}");
    for fact in [
        "delivery address",
        "recipient / collection code",
        "salesperson's legal name",
        "buyer handle (per order)",
        "payment id",
    ] {
        assert_eq!(cell(fact, "arbiter"), "-", "the arbiter knows the {fact}: {text}");
    }
    assert_eq!(cell("store's payout IBAN", "broker db"), "-", "{text}");
    assert_eq!(cell("payment id", "broker db"), "-", "{text}");
    assert_eq!(cell("payment id", "delivery db (after)"), "-", "{text}");
    assert_eq!(cell("amount (42.17 EUR)", "delivery db (after)"), "-", "{text}");
    for who in &header[1..] {
        assert_eq!(cell("receipt code (capability)", who), "-", "{who} keeps the capability: {text}");
    }
}

#[tokio::test]
async fn a_pseudonymous_buyer_signs_in_with_a_handle_and_nothing_else() {
    let m = TestMarket::spawn().await;
    let c = no_redirects();
    let form = [("handle", "quiet-otter-17"), ("password", "correct horse battery")];
    let r = post_form(&c, format!("{}/shop/account/register", m.broker), None, &form).await;
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("mp_buyer=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_string();
    let page = c.get(format!("{}/shop/account", m.broker)).header("cookie", &pair).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    let page = page.text().await.unwrap();
    assert!(page.contains("signed-in") && page.contains("quiet-otter-17"), "{page}");
    let saved =
        post_form(&c, format!("{}/shop/account/equipment", m.broker), Some(&pair), &[("equipment", "printer, kettle")])
            .await;
    assert_eq!(saved.status().as_u16(), 303);
    let page = c.get(format!("{}/shop/account", m.broker)).header("cookie", &pair).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("printer") && page.contains("kettle"), "the equipment is kept: {page}");
    let coded = post_form(&c, format!("{}/shop/account/collection-code", m.broker), Some(&pair), &[]).await;
    assert_eq!(coded.status().as_u16(), 200);
    assert!(coded.text().await.unwrap().contains("id=\"collection-code\""));

    // Signed in, the order form offers the account's points; anonymous, it does not.
    let SmallMarket { store_b, product, .. } = small_market(&m, 3).await;
    let choose = |cookie: Option<String>| {
        let mut r = c
            .post(format!("{}/shop/stores/{store_b}/products/{product}/select", m.broker))
            .header("sec-fetch-site", "same-origin")
            .form(&[("quantity", "1")]);
        if let Some(k) = cookie {
            r = r.header("cookie", k);
        }
        r.send()
    };
    let signed = choose(Some(pair.clone())).await.unwrap().text().await.unwrap();
    assert!(signed.contains("id=\"points\""), "{signed}");
    let anonymous = choose(None).await.unwrap().text().await.unwrap();
    assert!(!anonymous.contains("id=\"points\"") && anonymous.contains("id=\"place-order\""), "{anonymous}");

    // A wrong password is refused next to the form, and no session cookie is set.
    let wrong = post_form(
        &c,
        format!("{}/shop/account/sign-in", m.broker),
        None,
        &[("handle", "quiet-otter-17"), ("password", "not the password")],
    )
    .await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(wrong.text().await.unwrap().contains("id=\"sign-in-error\""));

    let out = post_form(&c, format!("{}/shop/account/sign-out", m.broker), Some(&pair), &[]).await;
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn a_manufacturer_approves_an_order_on_its_desk_in_a_real_browser() {
    if postgres_admin_url().is_some() {
        return; // The pages are the same on both backends; the browser runs on SQLite only.
    }
    let driver = start_driver().await;
    let m = TestMarket::spawn().await;
    let maker = m
        .post(
            &format!("{}/v1/manufacturers", m.broker),
            Some(&m.operator),
            json!({"name": "Tonerworks", "email": "desk@makers.example", "password": "maker password 1"}),
        )
        .await
        .expect(201);
    let body = json!({"name": "Drum DR-9", "kind": "drum", "attributes": {}, "list_price": crate::helpers::money(2_500),
                      "manufacturer_id": json_of(&maker, "id"), "requires_approval": true});
    let product: ProductId =
        id_of(&m.post(&format!("{}/v1/products", m.broker), Some(&m.operator), body).await.expect(201), "id");
    let union = m.create_union("North union", "north").await;
    let (_b, seller_b) = m.create_seller("Seller B").await;
    let store = m.create_store(&seller_b, &union, "Corner B", "office").await;
    m.put_offer(&seller_b, &store, &product, 2_000, 4, true, json!({})).await;
    let order = m
        .place_order(&PlaceOrder { contact: Some("buyer@mail.example".into()), ..order_of(&store, &product, 1) })
        .await;
    let (order_id, capability) = (order.order_id, order.capability);
    assert_eq!(order.status, OrderStatus::AwaitingApproval);

    let profile = tempfile::tempdir().unwrap();
    let client = browser(&driver, profile.path()).await;
    let mut t = Tour { client: &client, dir: screenshots("manufacturer"), step: 0, requests: BTreeSet::new() };
    t.go(&format!("{}/manufacturer", m.broker)).await;
    t.type_into("#email", "desk@makers.example").await;
    t.type_into("#password", "maker password 1").await;
    t.snap("sign-in").await;
    t.click("#manufacturer-sign-in button").await;
    let row = format!("#awaiting-approval tr[data-order='{order_id}']");
    let text = t.text(&row).await;
    assert!(text.contains("20.00 EUR") && !text.contains("buyer@mail.example"), "{text}");
    t.snap("awaiting").await;
    t.click(&format!("{row} form.approve button")).await;
    t.find("#nothing-waiting").await;
    t.snap("approved").await;
    let v = m.get(&format!("{}/v1/orders/{order_id}", m.broker), Some(&capability)).await.expect(200);
    assert_eq!(v["status"], "awaiting_payment");
    for url in &t.requests {
        assert!(url.starts_with(m.broker.as_str()), "the desk called another origin: {url}");
    }
    client.close().await.unwrap();
}
