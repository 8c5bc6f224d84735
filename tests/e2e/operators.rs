//! Operators: accounts with roles that every service checks, the audit log, and the
//! messages between services that never silently die.

use crate::flows::SettledAs;
use crate::helpers::{Expect, TestMarket, PASSWORD};
use client::admin::{Admin, NewOperator};
use client::broker::accounts::Credentials;
use client::broker::catalog::NewUnion;
use client::Api;
use diesel::RunQueryDsl;
use serde_json::json;
use shared::auth::{OperatorRole, Role};
use shared::config::ServiceName::{self, Broker, Delivery, Settlement};
use shared::ids::OperatorId;
use shared::outbox::{Listed, MessageStatus};

/// A message schedule that makes the old rule (dead after 25 attempts) pass in a moment:
/// retries at most 8 ms apart, for the default three days.
fn fast_retries(c: &mut shared::config::Config) {
    c.outbox.poll_interval_ms = 5;
    c.outbox.base_backoff_ms = 1;
    c.outbox.max_backoff_ms = 8;
}

async fn undelivered(m: &TestMarket, service: ServiceName, status: &str) -> Vec<Listed> {
    m.admin_as(service, &m.operator).outbox(status).await.done().messages
}

fn series(service: ServiceName, gauge: &str, destination: ServiceName) -> String {
    format!("{service}_outbox_{gauge}{{destination=\"{destination}\"}}")
}

#[tokio::test]
async fn an_outage_longer_than_the_old_schedule_loses_nothing_and_drains_once_the_service_is_back() {
    let mut m = TestMarket::spawn_with(fast_retries).await;
    let shop = m.shop("Outage", "drill", 1500, 5).await;
    m.stop_service(Delivery).await;

    // An order and its payment each tell delivery something: what to ship (the broker)
    // and that it is paid (settlement).
    let placed = m.place(&shop.store, &shop.product, 1).await;
    let key = m.partner_key().await;
    m.pay_in_full(&key, &placed.order_id, 1500, "outage").await;
    let paid = m
        .eventually("order_paid to delivery retried well past the old 25 attempts", || async {
            let pending = undelivered(&m, Settlement, "pending").await;
            pending.into_iter().find(|x| x.destination == "delivery" && x.kind == "order_paid" && x.attempts > 40)
        })
        .await;
    assert_eq!(paid.status, MessageStatus::Pending);
    assert!(paid.last_error.is_some(), "{paid:?}");
    let requested = undelivered(&m, Broker, "pending").await;
    let requested = requested.iter().find(|x| x.kind == "shipment_requested").expect("the request waits").clone();

    // Nothing died, and the gauges show the backlog and its age.
    for service in [Broker, Settlement] {
        assert!(undelivered(&m, service, "dead").await.is_empty(), "{service}");
        assert_eq!(m.metric(service, &series(service, "dead", Delivery)).await, 0.0);
        assert!(m.metric(service, &series(service, "pending", Delivery)).await >= 1.0, "{service}");
        assert!(m.metric(service, &series(service, "oldest_pending_seconds", Delivery)).await > 0.0, "{service}");
    }

    m.start_service(Delivery);
    m.eventually("the backlog to delivery to drain", || async {
        for service in [Broker, Settlement] {
            let left = undelivered(&m, service, "pending").await;
            if left.iter().any(|x| x.destination == "delivery") {
                return None;
            }
        }
        Some(())
    })
    .await;
    // The gauges follow (they are read at most once a second).
    for service in [Broker, Settlement] {
        m.eventually("the gauges to show the backlog drained", || async {
            let pending = m.metric(service, &series(service, "pending", Delivery)).await;
            let age = m.metric(service, &series(service, "oldest_pending_seconds", Delivery)).await;
            (pending == 0.0 && age == 0.0).then_some(())
        })
        .await;
    }
    // Delivery took both, each once.
    for message in [&paid, &requested] {
        assert!(!m.columns_holding(Delivery, &["inbox"], message.id.as_str()).is_empty(), "{message:?}");
    }
}

#[tokio::test]
async fn a_dead_message_holds_back_its_order_until_an_admin_revives_it_and_then_applies_once() {
    // A short span: a message to a service that is down dies within a moment.
    let mut m = TestMarket::spawn_with(|c| {
        fast_retries(c);
        c.outbox.retry_for_ms = 100;
    })
    .await;
    let shop = m.shop("Revive", "saw", 900, 5).await;
    m.stop_service(Settlement).await;
    let placed = m.place(&shop.store, &shop.product, 1).await;
    let payable = m
        .eventually("order_payable to die while settlement is down", || async {
            let dead = undelivered(&m, Broker, "dead").await;
            dead.into_iter().find(|x| x.kind == "order_payable")
        })
        .await;
    // The buyer cancels: the cancellation of the same order queues behind the dead payable.
    let url = format!("{}/v1/orders/{}/cancel", m.broker, placed.order_id);
    m.post(&url, Some(&placed.capability), json!({})).await.expect(200);

    m.start_service(Settlement);
    // The dispatcher delivers to settlement again (a new store is announced there)...
    let later = m.shop("Later", "saw", 900, 5).await;
    m.eventually("settlement to hear of the later store", || async {
        let pending = undelivered(&m, Broker, "pending").await;
        (!pending.iter().any(|x| x.kind == "store_registered" && x.destination == "settlement")).then_some(())
    })
    .await;
    let _ = later;
    // ...but never the cancellation ahead of the payable it follows.
    let pending = undelivered(&m, Broker, "pending").await;
    let cancelled = pending.iter().find(|x| x.kind == "order_cancelled").expect("the cancellation waits");
    assert_eq!(cancelled.attempts, 0, "tried before the dead payable: {cancelled:?}");
    m.settlement_as(Some(&placed.capability))
        .order_settlement(placed.order_id.as_str())
        .await
        .refused(404, "not_found");

    // An admin revives the payable: it arrives, then the cancellation, in their order.
    let admin = m.admin_as(Broker, &m.operator);
    let revived = admin.retry(payable.id.as_str()).await.done();
    assert_eq!((revived.status, revived.attempts), (MessageStatus::Pending, 0));
    m.settled(&placed.order_id, &placed.capability, SettledAs::Cancelled).await;
    m.eventually("the order's messages to drain", || async {
        let pending = undelivered(&m, Broker, "pending").await;
        (!pending.iter().any(|x| x.kind == "order_cancelled")).then_some(())
    })
    .await;

    // Once: a second revival finds nothing to send, and the order stays cancelled.
    admin.retry(payable.id.as_str()).await.refused(404, "not_found");
    admin.discard(payable.id.as_str()).await.refused(409, "not_dead");
    assert_eq!(m.columns_holding(Settlement, &["inbox"], payable.id.as_str()).len(), 1);
    let view = m.settlement_as(Some(&placed.capability)).order_settlement(placed.order_id.as_str()).await.done();
    assert_eq!(view.status, SettledAs::Cancelled);

    // The revival is in the broker's audit log, by the bootstrap token.
    let audit = admin.audit(0).await.done().entries;
    let entry = audit.iter().find(|e| e.action == "POST /v1/admin/outbox/{message_id}/retry").expect("audited");
    assert_eq!((entry.actor.as_str(), entry.status), ("bootstrap", 200));
    assert_eq!(entry.target, format!("message_id={}", payable.id));
}

pub(crate) async fn sign_in(m: &TestMarket, email: &str) -> String {
    let credentials = Credentials { email: email.into(), password: PASSWORD.into() };
    Admin::new(Api::new(&m.broker)).sign_in(&credentials).await.done().access_token
}

pub(crate) fn operator(name: &str, email: &str, roles: &[OperatorRole]) -> NewOperator {
    NewOperator { name: name.into(), email: email.into(), password: PASSWORD.into(), roles: roles.to_vec() }
}

#[tokio::test]
async fn operators_hold_roles_that_every_service_checks_and_every_request_is_audited() {
    let m = TestMarket::spawn().await;
    // The bootstrap token creates the first admin; the admin creates the rest.
    let boot = m.admin_as(Broker, &m.operator);
    let ada = boot.create_operator(&operator("Ada", "ada@ops.example", &[OperatorRole::Admin])).await.done().id;
    boot.create_operator(&operator("Ada 2", "ADA@ops.example", &[OperatorRole::Admin]))
        .await
        .refused(409, "email_taken");
    boot.create_operator(&operator("Nobody", "no@ops.example", &[])).await.refused(422, "invalid_request");
    let admin_token = sign_in(&m, "ada@ops.example").await;
    let admin = m.admin_as(Broker, &admin_token);
    let fin = admin.create_operator(&operator("Fin", "fin@ops.example", &[OperatorRole::Finance])).await.done().id;
    let finance = sign_in(&m, "fin@ops.example").await;

    // Finance reads the ledger at settlement; an admin's token does not.
    let ledger = format!("{}/v1/ledger/trial-balance", m.settlement);
    m.get(&ledger, Some(&finance)).await.expect(200);
    m.get(&ledger, Some(&admin_token)).await.expect_problem(403, "forbidden");
    // Finance may not set up the market, nor read the audit log, anywhere.
    let union = NewUnion { name: "Finance union".into(), region: "north".into() };
    m.broker_as(Some(&finance)).create_union(&union).await.refused(403, "forbidden");
    for service in ServiceName::ALL {
        m.admin_as(service, &finance).audit(0).await.refused(403, "forbidden");
        m.admin_as(service, &admin_token).outbox("dead").await.done();
    }
    // A seller's token is not an operator's; an operator token signed with another
    // service's key (a stolen settlement key) does not verify anywhere.
    let (_, seller) = m.create_seller("Not staff").await;
    m.admin_as(Settlement, &seller).outbox("dead").await.refused(403, "forbidden");
    let forged = m.token_signed_by(Settlement, Role::Operator, ada.as_str());
    for service in ServiceName::ALL {
        m.admin_as(service, &forged).outbox("dead").await.refused(401, "unauthorized");
    }

    // The broker's log: who did what, the refusal included; settlement's holds its own.
    let entries = admin.audit(0).await.done().entries;
    let has = |actor: &str, action: &str, status: i32| {
        entries.iter().any(|e| e.actor == actor && e.action == action && e.status == status)
    };
    assert!(has("bootstrap", "POST /v1/operators", 201), "{entries:?}");
    assert!(has("bootstrap", "POST /v1/operators", 409), "{entries:?}");
    assert!(has(ada.as_str(), "POST /v1/operators", 201), "{entries:?}");
    assert!(has(fin.as_str(), "POST /v1/unions", 403), "{entries:?}");
    assert!(has(fin.as_str(), "GET /v1/admin/audit", 403), "{entries:?}");
    assert!(entries.iter().all(|e| !e.request_id.is_empty()));
    assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));
    let at_settlement = m.admin_as(Settlement, &admin_token).audit(0).await.done().entries;
    assert!(at_settlement.iter().any(|e| e.actor == fin.as_str() && e.action == "GET /v1/ledger/trial-balance"));
    assert!(!at_settlement.iter().any(|e| e.action == "POST /v1/unions"));
    // Paging: after the last entry there is nothing yet but this read.
    let last = entries.last().unwrap().seq;
    let after = admin.audit(last).await.done().entries;
    assert!(after.iter().all(|e| e.seq > last && e.action == "GET /v1/admin/audit"), "{after:?}");

    // An admin disables Finance: no more sign-in, and the token is refused at the broker
    // at once and at settlement as soon as the broker's message arrives.
    let view = admin.set_disabled(&fin, true).await.done();
    assert!(view.disabled);
    let credentials = Credentials { email: "fin@ops.example".into(), password: PASSWORD.into() };
    Admin::new(Api::new(&m.broker)).sign_in(&credentials).await.refused(401, "unauthorized");
    m.eventually("settlement to refuse the disabled operator", || async {
        (m.get(&ledger, Some(&finance)).await.status == 403).then_some(())
    })
    .await;
    let at_settlement = m.admin_as(Settlement, &admin_token).audit(0).await.done().entries;
    let refused = |e: &&shared::audit::Entry| e.actor == fin.as_str() && e.status == 403;
    assert!(at_settlement.iter().any(|e| refused(&e) && e.action == "GET /v1/ledger/trial-balance"));
    admin.set_disabled(&OperatorId::generate(), true).await.refused(404, "not_found");
    admin.set_disabled(&fin, false).await.done();
    m.eventually("settlement to take the operator again", || async {
        (m.get(&ledger, Some(&finance)).await.status == 200).then_some(())
    })
    .await;
    let listed = admin.operators().await.done().operators;
    assert_eq!(listed.iter().map(|o| o.email.as_str()).collect::<Vec<_>>(), ["ada@ops.example", "fin@ops.example"]);
}

#[tokio::test]
async fn the_audit_log_is_append_only_in_the_database_itself() {
    let m = TestMarket::spawn().await;
    m.admin_as(Broker, &m.operator).outbox("dead").await.done();
    let url = m.config.database_url(Broker);
    let db = shared::db::Db::open(&url, 1, broker::MIGRATIONS).unwrap();
    for sql in ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"] {
        let refused = db.write_blocking(move |c| diesel::sql_query(sql).execute(c).map_err(shared::db::DbError::from));
        assert!(refused.is_err(), "{sql} was allowed");
    }
    let entries = m.admin_as(Broker, &m.operator).audit(0).await.done().entries;
    assert_eq!(entries[0].actor, "bootstrap");
}

#[tokio::test]
async fn a_suspended_store_leaves_search_takes_no_orders_and_is_paid_nothing_until_lifted() {
    use client::admin::Suspension;
    use client::broker::orders::OrderStatus;
    use client::settlement::SkipReason;
    use shared::rules::Unsellable;

    let m = TestMarket::spawn().await;
    let shop = m.shop("Suspend", "anvil", 1200, 10).await;
    // Another store sells the same product: where a buyer is sent instead.
    let other = m.create_store(&shop.seller_token, &shop.union, "Suspend other", "tools").await;
    let (_, rival_token) = m.create_seller("Rival").await;
    let rival = m.create_store(&rival_token, &shop.union, "Rival store", "tools").await;
    m.put_offer(&rival_token, &rival, &shop.product, 1300, 10, true, json!({})).await;
    let key = m.partner_key().await;
    let paid = m.place(&shop.store, &shop.product, 1).await;
    m.pay_in_full(&key, &paid.order_id, 1200, "before").await;
    let unpaid = m.place(&shop.store, &shop.product, 2).await;
    m.fund_store(&shop.store, &shop.product, 5000).await;

    let admin = m.admin_as(Broker, &m.operator);
    let bare = Suspension { suspended: true, reason: None };
    admin.suspend_store(shop.store.as_str(), &bare).await.refused(422, "invalid_request");
    admin.suspend_store(OperatorId::generate().as_ref(), &bare).await.refused(400, "invalid_id");
    let why = Suspension { suspended: true, reason: Some("counterfeit goods".into()) };
    let suspended = admin.suspend_store(shop.store.as_str(), &why).await.done();
    assert!(suspended.suspended && suspended.cancelled_orders == 1, "{suspended:?}");
    assert_eq!(admin.suspend_store(shop.store.as_str(), &why).await.done().cancelled_orders, 0);

    // Gone for buyers: search, the shelf, a selection (which sends them elsewhere) and a new order.
    let hits = m.broker_as(None).search("kind=anvil").await.done().results;
    assert!(hits.iter().all(|h| h.store_id != shop.store) && hits.iter().any(|h| h.store_id == rival), "{hits:?}");
    assert!(m.broker_as(None).shelf(shop.store.as_str(), 50, 0).await.done().offers.is_empty());
    let selection = m.select(&shop.store, &shop.product, 1).await;
    assert_eq!((selection.sellable, selection.reason), (false, Some(Unsellable::StoreSuspended)));
    assert!(selection.alternatives.iter().any(|a| a.store_id == rival));
    let order = crate::helpers::order_of(&shop.store, &shop.product, 1);
    m.broker_as(None).place(&order, &shared::ids::random_hex128()).await.refused(409, "store_suspended");
    // The unpaid order was cancelled (settlement too); the paid one goes on.
    m.broker_shows(&unpaid.order_id, &unpaid.capability, OrderStatus::Cancelled).await;
    m.settled(&unpaid.order_id, &unpaid.capability, SettledAs::Cancelled).await;
    assert_eq!(m.order_view(&paid.order_id, &paid.capability).await.status, OrderStatus::Paid);
    // Settlement holds the store's money.
    let finance = m.settlement_as(Some(&m.operator));
    m.eventually("settlement to hold the suspended store's remittance", || async {
        let batch = finance.run_remittances().await.ok()?;
        batch.skipped.iter().find(|s| s.store_id == shop.store && s.reason == SkipReason::Suspended).map(|_| ())
    })
    .await;

    // Suspending the seller covers every store of theirs; lifting it restores them.
    let all = admin.suspend_seller(shop.seller.as_str(), &why).await.done().stores;
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|s| s.suspended) && all.iter().any(|s| s.store_id == other));
    let lift = Suspension { suspended: false, reason: None };
    let lifted = admin.suspend_seller(shop.seller.as_str(), &lift).await.done().stores;
    assert!(lifted.iter().all(|s| !s.suspended && s.reason.is_none()));
    assert!(m.select(&shop.store, &shop.product, 1).await.sellable);
    let hits = m.broker_as(None).search("kind=anvil").await.done().results;
    assert!(hits.iter().any(|h| h.store_id == shop.store));
    m.eventually("settlement to pay the store again (it has no payout account yet)", || async {
        let batch = finance.run_remittances().await.ok()?;
        batch.skipped.iter().find(|s| s.store_id == shop.store && s.reason == SkipReason::NoPayoutAccount).map(|_| ())
    })
    .await;
    // Each suspension and lift is in the audit log.
    let audit = admin.audit(0).await.done().entries;
    let suspensions = audit.iter().filter(|e| e.action.ends_with("/suspension") && e.status == 200).count();
    assert_eq!(suspensions, 4);
}
