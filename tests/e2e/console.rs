//! The operators' console (`/console`) and the admin reads it stands on: orders in their
//! store's view, the stores with their suspension, the latest audit entries; sign-in,
//! roles, CSRF and origin checks on every form; and, in a real browser, an admin who signs
//! in, suspends a store and revives a dead message.

use crate::browser::{browser, no_redirects, screenshots, start_driver, Tour};
use crate::helpers::{post_form, postgres_admin_url, Expect, TestMarket, PASSWORD};
use crate::operators::{operator, sign_in};
use client::admin::Suspension;
use shared::auth::OperatorRole;
use shared::config::ServiceName::{Broker, Settlement};
use shared::ids::OrderId;
use std::collections::BTreeSet;

#[tokio::test]
async fn support_reads_orders_as_their_store_sees_them_and_the_stores_with_their_suspension() {
    let m = TestMarket::spawn().await;
    let shop = m.shop("Support", "plane", 700, 5).await;
    let order = m
        .place_order(&client::broker::orders::PlaceOrder {
            contact: Some("buyer@mail.example".into()),
            ..crate::helpers::order_of(&shop.store, &shop.product, 2)
        })
        .await;
    let boot = m.admin_as(Broker, &m.operator);
    boot.create_operator(&operator("Sam", "sam@ops.example", &[OperatorRole::Support])).await.done();
    boot.create_operator(&operator("Fay", "fay@ops.example", &[OperatorRole::Finance])).await.done();
    let support = m.admin_as(Broker, &sign_in(&m, "sam@ops.example").await);

    // The stores, with who owns them; the filter by suspension.
    let stores = support.stores(None).await.done().stores;
    let listed = stores.iter().find(|s| s.store_id == shop.store).expect("the store is listed");
    assert_eq!((listed.seller_id.as_ref(), listed.suspended), (Some(&shop.seller), false));
    assert!(support.stores(Some(true)).await.done().stores.is_empty());

    // The order as its store sees it: the same fields as the seller's own view, no more.
    let one = support.order(order.order_id.as_str()).await.done();
    let sellers = m.broker_as(Some(&shop.seller_token)).seller_orders(50).await.done().orders;
    assert_eq!(sellers, vec![one.clone()]);
    let listed = support.orders(Some(shop.store.as_str()), None).await.done().orders;
    assert_eq!(listed, vec![one]);
    let raw = m.get(&format!("{}/v1/admin/orders/{}", m.broker, order.order_id), Some(&m.operator)).await.expect(200);
    let text = raw.to_string();
    assert!(!text.contains("buyer@mail.example") && !text.contains(&order.capability), "{text}");
    assert!(support.orders(None, Some("shipped")).await.done().orders.is_empty());
    support.orders(None, Some("lost")).await.refused(422, "invalid_status");
    support.order(OrderId::generate().as_str()).await.refused(404, "not_found");
    support.order("ord_nonsense").await.refused(400, "invalid_id");

    // Reading is support's; suspending is an admin's; a seller or a finance operator reads nothing.
    let why = Suspension { suspended: true, reason: Some("test".into()) };
    support.suspend_store(shop.store.as_str(), &why).await.refused(403, "forbidden");
    let finance = m.admin_as(Broker, &sign_in(&m, "fay@ops.example").await);
    finance.orders(None, None).await.refused(403, "forbidden");
    finance.stores(None).await.refused(403, "forbidden");
    m.admin_as(Broker, &shop.seller_token).orders(None, None).await.refused(403, "forbidden");
    m.get(&format!("{}/v1/admin/orders", m.broker), None).await.expect_problem(401, "unauthorized");

    // Each read is in the audit log, the latest first.
    let latest = boot.latest_audit(5).await.done().entries;
    assert!(latest.len() == 5 && latest.windows(2).all(|w| w[0].seq > w[1].seq), "{latest:?}");
    // The whole log ends with that read of it, just after the newest entry it showed.
    let all = boot.audit(0).await.done().entries;
    assert_eq!(all.last().unwrap().action, "GET /v1/admin/audit");
    assert_eq!(latest[0].seq, all[all.len() - 2].seq);
    let read = all.iter().find(|e| e.action == "GET /v1/admin/orders/{order_id}" && e.status == 200).unwrap();
    assert_eq!(read.target, format!("order_id={}", order.order_id));
}

/// The console's session cookie after signing in as `email`.
pub(crate) async fn console_session(m: &TestMarket, c: &reqwest::Client, email: &str) -> String {
    let r =
        post_form(c, format!("{}/console/sign-in", m.broker), None, &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("mp_console=") && cookie.contains("Path=/console"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

pub(crate) fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    page[at..at + 32].to_string()
}

#[tokio::test]
async fn the_console_takes_forms_only_with_its_session_csrf_token_and_shows_each_role_its_share() {
    let m = TestMarket::spawn().await;
    let shop = m.shop("Console", "lathe", 900, 5).await;
    let boot = m.admin_as(Broker, &m.operator);
    boot.create_operator(&operator("Ada", "ada@ops.example", &[OperatorRole::Admin])).await.done();
    boot.create_operator(&operator("Sam", "sam@ops.example", &[OperatorRole::Support])).await.done();
    boot.create_operator(&operator("Fin", "fin@ops.example", &[OperatorRole::Finance])).await.done();
    m.fund_store(&shop.store, &shop.product, 5000).await;
    let c = no_redirects();
    let console = format!("{}/console", m.broker);

    // Without a session: the sign-in form; a wrong password says so and sets nothing.
    let page = c.get(&console).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.text().await.unwrap().contains("console-sign-in"));
    let wrong = post_form(
        &c,
        format!("{console}/sign-in"),
        None,
        &[("email", "ada@ops.example"), ("password", "not the password")],
    )
    .await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    // A seller's password is not an operator's.
    let seller = post_form(
        &c,
        format!("{console}/sign-in"),
        None,
        &[("email", &format!("{}@sellers.example", "nobody")), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(seller.status().as_u16(), 401);

    let ada = console_session(&m, &c, "ada@ops.example").await;
    let page = c.get(&console).header("cookie", &ada).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(shop.store.as_str()) && page.contains("id=\"broker-dead-none\""), "{page}");
    assert!(page.contains("id=\"settlement-audit\"") && page.contains("id=\"delivery-pending"), "{page}");
    let csrf = csrf_of(&page);
    let suspend = format!("{console}/stores/{}/suspension", shop.store);
    let form = |token: &'static str| [("csrf", token), ("suspended", "true"), ("reason", "fake goods")];

    // Refused, and nothing suspended: another session's token, no token, another origin.
    let forged = post_form(&c, &suspend, Some(&ada), &form("0123456789abcdef0123456789abcdef")).await;
    assert_eq!(forged.status().as_u16(), 403);
    assert!(forged.text().await.unwrap().contains("csrf-refused"));
    let missing = post_form(&c, &suspend, Some(&ada), &[("suspended", "true"), ("reason", "x")]).await;
    assert!(missing.status().is_client_error());
    let token: &'static str = Box::leak(csrf.clone().into_boxed_str());
    let elsewhere = c
        .post(&suspend)
        .header("cookie", &ada)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&form(token))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status().as_u16(), 403);
    let unsigned = post_form(&c, &suspend, None, &form(token)).await;
    assert_eq!(unsigned.status().as_u16(), 401);
    assert!(boot.stores(Some(true)).await.done().stores.is_empty());

    // With the session's own token: suspended, by Ada, in the broker's log.
    let done = post_form(&c, &suspend, Some(&ada), &form(token)).await;
    assert_eq!(done.status().as_u16(), 303);
    let suspended = boot.stores(Some(true)).await.done().stores;
    assert_eq!(suspended.len(), 1);
    assert_eq!(suspended[0].suspension_reason.as_deref(), Some("fake goods"));
    let page = c.get(&console).header("cookie", &ada).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("suspended: fake goods") && page.contains("Lift suspension"), "{page}");
    let audit = boot.audit(0).await.done().entries;
    let entry = audit.iter().find(|e| e.action == "POST /v1/admin/stores/{store_id}/suspension").unwrap();
    assert!(entry.actor.starts_with("opr_") && entry.status == 200, "{entry:?}");
    // What names nothing is refused on the page before any service is called (a path
    // such as `..` never reaches one); the API's own refusal comes back on the page too.
    let sellers = format!("{console}/sellers/suspension");
    for bad in ["sel_nonsense", "..", ""] {
        let seller_form = [("csrf", token), ("suspended", "true"), ("reason", "x"), ("seller_id", bad)];
        let refused = post_form(&c, &sellers, Some(&ada), &seller_form).await;
        assert_eq!(refused.status().as_u16(), 400, "{bad}");
        assert!(refused.text().await.unwrap().contains("console-notice"));
    }
    let nobody = shared::ids::SellerId::generate().to_string();
    let seller_form = [("csrf", token), ("suspended", "true"), ("reason", "x"), ("seller_id", nobody.as_str())];
    let refused = post_form(&c, &sellers, Some(&ada), &seller_form).await;
    assert_eq!(refused.status().as_u16(), 404);
    assert!(refused.text().await.unwrap().contains("console-notice"));
    let lookup = c.get(format!("{console}?order_id=..")).header("cookie", &ada).send().await.unwrap();
    assert_eq!(lookup.status().as_u16(), 400);
    let message = format!("{console}/messages/broker/../retry");
    assert!(post_form(&c, &message, Some(&ada), &[("csrf", token)]).await.status().is_client_error());

    // A token that is not an operator's in the console's cookie (a seller's) gets the
    // sign-in form and the cookie cleared, and no service is asked anything.
    let seller_cookie = format!("mp_console={}", shop.seller_token);
    let page = c.get(&console).header("cookie", &seller_cookie).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 401);
    assert!(page.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert!(page.text().await.unwrap().contains("console-sign-in"));

    // Support reads orders and stores but not the messages or the logs, and cannot suspend.
    let sam = console_session(&m, &c, "sam@ops.example").await;
    let page = c.get(&console).header("cookie", &sam).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(shop.store.as_str()), "{page}");
    assert!(page.contains("id=\"broker-dead-refused\"") && page.contains("id=\"broker-audit-refused\""), "{page}");
    let lift = [("csrf", csrf_of(&page)), ("suspended", "false".into())];
    let lift: Vec<(&str, &str)> = lift.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = post_form(&c, &suspend, Some(&sam), &lift).await;
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(boot.stores(Some(true)).await.done().stores.len(), 1);
    // Ada's token does not pass in Sam's session, nor the other way round.
    let crossed = post_form(&c, &suspend, Some(&sam), &form(token)).await;
    assert_eq!(crossed.status().as_u16(), 403);
    assert!(crossed.text().await.unwrap().contains("csrf-refused"));

    // Payouts are finance's: an admin is refused at settlement; finance runs them and sees
    // the suspended store's money held back.
    let run = format!("{console}/remittances/run");
    let refused = post_form(&c, &run, Some(&ada), &[("csrf", token)]).await;
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.text().await.unwrap().contains("console-notice"));
    let fin = console_session(&m, &c, "fin@ops.example").await;
    let page = c.get(&console).header("cookie", &fin).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"stores-refused\"") && !page.contains(shop.store.as_str()), "{page}");
    let ran = post_form(&c, &run, Some(&fin), &[("csrf", &csrf_of(&page))]).await;
    assert_eq!(ran.status().as_u16(), 200);
    let ran = ran.text().await.unwrap();
    let row = ran.find(&format!("data-store=\"{}\"", shop.store)).expect("the store is in the run");
    assert!(ran[row..].contains("held back: suspended"), "{ran}");
}

#[tokio::test]
async fn an_admin_signs_in_suspends_a_store_and_revives_a_dead_message_in_a_real_browser() {
    if postgres_admin_url().is_some() {
        return; // The pages are the same on both backends; the browser runs on SQLite only.
    }
    let driver = start_driver().await;
    let mut m = TestMarket::spawn_with(|c| {
        c.outbox.poll_interval_ms = 5;
        c.outbox.base_backoff_ms = 1;
        c.outbox.max_backoff_ms = 8;
        c.outbox.retry_for_ms = 100;
    })
    .await;
    let shop = m.shop("Browser", "chisel", 1100, 5).await;
    m.admin_as(Broker, &m.operator)
        .create_operator(&operator("Ada", "ada@ops.example", &[OperatorRole::Admin]))
        .await
        .done();
    // While settlement is down an order's `order_payable` dies; then settlement is back.
    m.stop_service(Settlement).await;
    let placed = m.place(&shop.store, &shop.product, 1).await;
    let dead = m
        .eventually("order_payable to die", || async {
            let dead = m.admin_as(Broker, &m.operator).outbox("dead").await.ok()?.messages;
            dead.into_iter().find(|x| x.kind == "order_payable")
        })
        .await;
    m.start_service(Settlement);

    let profile = tempfile::tempdir().unwrap();
    let client = browser(&driver, profile.path()).await;
    let mut t = Tour { client: &client, dir: screenshots("console"), step: 0, requests: BTreeSet::new() };
    t.go(&format!("{}/console", m.broker)).await;
    t.type_into("#email", "ada@ops.example").await;
    t.type_into("#password", PASSWORD).await;
    t.snap("sign-in").await;
    t.click("#console-sign-in button").await;
    let row = format!("#stores tr[data-store='{}']", shop.store);
    assert!(t.text(&row).await.contains("open"));
    let message = format!("#broker-dead tr[data-message='{}']", dead.id);
    assert!(t.text(&message).await.contains("order_payable"));
    t.snap("console").await;

    t.type_into(&format!("{row} input[name='reason']"), "counterfeit goods").await;
    t.click(&format!("{row} button[value='true']")).await;
    t.until_text(&format!("{row} td.state"), "suspended: counterfeit goods", false).await;
    t.snap("suspended").await;
    assert!(!m.select(&shop.store, &shop.product, 1).await.sellable);
    // The order was unpaid: the suspension cancelled it.
    let view = m.order_view(&placed.order_id, &placed.capability).await;
    assert_eq!(view.status, client::broker::orders::OrderStatus::Cancelled);

    t.click(&format!("{message} form.retry button")).await;
    t.find("#broker-dead-none").await;
    t.snap("revived").await;
    m.eventually("the revived message and the cancellation behind it to reach settlement", || async {
        let view = m.settlement_as(Some(&placed.capability)).order_settlement(placed.order_id.as_str()).await.ok()?;
        (view.status == crate::flows::SettledAs::Cancelled).then_some(())
    })
    .await;
    for url in &t.requests {
        assert!(url.starts_with(m.broker.as_str()), "the console called another origin: {url}");
    }
    client.close().await.unwrap();
}
