//! `marketplace tour`: starts the three services in this process on free ports with fresh
//! SQLite databases and a small demo market, plays one purchase from search to remittance
//! through the public APIs, then prints who knows what about it: party by party (what each
//! can read from the marketplace) and database by database (every stored value, read
//! back). The table is computed from those answers and rows, not written by hand.

use anyhow::{anyhow, bail, Context};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use reqwest::Method;
use serde_json::{json, Value};
use shared::config::{Config, ServiceName};
use std::future::Future;
use std::net::TcpListener;
use std::time::Duration;

const PRICE: i64 = 4_217;
const PRODUCT: &str = "Toner T-9 black";
const STORE: &str = "Corner B";
const SELLER_NAME: &str = "Bettina Legal-Name GmbH";
const ADDRESS_LINE: &str = "17 Quiet Privacy Lane";
const COLLECTION_CODE: &str = "Pickup code K7";
const IBAN: &str = "DE89370400440532013000";

struct Http {
    client: reqwest::Client,
}

impl Http {
    async fn call(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
        key: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self.client.request(method.clone(), url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.with_context(|| format!("{method} {url}"))?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    async fn ok(&self, method: Method, url: &str, token: Option<&str>, body: Option<Value>) -> anyhow::Result<Value> {
        let (status, v) = self.call(method.clone(), url, token, body, None).await?;
        if !(200..300).contains(&status) {
            bail!("{method} {url}: {status} {v}");
        }
        Ok(v)
    }

    async fn get(&self, url: &str, token: Option<&str>) -> anyhow::Result<Value> {
        self.ok(Method::GET, url, token, None).await
    }

    async fn post(&self, url: &str, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
        self.ok(Method::POST, url, token, Some(body)).await
    }

    async fn put(&self, url: &str, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
        self.ok(Method::PUT, url, token, Some(body)).await
    }
}

/// Retries `check` until it yields, for effects that travel through the outboxes.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    for _ in 0..200 {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(anyhow!("timed out waiting for {what}"))
}

fn text(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key].as_str().map(str::to_string).ok_or_else(|| anyhow!("no `{key}` in {v}"))
}

fn money(amount: i64) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

/// One thing one might know about the purchase, and how to recognise it.
struct Fact {
    label: &'static str,
    /// Strings whose presence means the fact is known.
    needles: Vec<String>,
    /// Stored values that mean it, exactly (integers in a database, `"amount":N` in JSON).
    exact: Option<String>,
}

/// Who can tell what, one cell per fact.
struct Holder {
    name: String,
    texts: Vec<String>,
    /// Facts held only encrypted (known to exist, unreadable without the holder's key).
    sealed: Vec<&'static str>,
}

impl Holder {
    fn knows(&self, f: &Fact) -> &'static str {
        let plain = self.texts.iter().any(|t| {
            f.needles.iter().any(|n| !n.is_empty() && t.contains(n.as_str()))
                || f.exact.as_ref().is_some_and(|e| t == e || t.contains(&format!("\"amount\":{e}")))
        });
        if plain {
            "yes"
        } else if self.sealed.contains(&f.label) {
            "sealed"
        } else {
            "-"
        }
    }
}

/// Every value of every table of a SQLite database, as text.
fn database_values(path: &str) -> anyhow::Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Cell {
        #[diesel(sql_type = Nullable<Text>)]
        v: Option<String>,
    }
    let path = path.strip_prefix("sqlite://").unwrap_or(path);
    let mut conn = diesel::SqliteConnection::establish(path).with_context(|| format!("opening {path}"))?;
    let tables: Vec<Name> =
        diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .load(&mut conn)?;
    let mut out = Vec::new();
    for t in tables {
        let columns: Vec<Name> =
            diesel::sql_query(format!("SELECT name FROM pragma_table_info('{}')", t.name)).load(&mut conn)?;
        for c in columns {
            let cells: Vec<Cell> = diesel::sql_query(format!(
                "SELECT CASE WHEN typeof(\"{0}\") = 'blob' THEN hex(\"{0}\") ELSE CAST(\"{0}\" AS TEXT) END AS v \
                 FROM \"{1}\"",
                c.name, t.name
            ))
            .load(&mut conn)?;
            out.extend(cells.into_iter().filter_map(|c| c.v));
        }
    }
    Ok(out)
}

pub async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    config.operator_token = Some(shared::crypto::random_token("op"));
    config.outbox.poll_interval_ms = 50;
    config.outbox.base_backoff_ms = 50;
    config.outbox.max_backoff_ms = 500;
    // The tour plays to the remittance in one sitting: no hold after the payout account is set.
    config.settings.insert("payouts".into(), toml::Value::Table(toml::from_str("account_hold_hours = 0")?));
    let mut listeners = Vec::new();
    for service in ServiceName::ALL {
        let l = TcpListener::bind("127.0.0.1:0")?;
        let svc = config.service_mut(service);
        svc.addr = l.local_addr()?;
        svc.workers = 1;
        listeners.push(l);
    }
    let mut running = Vec::new();
    for (service, listener) in ServiceName::ALL.into_iter().zip(listeners) {
        running.push(crate::run::start(&config, service, listener)?);
    }
    let result = play(&config).await;
    for r in running {
        r.stop(true).await;
    }
    result
}

async fn play(config: &Config) -> anyhow::Result<()> {
    let (b, s, d) = (config.broker.public_url(), config.settlement.public_url(), config.delivery.public_url());
    let op = config.operator_token.clone().unwrap_or_default();
    let op = Some(op.as_str());
    let h = Http { client: reqwest::Client::new() };
    println!("Starting broker {b}, settlement {s}, delivery {d} with a small demo market.\n");

    // The market: a union with two stores (A cannot sell the toner, B can), a node with
    // stock, a courier, a payment partner.
    let union =
        text(&h.post(&format!("{b}/v1/unions"), op, json!({"name": "North union", "region": "north"})).await?, "id")?;
    let mut sellers = Vec::new();
    for (name, n) in [("Anton Seller KG", "a"), (SELLER_NAME, "b")] {
        let email = format!("seller-{n}@tour.example");
        h.post(&format!("{b}/v1/sellers"), None, json!({"name": name, "email": email, "password": "tour password 1"}))
            .await?;
        let session =
            h.post(&format!("{b}/v1/sessions"), None, json!({"email": email, "password": "tour password 1"})).await?;
        sellers.push(text(&session, "access_token")?);
    }
    let store_a = text(
        &h.post(
            &format!("{b}/v1/stores"),
            Some(&sellers[0]),
            json!({"name": "Corner A", "union_id": union, "category": "office"}),
        )
        .await?,
        "id",
    )?;
    let store_b = text(
        &h.post(
            &format!("{b}/v1/stores"),
            Some(&sellers[1]),
            json!({"name": STORE, "union_id": union, "category": "office"}),
        )
        .await?,
        "id",
    )?;
    let product = text(
        &h.post(
            &format!("{b}/v1/products"),
            op,
            json!({"name": PRODUCT, "kind": "toner", "attributes": {"colour": "black"}, "list_price": money(PRICE)}),
        )
        .await?,
        "id",
    )?;
    h.put(
        &format!("{b}/v1/stores/{store_a}/offers/{product}"),
        Some(&sellers[0]),
        json!({"price": money(PRICE - 100), "stock": 5, "sellable": false}),
    )
    .await?;
    h.put(
        &format!("{b}/v1/stores/{store_b}/offers/{product}"),
        Some(&sellers[1]),
        json!({"price": money(PRICE), "stock": 5, "sellable": true}),
    )
    .await?;
    // Settlement hears of the new store through the broker's outbox.
    eventually("settlement to know the store", || {
        let (h, url, token) = (&h, format!("{s}/v1/seller/payout-account?store_id={store_b}"), sellers[1].clone());
        async move {
            let body = json!({"holder": SELLER_NAME, "iban": IBAN});
            let (status, _) = h.call(Method::PUT, &url, Some(&token), Some(body), None).await?;
            Ok((200..300).contains(&status).then_some(()))
        }
    })
    .await?;
    let node = text(
        &h.post(&format!("{d}/v1/nodes"), op, json!({"kind": "branch", "name": "North 1", "region": "north", "rank": 1, "position": {"lat": 53.5, "lon": 10.0}}))
            .await?,
        "id",
    )?;
    h.put(&format!("{d}/v1/nodes/{node}/inventory/{product}"), op, json!({"quantity": 5})).await?;
    h.post(
        &format!("{d}/v1/couriers"),
        op,
        json!({"name": "Cora", "email": "cora@tour.example", "password": "tour password 2"}),
    )
    .await?;
    let courier = text(
        &h.post(
            &format!("{d}/v1/sessions"),
            None,
            json!({"email": "cora@tour.example", "password": "tour password 2"}),
        )
        .await?,
        "access_token",
    )?;
    let partner = h.post(&format!("{s}/v1/partners"), op, json!({"name": "Tour Pay"})).await?;
    let api_key = text(&partner, "api_key")?;

    // The purchase.
    let found = h.get(&format!("{b}/v1/search?kind=toner&attr.colour=black"), None).await?;
    println!(
        "1. buyer searches `toner, colour=black`: {} offer(s), first at {}",
        found["results"].as_array().map(Vec::len).unwrap_or(0),
        found["results"][0]["store_name"]
    );
    let sel = h
        .post(&format!("{b}/v1/stores/{store_a}/selections"), None, json!({"product_id": product, "quantity": 1}))
        .await?;
    println!(
        "2. buyer selects it at Corner A: sellable={}, reason={}, alternatives: {}",
        sel["sellable"],
        sel["reason"],
        sel["alternatives"]
            .as_array()
            .map(|a| a.iter().map(|x| x["store_name"].to_string()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    );
    // The alternative's signed referral token earns Corner A its referral fee.
    let referral = sel["alternatives"][0]["referral"].clone();
    let order = h
        .post(&format!("{b}/v1/orders"), None, json!({"store_id": store_b, "product_id": product, "quantity": 1, "referral": referral, "expected_price": money(PRICE)}))
        .await?;
    let order_id = text(&order, "order_id")?;
    let capability = text(&order, "capability")?;
    println!("3. buyer orders at {STORE} without an account: order {order_id}, receipt code (capability) issued");
    let address = json!({"name": COLLECTION_CODE, "line1": ADDRESS_LINE, "city": "Northtown", "postal_code": "20095", "region": "north", "country": "DE"});
    h.ok(Method::PUT, &format!("{d}/v1/shipments/{order_id}/address"), Some(&capability), Some(address)).await?;
    println!("4. buyer sends the address straight to delivery (sealed there)");
    let payment_body = json!({"order_id": order_id, "amount": money(PRICE), "partner_reference": "tour-ref-1"});
    let paid = eventually("settlement to know the order", || {
        let (h, body, key, url) = (&h, payment_body.clone(), api_key.clone(), format!("{s}/v1/payments"));
        async move {
            let (status, v) = h.call(Method::POST, &url, Some(&key), Some(body), Some("tour-payment-1")).await?;
            Ok((status == 201).then_some(v))
        }
    })
    .await?;
    let payment_id = text(&paid, "payment_id")?;
    println!("5. payment partner pays 42.17 EUR: {} ({payment_id})", paid["status"]);
    let shipment = eventually("the shipment to be routed", || {
        let (h, url, cap) = (&h, format!("{d}/v1/shipments/{order_id}"), capability.clone());
        async move {
            let (status, v) = h.call(Method::GET, &url, Some(&cap), None, None).await?;
            Ok((status == 200 && v["status"] == "routed").then_some(v))
        }
    })
    .await?;
    let shipment_id = text(&shipment, "shipment_id")?;
    h.post(&format!("{d}/v1/courier/shipments/{shipment_id}/events"), Some(&courier), json!({"type": "picked_up"}))
        .await?;
    let courier_view = h.get(&format!("{d}/v1/courier/shipments"), Some(&courier)).await?;
    let sealed_in_transit = {
        let db = shared::db::Db::open(&config.database_url(ServiceName::Delivery), 1, delivery::MIGRATIONS)?;
        delivery::inspect::sealed_address_exists(&db, &shared::ids::OrderId::parse(&order_id)?)?
    };
    let delivery_in_transit = database_values(&config.database_url(ServiceName::Delivery))?;
    h.post(&format!("{d}/v1/courier/shipments/{shipment_id}/events"), Some(&courier), json!({"type": "delivered"}))
        .await?;
    println!("6. courier picks up shipment {shipment_id} (sees the label on the final leg) and delivers it");
    eventually("escrow to be released", || {
        let (h, url, cap) = (&h, format!("{s}/v1/orders/{order_id}/settlement"), capability.clone());
        async move { Ok((h.get(&url, Some(&cap)).await?["status"] == "released").then_some(())) }
    })
    .await?;
    let batch = h.post(&format!("{s}/v1/remittances/run"), op, json!({})).await?;
    println!("7. escrow released to {STORE} less the 3 % fee (and 2 % referral to Corner A); remittance batch run: {batch}\n");

    // What each party can read.
    let buyer = vec![
        h.get(&format!("{b}/v1/orders/{order_id}"), Some(&capability)).await?,
        h.get(&format!("{s}/v1/orders/{order_id}/settlement"), Some(&capability)).await?,
        h.get(&format!("{d}/v1/shipments/{order_id}"), Some(&capability)).await?,
    ];
    let seller_orders = h.get(&format!("{b}/v1/seller/orders"), Some(&sellers[1])).await?;
    let handle = seller_orders["orders"][0]["buyer_handle"].as_str().unwrap_or_default().to_string();
    // Delivery holds no seller id: the broker signs the salesperson a view of this order's shipment.
    let view = h.post(&format!("{b}/v1/seller/orders/{order_id}/shipment-view"), Some(&sellers[1]), json!({})).await?;
    let view = view["token"].as_str().unwrap_or_default().to_string();
    let salesperson = vec![
        seller_orders,
        h.get(&format!("{d}/v1/seller/shipments/{order_id}"), Some(&view)).await?,
        h.get(&format!("{s}/v1/seller/balance?store_id={store_b}"), Some(&sellers[1])).await?,
        h.get(&format!("{s}/v1/seller/remittances?store_id={store_b}"), Some(&sellers[1])).await?,
    ];
    let partner_view = vec![paid.clone(), h.get(&format!("{s}/v1/events?after=0&limit=100"), Some(&api_key)).await?];
    let courier_now = h.get(&format!("{d}/v1/courier/shipments"), Some(&courier)).await?;
    let as_texts = |vs: Vec<Value>| vs.iter().map(Value::to_string).collect::<Vec<_>>();

    let facts = vec![
        Fact { label: "order id", needles: vec![order_id.clone()], exact: None },
        Fact { label: "product", needles: vec![PRODUCT.into(), product.clone()], exact: None },
        Fact { label: "selling store", needles: vec![STORE.into(), store_b.clone()], exact: None },
        Fact { label: "amount (42.17 EUR)", needles: vec![], exact: Some(PRICE.to_string()) },
        Fact { label: "salesperson's legal name", needles: vec![SELLER_NAME.into()], exact: None },
        Fact { label: "store's payout IBAN", needles: vec![IBAN.into()], exact: None },
        Fact { label: "buyer handle (per order)", needles: vec![handle.clone()], exact: None },
        Fact { label: "receipt code (capability)", needles: vec![capability.clone()], exact: None },
        Fact { label: "payment id", needles: vec![payment_id.clone()], exact: None },
        Fact { label: "shipment id", needles: vec![shipment_id.clone()], exact: None },
        Fact { label: "delivery address", needles: vec![ADDRESS_LINE.into()], exact: None },
        Fact { label: "recipient / collection code", needles: vec![COLLECTION_CODE.into()], exact: None },
    ];
    let mut delivery_db = Holder {
        name: "delivery db (in transit)".into(),
        texts: delivery_in_transit,
        sealed: if sealed_in_transit { vec!["delivery address", "recipient / collection code"] } else { vec![] },
    };
    delivery_db.texts.retain(|t| !t.is_empty());
    let holders = vec![
        Holder { name: "buyer".into(), texts: as_texts(buyer), sealed: vec![] },
        Holder { name: "salesperson".into(), texts: as_texts(salesperson), sealed: vec![] },
        Holder { name: "payment partner".into(), texts: as_texts(partner_view), sealed: vec![] },
        Holder { name: "courier".into(), texts: as_texts(vec![courier_view, courier_now]), sealed: vec![] },
        Holder {
            name: "broker db".into(),
            texts: database_values(&config.database_url(ServiceName::Broker))?,
            sealed: vec![],
        },
        Holder {
            name: "settlement db".into(),
            texts: database_values(&config.database_url(ServiceName::Settlement))?,
            sealed: vec!["store's payout IBAN"],
        },
        delivery_db,
        Holder {
            name: "delivery db (after)".into(),
            texts: database_values(&config.database_url(ServiceName::Delivery))?,
            sealed: vec![],
        },
    ];
    print_table(&facts, &holders);
    println!(
        "\nParties: what each can read through the APIs with its own credential (the buyer with the receipt code;\n\
         the buyer also knows the address they typed, which no service shows back). Databases: every stored value\n\
         of every table, read back. `sealed`: stored only encrypted with a key only that service holds.\n\
         Delivery shreds the sealed address when the final leg is delivered."
    );
    Ok(())
}

fn print_table(facts: &[Fact], holders: &[Holder]) {
    let first = facts.iter().map(|f| f.label.len()).max().unwrap_or(10).max(4);
    let widths: Vec<usize> = holders.iter().map(|h| h.name.len().max(6)).collect();
    let mut line = format!("| {:first$} |", "what");
    for (h, w) in holders.iter().zip(&widths) {
        line.push_str(&format!(" {:w$} |", h.name));
    }
    println!("{line}");
    let mut rule = format!("|{}|", "-".repeat(first + 2));
    for w in &widths {
        rule.push_str(&format!("{}|", "-".repeat(w + 2)));
    }
    println!("{rule}");
    for f in facts {
        let mut line = format!("| {:first$} |", f.label);
        for (h, w) in holders.iter().zip(&widths) {
            line.push_str(&format!(" {:w$} |", h.knows(f)));
        }
        println!("{line}");
    }
}
