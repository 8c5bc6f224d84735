//! A whole checkout across the three services, and what each party can and cannot see
//! once it is done.

use crate::flows::{address, north_address, SettledAs};
pub use crate::flows::{ADDRESS_LINE, RECIPIENT};
use crate::helpers::{eur, id_of, order_of, post_form, postgres_admin_url, Expect, TestMarket, PASSWORD};
use client::broker::orders::{OrderStatus, PlaceOrder};
use client::delivery::{LegStatus, ShipmentStatus, TrackingView};
use serde_json::{json, Value};
use shared::config::ServiceName;
use shared::ids::{NodeId, OrderId, SellerId, StoreId};

/// What a checkout leaves behind, for the assertions.
pub struct Done {
    pub order_id: OrderId,
    pub capability: String,
    pub seller_id: SellerId,
    pub seller_token: String,
    pub store_id: StoreId,
    pub api_key: String,
    pub courier_token: String,
}

pub async fn checkout(m: &TestMarket, price: i64) -> Done {
    let union = m.create_union("North union", "north").await;
    let (seller_id, seller_token) = m.create_seller("Northern Toner Ltd").await;
    let store_id = m.create_store(&seller_token, &union, "Toner corner", "office").await;
    let product = m.create_product(&m.operator, "Toner T-1", "toner", json!({"colour": "black"}), price).await;
    m.put_offer(&seller_token, &store_id, &product, price, 5, true, json!({})).await;
    m.branch_with_stock(&product, 3).await;
    let courier = m.courier("Cora", "cora@couriers.example").await;
    let api_key = m.partner_key().await;

    // The buyer: search, select, order, give the address straight to delivery.
    let found = m.broker_as(None).search("kind=toner&attr.colour=black").await.done();
    assert_eq!(found.results[0].store_id, store_id);
    assert!(m.select(&store_id, &product, 1).await.sellable);
    let order =
        m.place_order(&PlaceOrder { expected_price: Some(eur(price)), ..order_of(&store_id, &product, 1) }).await;
    let (order_id, capability) = (order.order_id.clone(), order.capability.clone());
    assert_eq!(order.amount, eur(price));
    assert_eq!(order.store.name, "Toner corner");
    m.give_address(&order_id, &capability, &north_address()).await;

    // The partner pays (retrying while settlement has not heard of the order yet).
    m.pay_in_full(&api_key, &order_id, price, "ref-1").await;

    // Delivery routes it; the courier sees a shipment, never the order.
    let shipment_id = m.routed(&order_id, &capability).await.shipment_id;
    let listed = m.delivery_as(Some(&courier)).courier_shipments().await.done();
    assert!(listed.shipments.iter().any(|leg| leg.shipment_id == shipment_id), "{listed:?}");
    // As it goes on the wire, whatever members it has.
    let listed = m.get(&format!("{}/v1/courier/shipments", m.delivery), Some(&courier)).await.expect(200);
    assert!(!listed.to_string().contains(order_id.as_str()), "a courier's list shows no order id: {listed}");
    m.courier_steps(&courier, &shipment_id, &["picked_up", "delivered"]).await;
    // Delivered: the money stays in escrow until the buyer accepts.
    m.broker_shows(&order_id, &capability, OrderStatus::Delivered).await;
    let held = m.settlement_as(Some(&capability)).order_settlement(order_id.as_str()).await.done();
    assert_eq!(held.status, SettledAs::Captured, "{held:?}");
    m.accept_and_complete(&order_id, &capability).await;
    Done { order_id, capability, seller_id, seller_token, store_id, api_key, courier_token: courier }
}

#[tokio::test]
async fn a_complete_checkout_releases_escrow_to_the_store_less_the_fee() {
    let m = TestMarket::spawn().await;
    let done = checkout(&m, 10_000).await;

    let settlement = m.settlement_as(Some(&done.capability)).order_settlement(done.order_id.as_str()).await.done();
    assert_eq!((settlement.expected, settlement.paid), (eur(10_000), eur(10_000)));
    // 3 % marketplace fee: 300 of 10 000.
    let balance = m.settlement_as(Some(&done.seller_token)).balance(done.store_id.as_str()).await.done();
    assert_eq!((balance.available, balance.escrow), (eur(9_700), eur(0)), "{balance:?}");
    m.balanced_trial_balance().await;

    assert!(m.tracking(&done.order_id, &done.capability).await.delivered);
}

#[tokio::test]
async fn after_a_checkout_no_party_can_tie_buyer_address_and_purchase_together() {
    let m = TestMarket::spawn().await;
    let done = checkout(&m, 2_500).await;

    // The salesperson's views: a per-order handle, the shipment's status, nothing else.
    let orders = m.get(&format!("{}/v1/seller/orders", m.broker), Some(&done.seller_token)).await.expect(200);
    let typed = m.broker_as(Some(&done.seller_token)).seller_orders(50).await.done();
    let order = typed.orders.iter().find(|o| o.order_id == done.order_id).unwrap();
    assert!(!order.buyer_handle.is_empty());
    let seller_shipment = m.seller_shipment(&done.order_id, &done.seller_token).await.expect(200);
    for view in [&orders, &seller_shipment] {
        let text = view.to_string();
        for secret in [ADDRESS_LINE, RECIPIENT, "Northtown", "20095", &done.capability] {
            assert!(!text.contains(secret), "a seller's view holds `{secret}`: {text}");
        }
        assert_no_keys(view, &["capability", "address", "line1", "postal_code", "buyer_id", "region", "from_node"]);
    }

    // The broker's and settlement's databases hold no address; delivery's holds it only sealed.
    for service in ServiceName::ALL {
        let dump = database_text(&m, service);
        assert!(!dump.is_empty(), "{service}: nothing read from the database");
        for secret in [ADDRESS_LINE, RECIPIENT, "Northtown"] {
            assert!(!dump.contains(secret), "{service}'s database holds `{secret}` in plain text");
        }
        assert!(!dump.contains(&done.capability), "{service}'s database stores the capability");
    }
}

/// Fails when any object in `v` has one of `keys`.
fn assert_no_keys(v: &Value, keys: &[&str]) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                assert!(!keys.contains(&k.as_str()), "found `{k}` in {v}");
                assert_no_keys(child, keys);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| assert_no_keys(i, keys)),
        _ => {}
    }
}

/// Everything a service's database holds, as text: the SQLite files' bytes (with the
/// write-ahead log), or every row of every table on PostgreSQL.
fn database_text(m: &TestMarket, service: ServiceName) -> String {
    if postgres_admin_url().is_some() {
        return postgres_dump(&m.config.database_url(service));
    }
    let path = m.config.database_url(service);
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
            bytes.extend(b);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn postgres_dump(url: &str) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
    }
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    let mut conn = shared::db::Manager::new(url).establish().expect("connect");
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS table_name FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .load(&mut conn)
    .unwrap();
    let mut out = String::new();
    for t in tables {
        let rows: Vec<Row> =
            diesel::sql_query(format!("SELECT t::text AS row FROM \"{}\" t", t.table_name)).load(&mut conn).unwrap();
        for r in rows {
            out.push_str(&r.row);
            out.push('\n');
        }
    }
    out
}

/// Seed 001 end to end: only the store's own node has the goods, so delivery entrusts
/// the shipment to the salesperson, who issues the goods from the seller desk; the
/// courier then delivers and escrow is released. The store's owner reaches delivery by
/// the broker's own `store_registered` message.
#[tokio::test]
async fn a_store_ships_from_its_own_node_through_the_seller_desk() {
    let m = TestMarket::spawn().await;
    let price = 2_400;
    let union = m.create_union("South union", "south").await;
    let (email, password) = (format!("{}@sellers.example", shared::ids::random_hex128()), PASSWORD);
    m.register_seller("Back Room Ltd", &email).await;
    let seller_token = m.login(&email, password).await;
    let store_id = m.create_store(&seller_token, &union, "Back room", "office").await;
    let product = m.create_product(&m.operator, "Toner T-4", "toner", json!({"colour": "cyan"}), price).await;
    m.put_offer(&seller_token, &store_id, &product, price, 5, true, json!({})).await;
    let node = m
        .post(
            &format!("{}/v1/nodes", m.delivery),
            Some(&m.operator),
            json!({"kind": "seller", "name": "Back room shelf", "region": "south", "owner": store_id,
                   "position": {"lat": 41.0, "lon": 2.0}}),
        )
        .await
        .expect(201);
    let node: NodeId = id_of(&node, "id");

    // The salesperson counts their node's stock from the desk, once delivery knows the store.
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_in = post_form(
        &c,
        format!("{}/seller/sign-in", m.broker),
        None,
        &[("email", email.as_str()), ("password", password)],
    )
    .await;
    assert_eq!(signed_in.status().as_u16(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    m.eventually("delivery to know the store's owner", || async {
        let a = m.get(&format!("{}/v1/seller/nodes", m.delivery), Some(&seller_token)).await;
        (a.body["nodes"].as_array().is_some_and(|n| n.len() == 1)).then_some(())
    })
    .await;
    let set = post_form(
        &c,
        format!("{}/seller/nodes/{node}/stock", m.broker),
        Some(&cookie),
        &[("product_id", product.as_str()), ("quantity", "2")],
    )
    .await;
    assert_eq!(set.status().as_u16(), 303);
    let inventory = format!("{}/v1/nodes/{node}/inventory/{product}", m.delivery);
    assert_eq!(m.get(&inventory, Some(&m.operator)).await.expect(200)["quantity"], 2);

    // The buyer orders and pays; delivery routes from the seller's node and waits for them.
    let order = m.place(&store_id, &product, 1).await;
    let (order_id, capability) = (order.order_id, order.capability);
    m.give_address(&order_id, &capability, &address("Southtown", "08001", "south", "ES")).await;
    let api_key = m.partner_key().await;
    m.pay_in_full(&api_key, &order_id, price, "ref-own-node").await;
    let waiting = |t: &TrackingView| t.legs.first().is_some_and(|l| l.status == LegStatus::AwaitingGoodsIssue);
    let tracking = m.tracking_until("the shipment to wait for the goods issue", &order_id, &capability, waiting).await;
    let shipment = tracking.shipment_id;
    assert_eq!(tracking.legs[0].from_node, node);

    // The desk lists the goods to issue without the buyer, order or address.
    let desk = c.get(format!("{}/seller", m.broker)).header("cookie", &cookie).send().await.unwrap();
    let desk = desk.text().await.unwrap();
    let issue_action = format!("/seller/dispatches/{shipment}/goods-issue");
    assert!(desk.contains("seller-dispatches") && desk.contains(&issue_action), "{desk}");
    assert!(!desk.contains(ADDRESS_LINE) && !desk.contains(RECIPIENT) && !desk.contains(&capability));
    let issued = post_form(&c, format!("{}{issue_action}", m.broker), Some(&cookie), &[]).await;
    assert_eq!(issued.status().as_u16(), 303);

    // The courier now takes it to the buyer, and the escrow is released to the store.
    let courier = m.courier("Sam", "sam@couriers.example").await;
    m.courier_steps(&courier, &shipment, &["picked_up", "delivered"]).await;
    m.accept_and_complete(&order_id, &capability).await;
    assert_eq!(m.get(&inventory, Some(&m.operator)).await.expect(200)["quantity"], 1);

    // The desk links the order to its shipment, which the broker and delivery show
    // together: status only, never the node or the destination.
    let desk = c.get(format!("{}/seller", m.broker)).header("cookie", &cookie).send().await.unwrap();
    let link = format!("/seller/orders/{order_id}/shipment");
    assert!(desk.text().await.unwrap().contains(&link));
    let page = c.get(format!("{}{link}", m.broker)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("seller-shipment") && page.contains("<dd>delivered</dd>"), "{page}");
    for secret in [ADDRESS_LINE, RECIPIENT, "Southtown", node.as_str(), capability.as_str()] {
        assert!(!page.contains(secret), "the seller's shipment page shows {secret}");
    }
    // Another salesperson's desk cannot show it.
    let (_, stranger) = m.create_seller("Nosy Ltd").await;
    assert_eq!(m.seller_shipment(&order_id, &stranger).await.status.as_u16(), 404);
}

/// A partner refunds a captured payment in full before any courier picked the goods up:
/// the shipment stops, its unit goes back on the shelf, and no courier can take it. Once
/// a courier has the goods, a refund no longer stops them.
#[tokio::test]
async fn a_full_refund_before_pickup_stops_the_shipment() {
    let m = TestMarket::spawn().await;
    let price = 1_500;
    let union = m.create_union("North union", "north").await;
    let (_seller, seller_token) = m.create_seller("Refund Toner Ltd").await;
    let store_id = m.create_store(&seller_token, &union, "Refund corner", "office").await;
    let product = m.create_product(&m.operator, "Toner T-6", "toner", json!({"colour": "black"}), price).await;
    m.put_offer(&seller_token, &store_id, &product, price, 5, true, json!({})).await;
    let node = m.branch_with_stock(&product, 3).await;
    let inventory = format!("{}/v1/nodes/{node}/inventory/{product}", m.delivery);
    let courier = m.courier("Rae", "rae@couriers.example").await;
    let api_key = m.partner_key().await;

    // Two paid and routed orders.
    let mut placed = Vec::new();
    for i in 0..2 {
        let order = m.place(&store_id, &product, 1).await;
        let (order_id, capability) = (order.order_id, order.capability);
        m.give_address(&order_id, &capability, &north_address()).await;
        let paid = m.pay_in_full(&api_key, &order_id, price, &format!("ref-{i}")).await;
        let tracking = m.routed(&order_id, &capability).await;
        placed.push((order_id, capability, paid.payment_id, tracking.shipment_id));
    }
    assert_eq!(m.get(&inventory, Some(&m.operator)).await.expect(200)["quantity"], 1);

    // The first is refunded before pickup: the shipment stops and the unit is back.
    let (order_id, capability, payment_id, shipment) = &placed[0];
    m.refund(&api_key, payment_id, price).await.expect(201);
    let stopped = |t: &TrackingView| t.status == ShipmentStatus::Cancelled;
    m.tracking_until("delivery to stop the shipment", order_id, capability, stopped).await;
    assert_eq!(m.get(&inventory, Some(&m.operator)).await.expect(200)["quantity"], 2);
    let event = format!("{}/v1/courier/shipments/{shipment}/events", m.delivery);
    m.post(&event, Some(&courier), json!({"type": "picked_up"})).await.expect_problem(409, "invalid_transition");

    // The second is picked up first: the refund goes through, the goods go on.
    let (order_id, capability, payment_id, shipment) = &placed[1];
    m.courier_steps(&courier, shipment, &["picked_up"]).await;
    m.refund(&api_key, payment_id, price).await.expect(201);
    m.settled(order_id, capability, SettledAs::Refunded).await;
    let tracking = m.tracking(order_id, capability).await;
    assert_eq!(tracking.status, ShipmentStatus::InTransit, "{tracking:?}");
    assert_eq!(m.get(&inventory, Some(&m.operator)).await.expect(200)["quantity"], 2);
}
