//! Demo data: regional unions, a dozen stores across business categories, a few hundred
//! products with characteristics, offers (some non-sellable, some short of stock), the
//! node network with inventory, couriers and a payment partner, and something for every
//! feature: products the manufacturer approves per order, offers whose price the seller
//! confirms, an offer another store of the union ships, group prices for owners of a
//! printer, a buyer account with that printer, and payout accounts. Loaded once, through
//! the public API of the running services, exactly as an operator and sellers would; one
//! loader at a time (see `demo_lock`).

use anyhow::{anyhow, Context};
use client::admin::{Admin, NewOperator};
use client::broker::accounts::{Credentials, NewManufacturer, NewSeller};
use client::broker::buyers::{EquipmentBody, Group, GroupPrice, NewBuyer};
use client::broker::catalog::{NewProduct, NewUnion, OfferBody};
use client::broker::stores::NewStoreBody;
use client::broker::Broker;
use client::delivery::{CourierBody, Delivery, InventoryBody, NodeBody, NodeKind, Position};
use client::settlement::{NewPartner, PayoutAccountBody, Settlement};
use client::{Answer, Api, Failure};
use serde_json::{json, Value};
use shared::auth::OperatorRole;
use shared::config::Config;
use shared::ids::ProductId;
use shared::money::{Currency, Money};
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

/// The three running services, and the operator's token.
struct Market {
    broker: String,
    settlement: String,
    delivery: String,
    operator: String,
}

impl Market {
    fn broker(&self, token: Option<&str>) -> Broker {
        Broker::new(Api::new(self.broker.clone()).bearer(token.map(str::to_string)))
    }

    fn settlement(&self, token: Option<&str>) -> Settlement {
        Settlement::new(Api::new(self.settlement.clone()).bearer(token.map(str::to_string)))
    }

    fn admin(&self) -> Admin {
        Admin::new(Api::new(self.broker.clone()).bearer(Some(self.operator.clone())))
    }

    fn delivery(&self, token: Option<&str>) -> Delivery {
        Delivery::new(Api::new(self.delivery.clone()).bearer(token.map(str::to_string)))
    }

    /// Signs a seller or manufacturer in at the broker and returns the bearer token.
    async fn sign_in(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let credentials = Credentials { email: email.into(), password: password.into() };
        Ok(answered(&format!("signing in {email}"), self.broker(None).sign_in_account(&credentials).await)?
            .access_token)
    }

    async fn node(&self, node: NodeBody) -> anyhow::Result<String> {
        let made = self.delivery(Some(&self.operator)).create_node(&node).await;
        Ok(answered(&format!("adding the node {}", node.name), made)?.id.into_string())
    }

    async fn stock(&self, node: &str, product: &str, quantity: i64) -> anyhow::Result<()> {
        let counted = self.delivery(Some(&self.operator)).set_stock(node, product, &InventoryBody { quantity }).await;
        answered(&format!("counting {product} at {node}"), counted).map(|_| ())
    }

    /// Sets a store's payout account at settlement, which may not have heard of the store
    /// yet: retried on 404 while the broker's message is on its way.
    async fn payout_account(&self, token: &str, store: &str, account: &PayoutAccountBody) -> anyhow::Result<()> {
        let seller = self.settlement(Some(token));
        let mut tries = 0;
        loop {
            match seller.set_payout_account(store, account).await {
                Err(Failure::Refused(reply)) if reply.status == 404 && tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                answer => return answered(&format!("the payout account of {store}"), answer).map(|_| ()),
            }
        }
    }
}

/// A typed answer, or an error that says what was asked and what the API answered.
pub(crate) fn answered<T>(what: &str, answer: Answer<T>) -> anyhow::Result<T> {
    answer.map_err(|failure| match failure {
        Failure::Refused(reply) => anyhow!("{what}: {} {}", reply.status, reply.body),
        Failure::Unreachable(e) => anyhow!("{what}: {e}"),
    })
}

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::EUR)
}

/// A product's flat characteristics, as `POST /v1/products` takes them.
fn attributes(pairs: &[(&str, &str)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect())
}

fn position(lat: f64, lon: f64) -> Position {
    Position { lat, lon }
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
    let c = Market {
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
        let union = NewUnion { name: format!("{region} mart union"), region: region.into() };
        let union = answered("adding a union", c.broker(op).create_union(&union).await)?.id.into_string();
        unions.push((region, union, lat, lon));
        c.node(NodeBody {
            kind: NodeKind::Master,
            name: format!("{region} master warehouse"),
            region: region.into(),
            position: position(lat, lon),
            rank: None,
            owner: None,
        })
        .await?;
        for rank in 1..=2 {
            c.node(NodeBody {
                kind: NodeKind::Branch,
                name: format!("{region} branch {rank}"),
                region: region.into(),
                position: position(lat + 0.1 * rank as f64, lon - 0.1 * rank as f64),
                rank: Some(rank),
                owner: None,
            })
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
        let made =
            NewManufacturer { name: maker.to_string(), email: email.clone(), password: password.clone(), region: None };
        let maker_id =
            answered("adding a manufacturer", c.broker(op).create_manufacturer(&made).await)?.id.into_string();
        credentials.insert(
            format!("manufacturer {maker}"),
            json!({"id": maker_id, "email": email, "password": password, "signs_in_at": c.broker}),
        );
        let token = c.sign_in(&email, &password).await?;
        let region = REGIONS[m].0;
        let node = c
            .node(NodeBody {
                kind: NodeKind::Manufacturer,
                name: format!("{maker} plant"),
                region: region.into(),
                position: position(REGIONS[m].1 - 1.0, REGIONS[m].2 + 1.0),
                rank: None,
                owner: Some(maker_id.clone()),
            })
            .await?;
        for (k, (kind, _category, variants)) in KINDS.iter().enumerate().filter(|(k, _)| k % 3 == m) {
            for (v, variant) in variants.iter().enumerate() {
                for model in 0..12 {
                    let price = 500 + (k as i64 * 300) + (v as i64 * 120) + model as i64 * 35;
                    let compatible: Vec<String> = if *kind == "toner" { vec![PRINTER.into()] } else { vec![] };
                    let model_name = format!("{}-{}", &kind[..2], 100 + model);
                    let product = NewProduct {
                        name: format!("{maker} {kind} {variant} {}", 100 + model),
                        kind: kind.to_string(),
                        attributes: Some(attributes(&[("variant", variant), ("model", &model_name), ("maker", maker)])),
                        list_price: eur(price),
                        manufacturer_id: None,
                        requires_approval: model == 11,
                        backorder_days: None,
                        compatible_with: compatible,
                    };
                    let added = c.broker(Some(&token)).create_product(&product).await;
                    let product = answered("adding a product", added)?.id.into_string();
                    c.stock(&node, &product, 500).await?;
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
        let seller = NewSeller { name: format!("Seller {s}"), email: email.clone(), password: password.clone() };
        let seller = answered("adding a seller", c.broker(None).register_seller(&seller).await)?.id;
        credentials.insert(
            format!("seller {s}"),
            json!({"id": seller, "email": email, "password": password, "signs_in_at": c.broker}),
        );
        let token = c.sign_in(&email, &password).await?;
        let own = c.broker(Some(&token));
        for n in 0..2 {
            let u = (s + n) % unions.len();
            let (region, union, lat, lon) = &unions[u];
            let category = CATEGORIES[(s + n) % CATEGORIES.len()];
            let store = NewStoreBody {
                name: format!("{region} {category} store {s}{n}"),
                union_id: union.clone(),
                category: category.into(),
            };
            let store = answered("opening a store", own.create_store(&store).await)?.id.into_string();
            let node = c
                .node(NodeBody {
                    kind: NodeKind::Seller,
                    name: format!("store {s}{n} back room"),
                    region: region.to_string(),
                    position: position(lat + 0.05, lon + 0.05),
                    rank: None,
                    owner: Some(store.clone()),
                })
                .await?;
            let mut stocked = Vec::new();
            let mut offered = Vec::new();
            for (i, (product, kind, price)) in products.iter().enumerate() {
                let fits = KINDS.iter().any(|(k, cat, _)| k == kind && *cat == category);
                if !fits || (i + s) % 2 == 1 {
                    continue;
                }
                let sellable = (i + s + n) % 9 != 0;
                let stock = if (i + s) % 7 == 0 { 0 } else { 5 + ((i * 13 + s) % 40) as i64 };
                let offer = OfferBody {
                    price: eur(price + ((s as i64 - 2) * 15)),
                    stock,
                    sellable,
                    reason: None,
                    union_fulfilment: false,
                    requires_price_confirmation: (i + s) % 11 == 0,
                    reserve_threshold: None,
                };
                answered("offering a product", own.put_offer(&store, product, &offer).await)?;
                offered.push(product.clone());
                if stock > 0 {
                    c.stock(&node, product, stock).await?;
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
            let offer = OfferBody {
                price: eur(price),
                stock: 0,
                sellable: true,
                reason: None,
                union_fulfilment: true,
                requires_price_confirmation: false,
                reserve_threshold: None,
            };
            answered("a union's offer", c.broker(Some(token)).put_offer(&short.id, &product, &offer).await)?;
        }
    }

    // Office stores price their first few toners lower for owners of the demo printer and
    // for buyers with collection points.
    for store in stores.iter().filter(|st| st.category == "office") {
        let seller = c.broker(Some(&sellers[store.seller].2));
        let toners = store.stocked.iter().filter(|(p, _)| products.iter().any(|(q, k, _)| q == p && *k == "toner"));
        for (product, price) in toners.take(3) {
            for (group, off) in [(Group::Equipment(PRINTER.into()), 10), (Group::MinPoints(100), 5)] {
                let price =
                    GroupPrice { product_id: ProductId::parse(product)?, group, price: eur(price * (100 - off) / 100) };
                answered("a group price", seller.put_group_price(&store.id, &price).await)?;
            }
        }
    }

    // A pseudonymous buyer who owns the demo printer.
    let (handle, password) = ("demo.buyer", "demo-buyer-password");
    let account = NewBuyer { handle: handle.into(), password: password.into() };
    answered("registering the buyer", c.broker(None).register(&account).await)?;
    let buyer = answered("the buyer signing in", c.broker(None).sign_in(&account).await)?.access_token;
    let equipment = EquipmentBody { equipment: vec![PRINTER.into()] };
    answered("the buyer's equipment", c.broker(Some(&buyer)).set_equipment(&equipment).await)?;
    credentials.insert(
        "buyer".into(),
        json!({"handle": handle, "password": password, "signs_in_at": c.broker, "equipment": [PRINTER]}),
    );

    for (i, (region, ..)) in REGIONS.iter().enumerate() {
        let email = format!("courier{i}@demo.example.org");
        let password = format!("demo-courier-{i}-password");
        let courier = CourierBody {
            name: format!("{region} courier"),
            email: email.clone(),
            password: password.clone(),
            region: None,
        };
        let courier = answered("adding a courier", c.delivery(op).create_courier(&courier).await)?.id;
        credentials.insert(
            format!("courier {region}"),
            json!({"id": courier, "email": email, "password": password, "signs_in_at": c.delivery}),
        );
    }
    // One operator who may do everything the console offers but decide disputes.
    let (email, password) = ("operator@demo.example.org", "demo-operator-password");
    let roles = vec![OperatorRole::Admin, OperatorRole::Support, OperatorRole::Finance, OperatorRole::Arbiter];
    let account = NewOperator { name: "Demo operator".into(), email: email.into(), password: password.into(), roles };
    let operator = answered("adding the operator", c.admin().create_operator(&account).await)?.id;
    credentials.insert(
        "operator".into(),
        json!({"id": operator, "email": email, "password": password, "roles": ["admin", "support", "finance"],
               "signs_in_at": format!("{}/console", c.broker)}),
    );

    let partner = NewPartner { name: "Demo Pay (not a real payment partner)".into(), webhook_url: None };
    let partner = answered("adding the partner", c.settlement(op).create_partner(&partner).await)?;
    credentials.insert("payment partner Demo Pay".into(), serde_json::to_value(&partner)?);

    // Payout accounts last: settlement hears of each store through the broker's outbox,
    // and a change needs a sign-in minutes old, so each seller signs in again right
    // before. Remittances to a new account wait out `[settings.payouts]
    // account_hold_hours`: 72 by default, none under `up --demo` unless configured.
    for (s, (email, password, _)) in sellers.iter().enumerate() {
        let fresh = c.sign_in(email, password).await?;
        for (n, store) in stores.iter().filter(|st| st.seller == s).enumerate() {
            let account = PayoutAccountBody { holder: format!("Seller {s} Ltd"), iban: demo_iban(s * 2 + n) };
            c.payout_account(&fresh, &store.id, &account).await?;
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
