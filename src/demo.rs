//! Demo data: regional unions, a dozen stores across business categories, a few hundred
//! products with characteristics, offers (some non-sellable, some short of stock), the
//! node network with inventory, couriers and a payment partner. Loaded once, through the
//! public API of the running services, exactly as an operator and sellers would.

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use shared::config::Config;

const REGIONS: [(&str, f64, f64); 3] = [("north", 53.55, 9.99), ("south", 48.14, 11.58), ("west", 50.94, 6.96)];
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
}

fn id(v: &Value) -> anyhow::Result<String> {
    v["id"].as_str().map(str::to_string).ok_or_else(|| anyhow!("no id in {v}"))
}

pub async fn seed(config: &Config) -> anyhow::Result<()> {
    let marker = config.data_dir.join("demo-loaded");
    if marker.exists() {
        println!("demo data already loaded");
        return Ok(());
    }
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

    // Manufacturers and the catalog they publish.
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
        credentials.insert(format!("manufacturer {maker}"), json!({"email": email, "password": password}));
        let session =
            c.post(format!("{}/v1/sessions", c.broker), None, json!({"email": email, "password": password})).await?;
        let token = session["access_token"].as_str().unwrap_or_default().to_string();
        let region = REGIONS[m].0;
        let node = id(&c.post(format!("{}/v1/nodes", c.delivery), op, json!({"kind": "manufacturer", "name": format!("{maker} plant"), "region": region, "owner": maker_id, "position": {"lat": REGIONS[m].1 - 1.0, "lon": REGIONS[m].2 + 1.0}})).await?)?;
        for (k, (kind, _category, variants)) in KINDS.iter().enumerate().filter(|(k, _)| k % 3 == m) {
            for (v, variant) in variants.iter().enumerate() {
                for model in 0..12 {
                    let price = 500 + (k as i64 * 300) + (v as i64 * 120) + model as i64 * 35;
                    let body = json!({
                        "name": format!("{maker} {kind} {variant} {}", 100 + model),
                        "kind": kind,
                        "attributes": {"variant": variant, "model": format!("{}-{}", &kind[..2], 100 + model), "maker": maker},
                        "list_price": {"amount": price, "currency": "EUR"},
                    });
                    let product = id(&c.post(format!("{}/v1/products", c.broker), Some(&token), body).await?)?;
                    c.put(format!("{}/v1/nodes/{node}/inventory/{product}", c.delivery), op, json!({"quantity": 500}))
                        .await?;
                    products.push((product, *kind, price));
                }
            }
        }
    }

    // Sellers with stores across categories; offers with a mix of sellable, non-sellable and short stock.
    for s in 0..6 {
        let email = format!("seller{s}@demo.example.org");
        let password = format!("demo-seller-{s}-password");
        c.post(
            format!("{}/v1/sellers", c.broker),
            None,
            json!({"name": format!("Seller {s}"), "email": email, "password": password}),
        )
        .await?;
        credentials.insert(format!("seller {s}"), json!({"email": email, "password": password}));
        let session =
            c.post(format!("{}/v1/sessions", c.broker), None, json!({"email": email, "password": password})).await?;
        let token = session["access_token"].as_str().unwrap_or_default().to_string();
        for n in 0..2 {
            let (region, union, lat, lon) = &unions[(s + n) % unions.len()];
            let category = CATEGORIES[(s + n) % CATEGORIES.len()];
            let store = id(&c.post(format!("{}/v1/stores", c.broker), Some(&token), json!({"name": format!("{region} {category} store {s}{n}"), "union_id": union, "category": category})).await?)?;
            let node = id(&c.post(format!("{}/v1/nodes", c.delivery), op, json!({"kind": "seller", "name": format!("store {s}{n} back room"), "region": region, "owner": store, "position": {"lat": lat + 0.05, "lon": lon + 0.05}})).await?)?;
            for (i, (product, kind, price)) in products.iter().enumerate() {
                let fits = KINDS.iter().any(|(k, cat, _)| k == kind && *cat == category);
                if !fits || (i + s) % 2 == 1 {
                    continue;
                }
                let sellable = (i + s + n) % 9 != 0;
                let stock = if (i + s) % 7 == 0 { 0 } else { 5 + ((i * 13 + s) % 40) as i64 };
                let offer = json!({"price": {"amount": price + ((s as i64 - 2) * 15), "currency": "EUR"}, "stock": stock, "sellable": sellable});
                c.put(format!("{}/v1/stores/{store}/offers/{product}", c.broker), Some(&token), offer).await?;
                if stock > 0 {
                    c.put(
                        format!("{}/v1/nodes/{node}/inventory/{product}", c.delivery),
                        op,
                        json!({"quantity": stock}),
                    )
                    .await?;
                }
            }
        }
    }

    for (i, (region, ..)) in REGIONS.iter().enumerate() {
        let email = format!("courier{i}@demo.example.org");
        let password = format!("demo-courier-{i}-password");
        c.post(
            format!("{}/v1/couriers", c.delivery),
            op,
            json!({"name": format!("{region} courier"), "email": email, "password": password}),
        )
        .await?;
        credentials.insert(format!("courier {region}"), json!({"email": email, "password": password}));
    }
    let partner = c
        .post(format!("{}/v1/partners", c.settlement), op, json!({"name": "Demo Pay (not a real payment partner)"}))
        .await?;
    credentials.insert("payment partner Demo Pay".into(), partner);

    let path = config.data_dir.join("demo-credentials.json");
    // Passwords and the partner's key: owner only, and never seen half written.
    shared::files::write_atomic(&path, serde_json::to_string_pretty(&Value::Object(credentials))?.as_bytes())?;
    shared::files::write_atomic(&marker, b"")?;
    println!("demo data loaded: {} products, 12 stores, 3 unions; accounts in {}", products.len(), path.display());
    Ok(())
}
