//! Hostile end-to-end tests: referral fees. A referral is earned only with the signed
//! token a selection's (or a refused order's) alternative carries, once per token; a bare
//! `referral_store_id`, a forged, reused, expired or mismatched token earns nothing, and
//! the order goes through all the same. The fee is checked where it lands: the referring
//! store's balance at settlement after payment and delivery.

use crate::helpers::{json_of, money, post_form, Answer, TestMarket};
use serde_json::{json, Value};
use shared::config::ServiceName;
use shared::ids::{OrderId, ProductId, StoreId};
use shared::messages::Message;

const PRICE: i64 = 1_000;
/// The default referral fee (2 %) of one unit at `PRICE`.
const FEE: i64 = 20;

/// A union with three stores: A cannot sell the toner (it refers), B and C can; B also
/// sells a second product.
struct World {
    m: TestMarket,
    a: String,
    a_token: String,
    b: String,
    b_token: String,
    c: String,
    product: String,
    other_product: String,
    partner_key: String,
}

async fn world(m: TestMarket) -> World {
    let union_id = m.create_union("North Offices", "north").await;
    let (_, a_token) = m.create_seller("Alpha").await;
    let (_, b_token) = m.create_seller("Beta").await;
    let (_, c_token) = m.create_seller("Gamma").await;
    let a = m.create_store(&a_token, &union_id, "Alpha Office", "office").await;
    let b = m.create_store(&b_token, &union_id, "Beta Office", "office").await;
    let c = m.create_store(&c_token, &union_id, "Gamma Office", "office").await;
    let product = m.create_product(&m.operator, "Toner TX-1", "toner", json!({"colour": "black"}), PRICE).await;
    let other_product = m.create_product(&m.operator, "Toner TX-2", "toner", json!({"colour": "cyan"}), PRICE).await;
    m.put_offer(&a_token, &a, &product, PRICE, 5, false, json!({"reason": "no licence"})).await;
    m.put_offer(&b_token, &b, &product, PRICE, 50, true, json!({})).await;
    m.put_offer(&c_token, &c, &product, PRICE, 50, true, json!({})).await;
    m.put_offer(&b_token, &b, &other_product, PRICE, 50, true, json!({})).await;
    let partner = m
        .post(&format!("{}/v1/partners", m.settlement), Some(&m.operator), json!({"name": "Pay Co"}))
        .await
        .expect(201);
    let partner_key = json_of(&partner, "api_key");
    let (a, b, c) = (a.into_string(), b.into_string(), c.into_string());
    let (product, other_product) = (product.into_string(), other_product.into_string());
    World { m, a, a_token, b, b_token, c, product, other_product, partner_key }
}

impl World {
    async fn order(&self, store: &str, product: &str, extra: Value) -> Answer {
        let mut body = json!({"store_id": store, "product_id": product, "quantity": 1});
        body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        self.m.post(&format!("{}/v1/orders", self.m.broker), None, body).await
    }

    /// Places an order that must go through: its id.
    async fn place(&self, store: &str, product: &str, extra: Value) -> String {
        json_of(&self.order(store, product, extra).await.expect(201), "order_id")
    }

    /// The referral token of the alternative `to` in a selection at A.
    async fn token_from_selection(&self, to: &str) -> String {
        let sel = self.m.select(&self.a, &self.product, 1).await;
        let alt = sel.alternatives.into_iter().find(|a| a.store_id.as_str() == to);
        alt.unwrap_or_else(|| panic!("{to} is no alternative")).referral.expect("a referral token")
    }

    /// The store the broker names as referrer on the order (the store's own view).
    async fn referrer_of(&self, order: &str, seller_token: &str) -> Value {
        let v = self.m.get(&format!("{}/v1/orders/{order}", self.m.broker), Some(seller_token)).await.expect(200);
        v["referral_store_id"].clone()
    }

    /// Pays the order in full and has it delivered, until settlement releases the escrow.
    async fn settle(&self, order: &str) {
        let payment = json!({"order_id": order, "amount": money(PRICE), "partner_reference": "ref"});
        let key = format!("pay-{order}");
        self.m
            .eventually("settlement to take the payment", || {
                let (payment, key) = (payment.clone(), key.clone());
                async move {
                    let a = self
                        .m
                        .call(
                            reqwest::Method::POST,
                            &format!("{}/v1/payments", self.m.settlement),
                            Some(&self.partner_key),
                            Some(&payment),
                            &[("Idempotency-Key", &key)],
                        )
                        .await;
                    (a.status.as_u16() == 201).then_some(a.body)
                }
            })
            .await;
        let id = OrderId::parse(order).unwrap();
        let sent = self.m.send_message(
            ServiceName::Delivery,
            ServiceName::Settlement,
            Message::OrderDelivered { order_id: id.clone() },
        );
        assert_eq!(sent.await, 204);
        let accepted = Message::OrderAccepted { order_id: id };
        assert_eq!(self.m.send_message(ServiceName::Broker, ServiceName::Settlement, accepted).await, 204);
        let cap = self.m.capability_for(order);
        self.m
            .eventually("the escrow to be released", || async {
                let a = self.m.get(&format!("{}/v1/orders/{order}/settlement", self.m.settlement), Some(&cap)).await;
                (a.body["status"] == "released").then_some(())
            })
            .await;
    }

    /// A store's available balance at settlement.
    async fn available(&self, store: &str, seller_token: &str) -> i64 {
        let url = format!("{}/v1/seller/balance?store_id={store}", self.m.settlement);
        let v = self.m.get(&url, Some(seller_token)).await.expect(200);
        v["available"]["amount"].as_i64().unwrap_or_else(|| panic!("no balance in {v}"))
    }
}

fn referral_for(answer: &Value, to: &str) -> String {
    let alt = answer["alternatives"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["store_id"] == to))
        .unwrap_or_else(|| panic!("{to} is no alternative in {answer}"));
    json_of(alt, "referral")
}

#[tokio::test]
async fn a_bare_referral_store_id_earns_nothing_even_after_a_recorded_redirect() {
    let w = world(TestMarket::spawn().await).await;
    // The attack: select at A anonymously (the broker records the redirect to B), then
    // order at B naming A.
    assert!(!w.m.select(&w.a, &w.product, 1).await.sellable);
    let order = w.place(&w.b, &w.product, json!({"referral_store_id": w.a})).await;
    assert_eq!(w.referrer_of(&order, &w.b_token).await, Value::Null);
    // Even a malformed one is only ignored.
    let ignored = w.place(&w.b, &w.product, json!({"referral_store_id": "not a store"})).await;
    w.settle(&order).await;
    w.settle(&ignored).await;
    assert_eq!(w.available(&w.a, &w.a_token).await, 0, "A earned no referral fee");
    assert_eq!(w.available(&w.b, &w.b_token).await, 2 * (PRICE - 30), "B keeps all but the marketplace fee");
}

#[tokio::test]
async fn a_referral_token_earns_the_fee_once() {
    let w = world(TestMarket::spawn().await).await;
    let token = w.token_from_selection(&w.b).await;
    assert_eq!(token.split('.').count(), 3, "a signed token: {token}");
    // Two selections give two different tokens (each has its own id).
    assert_ne!(w.token_from_selection(&w.b).await, token);

    let first = w.place(&w.b, &w.product, json!({"referral": token})).await;
    assert_eq!(w.referrer_of(&first, &w.b_token).await, w.a.as_str());
    // The same token again: the order goes through, the referral does not.
    let again = w.place(&w.b, &w.product, json!({"referral": token})).await;
    assert_eq!(w.referrer_of(&again, &w.b_token).await, Value::Null);

    // The 409 of an order at A carries tokens too; one earns once more.
    let refused = w.order(&w.a, &w.product, json!({})).await.expect_problem(409, "non_sellable");
    let from_409 = referral_for(&refused, &w.b);
    let third = w.place(&w.b, &w.product, json!({"referral": from_409})).await;
    assert_eq!(w.referrer_of(&third, &w.b_token).await, w.a.as_str());

    for o in [&first, &again, &third] {
        w.settle(o).await;
    }
    assert_eq!(w.available(&w.a, &w.a_token).await, 2 * FEE, "two tokens, two fees; the reused one earned nothing");
    assert_eq!(w.available(&w.b, &w.b_token).await, 3 * (PRICE - 30) - 2 * FEE);
}

#[tokio::test]
async fn forged_and_mismatched_referral_tokens_earn_nothing_and_the_order_goes_through() {
    let w = world(TestMarket::spawn().await).await;
    let genuine = w.token_from_selection(&w.b).await;
    let from = StoreId::parse(&w.a).unwrap();
    let (to, product) = (StoreId::parse(&w.b).unwrap(), ProductId::parse(&w.product).unwrap());
    let claims = broker::referrals::domain::ReferralClaims::new(
        &from,
        &product,
        &to,
        shared::time::unix_seconds(),
        &Default::default(),
    );

    // Signed with a key that is not the broker's.
    let stranger = tempfile::tempdir().unwrap();
    let ring = shared::crypto::KeyRing::load_or_create(stranger.path(), "broker").unwrap();
    let forged = shared::auth::TokenSigner::new(ServiceName::Broker, &ring)
        .sign_typed(shared::auth::REFERRAL_TYP, &claims)
        .unwrap();
    // The genuine token with its signature altered.
    let mut tampered = genuine.clone();
    let at = tampered.rfind('.').unwrap() + 5;
    let flipped = if &tampered[at..at + 1] == "A" { "B" } else { "A" };
    tampered.replace_range(at..at + 1, flipped);
    // The genuine token's claims with another referrer, under the genuine signature.
    let mut parts: Vec<String> = genuine.split('.').map(String::from).collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut body: Value = serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
    body["from"] = json!(w.c);
    parts[1] = b64.encode(serde_json::to_vec(&body).unwrap());
    let rewritten = parts.join(".");
    // Other tokens the broker signs: a capability, a seller's access token.
    let some_order = w.place(&w.b, &w.product, json!({})).await;
    let capability = w.m.capability_for(&some_order);
    let seller_token = w.a_token.clone();

    let mut orders = vec![some_order];
    for (what, token) in [
        ("forged", forged.as_str()),
        ("tampered", tampered.as_str()),
        ("rewritten", rewritten.as_str()),
        ("a capability", capability.as_str()),
        ("a seller token", seller_token.as_str()),
        ("not a token", "referral-from-alpha"),
    ] {
        let order = w.place(&w.b, &w.product, json!({"referral": token})).await;
        assert_eq!(w.referrer_of(&order, &w.b_token).await, Value::Null, "{what} earned a referral");
        orders.push(order);
    }
    // The genuine token, at another store or for another product: nothing either, and
    // these uses do not spend it.
    let elsewhere = w.place(&w.c, &w.product, json!({"referral": genuine})).await;
    let other = w.place(&w.b, &w.other_product, json!({"referral": genuine})).await;
    assert_eq!(w.referrer_of(&other, &w.b_token).await, Value::Null);
    orders.push(other);
    // Where it belongs, it still earns.
    let right = w.place(&w.b, &w.product, json!({"referral": genuine})).await;
    assert_eq!(w.referrer_of(&right, &w.b_token).await, w.a.as_str());

    w.settle(&elsewhere).await;
    for o in &orders {
        w.settle(o).await;
    }
    assert_eq!(w.available(&w.a, &w.a_token).await, 0, "no forged or mismatched token paid A");
    w.settle(&right).await;
    assert_eq!(w.available(&w.a, &w.a_token).await, FEE);
}

#[tokio::test]
async fn an_expired_referral_token_earns_nothing() {
    let m = TestMarket::spawn_with(|c| {
        let quick = shared::config::Config::from_toml(
            "[settings.broker]\nreferral_ttl_secs = 1\nreferral_expiry_rounding_secs = 1\n",
        );
        c.settings.extend(quick.unwrap().settings);
    })
    .await;
    let w = world(m).await;
    let token = w.token_from_selection(&w.b).await;
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let order = w.place(&w.b, &w.product, json!({"referral": token})).await;
    assert_eq!(w.referrer_of(&order, &w.b_token).await, Value::Null);
    w.settle(&order).await;
    assert_eq!(w.available(&w.a, &w.a_token).await, 0);
}

#[tokio::test]
async fn the_storefront_carries_the_referral_token_from_the_alternative_to_the_order() {
    let w = world(TestMarket::spawn().await).await;
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let base = &w.m.broker;
    let text = |r: reqwest::Response| async move {
        assert_eq!(r.status().as_u16(), 200);
        r.text().await.unwrap()
    };
    // Choosing at A: the alternative's link carries B's token.
    let chosen =
        post_form(&c, format!("{base}/shop/stores/{}/products/{}/select", w.a, w.product), None, &[("quantity", "1")])
            .await;
    let chosen = text(chosen).await;
    let prefix = format!("/shop/stores/{}/products/{}?referral=", w.b, w.product);
    let at = chosen.find(&prefix).unwrap_or_else(|| panic!("no referral link: {chosen}")) + prefix.len();
    let token = &chosen[at..at + chosen[at..].find('"').unwrap()];
    assert_eq!(token.split('.').count(), 3, "{token}");
    // Following it: the product page, the choice at B and its order form keep the token.
    let page = text(c.get(format!("{base}{prefix}{token}")).send().await.unwrap()).await;
    assert!(page.contains(&format!("name=\"referral\" value=\"{token}\"")), "{page}");
    let at_b = post_form(
        &c,
        format!("{base}/shop/stores/{}/products/{}/select", w.b, w.product),
        None,
        &[("quantity", "1"), ("referral", token)],
    )
    .await;
    let at_b = text(at_b).await;
    assert!(at_b.contains("form class=\"order\"") && at_b.contains(&format!("name=\"referral\" value=\"{token}\"")));
    let key = shared::ids::random_hex128();
    let form = [
        ("idempotency_key", key.as_str()),
        ("store_id", w.b.as_str()),
        ("product_id", w.product.as_str()),
        ("quantity", "1"),
        ("expected_amount", "1000"),
        ("expected_currency", "EUR"),
        ("referral", token),
    ];
    let placed =
        c.post(format!("{base}/shop/order")).header("sec-fetch-site", "same-origin").form(&form).send().await.unwrap();
    let placed = text(placed).await;
    assert!(placed.contains("id=\"order-id\""), "{placed}");
    let list = w.m.get(&format!("{base}/v1/seller/orders"), Some(&w.b_token)).await.expect(200);
    assert_eq!(list["orders"][0]["referral_store_id"], w.a.as_str(), "{list}");
}
