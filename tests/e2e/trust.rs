//! Trust boundaries between the services: each inbox takes a message kind only from the
//! service that sends it, speaking for itself; each token role only from its issuer. These
//! are the attacks of someone holding one service's signing key.

use crate::helpers::TestMarket;
use client::broker::orders::{OrderStatus, Placed};
use shared::auth::Role;
use shared::config::ServiceName;
use shared::ids::OrderId;
use shared::messages::{one_of_each, Message};

const PRICE: i64 = 4_000;

#[tokio::test]
async fn every_inbox_takes_each_kind_only_from_its_sender_speaking_for_itself() {
    let m = TestMarket::spawn().await;
    for message in one_of_each() {
        let route = message.route();
        let kind = message.kind();
        for receiver in ServiceName::ALL {
            for signer in ServiceName::ALL.into_iter().filter(|s| *s != receiver) {
                // Signed by a service that does not send this kind, in its own name or in
                // the rightful sender's: refused before anything is written.
                if signer != route.from {
                    for source in [signer, route.from] {
                        m.send_envelope(signer, receiver, source.as_str(), message.clone())
                            .await
                            .expect_problem(403, "forbidden");
                    }
                    continue;
                }
                // The rightful signer claiming to be another service: refused too.
                for source in ServiceName::ALL.into_iter().filter(|s| *s != signer) {
                    m.send_envelope(signer, receiver, source.as_str(), message.clone())
                        .await
                        .expect_problem(403, "forbidden");
                }
                // The rightful sender to a service the kind is not sent to: refused.
                let a = m.send_envelope(signer, receiver, signer.as_str(), message.clone()).await;
                if !route.to.contains(&receiver) {
                    a.expect_problem(403, "forbidden");
                } else {
                    assert_ne!(a.status.as_u16(), 403, "{kind} from {signer} to {receiver}: {}", a.body);
                }
            }
        }
    }
}

struct Paid {
    order: OrderId,
    capability: String,
}

/// An order placed at the broker and paid through settlement's partner API, waiting for
/// delivery.
async fn paid_order(m: &TestMarket) -> Paid {
    let shop = m.shop("Trust", "plane", PRICE, 10).await;
    let Placed { order_id, capability, .. } = m.place(&shop.store, &shop.product, 1).await;
    let key = m.partner_key().await;
    m.pay(&key, &order_id, PRICE, "t-1").await;
    m.broker_shows(&order_id, &capability, OrderStatus::Paid).await;
    Paid { order: order_id, capability }
}

#[tokio::test]
async fn a_stolen_key_cannot_report_what_another_service_knows() {
    let m = TestMarket::spawn().await;
    let p = paid_order(&m).await;
    let order_id = p.order.clone();
    let delivered = Message::OrderDelivered { order_id: order_id.clone() };

    // The broker's key cannot release escrow with nothing shipped ...
    m.send_envelope(ServiceName::Broker, ServiceName::Settlement, "broker", delivered.clone())
        .await
        .expect_problem(403, "forbidden");
    m.send_envelope(ServiceName::Broker, ServiceName::Settlement, "delivery", delivered.clone())
        .await
        .expect_problem(403, "forbidden");
    // ... nor settlement's key move the order to `delivered` by claiming to be delivery.
    m.send_envelope(ServiceName::Settlement, ServiceName::Broker, "delivery", delivered.clone())
        .await
        .expect_problem(403, "forbidden");

    let cap = &p.capability;
    let at_settlement =
        m.get(&format!("{}/v1/orders/{}/settlement", m.settlement, p.order), Some(cap)).await.expect(200);
    assert_eq!(at_settlement["status"], "captured", "escrow still held: {at_settlement}");
    let at_broker = m.get(&format!("{}/v1/orders/{}", m.broker, p.order), Some(cap)).await.expect(200);
    assert_eq!(at_broker["status"], "paid", "{at_broker}");
    let trial = m.balanced_trial_balance().await;
    let escrow = trial["accounts"].as_array().unwrap().iter().filter(|a| a["kind"] == "escrow");
    assert_eq!(escrow.map(|a| a["balance"]["amount"].as_i64().unwrap()).sum::<i64>(), -PRICE, "{trial}");
}

#[tokio::test]
async fn a_role_signed_by_another_services_key_is_refused_everywhere() {
    let m = TestMarket::spawn().await;
    let p = paid_order(&m).await;
    let (seller_id, _) = m.create_seller("Victim seller").await;
    for wrong in [ServiceName::Settlement, ServiceName::Delivery] {
        // A capability for a real order, but not from the broker.
        let cap = m.token_signed_by(wrong, Role::Capability, &p.order);
        for url in [
            format!("{}/v1/orders/{}", m.broker, p.order),
            format!("{}/v1/orders/{}/settlement", m.settlement, p.order),
            format!("{}/v1/shipments/{}", m.delivery, p.order),
        ] {
            m.get(&url, Some(&cap)).await.expect_problem(401, "unauthorized");
        }
        // A salesperson's token, not from the broker.
        let seller = m.token_signed_by(wrong, Role::Seller, &seller_id);
        for url in [format!("{}/v1/seller/stores", m.broker), format!("{}/v1/seller/payout-account", m.settlement)] {
            m.get(&url, Some(&seller)).await.expect_problem(401, "unauthorized");
        }
    }
    // A courier token from the broker's key is nobody's either.
    let courier = m.token_signed_by(ServiceName::Broker, Role::Courier, "cou_00000000000000000000000000000000");
    m.get(&format!("{}/v1/courier/shipments", m.delivery), Some(&courier)).await.expect_problem(401, "unauthorized");
    // The rightful issuer's tokens pass, so the refusals above are the issuer rule's doing.
    let genuine = m.token_signed_by(ServiceName::Broker, Role::Capability, &p.order);
    m.get(&format!("{}/v1/orders/{}/settlement", m.settlement, p.order), Some(&genuine)).await.expect(200);
}
