//! End-to-end tests: catalog, unions, stores, search, selections with redirection,
//! browsing sessions.

use crate::helpers::{eur, id_of, json_of, money, Expect, TestMarket};
use client::broker::catalog::Alternative;
use reqwest::Method;
use serde_json::{json, Value};
use shared::ids::{ManufacturerId, ProductId, StoreId};
use shared::rules::Unsellable;

/// Two unions; in the north a store that may not sell the drill, one with none left and
/// one that sells it; in the south a cheaper one. The drill's manufacturer takes
/// back-orders.
struct Drills {
    seller_token: String,
    other_token: String,
    product: ProductId,
    manufacturer_store: StoreId,
    manufacturer_id: ManufacturerId,
    blocked: StoreId,
    empty: StoreId,
    able: StoreId,
    far: StoreId,
}

async fn drills(m: &TestMarket) -> Drills {
    let north = m.create_union("North traders", "north").await;
    let south = m.create_union("South traders", "south").await;
    let (_, seller_token) = m.create_seller("Hilda Example").await;
    let (_, other_token) = m.create_seller("Otto Example").await;
    let (manufacturer_id, manufacturer_store, maker) = m.create_manufacturer("Bohr Werke").await;
    let product = m
        .create_product(&maker, "Bohr 800", "Drill", json!({"colour": "Red", "watts": 800, "cordless": false}), 9_900)
        .await;
    let blocked = m.create_store(&seller_token, &north, "Blocked tools", "hardware").await;
    let empty = m.create_store(&seller_token, &north, "Empty tools", "hardware").await;
    let able = m.create_store(&other_token, &north, "Able tools", "hardware").await;
    let far = m.create_store(&other_token, &south, "Far tools", "hardware").await;
    m.put_offer(&seller_token, &blocked, &product, 9_000, 10, false, json!({"reason": "licence"})).await;
    m.put_offer(&seller_token, &empty, &product, 8_800, 0, true, json!({})).await;
    m.put_offer(&other_token, &able, &product, 9_500, 4, true, json!({})).await;
    m.put_offer(&other_token, &far, &product, 8_000, 7, true, json!({})).await;
    Drills { seller_token, other_token, product, manufacturer_store, manufacturer_id, blocked, empty, able, far }
}

fn ids<T: std::str::FromStr>(results: &Value, key: &str) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    results.as_array().unwrap().iter().map(|r| id_of(r, key)).collect()
}

/// The stores a selection sends the buyer to, in order.
fn stores_of(alternatives: &[Alternative]) -> Vec<StoreId> {
    alternatives.iter().map(|a| a.store_id.clone()).collect()
}

#[tokio::test]
async fn search_finds_sellable_offers_with_stock_only() {
    let m = TestMarket::spawn().await;
    let d = drills(&m).await;
    let found = m.get(&format!("{}/v1/search?kind=drill&attr.colour=red", m.broker), None).await.expect(200);
    // Cheapest first; the non-sellable and the empty store are left out.
    assert_eq!(ids::<StoreId>(&found["results"], "store_id"), vec![d.far.clone(), d.able.clone()], "{found}");
    let first = &found["results"][0];
    assert_eq!(first["store_name"], "Far tools");
    assert_eq!(first["product_id"], d.product.as_str());
    assert_eq!(first["price"], money(8_000));
    assert_eq!(first["stock"], 7);

    // Characteristics narrow, in any case; a mismatch finds nothing.
    let none = m.get(&format!("{}/v1/search?kind=drill&attr.colour=blue", m.broker), None).await.expect(200);
    assert!(none["results"].as_array().unwrap().is_empty());
    let two = m
        .get(&format!("{}/v1/search?kind=DRILL&attr.colour=RED&attr.watts=800&attr.cordless=false", m.broker), None)
        .await
        .expect(200);
    assert_eq!(two["results"].as_array().unwrap().len(), 2);

    // Price range, region and category filters; the near region ranks equal prices.
    let ranged = m
        .get(&format!("{}/v1/search?kind=drill&min_price=9000&max_price=9999&currency=EUR", m.broker), None)
        .await
        .expect(200);
    assert_eq!(ids::<StoreId>(&ranged["results"], "store_id"), vec![d.able.clone()]);
    let north = m.get(&format!("{}/v1/search?kind=drill&region=north", m.broker), None).await.expect(200);
    assert_eq!(ids::<StoreId>(&north["results"], "store_id"), vec![d.able.clone()]);
    let groceries = m.get(&format!("{}/v1/search?kind=drill&category=grocery", m.broker), None).await.expect(200);
    assert!(groceries["results"].as_array().unwrap().is_empty());

    // Pagination.
    let page1 = m.get(&format!("{}/v1/search?kind=drill&limit=1", m.broker), None).await.expect(200);
    assert_eq!(ids::<StoreId>(&page1["results"], "store_id"), vec![d.far.clone()]);
    assert_eq!(page1["next_offset"], 1);
    let page2 = m.get(&format!("{}/v1/search?kind=drill&limit=1&offset=1", m.broker), None).await.expect(200);
    assert_eq!(ids::<StoreId>(&page2["results"], "store_id"), vec![d.able.clone()]);
    assert!(page2["next_offset"].is_null());

    // Compatibility with the buyer's equipment narrows too.
    let toner: ProductId = id_of(
        &m.post(
            &format!("{}/v1/products", m.broker),
            Some(&m.operator),
            json!({"name": "Toner T1", "kind": "toner", "attributes": {}, "list_price": money(2_000),
                   "compatible_with": ["Laser-200"]}),
        )
        .await
        .expect(201),
        "id",
    );
    m.put_offer(&d.other_token, &d.able, &toner, 2_000, 3, true, json!({})).await;
    let fits = m.get(&format!("{}/v1/search?kind=toner&compatible=laser-200", m.broker), None).await.expect(200);
    assert_eq!(ids::<ProductId>(&fits["results"], "product_id"), vec![toner.clone()]);
    let misfit = m.get(&format!("{}/v1/search?kind=toner&compatible=laser-2", m.broker), None).await.expect(200);
    assert!(misfit["results"].as_array().unwrap().is_empty());

    // Once the blocked store may sell, it appears.
    m.put_offer(&d.seller_token, &d.blocked, &d.product, 9_000, 10, true, json!({})).await;
    let after = m.get(&format!("{}/v1/search?kind=drill", m.broker), None).await.expect(200);
    assert!(ids::<StoreId>(&after["results"], "store_id").contains(&d.blocked));

    // At equal prices the buyer's region ranks first, then more stock.
    m.put_offer(&d.other_token, &d.able, &d.product, 8_000, 4, true, json!({})).await;
    let url = |near: &str| format!("{}/v1/search?kind=drill&max_price=8000&currency=EUR&near={near}", m.broker);
    let north = m.get(&url("north"), None).await.expect(200);
    assert_eq!(ids::<StoreId>(&north["results"], "store_id"), vec![d.able.clone(), d.far.clone()]);
    let south = m.get(&url("south-munich"), None).await.expect(200);
    assert_eq!(ids::<StoreId>(&south["results"], "store_id"), vec![d.far.clone(), d.able.clone()]);
    let elsewhere = m.get(&url("east"), None).await.expect(200);
    assert_eq!(
        ids::<StoreId>(&elsewhere["results"], "store_id"),
        vec![d.far.clone(), d.able.clone()],
        "more stock first"
    );

    // Bad queries.
    m.get(&format!("{}/v1/search?attr.colour=red", m.broker), None).await.expect_problem(422, "kind_required");
    m.get(&format!("{}/v1/search?kind=drill&min_price=-1&currency=EUR", m.broker), None)
        .await
        .expect_problem(422, "invalid_price_range");
    m.get(&format!("{}/v1/search?kind=drill&min_price=10&currency=XYZ", m.broker), None)
        .await
        .expect_problem(422, "unknown_currency");
}

#[tokio::test]
async fn selections_redirect_record_unmet_demand_and_offer_the_backorder() {
    let m = TestMarket::spawn().await;
    let d = drills(&m).await;

    let sel = m.select(&d.blocked, &d.product, 1).await;
    assert!(!sel.sellable);
    assert_eq!(sel.reason, Some(Unsellable::NonSellable));
    // Same union first, even though the southern store is cheaper.
    assert_eq!(stores_of(&sel.alternatives), vec![d.able.clone(), d.far.clone()], "{sel:?}");
    let first = &sel.alternatives[0];
    assert_eq!((first.store_name.as_str(), first.price, first.stock), ("Able tools", eur(9_500), 4));
    let backorder = sel.backorder.expect("the manufacturer takes back-orders");
    assert_eq!((&backorder.store_id, &backorder.manufacturer_id), (&d.manufacturer_store, &d.manufacturer_id));
    assert_eq!(backorder.price, eur(9_900));
    assert!(backorder.estimated_days > 0);

    let short = m.select(&d.empty, &d.product, 1).await;
    assert_eq!(short.reason, Some(Unsellable::OutOfStock));
    assert_eq!(stores_of(&short.alternatives), vec![d.able.clone(), d.far.clone()]);
    // Five units: only the far store has enough.
    let five = m.select(&d.blocked, &d.product, 5).await;
    assert_eq!(stores_of(&five.alternatives), vec![d.far.clone()]);

    let fine = m.select(&d.able, &d.product, 2).await;
    assert_eq!((fine.sellable, fine.reason), (true, None));
    assert_eq!(fine.price, Some(eur(9_500)));
    assert!(fine.alternatives.is_empty());
    assert!(fine.backorder.is_none());

    // The store's unmet demand: asked twice for a product it may not sell, and it grows.
    let url = format!("{}/v1/seller/stores/{}/unmet-demand", m.broker, d.blocked);
    let demand = m.get(&url, Some(&d.seller_token)).await.expect(200);
    assert_eq!(demand["products"][0]["product_id"], d.product.as_str());
    assert_eq!(demand["products"][0]["product_name"], "Bohr 800");
    assert_eq!(demand["products"][0]["non_sellable"], 2);
    m.select(&d.blocked, &d.product, 1).await;
    let demand = m.get(&url, Some(&d.seller_token)).await.expect(200);
    assert_eq!(demand["products"][0]["non_sellable"], 3);
    let empty = m
        .get(&format!("{}/v1/seller/stores/{}/unmet-demand", m.broker, d.empty), Some(&d.seller_token))
        .await
        .expect(200);
    assert_eq!(empty["products"][0]["out_of_stock"], 1);
    // The able store served every selection: nothing unmet.
    let able = m
        .get(&format!("{}/v1/seller/stores/{}/unmet-demand", m.broker, d.able), Some(&d.other_token))
        .await
        .expect(200);
    assert!(able["products"].as_array().unwrap().is_empty());
    // Another seller cannot read it.
    m.get(&url, Some(&d.other_token)).await.expect_problem(403, "forbidden");

    // Unknown store or product.
    let bad_store = format!("{}/v1/stores/sto_{}/selections", m.broker, "0".repeat(32));
    m.post(&bad_store, None, json!({"product_id": d.product, "quantity": 1})).await.expect_problem(404, "not_found");
    m.post(
        &format!("{}/v1/stores/{}/selections", m.broker, d.able),
        None,
        json!({"product_id": format!("prd_{}", "0".repeat(32)), "quantity": 1}),
    )
    .await
    .expect_problem(404, "not_found");
    m.post(
        &format!("{}/v1/stores/{}/selections", m.broker, d.able),
        None,
        json!({"product_id": d.product, "quantity": 0}),
    )
    .await
    .expect_problem(422, "invalid_quantity");
}

#[tokio::test]
async fn union_fulfilment_keeps_the_sale_at_a_short_store() {
    let m = TestMarket::spawn().await;
    let d = drills(&m).await;
    m.put_offer(&d.seller_token, &d.empty, &d.product, 8_800, 0, true, json!({"union_fulfilment": true})).await;
    let sel = m.select(&d.empty, &d.product, 2).await;
    assert!(sel.sellable, "{sel:?}");
    assert!(sel.union_fulfilment);
    assert_eq!(sel.price, Some(eur(8_800)));
}

#[tokio::test]
async fn roles_are_enforced() {
    let m = TestMarket::spawn().await;
    let d = drills(&m).await;
    let b = &m.broker;
    let union = m.create_union("West", "west").await;
    m.post(&format!("{b}/v1/unions"), Some(&d.seller_token), json!({"name": "x", "region": "y"}))
        .await
        .expect_problem(403, "forbidden");
    m.post(&format!("{b}/v1/unions"), None, json!({"name": "x", "region": "y"}))
        .await
        .expect_problem(401, "unauthorized");
    m.post(
        &format!("{b}/v1/manufacturers"),
        Some(&d.seller_token),
        json!({"name": "x", "email": "x@y.example", "password": "long enough password"}),
    )
    .await
    .expect_problem(403, "forbidden");
    m.post(
        &format!("{b}/v1/products"),
        Some(&d.seller_token),
        json!({"name": "x", "kind": "y", "attributes": {}, "list_price": money(1)}),
    )
    .await
    .expect_problem(403, "forbidden");
    m.post(
        &format!("{b}/v1/products"),
        None,
        json!({"name": "x", "kind": "y", "attributes": {}, "list_price": money(1)}),
    )
    .await
    .expect_problem(401, "unauthorized");
    // The operator may add products too.
    m.create_product(&m.operator, "Plain hammer", "hammer", json!({}), 1_500).await;
    // A manufacturer cannot open a seller's store; anonymous callers neither.
    let (_, maker_store, maker) = m.create_manufacturer("Maker two").await;
    m.post(&format!("{b}/v1/stores"), Some(&maker), json!({"name": "x", "union_id": union, "category": "c"}))
        .await
        .expect_problem(403, "forbidden");
    m.post(&format!("{b}/v1/stores"), None, json!({"name": "x", "union_id": union, "category": "c"}))
        .await
        .expect_problem(401, "unauthorized");
    // Another seller's store: 403, and the offer is unchanged.
    let url = format!("{b}/v1/stores/{}/offers/{}", d.able, d.product);
    m.put(&url, Some(&d.seller_token), json!({"price": money(1), "stock": 1, "sellable": true}))
        .await
        .expect_problem(403, "forbidden");
    let offer = m.get(&url, Some(&d.other_token)).await.expect(200);
    assert_eq!((offer["price"].clone(), offer["stock"].clone()), (money(9_500), json!(4)));
    m.get(&url, Some(&d.seller_token)).await.expect_problem(403, "forbidden");
    m.put(&url, None, json!({"price": money(1), "stock": 1, "sellable": true}))
        .await
        .expect_problem(401, "unauthorized");
    // Unknown store and product: 404.
    let ghost = format!("sto_{}", "a".repeat(32));
    m.put(
        &format!("{b}/v1/stores/{ghost}/offers/{}", d.product),
        Some(&d.seller_token),
        json!({"price": money(1), "stock": 1, "sellable": true}),
    )
    .await
    .expect_problem(404, "not_found");
    m.put(
        &format!("{b}/v1/stores/{}/offers/prd_{}", d.blocked, "b".repeat(32)),
        Some(&d.seller_token),
        json!({"price": money(1), "stock": 1, "sellable": true}),
    )
    .await
    .expect_problem(404, "not_found");
    m.get(&format!("{b}/v1/stores/{ghost}"), None).await.expect_problem(404, "not_found");
    // A manufacturer manages its own store's offers, not another manufacturer's.
    m.put_offer(&maker, &maker_store, &d.product, 9_700, 0, true, json!({})).await;
    m.put(
        &format!("{b}/v1/stores/{}/offers/{}", d.manufacturer_store, d.product),
        Some(&maker),
        json!({"price": money(1), "stock": 1, "sellable": true}),
    )
    .await
    .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn bad_input_is_refused_without_partial_writes() {
    let m = TestMarket::spawn().await;
    let d = drills(&m).await;
    let b = &m.broker;
    let offer_url = format!("{b}/v1/stores/{}/offers/{}", d.able, d.product);
    let refused = [
        (json!({"price": money(-5), "stock": 1, "sellable": true}), 422, "invalid_amount"),
        (json!({"price": money(0), "stock": 1, "sellable": true}), 422, "invalid_amount"),
        (json!({"price": money(100), "stock": -1, "sellable": true}), 422, "invalid_quantity"),
        (json!({"price": money(100), "stock": 1.5, "sellable": true}), 422, "invalid_body"),
        (json!({"price": {"amount": 1.5, "currency": "EUR"}, "stock": 1, "sellable": true}), 422, "invalid_body"),
        (json!({"price": {"amount": 100, "currency": "XYZ"}, "stock": 1, "sellable": true}), 422, "invalid_body"),
        (json!({"price": money(100), "stock": 1, "sellable": true, "reserve_threshold": -2}), 422, "invalid_quantity"),
    ];
    for (body, status, code) in refused {
        m.put(&offer_url, Some(&d.other_token), body.clone()).await.expect_problem(status, code);
    }
    let offer = m.get(&offer_url, Some(&d.other_token)).await.expect(200);
    assert_eq!((offer["price"].clone(), offer["stock"].clone()), (money(9_500), json!(4)), "{offer}");

    // Products: empty names, oversize attribute maps, bad prices. None is stored.
    let many: serde_json::Map<String, Value> = (0..40).map(|i| (format!("k{i}"), json!("v"))).collect();
    let products = [
        (json!({"name": " ", "kind": "saw", "attributes": {}, "list_price": money(10)}), "empty_name"),
        (json!({"name": "Saw", "kind": "", "attributes": {}, "list_price": money(10)}), "empty_name"),
        (json!({"name": "Saw", "kind": "saw", "attributes": many, "list_price": money(10)}), "too_many_attributes"),
        (
            json!({"name": "Saw", "kind": "saw", "attributes": {"a": "x".repeat(300)}, "list_price": money(10)}),
            "invalid_attributes",
        ),
        (
            json!({"name": "Saw", "kind": "saw", "attributes": {"nested": {"a": 1}}, "list_price": money(10)}),
            "invalid_attributes",
        ),
        (json!({"name": "Saw", "kind": "saw", "attributes": {}, "list_price": money(-1)}), "invalid_amount"),
    ];
    for (body, code) in products {
        m.post(&format!("{b}/v1/products"), Some(&m.operator), body).await.expect_problem(422, code);
    }
    // A valid saw with an offer, to prove the refused ones left nothing searchable behind.
    let saw = m.create_product(&m.operator, "Saw", "saw", json!({}), 10).await;
    m.put_offer(&d.other_token, &d.able, &saw, 10, 1, true, json!({})).await;
    let saws = m.get(&format!("{b}/v1/search?kind=saw"), None).await.expect(200);
    assert_eq!(ids::<ProductId>(&saws["results"], "product_id"), vec![saw]);

    // Unions, sellers, stores.
    m.post(&format!("{b}/v1/unions"), Some(&m.operator), json!({"name": "", "region": "x"}))
        .await
        .expect_problem(422, "empty_name");
    let unions = m.get(&format!("{b}/v1/unions?region=x"), None).await.expect(200);
    assert!(unions["unions"].as_array().unwrap().is_empty());
    m.post(&format!("{b}/v1/sellers"), None, json!({"name": "A", "email": "nope", "password": "long enough password"}))
        .await
        .expect_problem(422, "invalid_email");
    m.post(&format!("{b}/v1/sellers"), None, json!({"name": "A", "email": "a@b.example", "password": "short"}))
        .await
        .expect_problem(422, "weak_password");
    let ghost_union = format!("uni_{}", "c".repeat(32));
    m.post(
        &format!("{b}/v1/stores"),
        Some(&d.seller_token),
        json!({"name": "X", "union_id": ghost_union, "category": "c"}),
    )
    .await
    .expect_problem(404, "not_found");
    m.post(&format!("{b}/v1/stores"), Some(&d.seller_token), json!({"name": "X", "union_id": "42", "category": "c"}))
        .await
        .expect_problem(400, "invalid_id");
    let union = m.create_union("West", "west").await;
    m.post(
        &format!("{b}/v1/stores"),
        Some(&d.seller_token),
        json!({"name": "X", "union_id": union, "category": "Manufacturer"}),
    )
    .await
    .expect_problem(422, "reserved_category");
    let mine = m.get(&format!("{b}/v1/seller/stores"), Some(&d.seller_token)).await.expect(200);
    assert_eq!(mine["stores"].as_array().unwrap().len(), 2, "{mine}");
    m.post_raw(&format!("{b}/v1/sellers"), None, "{").await.expect_problem(400, "malformed_json");
}

#[tokio::test]
async fn accounts_log_in_with_their_role_and_stores_reach_settlement() {
    let m = TestMarket::spawn().await;
    let b = &m.broker;
    let body = json!({"name": "Ada", "email": "Ada@Shop.example", "password": "correct horse battery"});
    let seller = json_of(&m.post(&format!("{b}/v1/sellers"), None, body.clone()).await.expect(201), "id");
    m.post(&format!("{b}/v1/sellers"), None, body).await.expect_problem(409, "email_taken");
    let ok = m
        .post(
            &format!("{b}/v1/sessions"),
            None,
            json!({"email": "ada@shop.example", "password": "correct horse battery"}),
        )
        .await
        .expect(200);
    assert_eq!(ok["token_type"], "Bearer");
    assert!(ok["expires_in"].as_i64().unwrap() > 0);
    for wrong in [
        json!({"email": "ada@shop.example", "password": "wrong horse battery"}),
        json!({"email": "nobody@shop.example", "password": "correct horse battery"}),
    ] {
        m.post(&format!("{b}/v1/sessions"), None, wrong).await.expect_problem(401, "unauthorized");
    }
    let token = json_of(&ok, "access_token");
    let union = m.create_union("North", "north").await;
    let store = m.create_store(&token, &union, "Ada's", "books").await;

    // The public view names the store, never the seller.
    let public = m.get(&format!("{b}/v1/stores/{store}"), None).await.expect(200);
    assert_eq!(public["name"], "Ada's");
    assert_eq!(public["category"], "books");
    assert_eq!(public["region"], "north");
    let text = public.to_string();
    assert!(!text.contains(&seller) && !text.contains("ada@shop") && !text.contains("Ada\""), "{text}");

    // Settlement learned the store (store_registered through the outbox): it answers the
    // seller's balance for it.
    let url = format!("{}/v1/seller/balance?store_id={store}", m.settlement);
    m.eventually("settlement to know the store", || async {
        let a = m.get(&url, Some(&token)).await;
        (a.status == 200).then_some(a.body)
    })
    .await;

    // A manufacturer logs in with its own role: it may add products, not stores.
    let (_, maker_store, maker) = m.create_manufacturer("Maker").await;
    m.create_product(&maker, "Widget", "widget", json!({"size": "m"}), 500).await;
    m.post(&format!("{b}/v1/stores"), Some(&maker), json!({"name": "x", "union_id": union, "category": "c"}))
        .await
        .expect_problem(403, "forbidden");
    let own = m.get(&format!("{b}/v1/stores/{maker_store}"), None).await.expect(200);
    assert_eq!(own["category"], "manufacturer");
    assert!(own["union_id"].is_null());
}

#[tokio::test]
async fn stock_movements_reserve_mail_suppliers_and_urgent_prices() {
    let m = TestMarket::spawn().await;
    let d = drills(&m).await;
    let b = &m.broker;
    let store = &d.able;
    let tok = &d.other_token;
    m.put_offer(tok, store, &d.product, 9_500, 5, true, json!({"reserve_threshold": 3})).await;
    let supplier = json_of(
        &m.post(&format!("{b}/v1/seller/stores/{store}/suppliers"), Some(tok), json!({"name": "Bolt & Co"}))
            .await
            .expect(201),
        "id",
    );
    let listed = m.get(&format!("{b}/v1/seller/stores/{store}/suppliers"), Some(tok)).await.expect(200);
    assert_eq!(listed["suppliers"][0]["name"], "Bolt & Co");
    let moves = format!("{b}/v1/seller/stores/{store}/stock-movements");
    let r = m
        .post(
            &moves,
            Some(tok),
            json!({"product_id": d.product, "direction": "in", "quantity": 2, "supplier_id": supplier}),
        )
        .await
        .expect(200);
    assert_eq!(r["stock"], 7);
    assert!(m.mails().iter().all(|t| !t.contains("Reserve reached")));
    let r = m
        .post(&moves, Some(tok), json!({"product_id": d.product, "direction": "out", "quantity": 4}))
        .await
        .expect(200);
    assert_eq!(r["stock"], 3);
    m.eventually("the reserve mail", || async {
        m.mails().iter().any(|t| t.contains("Reserve reached") && t.contains("Bohr 800")).then_some(())
    })
    .await;
    m.post(&moves, Some(tok), json!({"product_id": d.product, "direction": "out", "quantity": 10}))
        .await
        .expect_problem(409, "insufficient_stock");
    m.post(&moves, Some(&d.seller_token), json!({"product_id": d.product, "direction": "out", "quantity": 1}))
        .await
        .expect_problem(403, "forbidden");
    m.post(&moves, Some(tok), json!({"product_id": d.product, "direction": "sideways", "quantity": 1}))
        .await
        .expect_problem(422, "invalid_body");
    let own = m.get(&format!("{b}/v1/seller/stores/{store}/offers"), Some(tok)).await.expect(200);
    assert_eq!(own["offers"][0]["stock"], 3);
    assert_eq!(own["offers"][0]["reserve_threshold"], 3);
    m.get(&format!("{b}/v1/seller/stores/{store}/offers"), Some(&d.seller_token))
        .await
        .expect_problem(403, "forbidden");
    let history = m.get(&moves, Some(tok)).await.expect(200);
    let kinds: Vec<&str> =
        history["movements"].as_array().unwrap().iter().map(|h| h["kind"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..3], ["out", "in", "set"], "{history}");
    assert_eq!(history["movements"][1]["supplier_id"], supplier.as_str());
    assert_eq!(history["movements"][0]["stock_after"], 3);

    // Urgent selling: the lower price holds in search, ranking and selections until it ends.
    let until = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let urgent = format!("{b}/v1/seller/stores/{store}/offers/{}/urgent-price", d.product);
    m.put(&urgent, Some(tok), json!({"price": money(7_000), "until": until})).await.expect(200);
    let found = m.get(&format!("{b}/v1/search?kind=drill"), None).await.expect(200);
    assert_eq!(found["results"][0]["store_id"], store.as_str(), "{found}");
    assert_eq!(found["results"][0]["price"], money(7_000));
    assert_eq!(found["results"][0]["urgent"], true);
    assert_eq!(m.select(store, &d.product, 1).await.price, Some(eur(7_000)));
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    m.put(&urgent, Some(tok), json!({"price": money(7_000), "until": past})).await.expect_problem(422, "invalid_until");
    m.put(&urgent, Some(tok), json!({"price": {"amount": 7000, "currency": "USD"}, "until": until}))
        .await
        .expect_problem(422, "wrong_currency");
    m.call(Method::DELETE, &urgent, Some(tok), None, &[]).await.expect(204);
    let found = m.get(&format!("{b}/v1/search?kind=drill"), None).await.expect(200);
    assert_eq!(found["results"][0]["store_id"], d.far.as_str());
}

#[tokio::test]
async fn service_centre_lists_unions_and_sends_customers_to_the_fitting_one() {
    let m = TestMarket::spawn().await;
    let d = drills(&m).await;
    let b = &m.broker;
    let north = m.get(&format!("{b}/v1/unions?region=north"), None).await.expect(200);
    let unions = north["unions"].as_array().unwrap();
    assert_eq!(unions.len(), 1);
    assert_eq!(unions[0]["name"], "North traders");
    assert_eq!(unions[0]["stores"].as_array().unwrap().len(), 3);
    let text = north.to_string();
    assert!(!text.contains("sel_") && !text.contains('@'), "{text}");
    let books = m.get(&format!("{b}/v1/unions?category=books"), None).await.expect(200);
    assert!(books["unions"].as_array().unwrap().is_empty());

    let (_, tok) = m.create_seller("Bookish").await;
    let south_union = m.broker_as(None).unions(50).await.done().unions.into_iter().find(|u| u.union.region == "south");
    let south_union = south_union.expect("the south's union").union.id;
    let books_store = m.create_store(&tok, &south_union, "Pages", "books").await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = client.get(format!("{b}/v1/service-centre?region=south&category=books")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/v1/unions/{south_union}?category=books"));
    let union = m.get(&format!("{b}{location}"), None).await.expect(200);
    assert_eq!(ids::<StoreId>(&union["stores"], "id"), vec![books_store]);
    m.get(&format!("{b}/v1/service-centre?region=east"), None).await.expect_problem(404, "not_found");
    let _ = d;
}

#[tokio::test]
async fn browsing_sequences_live_under_a_pseudonym_and_are_forgotten_on_request() {
    let m = TestMarket::spawn().await;
    let d = drills(&m).await;
    let b = &m.broker;
    let created = m.post(&format!("{b}/v1/browsing-sessions"), None, json!({})).await;
    assert!(created.headers["set-cookie"].to_str().unwrap().contains("HttpOnly"));
    let sid = json_of(&created.expect(201), "session_id");
    let h = [("x-session-id", sid.as_str())];
    m.call(Method::GET, &format!("{b}/v1/stores/{}", d.able), None, None, &h).await.expect(200);
    m.call(Method::GET, &format!("{b}/v1/products/{}", d.product), None, None, &h).await.expect(200);
    let cookie = format!("mp_session={sid}");
    m.call(
        Method::POST,
        &format!("{b}/v1/stores/{}/selections", d.blocked),
        None,
        Some(&json!({"product_id": d.product, "quantity": 1})),
        &[("cookie", cookie.as_str())],
    )
    .await
    .expect(200);
    let seq = m.call(Method::GET, &format!("{b}/v1/browsing"), None, None, &h).await.expect(200);
    let events = seq["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{seq}");
    assert_eq!(events[0]["store_id"], d.able.as_str());
    assert_eq!(events[1]["product_id"], d.product.as_str());
    assert_eq!(events[2]["store_id"], d.blocked.as_str());
    // Another pseudonym sees nothing of it.
    let other = json_of(&m.post(&format!("{b}/v1/browsing-sessions"), None, json!({})).await.expect(201), "session_id");
    let theirs =
        m.call(Method::GET, &format!("{b}/v1/browsing"), None, None, &[("x-session-id", &other)]).await.expect(200);
    assert!(theirs["events"].as_array().unwrap().is_empty());

    m.call(Method::DELETE, &format!("{b}/v1/browsing"), None, None, &h).await.expect(204);
    let gone = m.call(Method::GET, &format!("{b}/v1/browsing"), None, None, &h).await.expect(200);
    assert!(gone["events"].as_array().unwrap().is_empty());
    m.get(&format!("{b}/v1/browsing"), None).await.expect_problem(422, "session_required");
}

#[tokio::test]
async fn an_urgent_price_ends_on_time_in_search_ranking_and_price_filters() {
    let m = TestMarket::spawn().await;
    let d = drills(&m).await;
    let b = &m.broker;
    let urgent = format!("{b}/v1/seller/stores/{}/offers/{}/urgent-price", d.able, d.product);
    let ends = chrono::Utc::now() + chrono::Duration::milliseconds(2_500);
    m.put(&urgent, Some(&d.other_token), json!({"price": money(7_000), "until": ends.to_rfc3339()})).await.expect(200);
    let all = format!("{b}/v1/search?kind=drill");
    let cheap = format!("{b}/v1/search?kind=drill&max_price=7500&currency=EUR");
    let found = m.get(&all, None).await.expect(200);
    assert_eq!(ids::<StoreId>(&found["results"], "store_id"), vec![d.able.clone(), d.far.clone()], "{found}");
    assert_eq!(
        (found["results"][0]["price"].clone(), found["results"][0]["urgent"].clone()),
        (money(7_000), json!(true))
    );
    assert_eq!(ids::<StoreId>(&m.get(&cheap, None).await.expect(200)["results"], "store_id"), vec![d.able.clone()]);
    // From the moment it ends, the regular price ranks and filters again.
    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default()).await;
    for _ in 0..2 {
        let found = m.get(&all, None).await.expect(200);
        assert_eq!(ids::<StoreId>(&found["results"], "store_id"), vec![d.far.clone(), d.able.clone()], "{found}");
        assert_eq!(
            (found["results"][1]["price"].clone(), found["results"][1]["urgent"].clone()),
            (money(9_500), json!(false))
        );
        assert!(m.get(&cheap, None).await.expect(200)["results"].as_array().unwrap().is_empty());
        // Again once the broker's sweeper has rewritten the offer's current price.
        tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    }
}
