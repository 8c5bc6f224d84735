//! End-to-end tests: payout account changes need a fresh sign-in, hold the store's
//! remittances and mail the seller through the broker; webhook URLs that point inside are
//! refused.

use crate::helpers::{json_of, TestMarket};
use crate::settlement::{balance, books, delivered, register_store, Books};
use base64::Engine;
use serde_json::{json, Value};
use shared::ids::SellerId;

const IBAN: &str = "GB82 WEST 1234 5698 7654 32";
const OTHER_IBAN: &str = "DE89370400440532013000";

fn account(iban: &str) -> Value {
    json!({ "holder": "Corner Shop Ltd", "iban": iban })
}

fn payouts_settings(toml_text: &str) -> impl FnOnce(&mut shared::config::Config) + '_ {
    move |c| {
        c.settings.insert("payouts".into(), toml::Value::Table(toml::from_str(toml_text).unwrap()));
    }
}

fn seconds_from_now(rfc3339: &Value) -> i64 {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().expect("a time")).unwrap();
    t.timestamp() - chrono::Utc::now().timestamp()
}

/// The claims of a JWT, unverified (the test only reads what the broker put in).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_fresh_sign_in_sets_the_account_starts_a_hold_and_the_seller_is_mailed() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North", "north").await;
    let email = format!("{}@sellers.example", shared::ids::random_hex128());
    let v = m
        .post(
            &format!("{}/v1/sellers", m.broker),
            None,
            json!({"name": "Bea", "email": email, "password": "correct horse battery"}),
        )
        .await
        .expect(201);
    let seller = json_of(&v, "id");
    let token = m.login(&email, "correct horse battery").await;
    // The broker's sign-in says when it happened.
    let claims = claims_of(&token);
    let signed_in = claims["auth_time"].as_i64().expect("auth_time in a sign-in token");
    assert!((chrono::Utc::now().timestamp() - signed_in).abs() < 60, "{claims}");
    assert_eq!(claims["sub"], seller.as_str());
    let store = m.create_store(&token, &union, "Corner B", "tools").await;

    // Settlement hears of the store through the broker's outbox.
    let url = format!("{}/v1/seller/payout-account?store_id={store}", m.settlement);
    let set = m
        .eventually("settlement to know the store", || async {
            let a = m.put(&url, Some(&token), account(IBAN)).await;
            (a.status.as_u16() == 200).then_some(a.body)
        })
        .await;
    assert_eq!((set["store_id"].as_str(), set["iban_last4"].as_str()), (Some(store.as_str()), Some("5432")));
    assert_eq!(set["holder"], "Corner Shop Ltd");
    let held_for = seconds_from_now(&set["hold_until"]);
    assert!((72 * 3600 - 120..=72 * 3600).contains(&held_for), "hold_until {}", set["hold_until"]);
    let shown = m.get(&url, Some(&token)).await.expect(200);
    assert_eq!(shown["hold_until"], set["hold_until"]);

    // The broker mails the store's contact address: when, and until when, no account digits.
    let hold_until = set["hold_until"].as_str().unwrap().to_string();
    let mail = m
        .eventually("the payout account mail", || async {
            m.mails().into_iter().find(|t| t.contains("Payout account changed"))
        })
        .await;
    assert!(mail.contains(&format!("To: {email}")), "{mail}");
    assert!(mail.contains(&format!("held until {hold_until}")), "{mail}");
    for digits in ["5432", "GB82", "WEST", "12345698765432"] {
        assert!(!mail.contains(digits), "the mail shows the account ({digits}): {mail}");
    }
}

#[tokio::test]
async fn an_old_sign_in_cannot_change_the_account() {
    let m = TestMarket::spawn_with(payouts_settings("reauth_seconds = 60")).await;
    let seller = SellerId::generate();
    let store = register_store(&m, &seller).await;
    let url = format!("{}/v1/seller/payout-account?store_id={store}", m.settlement);
    let now = chrono::Utc::now().timestamp();

    let fresh = m.seller_token_signed_in_at(&seller, Some(now - 10));
    let first = m.put(&url, Some(&fresh), account(IBAN)).await.expect(200);

    // Signed in longer ago than `reauth_seconds` (well within the default 300: the setting
    // is what decides), or with no sign-in time at all: refused, nothing written.
    for auth_time in [Some(now - 120), None] {
        let stale = m.seller_token_signed_in_at(&seller, auth_time);
        let a = m.put(&url, Some(&stale), account(OTHER_IBAN)).await;
        let www = a.headers.get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        a.expect_problem(401, "reauthentication_required");
        assert!(www.contains("insufficient_user_authentication") && www.contains("max_age=60"), "{www}");
        // The old token still reads: only the change needs the fresh sign-in.
        let shown = m.get(&url, Some(&stale)).await.expect(200);
        assert_eq!((&shown["iban_last4"], &shown["updated"]), (&first["iban_last4"], &first["updated"]));
    }
    assert_eq!(first["iban_last4"], "5432");
}

#[tokio::test]
async fn a_remittance_during_the_hold_skips_the_store() {
    let m = TestMarket::spawn().await;
    let Books { p, seller, store } = books(&m).await;
    delivered(&m, &p, &store, 2_000).await;
    let available = balance(&m, &seller, &store).await.0;
    assert!(available > 0);

    let token = m.seller_token_for(&seller);
    let url = format!("{}/v1/seller/payout-account?store_id={store}", m.settlement);
    m.put(&url, Some(&token), account(IBAN)).await.expect(200);
    let run = format!("{}/v1/remittances/run", m.settlement);
    let batch = m.post(&run, Some(&m.operator), json!({})).await.expect(200);
    assert!(batch["remittances"].as_array().unwrap().is_empty(), "{batch}");
    let skipped = &batch["skipped"][0];
    assert_eq!(
        (skipped["store_id"].as_str(), skipped["reason"].as_str()),
        (Some(store.as_str()), Some("payout_account_hold"))
    );
    assert_eq!(balance(&m, &seller, &store).await.0, available, "the balance waits for the hold");
}

#[tokio::test]
async fn without_a_hold_the_account_is_paid_at_once() {
    let m = TestMarket::spawn_with(payouts_settings("account_hold_hours = 0")).await;
    let Books { p, seller, store } = books(&m).await;
    delivered(&m, &p, &store, 2_000).await;
    let url = format!("{}/v1/seller/payout-account?store_id={store}", m.settlement);
    let set = m.put(&url, Some(&m.seller_token_for(&seller)), account(IBAN)).await.expect(200);
    assert_eq!(set["hold_until"], Value::Null);
    let batch = m.post(&format!("{}/v1/remittances/run", m.settlement), Some(&m.operator), json!({})).await.expect(200);
    assert_eq!(batch["remittances"].as_array().unwrap().len(), 1, "{batch}");
}

#[tokio::test]
async fn webhook_urls_that_point_inside_are_refused() {
    let m = TestMarket::spawn().await;
    let url = format!("{}/v1/partners", m.settlement);
    for hook in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
    ] {
        m.post(&url, Some(&m.operator), json!({"name": "Sneaky Pay", "webhook_url": hook}))
            .await
            .expect_problem(422, "invalid_webhook_url");
    }
    // Loopback in canonical form stays fine outside strict mode (local partners, tests).
    crate::settlement::partner(&m, Some("http://127.0.0.1:9/hook")).await;
}
