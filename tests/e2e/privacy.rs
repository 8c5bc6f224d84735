//! The launcher as users run it: its logs hold no secret, and it stops gracefully.

use crate::checkout::checkout;
use crate::flows::{ADDRESS_LINE, RECIPIENT};
use crate::helpers::TestMarket;

#[tokio::test]
async fn logs_hold_no_address_capability_password_or_key_even_at_debug_level() {
    let mut m = TestMarket::spawn_process().await;
    let done = checkout(&m, 4_200).await;
    // A failed login and a forged token are logged as events too.
    m.post(
        &format!("{}/v1/sessions", m.broker),
        None,
        serde_json::json!({"email": "x@y.example", "password": "wrong secret pw"}),
    )
    .await;
    m.get(&format!("{}/v1/orders/{}", m.broker, done.order_id), Some("forged.token.value")).await;

    let status = m.terminate().expect("the launcher stops on SIGTERM");
    assert!(status.success(), "graceful stop exits 0, got {status:?}");
    let log = m.launcher_log();
    assert!(log.contains("listening"), "the log was captured: {log}");
    for secret in [
        done.capability.as_str(),
        done.seller_token.as_str(),
        done.api_key.as_str(),
        done.courier_token.as_str(),
        m.operator.as_str(),
        ADDRESS_LINE,
        RECIPIENT,
        "correct horse battery",
        "courier password 1",
        "wrong secret pw",
        "forged.token.value",
    ] {
        assert!(!log.contains(secret), "the log holds `{secret}`");
    }
}
