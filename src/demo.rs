//! Demo data: regional unions, a dozen stores across business categories, a few hundred
//! products with characteristics, offers (some non-sellable, some short of stock), the
//! node network with inventory, couriers and a payment partner, and something for every
//! feature: products the manufacturer approves per order, offers whose price the seller
//! confirms, an offer another store of the union ships, group prices for owners of a
//! printer, a buyer account with that printer, and payout accounts. Loaded once, through
//! the public API of the running services, exactly as an operator and sellers would; one
//! loader at a time (see `demo_lock`).

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use shared::config::Config;
use std::time::Duration;

const REGIONS: [(&str, f64, f64); 3] = [("north", 53.55, 9.99), ("south", 48.14, 11.58), ("west", 50.94, 6.96)];
/// The printer the demo buyer owns: toner is compatible with it and office stores price
/// it lower for its owners.
const PRINTER: &str = "Laser-200";
const CATEGORIES: [&str; 4] = ["office", "electronics", "home", "garden"];
const KINDS: [(&str, &str, [&str; 3]); 8] = [
    ("toner", "office", ["black", "cyan", "magenta"]),
    ("paper", "office", ["a4", "a3", "letter"]),
    ("ink", "office", ["black", "colour", "photo"]),
    ("cable", "electronics", ["usb-c", "hdmi", "ethernet"]),
    ("charger", "electronics", ["20w", "65w", "100w"]),
    ("lamp", "home", ["warm", "neutral", "cool"]),
    ("kettle", "home", ["steel", "glass", "plastic"]),
    ("hose", "garden", ["10m", "20m", "30m"]),
];

struct Client {
    http: reqwest::Client,
    broker: String,
    settlement: String,
    delivery: String,
    operator: String,
}

impl Client {
    async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method.clone(), &url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.with_context(|| format!("{method} {url}"))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(anyhow!("{method} {url}: {status} {body}"));
        }
        Ok(body)
    }

    async fn post(&self, url: String, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, url, token, body).await
    }

    async fn put(&self, url: String, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::PUT, url, token, body).await
    }

    /// Signs in at `base` (the broker or delivery) and returns the bearer token.
    async fn sign_in(&self, base: &str, email: &str, password: &str) -> anyhow::Result<String> {
        let session =
            self.post(format!("{base}/v1/sessions"), None, json!({"email": email, "password": password})).await?;
        session["access_token"].as_str().map(str::to_string).ok_or_else(|| anyhow!("no access token for {email}"))
    }

    /// A PUT to settlement about a store it may not have heard of yet: retried on 404
    /// while the broker's message is on its way.
    async fn put_when_known(&self, url: String, token: &str, body: Value) -> anyhow::Result<Value> {
        let mut tries = 0;
        loop {
            let resp = self.http.put(&url).bearer_auth(token).json(&body).send().await?;
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_FOUND && tries < 100 {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let answer: Value = resp.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                return Err(anyhow!("PUT {url}: {status} {answer}"));
            }
            return Ok(answer);
        }
    }
}

fn id(v: &Value) -> anyhow::Result<String> {
    v["id"].as_str().map(str::to_string).ok_or_else(|| anyhow!("no id in {v}"))
}

/// Loads the demo unless it is loaded; waits while another loader is at it.
pub async fn seed(config: &Config) -> anyhow::Result<()> {
    let claim = crate::demo_lock::claim(&config.data_dir, || {
        println!("another loader is loading the demo data; waiting for it");
    })
    .await
    .context("taking the demo load lock")?;
    let held = match claim {
        crate::demo_lock::Claim::Loaded => {
            println!("demo data already loaded");
            return Ok(());
        }
        crate::demo_lock::Claim::Ours(held) => held,
    };
    let c = Client {
        http: reqwest::Client::new(),
        broker: config.broker.public_url(),
        settlement: config.settlement.public_url(),
        delivery: config.delivery.public_url(),
        operator: shared::auth::operator_token(config)?,
    };
    let op = Some(c.operator.as_str());
    let mut credentials = serde_json::Map::new();

    // Regional unions, each with a master warehouse and two ranked branch warehouses.
    let mut unions = Vec::new();
    for (region, lat, lon) in REGIONS {
        let union = id(&c
            .post(
                format!("{}/v1/unions", c.broker),
                op,
                json!({"name": format!("{region} mart union"), "region": region}),
            )
            .await?)?;
        unions.push((region, union, lat, lon));
        c.post(format!("{}/v1/nodes", c.delivery), op, json!({"kind": "master", "name": format!("{region} master warehouse"), "region": region, "position": {"lat": lat, "lon": lon}})).await?;
        for rank in 1..=2 {
            c.post(
                format!("{}/v1/nodes", c.delivery),
                op,
                json!({"kind": "branch", "name": format!("{region} branch {rank}"), "region": region, "rank": rank,
                       "position": {"lat": lat + 0.1 * rank as f64, "lon": lon - 0.1 * rank as f64}}),
            )
            .await?;
        }
    }

    // Manufacturers and the catalog they publish. Toner fits the demo printer; the last
    // model of every line is sold only with its manufacturer's approval of each order.
    let mut products = Vec::new();
    for (m, (maker, _)) in
        [("Northwind Supplies", 0), ("Acme Electric", 1), ("Garden & Home Works", 2)].iter().enumerate()
    {
        let email = format!("maker{m}@demo.example.org");
        let password = format!("demo-maker-{m}-password");
        let made = c
            .post(
                format!("{}/v1/manufacturers", c.broker),
                op,
                json!({"name": maker, "email": email, "password": password}),
            )
            .await?;
        let maker_id = id(&made)?;
        credentials.insert(
            format!("manufacturer {maker}"),
            json!({"id": maker_id, "email": email, "password": password, "signs_in_at": c.broker}),
        );
        let token = c.sign_in(&c.broker, &email, &password).await?;
        let region = REGIONS[m].0;
        let node = id(&c.post(format!("{}/v1/nodes", c.delivery), op, json!({"kind": "manufacturer", "name": format!("{maker} plant"), "region": region, "owner": maker_id, "position": {"lat": REGIONS[m].1 - 1.0, "lon": REGIONS[m].2 + 1.0}})).await?)?;
        for (k, (kind, _category, variants)) in KINDS.iter().enumerate().filter(|(k, _)| k % 3 == m) {
            for (v, variant) in variants.iter().enumerate() {
                for model in 0..12 {
                    let price = 500 + (k as i64 * 300) + (v as i64 * 120) + model as i64 * 35;
                    let compatible: Vec<&str> = if *kind == "toner" { vec![PRINTER] } else { vec![] };
                    let body = json!({
                        "name": format!("{maker} {kind} {variant} {}", 100 + model),
                        "kind": kind,
                        "attributes": {"variant": variant, "model": format!("{}-{}", &kind[..2], 100 + model), "maker": maker},
                        "list_price": {"amount": price, "currency": "EUR"},
                        "requires_approval": model == 11,
                        "compatible_with": compatible,
                    });
                    let product = id(&c.post(format!("{}/v1/products", c.broker), Some(&token), body).await?)?;
                    c.put(format!("{}/v1/nodes/{node}/inventory/{product}", c.delivery), op, json!({"quantity": 500}))
                        .await?;
                    products.push((product, *kind, price));
                }
            }
        }
    }

    // Sellers with stores across categories; offers with a mix of sellable, non-sellable,
    // short stock and prices the seller confirms per order.
    let mut sellers = Vec::new();
    let mut stores: Vec<DemoStore> = Vec::new();
    for s in 0..6 {
        let email = format!("seller{s}@demo.example.org");
        let password = format!("demo-seller-{s}-password");
        let seller = id(&c
            .post(
                format!("{}/v1/sellers", c.broker),
                None,
                json!({"name": format!("Seller {s}"), "email": email, "password": password}),
            )
            .await?)?;
        credentials.insert(
            format!("seller {s}"),
            json!({"id": seller, "email": email, "password": password, "signs_in_at": c.broker}),
        );
        let token = c.sign_in(&c.broker, &email, &password).await?;
        for n in 0..2 {
            let u = (s + n) % unions.len();
            let (region, union, lat, lon) = &unions[u];
            let category = CATEGORIES[(s + n) % CATEGORIES.len()];
            let store = id(&c.post(format!("{}/v1/stores", c.broker), Some(&token), json!({"name": format!("{region} {category} store {s}{n}"), "union_id": union, "category": category})).await?)?;
            let node = id(&c.post(format!("{}/v1/nodes", c.delivery), op, json!({"kind": "seller", "name": format!("store {s}{n} back room"), "region": region, "owner": store, "position": {"lat": lat + 0.05, "lon": lon + 0.05}})).await?)?;
            let mut stocked = Vec::new();
            let mut offered = Vec::new();
            for (i, (product, kind, price)) in products.iter().enumerate() {
                let fits = KINDS.iter().any(|(k, cat, _)| k == kind && *cat == category);
                if !fits || (i + s) % 2 == 1 {
                    continue;
                }
                let sellable = (i + s + n) % 9 != 0;
                let stock = if (i + s) % 7 == 0 { 0 } else { 5 + ((i * 13 + s) % 40) as i64 };
                let confirm = (i + s) % 11 == 0;
                let offer = json!({"price": {"amount": price + ((s as i64 - 2) * 15), "currency": "EUR"}, "stock": stock,
                                   "sellable": sellable, "requires_price_confirmation": confirm});
                c.put(format!("{}/v1/stores/{store}/offers/{product}", c.broker), Some(&token), offer).await?;
                offered.push(product.clone());
                if stock > 0 {
                    c.put(
                        format!("{}/v1/nodes/{node}/inventory/{product}", c.delivery),
                        op,
                        json!({"quantity": stock}),
                    )
                    .await?;
                    if sellable {
                        stocked.push((product.clone(), *price));
                    }
                }
            }
            stores.push(DemoStore { id: store, seller: s, union: u, category, offered, stocked });
        }
        sellers.push((email, password, token));
    }

    // In each union, one store sells a product it does not hold: another store of the
    // union ships it.
    for u in 0..unions.len() {
        let in_union: Vec<&DemoStore> = stores.iter().filter(|st| st.union == u).collect();
        let found = in_union.iter().find_map(|short| {
            in_union
                .iter()
                .filter(|mate| mate.id != short.id)
                .flat_map(|mate| mate.stocked.iter())
                .find(|(product, _)| !short.offered.contains(product))
                .map(|(product, price)| (*short, product.clone(), *price))
        });
        if let Some((short, product, price)) = found {
            let token = &sellers[short.seller].2;
            let offer = json!({"price": {"amount": price, "currency": "EUR"}, "stock": 0, "sellable": true, "union_fulfilment": true});
            c.put(format!("{}/v1/stores/{}/offers/{product}", c.broker, short.id), Some(token), offer).await?;
        }
    }

    // Office stores price their first few toners lower for owners of the demo printer and
    // for buyers with collection points.
    for store in stores.iter().filter(|st| st.category == "office") {
        let token = &sellers[store.seller].2;
        let toners = store.stocked.iter().filter(|(p, _)| products.iter().any(|(q, k, _)| q == p && *k == "toner"));
        for (product, price) in toners.take(3) {
            for (group, off) in [(json!({"equipment": PRINTER}), 10), (json!({"min_points": 100}), 5)] {
                let body = json!({"product_id": product, "group": group,
                                  "price": {"amount": price * (100 - off) / 100, "currency": "EUR"}});
                c.put(format!("{}/v1/stores/{}/group-prices", c.broker, store.id), Some(token), body).await?;
            }
        }
    }

    // A pseudonymous buyer who owns the demo printer.
    let (handle, password) = ("demo.buyer", "demo-buyer-password");
    c.post(format!("{}/v1/buyers", c.broker), None, json!({"handle": handle, "password": password})).await?;
    let buyer = c
        .post(format!("{}/v1/buyer-sessions", c.broker), None, json!({"handle": handle, "password": password}))
        .await?;
    let buyer = buyer["access_token"].as_str().ok_or_else(|| anyhow!("no buyer token"))?;
    c.put(format!("{}/v1/buyer/equipment", c.broker), Some(buyer), json!({"equipment": [PRINTER]})).await?;
    credentials.insert(
        "buyer".into(),
        json!({"handle": handle, "password": password, "signs_in_at": c.broker, "equipment": [PRINTER]}),
    );

    for (i, (region, ..)) in REGIONS.iter().enumerate() {
        let email = format!("courier{i}@demo.example.org");
        let password = format!("demo-courier-{i}-password");
        let courier = id(&c
            .post(
                format!("{}/v1/couriers", c.delivery),
                op,
                json!({"name": format!("{region} courier"), "email": email, "password": password}),
            )
            .await?)?;
        credentials.insert(
            format!("courier {region}"),
            json!({"id": courier, "email": email, "password": password, "signs_in_at": c.delivery}),
        );
    }
    let partner = c
        .post(format!("{}/v1/partners", c.settlement), op, json!({"name": "Demo Pay (not a real payment partner)"}))
        .await?;
    credentials.insert("payment partner Demo Pay".into(), partner);

    // Payout accounts last: settlement hears of each store through the broker's outbox,
    // and a change needs a sign-in minutes old, so each seller signs in again right
    // before. Remittances to a new account wait out `[settings.payouts]
    // account_hold_hours`: 72 by default, none under `up --demo` unless configured.
    for (s, (email, password, _)) in sellers.iter().enumerate() {
        let fresh = c.sign_in(&c.broker, email, password).await?;
        for (n, store) in stores.iter().filter(|st| st.seller == s).enumerate() {
            let account = json!({"holder": format!("Seller {s} Ltd"), "iban": demo_iban(s * 2 + n)});
            let url = format!("{}/v1/seller/payout-account?store_id={}", c.settlement, store.id);
            c.put_when_known(url, &fresh, account).await?;
        }
    }

    let path = config.data_dir.join("demo-credentials.json");
    // Passwords and the partner's key: owner only, and never seen half written.
    shared::files::write_atomic(&path, serde_json::to_string_pretty(&Value::Object(credentials))?.as_bytes())?;
    held.mark_loaded()?;
    println!(
        "demo data loaded: {} products, {} stores, {} unions; accounts in {}",
        products.len(),
        stores.len(),
        unions.len(),
        path.display()
    );
    Ok(())
}

struct DemoStore {
    id: String,
    seller: usize,
    union: usize,
    category: &'static str,
    offered: Vec<String>,
    /// Sellable offers with stock: what another store of the union can ship from here.
    stocked: Vec<(String, i64)>,
}

/// A German IBAN with valid check digits (ISO 13616: mod 97 over the account, the
/// country and `00`), one per demo store, at a made-up account number.
fn demo_iban(n: usize) -> String {
    let bban = format!("37040044{:010}", 532_013_000 + n);
    let check = 98 - iban_mod97(&format!("{bban}DE00"));
    format!("DE{check:02}{bban}")
}

fn iban_mod97(s: &str) -> u32 {
    s.chars().fold(0, |acc, ch| {
        let digits = ch.to_digit(36).expect("alphanumeric");
        if digits >= 10 {
            (acc * 100 + digits) % 97
        } else {
            (acc * 10 + digits) % 97
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_ibans_carry_valid_check_digits() {
        // The Bundesbank's published example comes out as published.
        assert_eq!(demo_iban(0), "DE89370400440532013000");
        for n in 0..12 {
            let iban = demo_iban(n);
            let moved = format!("{}{}", &iban[4..], &iban[..4]);
            assert_eq!(iban_mod97(&moved), 1, "{iban}");
        }
        assert_ne!(demo_iban(1), demo_iban(2));
    }
}
