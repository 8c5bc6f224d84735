//! The demo market: loaded once however many loaders run at once, and every account in
//! its credentials file signs in.

use crate::helpers::{json_of, TestMarket};
use serde_json::Value;
use shared::config::ServiceName;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

/// `marketplace demo` against the running market, as a user runs it in another terminal.
fn loader(m: &TestMarket) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_marketplace"));
    cmd.arg("demo")
        .env("MARKETPLACE_DATA_DIR", m.data_dir.path())
        .env("MARKETPLACE_OPERATOR_TOKEN", &m.operator)
        .env("MARKETPLACE_LOG", "warn");
    for service in ServiceName::ALL {
        cmd.env(
            format!("MARKETPLACE_{}_ADDR", service.as_str().to_uppercase()),
            m.config.service(service).addr.to_string(),
        );
    }
    cmd
}

async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("the loader runs")).await.unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test]
async fn two_loaders_at_once_load_the_demo_once_and_its_accounts_sign_in() {
    let m = TestMarket::spawn().await;
    // Off the test's runtime, which serves the market the loaders talk to.
    let (a, b) = tokio::join!(run(loader(&m)), run(loader(&m)));
    assert!(a.status.success() && b.status.success(), "first:\n{}\nsecond:\n{}", text(&a), text(&b));
    let loaded = [&a, &b].iter().filter(|o| text(o).contains("demo data loaded:")).count();
    assert_eq!(loaded, 1, "exactly one loads:\n{}\n{}", text(&a), text(&b));
    assert!(text(&a).contains("already loaded") || text(&b).contains("already loaded"));

    // Once: three unions holding twelve stores, not six and twenty-four.
    let unions = m.get(&format!("{}/v1/unions", m.broker), None).await.expect(200);
    let unions = unions["unions"].as_array().unwrap().clone();
    assert_eq!(unions.len(), 3, "{unions:?}");
    let stores: usize = unions.iter().map(|u| u["stores"].as_array().unwrap().len()).sum();
    assert_eq!(stores, 12);
    // A third run later changes nothing.
    let again = run(loader(&m)).await;
    assert!(again.status.success() && text(&again).contains("already loaded"), "{}", text(&again));

    let path = m.data_dir.path().join("demo-credentials.json");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let creds: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let entry = |prefix: &str| {
        creds.as_object().unwrap().iter().find(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v.clone()).unwrap()
    };
    let sign_in = |who: &Value| serde_json::json!({"email": who["email"], "password": who["password"]});

    // The courier signs in at delivery and sees its work list.
    let courier = entry("courier ");
    assert_eq!(courier["signs_in_at"], m.delivery.as_str());
    let session = m.post(&format!("{}/v1/sessions", m.delivery), None, sign_in(&courier)).await.expect(200);
    let token = json_of(&session, "access_token");
    m.get(&format!("{}/v1/courier/shipments", m.delivery), Some(&token)).await.expect(200);

    // The manufacturer signs in at the broker and sees the orders awaiting its approval.
    let maker = entry("manufacturer ");
    let session = m.post(&format!("{}/v1/sessions", m.broker), None, sign_in(&maker)).await.expect(200);
    let token = json_of(&session, "access_token");
    m.get(&format!("{}/v1/manufacturer/orders", m.broker), Some(&token)).await.expect(200);

    // The operator signs in at the broker and reads the stores and the ledger.
    let operator = entry("operator");
    let session = m.post(&format!("{}/v1/operator-sessions", m.broker), None, sign_in(&operator)).await.expect(200);
    let token = json_of(&session, "access_token");
    let listed = m.get(&format!("{}/v1/admin/stores", m.broker), Some(&token)).await.expect(200);
    let sellers = listed["stores"].as_array().unwrap().iter().filter(|s| s["seller_id"].is_string()).count();
    assert_eq!(sellers, 12, "the union stores, besides the manufacturers' own: {listed}");
    m.get(&format!("{}/v1/ledger/trial-balance", m.settlement), Some(&token)).await.expect(200);

    // The buyer owns the demo printer and is shown the toner that fits it.
    let buyer = entry("buyer");
    let body = serde_json::json!({"handle": buyer["handle"], "password": buyer["password"]});
    let session = m.post(&format!("{}/v1/buyer-sessions", m.broker), None, body).await.expect(200);
    let token = json_of(&session, "access_token");
    let shown = m.get(&format!("{}/v1/buyer/products", m.broker), Some(&token)).await.expect(200);
    assert!(!shown["products"].as_array().unwrap().is_empty(), "{shown}");

    // A seller's stores have payout accounts (held, as any new account is), and office
    // stores publish group prices.
    let seller = entry("seller 0");
    let session = m.post(&format!("{}/v1/sessions", m.broker), None, sign_in(&seller)).await.expect(200);
    let token = json_of(&session, "access_token");
    let mine = m.get(&format!("{}/v1/seller/stores", m.broker), Some(&token)).await.expect(200);
    let mine = mine["stores"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 2);
    for store in &mine {
        let url = format!("{}/v1/seller/payout-account?store_id={}", m.settlement, json_of(store, "id"));
        let account = m.get(&url, Some(&token)).await.expect(200);
        assert!(account["hold_until"].is_string(), "{account}");
    }
    let office: Vec<String> = unions
        .iter()
        .flat_map(|u| u["stores"].as_array().unwrap().clone())
        .filter(|s| s["category"] == "office")
        .map(|s| json_of(&s, "id"))
        .collect();
    let mut lists = Vec::new();
    for store in &office {
        lists.push(m.get(&format!("{}/v1/stores/{store}/group-prices", m.broker), None).await.expect(200));
    }
    // Somewhere a store without stock sells through another store of its union.
    let mut shipped_by_union = 0;
    for store in unions.iter().flat_map(|u| u["stores"].as_array().unwrap().clone()) {
        let store = json_of(&store, "id");
        for offset in (0..).step_by(100) {
            let url = format!("{}/v1/stores/{store}/offers?limit=100&offset={offset}", m.broker);
            let shelf = m.get(&url, None).await.expect(200)["offers"].as_array().unwrap().clone();
            for item in shelf.iter().filter(|i| i["stock"] == 0 && i["sellable"] == true) {
                let product = json_of(item, "product_id");
                let selection = m.select(&store, &product, 1).await;
                if selection.union_fulfilment {
                    assert!(selection.sellable, "{selection:?}");
                    shipped_by_union += 1;
                }
            }
            if shelf.len() < 100 {
                break;
            }
        }
    }
    assert_eq!(shipped_by_union, 3, "one union fulfilment offer per union");
    // Equipment kinds are compared lower-cased.
    let all = serde_json::to_string(&lists).unwrap().to_lowercase();
    assert!(all.contains("laser-200") && all.contains("min_points"), "no group prices: {all}");
}
