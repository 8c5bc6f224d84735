//! Delivery knows sources, not sellers: a seller reads its order's shipment status with a
//! view token the broker signs for that order alone, and delivery's order, shipment and
//! address rows name no store and no salesperson.

use crate::checkout::checkout;
use crate::flows::north_address;
use crate::helpers::{json_of, TestMarket};
use serde_json::{json, Value};
use shared::config::ServiceName;
use shared::ids::OrderId;

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_seller_reads_its_orders_shipment_with_the_brokers_view_token_and_nothing_else() {
    let m = TestMarket::spawn().await;
    let done = checkout(&m, 2_000).await;
    let mint = |order: &str| format!("{}/v1/seller/orders/{order}/shipment-view", m.broker);
    let read = |order: &str| format!("{}/v1/seller/shipments/{order}", m.delivery);
    let a = done.order_id.as_str();

    // The broker mints one for the order's own seller (no body needed); delivery answers
    // it with the status and nothing else.
    let minted = m.call(reqwest::Method::POST, &mint(a), Some(&done.seller_token), None, &[]).await.expect(200);
    assert_eq!(sorted_keys(&minted), ["expires_in", "token"]);
    assert_eq!(minted["expires_in"], 300);
    let token = json_of(&minted, "token");
    let view = m.get(&read(a), Some(&token)).await.expect(200);
    assert_eq!(sorted_keys(&view), ["delivered", "estimated_delivery", "status"]);
    assert_eq!((view["status"].as_str(), view["delivered"].as_bool()), (Some("delivered"), Some(true)));

    // Another seller's order is as unknown to a seller as one that does not exist; the
    // buyer's capability is no seller's token.
    let (_, other_seller) = m.create_seller("Other Toner Ltd").await;
    m.post(&mint(a), Some(&other_seller), json!({})).await.expect_problem(404, "not_found");
    m.post(&mint(OrderId::generate().as_str()), Some(&done.seller_token), json!({}))
        .await
        .expect_problem(404, "not_found");
    m.post(&mint(a), Some(&done.capability), json!({})).await.expect_problem(403, "forbidden");
    m.post(&mint(a), None, json!({})).await.expect_problem(401, "unauthorized");

    // A second order of the same store, paid and routed: order A's token does not open it,
    // its own does.
    let product = m.order_view(&done.order_id, &done.capability).await.product_id;
    let placed = m.place(&done.store_id, &product, 1).await;
    let (b, b_cap) = (placed.order_id, placed.capability);
    m.give_address(&b, &b_cap, &north_address()).await;
    let key = m.partner_key().await;
    m.pay_in_full(&key, &b, 2_000, "ref-b").await;
    m.routed(&b, &b_cap).await;
    m.get(&read(b.as_str()), Some(&token)).await.expect_problem(403, "forbidden");
    assert_eq!(m.seller_shipment(&b, &done.seller_token).await.expect(200)["status"], "routed");

    // No one's own token opens delivery's route: not the seller's, not the capability.
    for own in [&done.seller_token, &done.capability, &m.operator] {
        m.get(&read(a), Some(own)).await.expect_problem(401, "unauthorized");
    }
    // The same claims and kind signed by delivery's or settlement's key are refused; so is
    // the broker's own once expired.
    let now = shared::time::unix_seconds();
    for service in [ServiceName::Delivery, ServiceName::Settlement] {
        let forged = m.shipment_view_token_signed_by(service, a, now);
        m.get(&read(a), Some(&forged)).await.expect_problem(401, "unauthorized");
    }
    let old = m.shipment_view_token_signed_by(ServiceName::Broker, a, now - 600);
    m.get(&read(a), Some(&old)).await.expect_problem(401, "token_expired");
    m.get(&read(a), Some(&m.shipment_view_token_signed_by(ServiceName::Broker, a, now))).await.expect(200);

    // And a view token is nobody's caller token anywhere else.
    m.get(&format!("{}/v1/orders/{a}", m.broker), Some(&token)).await.expect_problem(401, "unauthorized");
    m.get(&format!("{}/v1/shipments/{a}", m.delivery), Some(&token)).await.expect_problem(401, "unauthorized");
    m.get(&format!("{}/v1/seller/dispatches", m.delivery), Some(&token)).await.expect_problem(401, "unauthorized");
}

#[tokio::test]
async fn after_a_checkout_delivery_rows_name_no_seller_and_no_store_of_the_order() {
    let m = TestMarket::spawn().await;
    let done = checkout(&m, 3_000).await;
    let tables = ["orders", "shipments", "addresses"];
    // The probe reads every column of the tables: it finds the order where it is...
    let holding_order = m.columns_holding(ServiceName::Delivery, &tables, &done.order_id);
    for column in ["orders.order_id", "shipments.order_id"] {
        assert!(holding_order.iter().any(|c| c == column), "{holding_order:?}");
    }
    // ...and delivery does know the store, as the owner of nodes, in its own table.
    m.eventually("delivery to know the store", || async {
        (!m.columns_holding(ServiceName::Delivery, &["stores"], &done.store_id).is_empty()).then_some(())
    })
    .await;
    // But no row about the order names who sold it.
    for who in [done.seller_id.to_string(), done.store_id.to_string()] {
        assert_eq!(m.columns_holding(ServiceName::Delivery, &tables, &who), Vec::<String>::new(), "{who}");
    }
}
