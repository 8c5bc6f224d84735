//! A whole checkout across the three services, and what each party can and cannot see
//! once it is done.

use crate::helpers::{json_of, money, postgres_admin_url, TestMarket};
use serde_json::{json, Value};
use shared::config::ServiceName;

pub const ADDRESS_LINE: &str = "17 Quiet Privacy Lane";
pub const RECIPIENT: &str = "Ada Recipientname";

/// What a checkout leaves behind, for the assertions.
pub struct Done {
    pub order_id: String,
    pub capability: String,
    pub seller_id: String,
    pub seller_token: String,
    pub store_id: String,
    pub api_key: String,
    pub courier_token: String,
}

/// A courier account, signed in: its access token.
pub async fn courier(m: &TestMarket, name: &str, email: &str) -> String {
    let password = "courier password 1";
    let body = json!({"name": name, "email": email, "password": password});
    m.post(&format!("{}/v1/couriers", m.delivery), Some(&m.operator), body).await.expect(201);
    let login = json!({"email": email, "password": password});
    let session = m.post(&format!("{}/v1/sessions", m.delivery), None, login).await.expect(200);
    json_of(&session, "access_token")
}

/// A payment partner's API key.
pub async fn partner_key(m: &TestMarket) -> String {
    let body = json!({"name": "Pay Co"});
    let partner = m.post(&format!("{}/v1/partners", m.settlement), Some(&m.operator), body).await.expect(201);
    json_of(&partner, "api_key")
}

/// The partner pays the order in full, retrying with the same key while settlement has
/// not heard of the order yet; the first 201 answer.
pub async fn pay(m: &TestMarket, api_key: &str, order_id: &str, price: i64, reference: &str) -> Value {
    let key = format!("pay-{order_id}");
    let payment = json!({"order_id": order_id, "amount": money(price), "partner_reference": reference});
    m.eventually("settlement to know the order", || {
        let (payment, key) = (payment.clone(), key.clone());
        async move {
            let a = m
                .call(
                    reqwest::Method::POST,
                    &format!("{}/v1/payments", m.settlement),
                    Some(api_key),
                    Some(&payment),
                    &[("Idempotency-Key", &key)],
                )
                .await;
            (a.status.as_u16() == 201).then_some(a.body)
        }
    })
    .await
}

pub async fn checkout(m: &TestMarket, price: i64) -> Done {
    let union = m.create_union("North union", "north").await;
    let (seller_id, seller_token) = m.create_seller("Northern Toner Ltd").await;
    let store_id = m.create_store(&seller_token, &union, "Toner corner", "office").await;
    let product = m.create_product(&m.operator, "Toner T-1", "toner", json!({"colour": "black"}), price).await;
    m.put_offer(&seller_token, &store_id, &product, price, 5, true, json!({})).await;

    let node = m
        .post(
            &format!("{}/v1/nodes", m.delivery),
            Some(&m.operator),
            json!({"kind": "branch", "name": "North 1", "region": "north", "position": {"lat": 53.5, "lon": 10.0}, "rank": 1}),
        )
        .await
        .expect(201);
    let node = json_of(&node, "id");
    m.put(&format!("{}/v1/nodes/{node}/inventory/{product}", m.delivery), Some(&m.operator), json!({"quantity": 3}))
        .await
        .expect(200);
    let courier = courier(m, "Cora", "cora@couriers.example").await;
    let api_key = partner_key(m).await;

    // The buyer: search, select, order, give the address straight to delivery.
    let found = m.get(&format!("{}/v1/search?kind=toner&attr.colour=black", m.broker), None).await.expect(200);
    assert_eq!(found["results"][0]["store_id"], store_id.as_str());
    assert_eq!(m.select(&store_id, &product, 1).await["sellable"], true);
    let order = m
        .post(
            &format!("{}/v1/orders", m.broker),
            None,
            json!({"store_id": store_id, "product_id": product, "quantity": 1, "expected_price": money(price)}),
        )
        .await
        .expect(201);
    let order_id = json_of(&order, "order_id");
    let capability = json_of(&order, "capability");
    assert_eq!(order["amount"], money(price));
    assert_eq!(order["store"]["name"], "Toner corner");
    let address = json!({"name": RECIPIENT, "line1": ADDRESS_LINE, "city": "Northtown", "postal_code": "20095",
                         "region": "north", "country": "DE"});
    m.put(&format!("{}/v1/shipments/{order_id}/address", m.delivery), Some(&capability), address).await.expect(204);

    // The partner pays (retrying while settlement has not heard of the order yet).
    let paid = pay(m, &api_key, &order_id, price, "ref-1").await;
    assert_eq!(paid["status"], "captured", "{paid}");

    // Delivery routes it; the courier sees a shipment, never the order.
    let shipment = m
        .eventually("the shipment to be routed", || async {
            let a = m.get(&format!("{}/v1/shipments/{order_id}", m.delivery), Some(&capability)).await;
            (a.status.as_u16() == 200 && a.body["status"] == "routed").then_some(a.body)
        })
        .await;
    let shipment_id = json_of(&shipment, "shipment_id");
    let listed = m.get(&format!("{}/v1/courier/shipments", m.delivery), Some(&courier)).await.expect(200);
    let listed_text = listed.to_string();
    assert!(listed_text.contains(&shipment_id), "{listed}");
    assert!(!listed_text.contains(&order_id), "a courier's list shows no order id: {listed}");
    for event in ["picked_up", "delivered"] {
        m.post(
            &format!("{}/v1/courier/shipments/{shipment_id}/events", m.delivery),
            Some(&courier),
            json!({"type": event}),
        )
        .await
        .expect(200);
    }
    m.eventually("escrow to be released", || async {
        let a = m.get(&format!("{}/v1/orders/{order_id}/settlement", m.settlement), Some(&capability)).await;
        (a.body["status"] == "released").then_some(())
    })
    .await;
    m.eventually("the broker to see the delivery", || async {
        let a = m.get(&format!("{}/v1/orders/{order_id}", m.broker), Some(&capability)).await;
        (a.body["status"] == "delivered").then_some(())
    })
    .await;
    Done { order_id, capability, seller_id, seller_token, store_id, api_key, courier_token: courier }
}

#[tokio::test]
async fn a_complete_checkout_releases_escrow_to_the_store_less_the_fee() {
    let m = TestMarket::spawn().await;
    let done = checkout(&m, 10_000).await;

    let settlement = m
        .get(&format!("{}/v1/orders/{}/settlement", m.settlement, done.order_id), Some(&done.capability))
        .await
        .expect(200);
    assert_eq!(settlement["expected"], money(10_000));
    assert_eq!(settlement["paid"], money(10_000));
    // 3 % marketplace fee: 300 of 10 000.
    let balance = m
        .get(&format!("{}/v1/seller/balance?store_id={}", m.settlement, done.store_id), Some(&done.seller_token))
        .await
        .expect(200);
    assert_eq!(balance["available"], money(9_700), "{balance}");
    assert_eq!(balance["escrow"], money(0), "{balance}");
    let trial = m.get(&format!("{}/v1/ledger/trial-balance", m.settlement), Some(&m.operator)).await.expect(200);
    assert_eq!(trial["total_debits"], trial["total_credits"], "{trial}");

    let shipment =
        m.get(&format!("{}/v1/shipments/{}", m.delivery, done.order_id), Some(&done.capability)).await.expect(200);
    assert_eq!(shipment["delivered"], true);
}

#[tokio::test]
async fn after_a_checkout_no_party_can_tie_buyer_address_and_purchase_together() {
    let m = TestMarket::spawn().await;
    let done = checkout(&m, 2_500).await;

    // The salesperson's views: a per-order handle, the shipment's status, nothing else.
    let orders = m.get(&format!("{}/v1/seller/orders", m.broker), Some(&done.seller_token)).await.expect(200);
    let order = orders["orders"].as_array().unwrap().iter().find(|o| o["order_id"] == done.order_id.as_str()).unwrap();
    assert!(order["buyer_handle"].as_str().is_some_and(|h| !h.is_empty()));
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
    let email = format!("{}@sellers.example", shared::ids::random_hex128());
    let password = "correct horse battery";
    m.post(
        &format!("{}/v1/sellers", m.broker),
        None,
        json!({"name": "Back Room Ltd", "email": email, "password": password}),
    )
    .await
    .expect(201);
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
    let node = json_of(&node, "id");

    // The salesperson counts their node's stock from the desk, once delivery knows the store.
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_in = c
        .post(format!("{}/seller/sign-in", m.broker))
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", email.as_str()), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    m.eventually("delivery to know the store's owner", || async {
        let a = m.get(&format!("{}/v1/seller/nodes", m.delivery), Some(&seller_token)).await;
        (a.body["nodes"].as_array().is_some_and(|n| n.len() == 1)).then_some(())
    })
    .await;
    let set = c
        .post(format!("{}/seller/nodes/{node}/stock", m.broker))
        .header("sec-fetch-site", "same-origin")
        .header("cookie", &cookie)
        .form(&[("product_id", product.as_str()), ("quantity", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 303);
    let inventory = format!("{}/v1/nodes/{node}/inventory/{product}", m.delivery);
    assert_eq!(m.get(&inventory, Some(&m.operator)).await.expect(200)["quantity"], 2);

    // The buyer orders and pays; delivery routes from the seller's node and waits for them.
    let order = m
        .post(
            &format!("{}/v1/orders", m.broker),
            None,
            json!({"store_id": store_id, "product_id": product, "quantity": 1}),
        )
        .await
        .expect(201);
    let (order_id, capability) = (json_of(&order, "order_id"), json_of(&order, "capability"));
    let address = json!({"name": RECIPIENT, "line1": ADDRESS_LINE, "city": "Southtown", "postal_code": "08001",
                         "region": "south", "country": "ES"});
    m.put(&format!("{}/v1/shipments/{order_id}/address", m.delivery), Some(&capability), address).await.expect(204);
    let api_key = partner_key(&m).await;
    let paid = pay(&m, &api_key, &order_id, price, "ref-own-node").await;
    assert_eq!(paid["status"], "captured", "{paid}");
    let tracking = m
        .eventually("the shipment to wait for the goods issue", || async {
            let a = m.get(&format!("{}/v1/shipments/{order_id}", m.delivery), Some(&capability)).await;
            (a.body["legs"][0]["status"] == "awaiting_goods_issue").then_some(a.body)
        })
        .await;
    let shipment = json_of(&tracking, "shipment_id");
    assert_eq!(tracking["legs"][0]["from_node"], node.as_str());

    // The desk lists the goods to issue without the buyer, order or address.
    let desk = c.get(format!("{}/seller", m.broker)).header("cookie", &cookie).send().await.unwrap();
    let desk = desk.text().await.unwrap();
    let issue_action = format!("/seller/dispatches/{shipment}/goods-issue");
    assert!(desk.contains("seller-dispatches") && desk.contains(&issue_action), "{desk}");
    assert!(!desk.contains(ADDRESS_LINE) && !desk.contains(RECIPIENT) && !desk.contains(&capability));
    let issued = c
        .post(format!("{}{issue_action}", m.broker))
        .header("sec-fetch-site", "same-origin")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status().as_u16(), 303);

    // The courier now takes it to the buyer, and the escrow is released to the store.
    let courier = courier(&m, "Sam", "sam@couriers.example").await;
    for event in ["picked_up", "delivered"] {
        m.post(
            &format!("{}/v1/courier/shipments/{shipment}/events", m.delivery),
            Some(&courier),
            json!({"type": event}),
        )
        .await
        .expect(200);
    }
    m.eventually("escrow to be released", || async {
        let a = m.get(&format!("{}/v1/orders/{order_id}/settlement", m.settlement), Some(&capability)).await;
        (a.body["status"] == "released").then_some(())
    })
    .await;
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
    let node = m
        .post(
            &format!("{}/v1/nodes", m.delivery),
            Some(&m.operator),
            json!({"kind": "branch", "name": "North 1", "region": "north", "position": {"lat": 53.5, "lon": 10.0}, "rank": 1}),
        )
        .await
        .expect(201);
    let node = json_of(&node, "id");
    let inventory = format!("{}/v1/nodes/{node}/inventory/{product}", m.delivery);
    m.put(&inventory, Some(&m.operator), json!({"quantity": 3})).await.expect(200);
    let courier = courier(&m, "Rae", "rae@couriers.example").await;
    let api_key = partner_key(&m).await;

    // Two paid and routed orders.
    let mut placed = Vec::new();
    for i in 0..2 {
        let order = m
            .post(
                &format!("{}/v1/orders", m.broker),
                None,
                json!({"store_id": store_id, "product_id": product, "quantity": 1}),
            )
            .await
            .expect(201);
        let (order_id, capability) = (json_of(&order, "order_id"), json_of(&order, "capability"));
        let address = json!({"name": RECIPIENT, "line1": ADDRESS_LINE, "city": "Northtown", "postal_code": "20095",
                             "region": "north", "country": "DE"});
        m.put(&format!("{}/v1/shipments/{order_id}/address", m.delivery), Some(&capability), address).await.expect(204);
        let paid = pay(&m, &api_key, &order_id, price, &format!("ref-{i}")).await;
        assert_eq!(paid["status"], "captured", "{paid}");
        let tracking = m
            .eventually("the shipment to be routed", || async {
                let a = m.get(&format!("{}/v1/shipments/{order_id}", m.delivery), Some(&capability)).await;
                (a.body["status"] == "routed").then_some(a.body)
            })
            .await;
        placed.push((order_id, capability, json_of(&paid, "payment_id"), json_of(&tracking, "shipment_id")));
    }
    assert_eq!(m.get(&inventory, Some(&m.operator)).await.expect(200)["quantity"], 1);
    let refund = |payment_id: String| {
        let (m, api_key) = (&m, api_key.clone());
        async move {
            m.call(
                reqwest::Method::POST,
                &format!("{}/v1/refunds", m.settlement),
                Some(&api_key),
                Some(&json!({"payment_id": payment_id, "amount": money(price), "reason": "buyer changed their mind"})),
                &[("Idempotency-Key", &format!("refund-{payment_id}"))],
            )
            .await
            .expect(201)
        }
    };

    // The first is refunded before pickup: the shipment stops and the unit is back.
    let (order_id, capability, payment_id, shipment) = &placed[0];
    refund(payment_id.clone()).await;
    m.eventually("delivery to stop the shipment", || async {
        let a = m.get(&format!("{}/v1/shipments/{order_id}", m.delivery), Some(capability)).await;
        (a.body["status"] == "cancelled").then_some(())
    })
    .await;
    assert_eq!(m.get(&inventory, Some(&m.operator)).await.expect(200)["quantity"], 2);
    let event = format!("{}/v1/courier/shipments/{shipment}/events", m.delivery);
    m.post(&event, Some(&courier), json!({"type": "picked_up"})).await.expect_problem(409, "invalid_transition");

    // The second is picked up first: the refund goes through, the goods go on.
    let (order_id, capability, payment_id, shipment) = &placed[1];
    let event = format!("{}/v1/courier/shipments/{shipment}/events", m.delivery);
    m.post(&event, Some(&courier), json!({"type": "picked_up"})).await.expect(200);
    refund(payment_id.clone()).await;
    m.eventually("the broker to see the refund", || async {
        let a = m.get(&format!("{}/v1/orders/{order_id}/settlement", m.settlement), Some(capability)).await;
        (a.body["status"] == "refunded").then_some(())
    })
    .await;
    let tracking = m.get(&format!("{}/v1/shipments/{order_id}", m.delivery), Some(capability)).await.expect(200);
    assert_eq!(tracking["status"], "in_transit", "{tracking}");
    assert_eq!(m.get(&inventory, Some(&m.operator)).await.expect(200)["quantity"], 2);
}
