//! `marketplace tour`: starts the three services in this process on free ports with fresh
//! SQLite databases and a small demo market, plays one purchase from search to remittance
//! through the public APIs (and a second one through a dispute the arbiter decides), then
//! prints who knows what about it: party by party (what each can read from the
//! marketplace) and database by database (every stored value, read back). The table is computed from those answers and rows, not written by hand.

use crate::demo::answered;
use anyhow::{anyhow, Context};
use client::admin::{Admin, NewOperator};
use client::broker::accounts::{Credentials, NewSeller};
use client::broker::catalog::{NewProduct, NewUnion, OfferBody, SelectionBody};
use client::broker::disputes::{ArbiterDecision, DisputeReason, OpenDispute, Outcome, StoreAction, StoreResponse};
use client::broker::orders::PlaceOrder;
use client::broker::stores::NewStoreBody;
use client::broker::Broker;
use client::delivery::{
    AddressInput, CourierBody, Delivery, EventBody, InventoryBody, LoginBody, NodeBody, ShipmentStatus,
};
use client::settlement::{NewPartner, OrderStatus as SettlementStatus, PaymentBody, PayoutAccountBody, Settlement};
use client::Api;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use shared::auth::OperatorRole;
use shared::config::{Config, ServiceName};
use shared::ids::ProductId;
use shared::money::{Currency, Money};
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

fn money(amount: i64) -> Money {
    Money::new(amount, Currency::EUR)
}

/// An answer as the API wrote it (JSON), to look for what it gives away.
fn shown<T: serde::Serialize>(answer: &T) -> String {
    serde_json::to_string(answer).unwrap_or_default()
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
    let broker = |token: Option<&str>| Broker::new(Api::new(b.clone()).bearer(token.map(str::to_string)));
    let settlement = |token: Option<&str>| Settlement::new(Api::new(s.clone()).bearer(token.map(str::to_string)));
    let delivery = |token: Option<&str>| Delivery::new(Api::new(d.clone()).bearer(token.map(str::to_string)));
    println!("Starting broker {b}, settlement {s}, delivery {d} with a small demo market.\n");

    // The market: a union with two stores (A cannot sell the toner, B can), a node with
    // stock, a courier, a payment partner.
    let union = NewUnion { name: "North union".into(), region: "north".into() };
    let union = answered("creating the union", broker(op).create_union(&union).await)?.id;
    let mut sellers = Vec::new();
    for (name, n) in [("Anton Seller KG", "a"), (SELLER_NAME, "b")] {
        let (email, password) = (format!("seller-{n}@tour.example"), "tour password 1".to_string());
        let seller = NewSeller { name: name.into(), email: email.clone(), password: password.clone() };
        answered("registering a seller", broker(None).register_seller(&seller).await)?;
        let session = answered("signing in", broker(None).sign_in_account(&Credentials { email, password }).await)?;
        sellers.push(session.access_token);
    }
    let mut stores = Vec::new();
    for (name, seller) in [("Corner A", &sellers[0]), (STORE, &sellers[1])] {
        let store = NewStoreBody { name: name.into(), union_id: union.to_string(), category: "office".into() };
        stores.push(answered("opening a store", broker(Some(seller)).create_store(&store).await)?.id);
    }
    let (store_a, store_b) = (stores[0].to_string(), stores[1].to_string());
    let new_product = NewProduct {
        name: PRODUCT.into(),
        kind: "toner".into(),
        attributes: Some(serde_json::Value::Object([("colour".to_string(), "black".into())].into_iter().collect())),
        list_price: money(PRICE),
        manufacturer_id: None,
        requires_approval: false,
        backorder_days: None,
        compatible_with: Vec::new(),
    };
    let product = answered("adding the product", broker(op).create_product(&new_product).await)?.id.into_string();
    for (store, seller, price, sellable) in
        [(&store_a, &sellers[0], PRICE - 100, false), (&store_b, &sellers[1], PRICE, true)]
    {
        let offer = OfferBody {
            price: money(price),
            stock: 5,
            sellable,
            reason: None,
            union_fulfilment: false,
            requires_price_confirmation: false,
            reserve_threshold: None,
        };
        answered("offering the product", broker(Some(seller)).put_offer(store, &product, &offer).await)?;
    }
    // Settlement hears of the new store through the broker's outbox.
    let account = PayoutAccountBody { holder: SELLER_NAME.into(), iban: IBAN.into() };
    eventually("settlement to know the store", || {
        let (seller, store, account) = (settlement(Some(&sellers[1])), &store_b, &account);
        async move { Ok(seller.set_payout_account(store, account).await.ok().map(|_| ())) }
    })
    .await?;
    let node = NodeBody::branch("North 1", "north", (53.5, 10.0), 1);
    let node = answered("adding a node", delivery(op).create_node(&node).await)?.id.into_string();
    answered("counting stock", delivery(op).set_stock(&node, &product, &InventoryBody { quantity: 5 }).await)?;
    let (email, password) = ("cora@tour.example".to_string(), "tour password 2".to_string());
    let cora = CourierBody { name: "Cora".into(), email: email.clone(), password: password.clone(), region: None };
    answered("adding the courier", delivery(op).create_courier(&cora).await)?;
    let courier = answered("the courier signing in", delivery(None).sign_in(&LoginBody { email, password }).await)?;
    let courier = courier.access_token;
    let partner = NewPartner { name: "Tour Pay".into(), webhook_url: None };
    let api_key = answered("adding the partner", settlement(op).create_partner(&partner).await)?.api_key;

    // The purchase.
    let found = answered("searching", broker(None).search("kind=toner&attr.colour=black").await)?;
    println!(
        "1. buyer searches `toner, colour=black`: {} offer(s), first at {}",
        found.results.len(),
        found.results.first().map(|hit| shown(&hit.store_name)).unwrap_or_else(|| "null".into())
    );
    let choice = SelectionBody { product_id: product.clone(), quantity: 1 };
    let sel = answered("selecting", broker(None).select(&store_a, &choice).await)?;
    println!(
        "2. buyer selects it at Corner A: sellable={}, reason={}, alternatives: {}",
        sel.sellable,
        shown(&sel.reason),
        sel.alternatives.iter().map(|x| shown(&x.store_name)).collect::<Vec<_>>().join(", ")
    );
    // The alternative's signed referral token earns Corner A its referral fee.
    let referral = sel.alternatives.first().and_then(|a| a.referral.clone());
    let order = PlaceOrder {
        store_id: stores[1].clone(),
        product_id: ProductId::parse(&product)?,
        quantity: 1,
        referral,
        referral_store_id: None,
        expected_price: Some(money(PRICE)),
        contact: None,
        points: None,
    };
    let order_body = order;
    let order = answered("ordering", broker(None).place_unkeyed(&order_body).await)?;
    let (order_id, capability) = (order.order_id.to_string(), order.capability);
    println!("3. buyer orders at {STORE} without an account: order {order_id}, receipt code (capability) issued");
    let address = AddressInput {
        name: COLLECTION_CODE.into(),
        line1: ADDRESS_LINE.into(),
        line2: None,
        city: "Northtown".into(),
        postal_code: "20095".into(),
        region: "north".into(),
        country: "DE".into(),
        position: None,
    };
    answered("sending the address", delivery(Some(&capability)).set_address(&order_id, &address).await)?;
    println!("4. buyer sends the address straight to delivery (sealed there)");
    let payment =
        PaymentBody { order_id: order_id.clone(), amount: money(PRICE), partner_reference: "tour-ref-1".into() };
    let paid = eventually("settlement to know the order", || {
        let (partner, payment) = (settlement(Some(&api_key)), &payment);
        async move { Ok(partner.pay(payment, "tour-payment-1").await.ok()) }
    })
    .await?;
    let payment_id = paid.payment_id.to_string();
    println!("5. payment partner pays 42.17 EUR: {} ({payment_id})", shown(&paid.status));
    let shipment = eventually("the shipment to be routed", || {
        let (buyer, order_id) = (delivery(Some(&capability)), &order_id);
        async move {
            let shipment = buyer.shipment(order_id).await.ok();
            Ok(shipment.filter(|s| s.status == ShipmentStatus::Routed))
        }
    })
    .await?;
    let shipment_id = shipment.shipment_id.into_string();
    let cora = delivery(Some(&courier));
    let picked_up = EventBody { kind: "picked_up".into(), reason: None, pin: None };
    answered("picking up", cora.report(&shipment_id, &picked_up).await)?;
    let courier_view = answered("the courier's legs", cora.courier_shipments().await)?;
    let sealed_in_transit = {
        let db = shared::db::Db::open(&config.database_url(ServiceName::Delivery), 1, delivery::MIGRATIONS)?;
        delivery::inspect::sealed_address_exists(&db, &shared::ids::OrderId::parse(&order_id)?)?
    };
    let delivery_in_transit = database_values(&config.database_url(ServiceName::Delivery))?;
    let delivered = EventBody { kind: "delivered".into(), reason: None, pin: shipment.pin.clone() };
    answered("delivering", cora.report(&shipment_id, &delivered).await)?;
    println!("6. courier picks up shipment {shipment_id} (sees the label on the final leg) and delivers it");
    eventually("the buyer to accept the delivered order", || {
        let (buyer, order_id) = (broker(Some(&capability)), &order_id);
        async move {
            match buyer.accept(order_id).await {
                Ok(_) => Ok(Some(())),
                Err(client::Failure::Refused(r)) if r.status == 409 => Ok(None),
                Err(e) => answered("accepting", Err(e)),
            }
        }
    })
    .await?;
    println!("7. the buyer accepts the goods: only now may settlement release the escrow");
    eventually("escrow to be released", || {
        let (buyer, order_id) = (settlement(Some(&capability)), &order_id);
        async move {
            let settled = answered("reading the settlement", buyer.order_settlement(order_id).await)?;
            Ok((settled.status == SettlementStatus::Released).then_some(()))
        }
    })
    .await?;
    let batch = shown(&answered("running the remittances", settlement(op).run_remittances().await)?);
    println!("8. escrow released to {STORE} less the 3 % fee (and 2 % referral to Corner A); remittance batch run: {batch}\n");

    // A second purchase, disputed: the arbiter decides it from a file that names nobody.
    let second = PlaceOrder { referral: None, ..order_body.clone() };
    let second = answered("ordering again", broker(None).place_unkeyed(&second).await)?;
    let (order2, capability2) = (second.order_id.to_string(), second.capability);
    answered("sending the address", delivery(Some(&capability2)).set_address(&order2, &address).await)?;
    let payment2 =
        PaymentBody { order_id: order2.clone(), amount: money(PRICE), partner_reference: "tour-ref-2".into() };
    let paid2 = eventually("settlement to know the second order", || {
        let (partner, payment) = (settlement(Some(&api_key)), &payment2);
        async move { Ok(partner.pay(payment, "tour-payment-2").await.ok()) }
    })
    .await?;
    let shipment2 = eventually("the second shipment to be routed", || {
        let (buyer, order_id) = (delivery(Some(&capability2)), &order2);
        async move { Ok(buyer.shipment(order_id).await.ok().filter(|s| s.status == ShipmentStatus::Routed)) }
    })
    .await?;
    let shipment2_id = shipment2.shipment_id.to_string();
    answered("picking up", cora.report(&shipment2_id, &picked_up).await)?;
    let delivered2 = EventBody { kind: "delivered".into(), reason: None, pin: shipment2.pin.clone() };
    answered("delivering", cora.report(&shipment2_id, &delivered2).await)?;
    let claim = OpenDispute { reason: DisputeReason::Damaged, message: "The cartridge leaks.".into() };
    let dispute = eventually("the broker to know the delivery", || {
        let (buyer, order_id, claim) = (broker(Some(&capability2)), &order2, &claim);
        async move {
            match buyer.open_dispute(order_id, claim).await {
                Ok(d) => Ok(Some(d)),
                Err(client::Failure::Refused(r)) if r.status == 409 => Ok(None),
                Err(e) => answered("disputing", Err(e)),
            }
        }
    })
    .await?;
    let dispute_id = dispute.dispute_id.to_string();
    let contest =
        StoreResponse { action: StoreAction::Contest, refund_percent: None, message: "It left sealed.".into() };
    answered("the store contesting", broker(Some(&sellers[1])).answer_dispute(&dispute_id, &contest).await)?;
    let admin = Admin::new(Api::new(b.clone()).bearer(op.map(str::to_string)));
    let (email, password) = ("arbiter@tour.example".to_string(), "tour password 3".to_string());
    let arbiter = NewOperator {
        name: "Ari".into(),
        email: email.clone(),
        password: password.clone(),
        roles: vec![OperatorRole::Arbiter],
    };
    answered("adding the arbiter", admin.create_operator(&arbiter).await)?;
    let arbiter =
        answered("the arbiter signing in", admin.sign_in(&Credentials { email, password }).await)?.access_token;
    let judge = broker(Some(&arbiter));
    let arbiter_view = vec![
        shown(&answered("the arbiter's queue", judge.dispute_queue(None).await)?),
        shown(&answered("the dispute file", judge.dispute_file(&dispute_id).await)?),
    ];
    let half = ArbiterDecision {
        outcome: Outcome::Split,
        refund: Some(money(PRICE / 2)),
        return_required: false,
        note: "Half, for the leak.".into(),
    };
    answered("the arbiter deciding", judge.decide(&dispute_id, &half).await)?;
    eventually("the split to be executed", || {
        let (buyer, order_id) = (settlement(Some(&capability2)), &order2);
        async move {
            let settled = answered("reading the settlement", buyer.order_settlement(order_id).await)?;
            Ok((settled.status == SettlementStatus::PartiallyRefunded).then_some(()))
        }
    })
    .await?;
    println!("9. a second order is disputed (damaged); the store contests; the arbiter reads the file and splits it");
    println!("   (half back to the buyer, the rest to the store less fees on it)\n");

    // What each party can read.
    let buyer = vec![
        shown(&answered("the buyer's order", broker(Some(&capability)).order(&order_id).await)?),
        shown(&answered("the buyer's settlement", settlement(Some(&capability)).order_settlement(&order_id).await)?),
        shown(&answered("the buyer's shipment", delivery(Some(&capability)).shipment(&order_id).await)?),
    ];
    let seller = broker(Some(&sellers[1]));
    let seller_orders = answered("the seller's orders", seller.seller_orders(50).await)?;
    let handle = seller_orders.orders.first().map(|o| o.buyer_handle.clone()).unwrap_or_default();
    // Delivery holds no seller id: the broker signs the salesperson a view of this order's shipment.
    let view = answered("a shipment view", seller.shipment_view(&order_id).await)?.token;
    let seller_settlement = settlement(Some(&sellers[1]));
    let salesperson = vec![
        shown(&seller_orders),
        shown(&answered("the seller's shipment", delivery(Some(&view)).seller_shipment(&order_id).await)?),
        shown(&answered("the balance", seller_settlement.balance(&store_b).await)?),
        shown(&answered("the remittances", seller_settlement.remittances(&store_b, 50).await)?),
    ];
    let events = answered("the partner's events", settlement(Some(&api_key)).events(0, 100).await)?;
    let partner_view = vec![shown(&paid), shown(&events)];
    let courier_now = answered("the courier's legs", cora.courier_shipments().await)?;

    let facts = vec![
        Fact { label: "order id", needles: vec![order_id.clone(), order2.clone()], exact: None },
        Fact { label: "product", needles: vec![PRODUCT.into(), product.clone()], exact: None },
        Fact { label: "selling store", needles: vec![STORE.into(), store_b.clone()], exact: None },
        Fact { label: "amount (42.17 EUR)", needles: vec![], exact: Some(PRICE.to_string()) },
        Fact { label: "salesperson's legal name", needles: vec![SELLER_NAME.into()], exact: None },
        Fact { label: "store's payout IBAN", needles: vec![IBAN.into()], exact: None },
        Fact { label: "buyer handle (per order)", needles: vec![handle.clone()], exact: None },
        Fact {
            label: "receipt code (capability)",
            needles: vec![capability.clone(), capability2.clone()],
            exact: None,
        },
        Fact { label: "payment id", needles: vec![payment_id.clone(), paid2.payment_id.to_string()], exact: None },
        Fact { label: "shipment id", needles: vec![shipment_id.clone(), shipment2_id.clone()], exact: None },
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
        Holder { name: "buyer".into(), texts: buyer, sealed: vec![] },
        Holder { name: "salesperson".into(), texts: salesperson, sealed: vec![] },
        Holder { name: "payment partner".into(), texts: partner_view, sealed: vec![] },
        Holder { name: "courier".into(), texts: vec![shown(&courier_view), shown(&courier_now)], sealed: vec![] },
        Holder { name: "arbiter".into(), texts: arbiter_view, sealed: vec![] },
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
         the buyer also knows the address they typed, which no service shows back; the arbiter reads the\n\
         second, disputed order's file). Databases: every stored value of every table, read back.\n\
         `sealed`: stored only encrypted with a key only that service holds.\n\
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
