//! Proof of delivery: the final leg to the buyer's address is delivered only with the
//! shipment's PIN, which only the buyer is shown; five wrong ones lock the leg until an
//! operator unlocks it.

use crate::flows::north_address;
use crate::helpers::{Expect, TestMarket};
use client::admin::NewOperator;
use client::broker::disputes::{DisputeReason, OpenDispute};
use client::broker::orders::OrderStatus;
use client::delivery::{EventBody, LegStatus, ShipmentStatus};
use shared::auth::OperatorRole;
use shared::ids::ShipmentId;

fn delivered(pin: Option<&str>) -> EventBody {
    EventBody { kind: "delivered".into(), reason: None, pin: pin.map(str::to_string) }
}

#[tokio::test]
async fn the_final_leg_takes_only_the_buyers_pin_and_five_wrong_ones_lock_it() {
    let m = TestMarket::spawn().await;
    let shop = m.shop("Pin", "lamp", 2_500, 5).await;
    m.branch_with_stock(&shop.product, 3).await;
    let courier = m.courier("Pia", "pia@couriers.example").await;
    let placed = m.place(&shop.store, &shop.product, 1).await;
    let (order, cap) = (placed.order_id.clone(), placed.capability.clone());
    m.give_address(&order, &cap, &north_address()).await;
    let key = m.partner_key().await;
    m.pay_in_full(&key, &order, 2_500, "pin").await;
    let tracking = m.routed(&order, &cap).await;
    let shipment: ShipmentId = tracking.shipment_id.clone();

    // Only the buyer is shown the PIN: not a read-only token for the order, not the
    // courier's list, not the seller's view of the shipment.
    let pin = tracking.pin.clone().expect("the buyer sees the PIN");
    assert!(pin.len() == 6 && pin.chars().all(|c| c.is_ascii_digit()), "{pin}");
    let narrow = m.capability_scoped(&order, &["read"]);
    let seen = m.delivery_as(Some(&narrow)).shipment(order.as_str()).await.done();
    assert!(seen.pin.is_none(), "{seen:?}");
    // A capability issued before the PIN existed is the buyer's all the same.
    let earlier = m.capability_for(&order);
    assert_eq!(m.delivery_as(Some(&earlier)).shipment(order.as_str()).await.done().pin.as_deref(), Some(&*pin));
    let cora = m.delivery_as(Some(&courier));
    cora.report(shipment.as_str(), &EventBody { kind: "picked_up".into(), reason: None, pin: None }).await.done();
    let list = m.get(&format!("{}/v1/courier/shipments", m.delivery), Some(&courier)).await.expect(200);
    assert!(!list.to_string().contains(&pin), "the courier's list shows no PIN");
    let seller = m.seller_shipment(&order, &shop.seller_token).await.expect(200);
    assert!(!seller.to_string().contains(&pin) && seller.get("pin").is_none(), "{seller}");

    // Without it, or with a wrong one, nothing is delivered; each wrong one counts.
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    cora.report(shipment.as_str(), &delivered(None)).await.refused(422, "wrong_pin");
    for _ in 0..3 {
        cora.report(shipment.as_str(), &delivered(Some(wrong))).await.refused(422, "wrong_pin");
    }
    cora.report(shipment.as_str(), &delivered(Some(&"9".repeat(40)))).await.refused(422, "invalid_event");
    let now = m.delivery_as(Some(&cap)).shipment(order.as_str()).await.done();
    assert_eq!(
        (now.status, now.delivered, now.legs[0].status),
        (ShipmentStatus::InTransit, false, LegStatus::PickedUp)
    );
    // The fifth wrong one locks the leg: then even the right PIN is refused.
    cora.report(shipment.as_str(), &delivered(Some(wrong))).await.refused(422, "wrong_pin");
    cora.report(shipment.as_str(), &delivered(Some(&pin))).await.refused(423, "leg_locked");
    m.broker_shows(&order, &cap, OrderStatus::Shipped).await;

    // Support unlocks it (a seller or the courier cannot); the right PIN then delivers.
    let boot = m.admin_as(shared::config::ServiceName::Broker, &m.operator);
    let support = NewOperator {
        name: "Sue".into(),
        email: "sue@ops.example".into(),
        password: crate::helpers::PASSWORD.into(),
        roles: vec![OperatorRole::Support],
    };
    boot.create_operator(&support).await.done();
    let sue = crate::operators::sign_in(&m, "sue@ops.example").await;
    let unlock = format!("{}/v1/admin/shipments/{shipment}/unlock", m.delivery);
    m.post(&unlock, Some(&courier), serde_json::json!({})).await.expect_problem(403, "forbidden");
    m.post(&unlock, Some(&shop.seller_token), serde_json::json!({})).await.expect_problem(403, "forbidden");
    let unknown = format!("{}/v1/admin/shipments/{}/unlock", m.delivery, ShipmentId::generate());
    m.post(&unknown, Some(&sue), serde_json::json!({})).await.expect_problem(404, "shipment_not_found");
    m.post(&unlock, Some(&sue), serde_json::json!({})).await.expect(200);
    // Unlocking again changes nothing, and the history tells one unlock.
    m.post(&unlock, Some(&sue), serde_json::json!({})).await.expect(200);
    let done = cora.report(shipment.as_str(), &delivered(Some(&format!(" {pin} ")))).await.done();
    assert!(done.delivered, "{done:?}");
    m.broker_shows(&order, &cap, OrderStatus::Delivered).await;
    // The unlock is in delivery's audit log, by Sue.
    let audit = m.admin_as(shared::config::ServiceName::Delivery, &m.operator).audit(0).await.done().entries;
    assert!(audit.iter().any(|e| e.action == "POST /v1/admin/shipments/{shipment_id}/unlock" && e.status == 200));

    // An arbiter reads how it went in the dispute's file: each step and each wrong PIN
    // with its time, the unlock, and that the PIN was given at last; never the PIN, a
    // node, a courier or an address.
    let opened = m
        .broker_as(Some(&cap))
        .open_dispute(order.as_str(), &OpenDispute { reason: DisputeReason::Damaged, message: "Cracked.".into() })
        .await
        .done();
    let judge = NewOperator {
        name: "Judy".into(),
        email: "judy@ops.example".into(),
        password: crate::helpers::PASSWORD.into(),
        roles: vec![OperatorRole::Arbiter],
    };
    boot.create_operator(&judge).await.done();
    let judy = crate::operators::sign_in(&m, "judy@ops.example").await;
    let file = m.broker_as(Some(&judy)).dispute_file(opened.dispute_id.as_str()).await.done();
    let facts = file.shipment.expect("the shipment's facts");
    let kinds: Vec<&str> = facts.events.iter().map(|e| e.kind.as_str()).collect();
    let mut expected = vec!["picked_up"];
    expected.extend(["wrong_pin"; 5]);
    expected.extend(["pin_unlocked", "delivered"]);
    assert_eq!(kinds, expected);
    assert!(facts.events.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(facts.pin_confirmed && facts.delivered && facts.status == ShipmentStatus::Delivered, "{facts:?}");
    let text = serde_json::to_string(&facts).unwrap();
    for secret in [pin.as_str(), tracking.legs[0].from_node.as_str(), "Pia", crate::flows::ADDRESS_LINE] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // Delivery's audit log names Judy for the read, though her token never reached it.
    let audit = m.admin_as(shared::config::ServiceName::Delivery, &m.operator).audit(0).await.done().entries;
    let read = audit.iter().find(|e| e.action == "GET /v1/arbiter/shipments/{order_id}").expect("the read");
    assert!(read.status == 200 && read.actor.starts_with("opr_"), "{read:?}");

    // Delivery answers no operator's own token, the arbiter's included, nor anyone else's:
    // only the broker's dispute-file token for this order opens it.
    for token in [&judy, &sue, &m.operator, &courier, &shop.seller_token, &cap] {
        m.delivery_as(Some(token)).arbiter_shipment(order.as_str()).await.refused(401, "unauthorized");
    }
    let view = m.broker_as(Some(&shop.seller_token)).shipment_view(order.as_str()).await.done().token;
    m.delivery_as(Some(&view)).arbiter_shipment(order.as_str()).await.refused(401, "unauthorized");
}
