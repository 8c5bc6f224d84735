//! End-to-end tests: delivery. The broker's and settlement's messages are sent as those
//! services would send them, so delivery is tested on its own over real HTTP.

use crate::helpers::{eur, json_of, Answer, Expect, TestMarket};
use client::broker::orders::{OrderStatus, Placed};
use serde_json::{json, Value};
use shared::config::ServiceName;
use shared::ids::{ManufacturerId, OrderId, ProductId, SellerId, StoreId};
use shared::messages::{Envelope, Message};

const NAME: &str = "Ada Quillfeather";
const LINE1: &str = "12 Marrowdale Lane";
const CITY: &str = "Thistlebury";
const POSTAL: &str = "QX7 4ZZ";

fn address(region: &str) -> Value {
    json!({ "name": NAME, "line1": LINE1, "line2": "Flat 3b", "city": CITY, "postal_code": POSTAL,
            "region": region, "country": "GB" })
}

/// The market, one seller's store, one manufacturer, and a node network:
/// north: branch 1 (rank 1), branch 2 (rank 2), master; south: master; the store's node;
/// the manufacturer's node.
struct World {
    m: TestMarket,
    db: shared::db::Db,
    product: ProductId,
    store: StoreId,
    seller: SellerId,
    mfr: ManufacturerId,
    b1: String,
    b2: String,
    master: String,
    seller_node: String,
    mfr_node: String,
}

async fn world() -> World {
    world_with("").await
}

/// `settings`: extra lines of `[settings.delivery]`.
async fn world_with(settings: &str) -> World {
    let parsed =
        shared::config::Config::from_toml(&format!("[settings.delivery]\nsweep_interval_ms = 100\n{settings}"))
            .expect("delivery settings");
    let m = TestMarket::spawn_with(move |c| {
        c.settings.insert("delivery".into(), parsed.settings["delivery"].clone());
    })
    .await;
    let db = shared::db::Db::open(&m.config.database_url(ServiceName::Delivery), 2, delivery::MIGRATIONS).unwrap();
    let store = StoreId::generate();
    let mfr = ManufacturerId::generate();
    let b1 = node(&m, "branch", "north", (50.0, 0.0), Some(1), None).await;
    let b2 = node(&m, "branch", "north", (51.0, 0.0), Some(2), None).await;
    let master = node(&m, "master", "north", (45.0, 0.0), None, None).await;
    node(&m, "master", "south", (40.0, 0.0), None, None).await;
    let seller_node = node(&m, "seller", "south", (41.0, 0.0), None, Some(store.as_str())).await;
    let mfr_node = node(&m, "manufacturer", "east", (30.0, 10.0), None, Some(mfr.as_str())).await;
    World {
        m,
        db,
        product: ProductId::generate(),
        store,
        seller: SellerId::generate(),
        mfr,
        b1,
        b2,
        master,
        seller_node,
        mfr_node,
    }
}

async fn node(
    m: &TestMarket,
    kind: &str,
    region: &str,
    at: (f64, f64),
    rank: Option<i32>,
    owner: Option<&str>,
) -> String {
    let body = json!({ "kind": kind, "name": format!("{kind} {region}"), "region": region,
                       "position": { "lat": at.0, "lon": at.1 }, "rank": rank, "owner": owner });
    json_of(&m.post(&format!("{}/v1/nodes", m.delivery), Some(&m.operator), body).await.expect(201), "id")
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.m.delivery)
    }

    async fn stock(&self, node: &str, quantity: i64) -> Value {
        let url = self.url(&format!("/v1/nodes/{node}/inventory/{}", self.product));
        self.m.put(&url, Some(&self.m.operator), json!({ "quantity": quantity })).await.expect(200)
    }

    async fn inventory(&self, node: &str) -> i64 {
        let url = self.url(&format!("/v1/nodes/{node}/inventory/{}", self.product));
        self.m.get(&url, Some(&self.m.operator)).await.expect(200)["quantity"].as_i64().unwrap()
    }

    fn request(&self, order: &OrderId) -> Message {
        Message::ShipmentRequested {
            order_id: order.clone(),
            product_id: self.product.clone(),
            quantity: 1,
            store_id: self.store.clone(),
            shipper_store_id: None,
            manufacturer_id: Some(self.mfr.clone()),
            backorder: false,
        }
    }

    async fn send(&self, from: ServiceName, message: Message) {
        assert_eq!(self.m.send_message(from, ServiceName::Delivery, message).await, 204);
    }

    async fn pay(&self, order: &OrderId) {
        self.send(ServiceName::Settlement, Message::OrderPaid { order_id: order.clone() }).await;
    }

    async fn put_address(&self, order: &OrderId, body: Value) -> Answer {
        let cap = self.m.capability_for(order);
        self.m.put(&self.url(&format!("/v1/shipments/{order}/address")), Some(&cap), body).await
    }

    /// A paid order with its address: routed at once when a node has the goods.
    async fn order(&self) -> OrderId {
        let order = OrderId::generate();
        self.put_address(&order, address("north")).await.expect(204);
        self.send(ServiceName::Broker, self.request(&order)).await;
        self.pay(&order).await;
        order
    }

    async fn tracking(&self, order: &OrderId) -> Value {
        let cap = self.m.capability_for(order);
        self.m.get(&self.url(&format!("/v1/shipments/{order}")), Some(&cap)).await.expect(200)
    }

    /// `(from_node, to)` of each leg.
    async fn hops(&self, order: &OrderId) -> Vec<(String, String)> {
        let t = self.tracking(order).await;
        t["legs"].as_array().unwrap().iter().map(|l| (json_of(l, "from_node"), json_of(l, "to"))).collect()
    }

    fn queued(&self) -> Vec<(String, Envelope)> {
        delivery::inspect::queued_messages(&self.db).unwrap()
    }

    /// Messages of `kind` about `order`, by destination.
    fn sent(&self, kind: &str, order: &OrderId) -> Vec<(String, Message)> {
        self.queued()
            .into_iter()
            .filter(|(_, e)| e.message.kind() == kind && e.message.ordering_key() == order.as_str())
            .map(|(to, e)| (to, e.message))
            .collect()
    }

    async fn courier(&self, region: Option<&str>) -> String {
        let email = format!("{}@couriers.example", shared::ids::random_hex128());
        let body = json!({ "name": "Courier", "email": email, "password": "correct horse battery", "region": region });
        self.m.post(&self.url("/v1/couriers"), Some(&self.m.operator), body).await.expect(201);
        let session = self
            .m
            .post(&self.url("/v1/sessions"), None, json!({ "email": email, "password": "correct horse battery" }))
            .await
            .expect(200);
        assert_eq!(session["token_type"], "Bearer");
        json_of(&session, "access_token")
    }

    async fn event(&self, courier: &str, shipment: &str, kind: &str) -> Answer {
        let body = match kind {
            "failed" => json!({ "type": kind, "reason": "nobody home" }),
            // The buyer's PIN, which the final leg to them needs and the others ignore.
            "delivered" => {
                json!({ "type": kind, "pin": self.m.delivery_pin(&shared::ids::ShipmentId::parse(shipment).unwrap()) })
            }
            _ => json!({ "type": kind }),
        };
        self.m.post(&self.url(&format!("/v1/courier/shipments/{shipment}/events")), Some(courier), body).await
    }

    async fn courier_list(&self, courier: &str) -> Value {
        self.m.get(&self.url("/v1/courier/shipments"), Some(courier)).await.expect(200)
    }

    /// Takes every leg of the shipment from pickup to delivery with one courier.
    async fn deliver_all(&self, courier: &str, shipment: &str, legs: usize) -> Value {
        let mut last = Value::Null;
        for _ in 0..legs {
            self.event(courier, shipment, "picked_up").await.expect(200);
            self.event(courier, shipment, "in_transit").await.expect(200);
            last = self.event(courier, shipment, "delivered").await.expect(200);
        }
        last
    }
}

#[tokio::test]
async fn routing_falls_back_nearest_first_one_step_at_a_time() {
    let w = world().await;
    let to = |n: &str| n.to_string();
    let buyer = || "buyer".to_string();
    // Each step: goods only at that node; the legs run from it down to the buyer.
    let steps: Vec<(&str, Vec<(String, String)>)> = vec![
        (&w.b1, vec![(to(&w.b1), buyer())]),
        (&w.b2, vec![(to(&w.b2), buyer())]),
        (&w.master, vec![(to(&w.master), to(&w.b1)), (to(&w.b1), buyer())]),
        (&w.seller_node, vec![(to(&w.seller_node), buyer())]),
        (&w.mfr_node, vec![(to(&w.mfr_node), to(&w.master)), (to(&w.master), to(&w.b1)), (to(&w.b1), buyer())]),
    ];
    for (source, expected) in steps {
        w.stock(source, 1).await;
        let order = w.order().await;
        let t = w.tracking(&order).await;
        assert_eq!(t["status"], "routed", "{t}");
        assert_eq!(t["delivered"], false);
        assert!(t["estimated_delivery"].as_str().is_some(), "{t}");
        assert_eq!(w.hops(&order).await, expected);
        // The seller's own node waits for its salesperson to issue the goods.
        let first = if source == w.seller_node.as_str() { "awaiting_goods_issue" } else { "open" };
        assert_eq!(t["legs"][0]["status"], first);
        assert_eq!(w.inventory(source).await, 0, "the unit left {source}");
    }
    // Nearest first: with stock everywhere, branch 1 gives; a longer chain is later.
    for n in [&w.b1, &w.b2, &w.master, &w.seller_node, &w.mfr_node] {
        w.stock(n, 5).await;
    }
    let order = w.order().await;
    assert_eq!(w.hops(&order).await, vec![(w.b1.clone(), "buyer".to_string())]);
    assert_eq!(w.inventory(&w.b1).await, 4);
    assert_eq!(w.inventory(&w.b2).await, 5);
    // The movements say why the stock changed.
    let url = w.url(&format!("/v1/nodes/{}/inventory/{}", w.b1, w.product));
    let inv = w.m.get(&url, Some(&w.m.operator)).await.expect(200);
    let reasons: Vec<&str> =
        inv["movements"].as_array().unwrap().iter().map(|m| m["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.last(), Some(&"reserved"));
}

#[tokio::test]
async fn a_position_picks_the_nearest_branch_and_backorders_and_shippers_pick_their_node() {
    let w = world().await;
    w.stock(&w.b1, 5).await;
    w.stock(&w.b2, 5).await;
    w.stock(&w.mfr_node, 5).await;
    // Next to branch 2 (rank 2): branch 2 is nearer, so it ships, in one leg.
    let order = OrderId::generate();
    let mut body = address("north");
    body["position"] = json!({ "lat": 51.1, "lon": 0.0 });
    w.put_address(&order, body).await.expect(204);
    w.send(ServiceName::Broker, w.request(&order)).await;
    w.pay(&order).await;
    assert_eq!(w.hops(&order).await, vec![(w.b2.clone(), "buyer".to_string())]);

    // A back-order comes from the manufacturer although branches have stock.
    let order = OrderId::generate();
    w.put_address(&order, address("north")).await.expect(204);
    let mut request = w.request(&order);
    if let Message::ShipmentRequested { backorder, .. } = &mut request {
        *backorder = true;
    }
    w.send(ServiceName::Broker, request).await;
    w.pay(&order).await;
    assert_eq!(w.hops(&order).await[0].0, w.mfr_node);
    assert_eq!(w.hops(&order).await.len(), 3);

    // A store of the union named to ship: its node, not the selling store's.
    let shipper = StoreId::generate();
    let shipper_node = node(&w.m, "seller", "south", (41.5, 0.0), None, Some(shipper.as_str())).await;
    let p2 = ProductId::generate();
    for n in [&w.seller_node, &shipper_node] {
        let url = w.url(&format!("/v1/nodes/{n}/inventory/{p2}"));
        w.m.put(&url, Some(&w.m.operator), json!({ "quantity": 2 })).await.expect(200);
    }
    let order = OrderId::generate();
    w.put_address(&order, address("north")).await.expect(204);
    let mut request = w.request(&order);
    if let Message::ShipmentRequested { shipper_store_id, product_id, .. } = &mut request {
        *shipper_store_id = Some(shipper.clone());
        *product_id = p2.clone();
    }
    w.send(ServiceName::Broker, request).await;
    w.pay(&order).await;
    assert_eq!(w.hops(&order).await, vec![(shipper_node.clone(), "buyer".to_string())]);
}

#[tokio::test]
async fn concurrent_shipments_never_take_the_same_unit() {
    let w = world().await;
    w.stock(&w.b1, 3).await;
    let orders: Vec<OrderId> = (0..8).map(|_| OrderId::generate()).collect();
    for o in &orders {
        w.put_address(o, address("north")).await.expect(204);
        w.send(ServiceName::Broker, w.request(o)).await;
    }
    // All payments at once.
    futures_util::future::join_all(orders.iter().map(|o| w.pay(o))).await;
    let mut from_b1 = 0;
    let mut unroutable = 0;
    for o in &orders {
        let t = w.tracking(o).await;
        match t["status"].as_str().unwrap() {
            "routed" => {
                assert_eq!(t["legs"][0]["from_node"], w.b1.as_str());
                from_b1 += 1;
            }
            "unroutable" => unroutable += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((from_b1, unroutable), (3, 5));
    assert_eq!(w.inventory(&w.b1).await, 0);
}

#[tokio::test]
async fn a_shipment_waits_for_its_address_and_messages_may_come_in_any_order() {
    let w = world().await;
    w.stock(&w.b1, 5).await;
    // Payment first, then the broker's request: the shipment exists but has nowhere to go.
    let order = OrderId::generate();
    w.pay(&order).await;
    let cap = w.m.capability_for(&order);
    w.m.get(&w.url(&format!("/v1/shipments/{order}")), Some(&cap)).await.expect_problem(404, "shipment_not_found");
    w.send(ServiceName::Broker, w.request(&order)).await;
    let t = w.tracking(&order).await;
    assert_eq!(t["status"], "awaiting_address");
    assert_eq!(t["legs"], json!([]));
    assert_eq!(w.inventory(&w.b1).await, 5, "nothing reserved without an address");
    w.put_address(&order, address("north")).await.expect(204);
    let t = w.tracking(&order).await;
    assert_eq!(t["status"], "routed");
    assert_eq!(w.inventory(&w.b1).await, 4);
    // A second payment notice changes nothing.
    w.pay(&order).await;
    assert_eq!(w.tracking(&order).await["shipment_id"], t["shipment_id"]);
    assert_eq!(w.inventory(&w.b1).await, 4);

    // The address may change before pickup; a new region re-routes.
    let south_branch = node(&w.m, "branch", "south", (40.5, 0.0), Some(1), None).await;
    w.stock(&south_branch, 1).await;
    w.put_address(&order, address("south")).await.expect(204);
    assert_eq!(w.hops(&order).await, vec![(south_branch.clone(), "buyer".to_string())]);
    assert_eq!(w.inventory(&w.b1).await, 5, "the north unit went back");
    assert_eq!(w.inventory(&south_branch).await, 0);
}

#[tokio::test]
async fn an_unroutable_shipment_is_abandoned_after_the_wait() {
    let w = world_with("unroutable_wait_secs = 1").await;
    let order = w.order().await;
    assert_eq!(w.tracking(&order).await["status"], "unroutable");
    w.m.eventually("shipment_abandoned", || async { (w.sent("shipment_abandoned", &order).len() == 2).then_some(()) })
        .await;
    let mut to: Vec<String> = w.sent("shipment_abandoned", &order).into_iter().map(|(d, _)| d).collect();
    to.sort();
    assert_eq!(to, vec!["broker", "settlement"]);
    // Abandoned once, however many passes run after.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(w.sent("shipment_abandoned", &order).len(), 2);
    let t = w.tracking(&order).await;
    assert_eq!(t["status"], "unroutable");
    w.put_address(&order, address("north")).await.expect_problem(409, "address_locked");
}

#[tokio::test]
async fn an_unroutable_shipment_is_routed_when_stock_arrives_within_the_wait() {
    let w = world().await;
    let order = w.order().await;
    assert_eq!(w.tracking(&order).await["status"], "unroutable");
    w.stock(&w.b2, 1).await;
    w.m.eventually("routed", || async { (w.tracking(&order).await["status"] == "routed").then_some(()) }).await;
    assert_eq!(w.hops(&order).await, vec![(w.b2.clone(), "buyer".to_string())]);
    assert!(w.sent("shipment_abandoned", &order).is_empty());
}

#[tokio::test]
async fn couriers_claim_legs_and_another_courier_gets_403() {
    let w = world().await;
    w.stock(&w.master, 1).await;
    let order = w.order().await;
    let shipment = json_of(&w.tracking(&order).await, "shipment_id");
    let (a, b) = (w.courier(None).await, w.courier(None).await);
    let south_only = w.courier(Some("south")).await;

    // Open legs are listed to every courier without a region; never an order id.
    let list = w.courier_list(&b).await;
    let leg = list["shipments"].as_array().unwrap().iter().find(|s| s["shipment_id"] == shipment.as_str()).unwrap();
    assert_eq!(
        (leg["leg"].as_i64(), leg["status"].as_str(), leg["claimed"].as_bool()),
        (Some(0), Some("open"), Some(false))
    );
    assert_eq!(leg["from_node"], w.master.as_str());
    assert!(!list.to_string().contains(order.as_str()), "{list}");
    assert!(leg.get("label").is_none());
    // A courier of another region does not see a north leg; one of the north does.
    assert!(!w.courier_list(&south_only).await.to_string().contains(&shipment));
    let north_only = w.courier(Some("north")).await;
    assert!(w.courier_list(&north_only).await.to_string().contains(&shipment));

    // Out of order: delivered before pickup.
    w.event(&a, &shipment, "delivered").await.expect_problem(409, "invalid_transition");
    w.event(&a, &shipment, "picked_up").await.expect(200);
    // The leg is A's now.
    for kind in ["picked_up", "in_transit", "delivered", "failed"] {
        w.event(&b, &shipment, kind).await.expect_problem(403, "leg_claimed");
    }
    assert!(!w.courier_list(&b).await.to_string().contains(&shipment));
    let mine = w.courier_list(&a).await;
    let leg = &mine["shipments"][0];
    assert_eq!((leg["claimed"].as_bool(), leg["status"].as_str()), (Some(true), Some("picked_up")));
    assert!(leg.get("label").is_none(), "an intermediate leg has no label: {leg}");
    assert_eq!(w.tracking(&order).await["status"], "in_transit");
    // The first pickup tells the broker, once.
    w.event(&a, &shipment, "in_transit").await.expect(200);
    w.event(&a, &shipment, "delivered").await.expect(200);
    w.event(&b, &shipment, "picked_up").await.expect(200);
    assert_eq!(
        w.sent("order_shipped", &order),
        vec![("broker".to_string(), Message::OrderShipped { order_id: order.clone() })]
    );

    // B holds the final leg: only B sees the label.
    let theirs = w.courier_list(&b).await;
    let leg = theirs["shipments"].as_array().unwrap().iter().find(|s| s["shipment_id"] == shipment.as_str()).unwrap();
    assert_eq!(leg["to"], "buyer");
    let label = leg["label"].as_str().unwrap();
    for part in [NAME, LINE1, CITY, POSTAL, "Flat 3b", "GB"] {
        assert!(label.contains(part), "{label}");
    }
    assert!(!theirs.to_string().contains(order.as_str()));
    // The final leg has started: the address can no longer change.
    w.put_address(&order, address("north")).await.expect_problem(409, "address_locked");
    let other = w.courier_list(&a).await.to_string();
    assert!(!other.contains(LINE1) && !other.contains(&shipment), "{other}");
}

#[tokio::test]
async fn delivery_of_the_final_leg_sets_the_flag_and_tells_broker_and_settlement() {
    let w = world().await;
    w.stock(&w.mfr_node, 1).await;
    let order = w.order().await;
    let t = w.tracking(&order).await;
    let shipment = json_of(&t, "shipment_id");
    let courier = w.courier(None).await;

    // The first leg delivered moves the shipment to the next one.
    w.deliver_all(&courier, &shipment, 1).await;
    let t = w.tracking(&order).await;
    let statuses: Vec<&str> = t["legs"].as_array().unwrap().iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["delivered", "open", "pending"]);
    assert_eq!((t["status"].as_str(), t["delivered"].as_bool()), (Some("in_transit"), Some(false)));
    assert!(w.sent("order_delivered", &order).is_empty());

    let last = w.deliver_all(&courier, &shipment, 2).await;
    assert_eq!((last["status"].as_str(), last["delivered"].as_bool()), (Some("delivered"), Some(true)));
    let t = w.tracking(&order).await;
    assert_eq!((t["status"].as_str(), t["delivered"].as_bool()), (Some("delivered"), Some(true)));
    let mut to: Vec<String> = w.sent("order_delivered", &order).into_iter().map(|(d, _)| d).collect();
    to.sort();
    assert_eq!(to, vec!["broker", "settlement"]);
    // Nothing more to do on it.
    w.event(&courier, &shipment, "picked_up").await.expect_problem(409, "invalid_transition");
    w.put_address(&order, address("north")).await.expect_problem(409, "address_locked");

    // The seller, with the broker's view token for this order, sees status and estimate
    // only; nobody's own token opens it, not even the seller's.
    let url = w.url(&format!("/v1/seller/shipments/{order}"));
    let view = w.m.get(&url, Some(&w.m.shipment_view_token_for(&order))).await.expect(200);
    let mut keys: Vec<&String> = view.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["delivered", "estimated_delivery", "status"]);
    assert_eq!((view["status"].as_str(), view["delivered"].as_bool()), (Some("delivered"), Some(true)));
    let other = w.m.shipment_view_token_for(OrderId::generate());
    w.m.get(&url, Some(&other)).await.expect_problem(403, "forbidden");
    for token in [w.m.seller_token_for(&w.seller), w.m.capability_for(&order)] {
        w.m.get(&url, Some(&token)).await.expect_problem(401, "unauthorized");
    }
    let unknown = OrderId::generate();
    let url = w.url(&format!("/v1/seller/shipments/{unknown}"));
    w.m.get(&url, Some(&w.m.shipment_view_token_for(&unknown))).await.expect_problem(404, "shipment_not_found");
}

#[tokio::test]
async fn three_failed_attempts_return_the_shipment() {
    let w = world().await;
    w.stock(&w.b1, 1).await;
    let order = w.order().await;
    let shipment = json_of(&w.tracking(&order).await, "shipment_id");
    let (a, b) = (w.courier(None).await, w.courier(None).await);
    // A failure needs a reason.
    w.event(&a, &shipment, "picked_up").await.expect(200);
    let url = w.url(&format!("/v1/courier/shipments/{shipment}/events"));
    w.m.post(&url, Some(&a), json!({ "type": "failed" })).await.expect_problem(422, "invalid_event");
    w.event(&a, &shipment, "failed").await.expect(200);
    // A failure reopens the leg for anyone.
    let list = w.courier_list(&b).await;
    assert!(list.to_string().contains(&shipment), "{list}");
    w.event(&b, &shipment, "picked_up").await.expect(200);
    w.event(&b, &shipment, "failed").await.expect(200);
    assert_eq!(w.tracking(&order).await["status"], "in_transit");
    assert!(w.sent("shipment_abandoned", &order).is_empty());
    w.event(&a, &shipment, "picked_up").await.expect(200);
    let last = w.event(&a, &shipment, "failed").await.expect(200);
    assert_eq!(last["status"], "returned");
    let t = w.tracking(&order).await;
    assert_eq!((t["status"].as_str(), t["delivered"].as_bool()), (Some("returned"), Some(false)));
    assert_eq!(w.inventory(&w.b1).await, 1, "the goods are back in stock");
    let mut to: Vec<String> = w.sent("shipment_abandoned", &order).into_iter().map(|(d, _)| d).collect();
    to.sort();
    assert_eq!(to, vec!["broker", "settlement"]);
    w.event(&a, &shipment, "picked_up").await.expect_problem(409, "invalid_transition");
    assert!(!w.courier_list(&a).await.to_string().contains(&shipment));
}

#[tokio::test]
async fn a_cancel_holds_before_pickup_and_not_after() {
    let w = world().await;
    w.stock(&w.b1, 2).await;
    let cancel = |o: &OrderId| Message::CancelRequested { order_id: o.clone(), reason: "changed my mind".into() };
    let decided = |o: &OrderId, accepted: bool| Message::CancelDecided { order_id: o.clone(), accepted };

    // Routed, not picked up: accepted, the unit goes back.
    let order = w.order().await;
    assert_eq!(w.inventory(&w.b1).await, 1);
    w.send(ServiceName::Broker, cancel(&order)).await;
    assert_eq!(w.tracking(&order).await["status"], "cancelled");
    assert_eq!(w.inventory(&w.b1).await, 2);
    let mut sent = w.sent("cancel_decided", &order);
    sent.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(sent, vec![("broker".into(), decided(&order, true)), ("settlement".into(), decided(&order, true))]);

    // Picked up: refused, the broker hears it.
    let order = w.order().await;
    let shipment = json_of(&w.tracking(&order).await, "shipment_id");
    let courier = w.courier(None).await;
    w.event(&courier, &shipment, "picked_up").await.expect(200);
    w.send(ServiceName::Broker, cancel(&order)).await;
    assert_eq!(w.tracking(&order).await["status"], "in_transit");
    assert_eq!(w.sent("cancel_decided", &order), vec![("broker".into(), decided(&order, false))]);
    assert_eq!(w.inventory(&w.b1).await, 1);

    // Before the shipment exists: accepted, and it is born cancelled without taking stock.
    let order = OrderId::generate();
    w.put_address(&order, address("north")).await.expect(204);
    w.send(ServiceName::Broker, w.request(&order)).await;
    w.send(ServiceName::Broker, cancel(&order)).await;
    assert_eq!(w.sent("cancel_decided", &order).len(), 2);
    w.pay(&order).await;
    let t = w.tracking(&order).await;
    assert_eq!((t["status"].as_str(), t["legs"].clone()), (Some("cancelled"), json!([])));
    assert_eq!(w.inventory(&w.b1).await, 1);
}

#[tokio::test]
async fn the_address_is_sealed_at_rest_and_shredded_after_delivery() {
    let w = world_with("shred_after_secs = 1\nhistory_kept_secs = 6").await;
    w.stock(&w.b1, 1).await;
    let order = w.order().await;
    assert!(delivery::inspect::sealed_address_exists(&w.db, &order).unwrap());
    let stored = delivery::inspect::stored_address_bytes(&w.db).unwrap();
    assert_eq!(stored.len(), 1);
    for part in [NAME, LINE1, CITY, POSTAL, "Flat 3b"] {
        assert!(!stored[0].windows(part.len()).any(|win| win == part.as_bytes()), "`{part}` is stored in clear");
    }
    if shared::db::Backend::of_url(&w.m.config.database_url(ServiceName::Delivery)) == shared::db::Backend::Sqlite {
        let path = w.m.config.database_url(ServiceName::Delivery);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        for part in [NAME, LINE1, CITY, POSTAL, "Flat 3b"] {
            assert!(!bytes.windows(part.len()).any(|win| win == part.as_bytes()), "`{part}` is in the database file");
        }
    }
    let shipment = json_of(&w.tracking(&order).await, "shipment_id");
    let courier = w.courier(None).await;
    w.event(&courier, &shipment, "picked_up").await.expect(200);
    let list = w.courier_list(&courier).await;
    assert!(list["shipments"][0]["label"].as_str().unwrap().contains(LINE1));
    w.event(&courier, &shipment, "delivered").await.expect(200);
    // Kept until the configured time after delivery, then deleted.
    assert!(delivery::inspect::sealed_address_exists(&w.db, &order).unwrap());
    w.m.eventually("shredding", || async {
        (!delivery::inspect::sealed_address_exists(&w.db, &order).unwrap()).then_some(())
    })
    .await;
    assert_eq!(w.tracking(&order).await["status"], "delivered");
    w.put_address(&order, address("north")).await.expect_problem(409, "address_locked");
    // The shipment's history (each step's kind and time) outlives the address for disputes,
    // then goes too.
    assert_eq!(delivery::inspect::history_len(&w.db, &order).unwrap(), 2);
    w.m.eventually("history forgotten", || async {
        (delivery::inspect::history_len(&w.db, &order).unwrap() == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_address_for_an_order_that_never_ships_is_deleted_in_time() {
    let w = world_with("orphan_address_secs = 1").await;
    let (paid, never) = (OrderId::generate(), OrderId::generate());
    w.put_address(&never, address("north")).await.expect(204);
    w.put_address(&paid, address("north")).await.expect(204);
    w.send(ServiceName::Broker, w.request(&paid)).await;
    w.pay(&paid).await;
    assert_eq!(w.tracking(&paid).await["status"], "unroutable");
    w.m.eventually("orphan shredding", || async {
        (!delivery::inspect::sealed_address_exists(&w.db, &never).unwrap()).then_some(())
    })
    .await;
    // The address of a live shipment stays.
    assert!(delivery::inspect::sealed_address_exists(&w.db, &paid).unwrap());
}

#[tokio::test]
async fn two_couriers_racing_for_one_leg_one_wins() {
    let w = world().await;
    w.stock(&w.b1, 1).await;
    let order = w.order().await;
    let shipment = json_of(&w.tracking(&order).await, "shipment_id");
    let couriers = futures_util::future::join_all((0..4).map(|_| w.courier(None))).await;
    let answers = futures_util::future::join_all(couriers.iter().map(|c| w.event(c, &shipment, "picked_up"))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 403, 403, 403]);
    assert_eq!(w.sent("order_shipped", &order).len(), 1);
}

#[tokio::test]
async fn bad_input_is_refused_with_a_code_and_changes_nothing() {
    let w = world().await;
    w.stock(&w.b1, 1).await;
    let order = OrderId::generate();
    w.send(ServiceName::Broker, w.request(&order)).await;
    w.pay(&order).await;
    // Invalid addresses: the field is named, the shipment still waits.
    for (field, value) in [("country", json!("XX")), ("line1", json!("")), ("postal_code", json!("<script>"))] {
        let mut body = address("north");
        body[field] = value;
        let p = w.put_address(&order, body).await.expect_problem(422, "invalid_address");
        assert_eq!(p["field"], field);
        assert!(!p.to_string().contains(NAME));
    }
    let mut body = address("north");
    body.as_object_mut().unwrap().remove("city");
    w.put_address(&order, body).await.expect_problem(422, "invalid_body");
    assert_eq!(w.tracking(&order).await["status"], "awaiting_address");
    assert_eq!(w.inventory(&w.b1).await, 1);

    // Capabilities: missing, forged, for another order.
    let url = w.url(&format!("/v1/shipments/{order}/address"));
    w.m.put(&url, None, address("north")).await.expect_problem(401, "unauthorized");
    w.m.put(&url, Some("not.a.token"), address("north")).await.expect_problem(401, "unauthorized");
    let other = w.m.capability_for(OrderId::generate());
    w.m.put(&url, Some(&other), address("north")).await.expect_problem(403, "forbidden");
    w.m.get(&w.url(&format!("/v1/shipments/{order}")), Some(&other)).await.expect_problem(403, "forbidden");
    let unknown = OrderId::generate();
    let cap = w.m.capability_for(&unknown);
    w.m.get(&w.url(&format!("/v1/shipments/{unknown}")), Some(&cap)).await.expect_problem(404, "shipment_not_found");
    assert_eq!(w.tracking(&order).await["status"], "awaiting_address");

    // Nodes and inventory.
    let op = Some(w.m.operator.as_str());
    let nodes = w.url("/v1/nodes");
    let bad = json!({ "kind": "seller", "name": "S", "region": "north", "position": { "lat": 1.0, "lon": 1.0 } });
    w.m.post(&nodes, op, bad).await.expect_problem(422, "invalid_node");
    let bad = json!({ "kind": "branch", "name": "B", "region": "north", "position": { "lat": 100.0, "lon": 1.0 } });
    w.m.post(&nodes, op, bad).await.expect_problem(422, "invalid_node");
    let bad = json!({ "kind": "depot", "name": "B", "region": "north", "position": { "lat": 1.0, "lon": 1.0 } });
    w.m.post(&nodes, op, bad).await.expect_problem(422, "invalid_body");
    let good = json!({ "kind": "branch", "name": "B", "region": "north", "position": { "lat": 1.0, "lon": 1.0 } });
    // A bearer that is no token at all is not a credential (401); a courier's is not an
    // operator's (403).
    w.m.post(&nodes, Some("nope"), good.clone()).await.expect_problem(401, "unauthorized");
    let courier = w.m.token_signed_by(
        ServiceName::Delivery,
        shared::auth::Role::Courier,
        shared::ids::CourierId::generate().as_str(),
    );
    w.m.post(&nodes, Some(&courier), good).await.expect_problem(403, "forbidden");
    let inv = w.url(&format!("/v1/nodes/{}/inventory/{}", w.b1, w.product));
    w.m.put(&inv, op, json!({ "quantity": -1 })).await.expect_problem(422, "invalid_quantity");
    assert_eq!(w.inventory(&w.b1).await, 1);
    let missing = w.url(&format!("/v1/nodes/{}/inventory/{}", shared::ids::NodeId::generate(), w.product));
    w.m.put(&missing, op, json!({ "quantity": 1 })).await.expect_problem(404, "node_not_found");

    // Couriers.
    let couriers = w.url("/v1/couriers");
    let body = json!({ "name": "C", "email": "c@couriers.example", "password": "correct horse battery" });
    w.m.post(&couriers, op, body.clone()).await.expect(201);
    w.m.post(&couriers, op, body).await.expect_problem(409, "email_taken");
    let short = json!({ "name": "C", "email": "d@couriers.example", "password": "short" });
    w.m.post(&couriers, op, short).await.expect_problem(422, "invalid_courier");
    let sessions = w.url("/v1/sessions");
    let wrong = json!({ "email": "c@couriers.example", "password": "wrong horse battery" });
    w.m.post(&sessions, None, wrong).await.expect_problem(401, "invalid_credentials");
    let nobody = json!({ "email": "nobody@couriers.example", "password": "correct horse battery" });
    w.m.post(&sessions, None, nobody).await.expect_problem(401, "invalid_credentials");
    // A buyer's capability is not a courier token.
    let cap = w.m.capability_for(&order);
    w.m.get(&w.url("/v1/courier/shipments"), Some(&cap)).await.expect_problem(403, "forbidden");
    let courier = w.courier(None).await;
    let unknown = shared::ids::ShipmentId::generate();
    w.event(&courier, unknown.as_str(), "picked_up").await.expect_problem(404, "shipment_not_found");
}

/// The whole way with the real broker and settlement: an order is paid, routed, carried
/// and delivered, and the delivery releases the escrow to the store.
#[tokio::test]
async fn a_delivered_order_releases_escrow_in_settlement() {
    let w = world().await;
    let m = &w.m;
    let shop = m.shop("Corner", "toner", 4_000, 10).await;
    let (store, seller_token) = (&shop.store, &shop.seller_token);
    let Placed { order_id, capability: cap, amount, .. } = m.place(store, &shop.product, 1).await;
    assert_eq!(amount, eur(4_000));

    // Goods at the region's branch; the address straight from the buyer.
    let url = w.url(&format!("/v1/nodes/{}/inventory/{}", w.b1, shop.product));
    m.put(&url, Some(&m.operator), json!({ "quantity": 3 })).await.expect(200);
    m.put(&w.url(&format!("/v1/shipments/{order_id}/address")), Some(&cap), address("north")).await.expect(204);

    // Until the broker's `order_payable` has arrived, settlement answers 404 and the
    // partner retries with the same key.
    let key = m.partner_key().await;
    m.pay_in_full(&key, &order_id, 4_000, "r-1").await;

    // Settlement's `order_paid` and the broker's `shipment_requested` make the shipment.
    let shipment = m.routed(&order_id, &cap).await.shipment_id;
    assert_eq!(w.hops(&order_id).await, vec![(w.b1.clone(), "buyer".to_string())]);
    let courier = w.courier(None).await;
    w.deliver_all(&courier, shipment.as_str(), 1).await;

    // Delivered; once the buyer accepts, escrow goes to the store, less the 3 %
    // marketplace fee, and the broker completes the order.
    m.broker_shows(&order_id, &cap, OrderStatus::Delivered).await;
    m.accept_and_complete(&order_id, &cap).await;
    let seller = m.settlement_as(Some(seller_token));
    let b = seller.balance(store.as_str()).await.done();
    assert_eq!((b.available, b.escrow), (eur(3_880), eur(0)));
    let view = m.seller_shipment(&order_id, seller_token).await.expect(200);
    assert_eq!((view["status"].as_str(), view["delivered"].as_bool()), (Some("delivered"), Some(true)));
}

/// Seed 001: when only the seller's node has the goods, delivery is entrusted to the
/// seller. The salesperson sees the goods to issue at their node (never the order, the
/// buyer or the destination), counts their node's stock, and issues the goods; only then
/// can a courier take the leg.
#[tokio::test]
async fn a_seller_issues_the_goods_at_their_own_node_before_a_courier_takes_them() {
    let w = world().await;
    let registered = |store: &StoreId, seller: &SellerId| Message::StoreRegistered {
        store_id: store.clone(),
        seller_id: Some(seller.clone()),
        manufacturer_id: None,
        union_id: None,
        name: "Back room".into(),
        category: "office".into(),
        region: "south".into(),
    };
    w.send(ServiceName::Broker, registered(&w.store, &w.seller)).await;
    // A second delivery of the same message changes nothing.
    w.send(ServiceName::Broker, registered(&w.store, &w.seller)).await;
    let seller = w.m.seller_token_for(&w.seller);
    let other_seller = SellerId::generate();
    let other_store = StoreId::generate();
    w.send(ServiceName::Broker, registered(&other_store, &other_seller)).await;
    let stranger = w.m.seller_token_for(&other_seller);

    // The salesperson counts the stock at their own node; another salesperson cannot.
    let stock_url = w.url(&format!("/v1/seller/nodes/{}/inventory/{}", w.seller_node, w.product));
    w.m.put(&stock_url, Some(&stranger), json!({ "quantity": 9 })).await.expect_problem(404, "node_not_found");
    w.m.put(&stock_url, Some(&seller), json!({ "quantity": -1 })).await.expect_problem(422, "invalid_quantity");
    let set = w.m.put(&stock_url, Some(&seller), json!({ "quantity": 2 })).await.expect(200);
    assert_eq!(set["quantity"], 2);
    let mine = w.m.get(&w.url("/v1/seller/nodes"), Some(&seller)).await.expect(200);
    assert_eq!(mine["nodes"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["nodes"][0]["node_id"], w.seller_node.as_str());
    assert_eq!(mine["nodes"][0]["stock"][0]["quantity"], 2);
    let theirs = w.m.get(&w.url("/v1/seller/nodes"), Some(&stranger)).await.expect(200);
    assert_eq!(theirs["nodes"], json!([]));

    // Only the seller's node has the goods: the shipment waits for the goods issue.
    let order = w.order().await;
    let t = w.tracking(&order).await;
    let shipment = json_of(&t, "shipment_id");
    assert_eq!(w.hops(&order).await, vec![(w.seller_node.clone(), "buyer".to_string())]);
    assert_eq!(t["legs"][0]["status"], "awaiting_goods_issue");
    assert_eq!(w.inventory(&w.seller_node).await, 1);
    // The order row keeps the store's node while it may be routed again, never the store
    // or its salesperson.
    let rows = ["orders", "shipments", "addresses"];
    assert_eq!(w.m.columns_holding(ServiceName::Delivery, &["orders"], &w.seller_node), ["orders.seller_node"]);
    for who in [w.store.as_str(), w.seller.as_str(), w.mfr.as_str()] {
        assert_eq!(w.m.columns_holding(ServiceName::Delivery, &rows, who), Vec::<String>::new(), "{who}");
    }

    // No courier sees or takes the leg before the goods are issued.
    let courier = w.courier(None).await;
    assert!(!w.courier_list(&courier).await.to_string().contains(&shipment));
    w.event(&courier, &shipment, "picked_up").await.expect_problem(409, "invalid_transition");

    // The salesperson's list: shipment, product and quantity, nothing about the buyer.
    let list = w.m.get(&w.url("/v1/seller/dispatches"), Some(&seller)).await.expect(200);
    let d = &list["dispatches"][0];
    assert_eq!(
        (d["shipment_id"].as_str(), d["status"].as_str()),
        (Some(shipment.as_str()), Some("awaiting_goods_issue"))
    );
    assert_eq!((d["product_id"].as_str(), d["quantity"].as_i64()), (Some(w.product.as_str()), Some(1)));
    let text = list.to_string();
    for secret in [order.as_str(), NAME, LINE1, CITY, POSTAL, "north"] {
        assert!(!text.contains(secret), "a seller's dispatch list shows {secret}: {text}");
    }
    assert_eq!(w.m.get(&w.url("/v1/seller/dispatches"), Some(&stranger)).await.expect(200)["dispatches"], json!([]));

    // Another salesperson cannot issue it; the owner can, and again changes nothing.
    let issue = w.url(&format!("/v1/seller/dispatches/{shipment}/goods-issue"));
    w.m.post(&issue, Some(&stranger), json!({})).await.expect_problem(404, "shipment_not_found");
    w.m.post(&issue, Some(&courier), json!({})).await.expect_problem(403, "forbidden");
    assert_eq!(w.tracking(&order).await["legs"][0]["status"], "awaiting_goods_issue");
    assert_eq!(w.m.post(&issue, Some(&seller), json!({})).await.expect(200)["status"], "open");
    assert_eq!(w.m.post(&issue, Some(&seller), json!({})).await.expect(200)["status"], "open");

    // Now a courier takes it to the buyer.
    assert!(w.courier_list(&courier).await.to_string().contains(&shipment));
    let last = w.deliver_all(&courier, &shipment, 1).await;
    assert_eq!(last["delivered"], true);
    // Picked up, it will never be routed again: the order forgets its sources; the
    // shipment knows where it came from.
    assert_eq!(w.m.columns_holding(ServiceName::Delivery, &rows, &w.seller_node), ["shipments.source_node"]);
    assert_eq!(w.m.get(&w.url("/v1/seller/dispatches"), Some(&seller)).await.expect(200)["dispatches"], json!([]));
    assert_eq!(w.inventory(&w.seller_node).await, 1);
}
