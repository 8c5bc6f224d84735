//! End-to-end tests: the analyses sold to salespeople. Sales and preferences come from the
//! broker's real order and search routes; store balances are funded through settlement
//! (payments released by a delivery message), so every report price moves real money on
//! the ledger.

use crate::helpers::{eur, json_of, money, Answer, TestMarket};
use serde_json::{json, Value};
use shared::config::{Config, ServiceName};
use shared::ids::{OrderId, ProductId, SellerId, StoreId, UnionId};
use shared::messages::Message;

/// The current month, the only month of data a fresh market holds.
fn this_month() -> String {
    chrono::Utc::now().format("%Y-%m").to_string()
}

/// Settings over the defaults (`[settings.privacy]` and its sub-tables, as TOML).
fn with_privacy(toml_text: &str) -> impl FnOnce(&mut Config) + '_ {
    move |config: &mut Config| {
        let parsed = Config::from_toml(toml_text).expect("privacy settings parse");
        for (k, v) in parsed.settings {
            config.settings.insert(k, v);
        }
    }
}

struct Shop {
    seller: SellerId,
    token: String,
    store: StoreId,
    product: ProductId,
}

/// A seller with one store of `category` offering one drill.
async fn shop(m: &TestMarket, union: &UnionId, category: &str) -> Shop {
    let (seller, token) = m.create_seller(&format!("{category} seller")).await;
    let store = m.create_store(&token, union, &format!("{category} corner"), category).await;
    let product = m.create_product(&m.operator, "Drill 18V", "drill", json!({"volts": "18"}), 4_000).await;
    m.put_offer(&token, &store, &product, 4_000, 10_000, true, json!({})).await;
    // Settlement learns of the store through the broker's outbox.
    m.eventually("the store reaches settlement", || async {
        let url = format!("{}/v1/seller/balance?store_id={store}", m.settlement);
        (m.get(&url, Some(&token)).await.status == 200).then_some(())
    })
    .await;
    Shop { seller, token, store, product }
}

async fn available(m: &TestMarket, s: &Shop) -> i64 {
    let url = format!("{}/v1/seller/balance?store_id={}", m.settlement, s.store);
    m.get(&url, Some(&s.token)).await.expect(200)["available"]["amount"].as_i64().unwrap()
}

/// Credits `amount` less the 3 % marketplace fee to the shop's available balance: an
/// order paid by a partner and delivered.
async fn fund(m: &TestMarket, s: &Shop, amount: i64) {
    let before = available(m, s).await;
    m.fund_store(&s.store, &s.product, amount).await;
    let fee = amount * 3 / 100;
    assert_eq!(available(m, s).await, before + amount - fee);
}

async fn order(m: &TestMarket, s: &Shop, quantity: i64) {
    let body = json!({"store_id": s.store, "product_id": s.product, "quantity": quantity});
    m.post(&format!("{}/v1/orders", m.broker), None, body).await.expect(201);
}

async fn buy(m: &TestMarket, base: &str, token: &str, kind: &str, group_by: &str) -> Answer {
    let month = this_month();
    let body = json!({"kind": kind, "group_by": group_by, "from": month, "to": month});
    m.post(&format!("{base}/v1/seller/reports"), Some(token), body).await
}

async fn catalogue(m: &TestMarket, base: &str, token: &str) -> Value {
    m.get(&format!("{base}/v1/seller/reports/catalogue"), Some(token)).await.expect(200)
}

fn left_this_month(catalogue: &Value) -> f64 {
    catalogue["budget"]["left_this_month"].as_f64().unwrap()
}

fn report_revenue(tb: &Value) -> i64 {
    tb["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "report_revenue")
        .map(|a| a["balance"]["amount"].as_i64().unwrap().abs())
        .sum()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn a_sales_history_report_is_bought_paid_and_resold_at_no_privacy_cost() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North", "north").await;
    let tools = shop(&m, &union, "tools").await;
    fund(&m, &tools, 10_000).await;
    for q in [1, 2, 1] {
        order(&m, &tools, q).await;
    }

    let cat = catalogue(&m, &m.broker, &tools.token).await;
    let entry = cat["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "sales_history" && e["group_by"] == "category,month")
        .expect("the catalogue offers sales history by category and month")
        .clone();
    assert_eq!(entry["price"], money(2_500));
    assert!(close(entry["epsilon"].as_f64().unwrap(), 0.2));
    assert_eq!(entry["period"]["to"], this_month());
    assert!(cat["reports"].as_array().unwrap().iter().any(|e| e["kind"] == "preferences"));
    assert!(cat["reports"].as_array().unwrap().iter().all(|e| e["kind"] != "finances"));
    assert!(close(left_this_month(&cat), 0.3));

    let first = buy(&m, &m.broker, &tools.token, "sales_history", "category,month").await.expect(201);
    assert_eq!(first["status"], "completed");
    assert_eq!(first["price"], money(2_500));
    assert!(close(first["epsilon_spent"].as_f64().unwrap(), 0.2), "{first}");
    assert!(close(first["budget_left"].as_f64().unwrap(), 0.1), "{first}");
    assert_eq!(available(&m, &tools).await, 9_700 - 2_500);
    let tb = m.balanced_trial_balance().await;
    assert_eq!(report_revenue(&tb), 2_500);
    assert!(close(left_this_month(&catalogue(&m, &m.broker, &tools.token).await), 0.1));

    // Every cell of the public grid, each noised; the 3-order cell is below the threshold
    // of 20: suppressed, or shown only as a noisy figure, never the exact count.
    let rows = first["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "tools and (other), one month: {first}");
    for row in rows {
        match row["suppressed"].as_bool().unwrap() {
            true => assert!(row["orders"].is_null() && row["value"].is_null()),
            false => assert!(row["orders"].as_i64().unwrap() >= 20, "{row}"),
        }
    }
    let privacy = &first["privacy"];
    assert_eq!(privacy["threshold"], 20);
    assert_eq!(privacy["delta"], 0.0);
    assert_eq!(privacy["noise"].as_array().unwrap().len(), 3);
    assert!(privacy["noise"][0]["scale"].as_f64().unwrap() > 0.0);

    // The same report again: the same copy, charged again, no more privacy.
    let again = buy(&m, &m.broker, &tools.token, "sales_history", "category,month").await.expect(201);
    assert_eq!(again["epsilon_spent"], 0.0);
    assert_eq!(again["rows"], first["rows"]);
    assert_eq!(again["privacy"]["release_id"], first["privacy"]["release_id"]);
    assert_ne!(again["report_id"], first["report_id"]);
    assert!(close(again["budget_left"].as_f64().unwrap(), 0.1));
    assert_eq!(available(&m, &tools).await, 9_700 - 5_000);
    assert_eq!(report_revenue(&m.balanced_trial_balance().await), 5_000);

    // Another salesperson buying it gets the same copy at no privacy cost either.
    let other = shop(&m, &union, "garden").await;
    fund(&m, &other, 5_000).await;
    let theirs = buy(&m, &m.broker, &other.token, "sales_history", "category,month").await.expect(201);
    assert_eq!(theirs["epsilon_spent"], 0.0);
    assert_eq!(theirs["rows"], first["rows"]);

    // Read back as JSON and as CSV; nobody else can read it.
    let id = json_of(&first, "report_id");
    let shown = m.get(&format!("{}/v1/seller/reports/{id}", m.broker), Some(&tools.token)).await.expect(200);
    assert_eq!(shown["rows"], first["rows"]);
    let csv = m.client.get(format!("{}/v1/seller/reports/{id}/csv", m.broker)).bearer_auth(&tools.token).send().await;
    let csv = csv.unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().next(), Some("category,month,suppressed,orders,units,value"));
    assert_eq!(text.lines().count(), 3);
    m.get(&format!("{}/v1/seller/reports/{id}", m.broker), Some(&other.token)).await.expect_problem(404, "not_found");
    let listed = m.get(&format!("{}/v1/seller/reports", m.broker), Some(&tools.token)).await.expect(200);
    assert_eq!(listed["reports"].as_array().unwrap().len(), 2);

    // Both services document the routes.
    for base in [&m.broker, &m.settlement] {
        let api = m.get(&format!("{base}/openapi.json"), None).await.expect(200);
        for path in ["/v1/seller/reports/catalogue", "/v1/seller/reports", "/v1/seller/reports/{report_id}/csv"] {
            assert!(api["paths"][path].is_object(), "{base} does not document {path}");
        }
    }
}

#[tokio::test]
async fn released_cells_carry_signal_and_one_more_order_changes_nothing_already_sold() {
    // A generous budget so that the noise is small: the figures must then sit near the
    // truth, while the empty cells stay suppressed.
    let m = TestMarket::spawn_with(with_privacy(
        "[settings.privacy]\nmonthly_epsilon = 20.0\nbroker_epsilon = 12.0\nsettlement_epsilon = 8.0\n\
         [settings.privacy.sales_history]\nepsilon = 6.0",
    ))
    .await;
    let union = m.create_union("North", "north").await;
    let tools = shop(&m, &union, "tools").await;
    fund(&m, &tools, 10_000).await;
    for _ in 0..30 {
        order(&m, &tools, 1).await;
    }
    let report = buy(&m, &m.broker, &tools.token, "sales_history", "category").await.expect(201);
    let rows = report["rows"].as_array().unwrap();
    let cell = rows.iter().find(|r| r["category"] == "tools").unwrap();
    assert_eq!(cell["suppressed"], false, "{report}");
    let orders = cell["orders"].as_i64().unwrap();
    assert!((orders - 30).abs() <= 8, "30 orders released as {orders}");
    let other = rows.iter().find(|r| r["category"] == "(other)").unwrap();
    assert_eq!(other["suppressed"], true);

    // A differencing attempt: one more order, then the same report again. It is the same
    // released copy, so the before/after difference is nothing at all.
    order(&m, &tools, 5).await;
    let after = buy(&m, &m.broker, &tools.token, "sales_history", "category").await.expect(201);
    assert_eq!(after["rows"], report["rows"]);
    assert_eq!(after["epsilon_spent"], 0.0);
}

#[tokio::test]
async fn a_salesperson_past_the_budget_is_refused_and_not_charged_and_colluders_hit_the_global_limit() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North", "north").await;
    let mut shops = vec![];
    for category in ["tools", "garden", "home", "toys"] {
        let s = shop(&m, &union, category).await;
        fund(&m, &s, 10_000).await;
        shops.push(s);
    }
    order(&m, &shops[0], 1).await;

    // Each salesperson may spend half the broker's 0.6 of this month: one 0.2 report.
    let a = &shops[0];
    buy(&m, &m.broker, &a.token, "sales_history", "category,month").await.expect(201);
    let balance = available(&m, a).await;
    let refused = buy(&m, &m.broker, &a.token, "sales_history", "kind,month").await;
    let problem = refused.expect_problem(409, "privacy_budget_exhausted");
    assert!(problem["detail"].as_str().unwrap().contains("nothing was charged"));
    buy(&m, &m.broker, &a.token, "preferences", "kind").await.expect_problem(409, "privacy_budget_exhausted");
    assert_eq!(available(&m, a).await, balance, "a refused report is not charged");
    assert!(close(left_this_month(&catalogue(&m, &m.broker, &a.token).await), 0.1));
    let listed = m.get(&format!("{}/v1/seller/reports", m.broker), Some(&a.token)).await.expect(200);
    assert_eq!(listed["reports"].as_array().unwrap().len(), 1, "no purchase recorded for refusals");
    // A copy already released is still for sale: it costs no budget.
    buy(&m, &m.broker, &a.token, "sales_history", "category,month").await.expect(201);

    // Pooling does not help: together the salespeople stop at the broker's 0.6.
    buy(&m, &m.broker, &shops[1].token, "sales_history", "kind,month").await.expect(201);
    buy(&m, &m.broker, &shops[2].token, "preferences", "kind").await.expect(201);
    let before = available(&m, &shops[3]).await;
    let refused = buy(&m, &m.broker, &shops[3].token, "sales_history", "region,month").await;
    let problem = refused.expect_problem(409, "privacy_budget_exhausted");
    assert!(problem["detail"].as_str().unwrap().contains("Service"), "{problem}");
    assert_eq!(available(&m, &shops[3]).await, before);
    assert!(close(left_this_month(&catalogue(&m, &m.broker, &shops[3].token).await), 0.0));
    // Settlement's part is separate and still whole.
    assert!(close(left_this_month(&catalogue(&m, &m.settlement, &shops[3].token).await), 0.2));
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_code_and_nothing_charged_or_spent() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North", "north").await;
    let s = shop(&m, &union, "tools").await;
    let other = shop(&m, &union, "garden").await;
    fund(&m, &s, 10_000).await;
    let balance = available(&m, &s).await;
    let url = format!("{}/v1/seller/reports", m.broker);
    let month = this_month();
    let cases = [
        (json!({"kind": "finances", "group_by": "month", "from": month, "to": month}), 422, "unknown_kind"),
        (json!({"kind": "everything", "group_by": "month", "from": month, "to": month}), 422, "unknown_kind"),
        (json!({"kind": "sales_history", "group_by": "buyer", "from": month, "to": month}), 422, "unknown_grouping"),
        (json!({"kind": "sales_history", "group_by": "month", "from": "soon", "to": month}), 422, "invalid_period"),
        (
            json!({"kind": "sales_history", "group_by": "month", "from": "2020-01", "to": "2020-02"}),
            422,
            "period_outside_data",
        ),
        (
            json!({"kind": "sales_history", "group_by": "month", "from": month, "to": "2999-01"}),
            422,
            "period_outside_data",
        ),
    ];
    for (body, status, code) in cases {
        m.post(&url, Some(&s.token), body).await.expect_problem(status, code);
    }
    let next_month = chrono::Utc::now().date_naive().checked_add_months(chrono::Months::new(1)).unwrap();
    let reversed = json!({"kind": "sales_history", "group_by": "month", "from": next_month.format("%Y-%m").to_string(), "to": month});
    m.post(&url, Some(&s.token), reversed).await.expect_problem(422, "period_reversed");
    m.post(&url, Some(&s.token), json!({"kind": "sales_history"})).await.expect_problem(422, "invalid_body");
    m.post(&url, None, json!({"kind": "sales_history", "group_by": "month", "from": month, "to": month}))
        .await
        .expect_problem(401, "unauthorized");
    // Another salesperson's store cannot be charged.
    let theirs = format!("{url}?store_id={}", other.store);
    m.post(&theirs, Some(&s.token), json!({"kind": "sales_history", "group_by": "month", "from": month, "to": month}))
        .await
        .expect_problem(403, "forbidden");
    // No balance: refused, nothing spent (the reservation is given back).
    let poor = buy(&m, &m.broker, &other.token, "sales_history", "month").await;
    poor.expect_problem(409, "insufficient_balance");
    assert!(close(left_this_month(&catalogue(&m, &m.broker, &other.token).await), 0.3));
    m.get(&format!("{}/v1/seller/reports/not-an-id", m.broker), Some(&s.token)).await.expect_problem(400, "invalid_id");

    assert_eq!(available(&m, &s).await, balance);
    assert!(close(left_this_month(&catalogue(&m, &m.broker, &s.token).await), 0.3));
    let listed = m.get(&format!("{}/v1/seller/reports", m.broker), Some(&s.token)).await.expect(200);
    assert!(listed["reports"].as_array().unwrap().is_empty());
    assert_eq!(report_revenue(&m.balanced_trial_balance().await), 0);

    // The refused buyer, once funded, buys the report: the first real spend.
    fund(&m, &other, 5_000).await;
    let bought = buy(&m, &m.broker, &other.token, "sales_history", "month").await.expect(201);
    assert!(close(bought["epsilon_spent"].as_f64().unwrap(), 0.2));
    let id = json_of(&bought, "report_id");
    m.get(&format!("{}/v1/seller/reports/{id}", m.broker), Some(&s.token)).await.expect_problem(404, "not_found");
    m.get(&format!("{}/v1/seller/reports/{id}/csv", m.broker), Some(&s.token)).await.expect_problem(404, "not_found");

    // A salesperson with two stores names the one to charge, with the same code on both
    // services; nothing is charged meanwhile.
    m.create_store(&s.token, &union, "second tools corner", "tools").await;
    let before = available(&m, &s).await;
    let body = json!({"kind": "sales_history", "group_by": "month", "from": month, "to": month});
    m.post(&url, Some(&s.token), body).await.expect_problem(400, "store_id_required");
    m.eventually("settlement to know the second store", || async {
        let a = m.get(&format!("{}/v1/seller/balance", m.settlement), Some(&s.token)).await;
        (a.status == 400).then(|| a.expect_problem(400, "store_id_required"))
    })
    .await;
    assert_eq!(available(&m, &s).await, before);
}

#[tokio::test]
async fn preferences_count_sessions_and_unserved_demand() {
    let m = TestMarket::spawn_with(with_privacy(
        "[settings.privacy]\nthreshold = 5\nmonthly_epsilon = 20.0\nbroker_epsilon = 12.0\nsettlement_epsilon = 8.0\n\
         [settings.privacy.preferences]\nepsilon = 6.0",
    ))
    .await;
    let union = m.create_union("North", "north").await;
    let s = shop(&m, &union, "tools").await;
    fund(&m, &s, 5_000).await;
    // Twenty searches for a drill nobody stocks (36 volts): unserved demand.
    for _ in 0..20 {
        m.get(&format!("{}/v1/search?kind=drill&attr.volts=36", m.broker), None).await.expect(200);
    }
    let report = buy(&m, &m.broker, &s.token, "preferences", "kind").await.expect(201);
    let drill = report["rows"].as_array().unwrap().iter().find(|r| r["kind"] == "drill").unwrap().clone();
    assert_eq!(drill["suppressed"], false, "{report}");
    let sessions = drill["sessions"].as_i64().unwrap();
    let unserved = drill["unserved"].as_i64().unwrap();
    assert!((sessions - 20).abs() <= 8, "{drill}");
    assert!((unserved - 20).abs() <= 8, "{drill}");
    assert_eq!(report["unit"], "session");
}

/// Settlement's finance report: paid value, refunds and average basket by the payee
/// store's category, region and month, charged on the ledger in the same transaction.
#[tokio::test]
async fn a_finance_report_is_bought_on_the_ledger_and_resold_without_privacy_cost() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North", "north").await;
    let s = shop(&m, &union, "tools").await;
    for _ in 0..3 {
        fund(&m, &s, 4_000).await;
    }
    let balance = available(&m, &s).await;
    let cat = catalogue(&m, &m.settlement, &s.token).await;
    assert!(cat["reports"].as_array().unwrap().iter().all(|e| e["kind"] == "finances"));
    assert!(close(left_this_month(&cat), 0.2));

    let first = buy(&m, &m.settlement, &s.token, "finances", "category,region,month").await.expect(201);
    assert!(close(first["epsilon_spent"].as_f64().unwrap(), 0.2));
    assert!(close(first["budget_left"].as_f64().unwrap(), 0.0));
    assert_eq!(first["privacy"]["measures"], json!(["orders", "paid", "refunded", "average_basket"]));
    for row in first["rows"].as_array().unwrap() {
        if row["suppressed"] == false {
            assert!(row["orders"].as_i64().unwrap() >= 20);
        }
    }
    assert_eq!(available(&m, &s).await, balance - 2_500);
    assert_eq!(report_revenue(&m.balanced_trial_balance().await), 2_500);

    let again = buy(&m, &m.settlement, &s.token, "finances", "category,region,month").await.expect(201);
    assert_eq!(again["epsilon_spent"], 0.0);
    assert_eq!(again["rows"], first["rows"]);
    // Past the budget: refused, not charged.
    let refused = buy(&m, &m.settlement, &s.token, "finances", "month").await;
    refused.expect_problem(409, "privacy_budget_exhausted");
    buy(&m, &m.settlement, &s.token, "sales_history", "month").await.expect_problem(422, "unknown_kind");
    assert_eq!(available(&m, &s).await, balance - 5_000);
    assert_eq!(report_revenue(&m.balanced_trial_balance().await), 5_000);

    let id = json_of(&first, "report_id");
    let csv = m.client.get(format!("{}/v1/seller/reports/{id}/csv", m.settlement)).bearer_auth(&s.token).send().await;
    let text = csv.unwrap().text().await.unwrap();
    assert_eq!(text.lines().next(), Some("category,region,month,suppressed,orders,paid,refunded,average_basket"));
    let other = shop(&m, &union, "garden").await;
    m.get(&format!("{}/v1/seller/reports/{id}", m.settlement), Some(&other.token))
        .await
        .expect_problem(404, "not_found");
    // A poor store is refused and spends nothing.
    buy(&m, &m.settlement, &other.token, "finances", "month").await.expect_problem(409, "insufficient_balance");
    assert!(close(left_this_month(&catalogue(&m, &m.settlement, &other.token).await), 0.2));
}

/// A purchase recorded just before the broker stopped (purchase, reserved budget and charge
/// message committed; the handler never went on to charge) is charged and completed by
/// the outbox, once; one whose store cannot pay fails and gives its budget back.
#[tokio::test]
async fn purchases_left_charging_are_completed_or_failed_by_the_outbox() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North", "north").await;
    let rich = shop(&m, &union, "tools").await;
    let poor = shop(&m, &union, "garden").await;
    fund(&m, &rich, 10_000).await;
    order(&m, &rich, 2).await;
    let before = available(&m, &rich).await;

    let db = shared::db::Db::open(&m.config.database_url(ServiceName::Broker), 1, broker::MIGRATIONS).unwrap();
    let reports = broker::reports::Reports::from_config(&m.config).unwrap();
    let begin = |seller: &SellerId| {
        let seller = seller.clone();
        let body = broker::reports::domain::BuyBody {
            kind: "sales_history".into(),
            group_by: "category".into(),
            from: this_month(),
            to: this_month(),
        };
        // The running broker writes to the same file: this second writer's transaction can
        // lose the race for SQLite's lock (`database is locked`); it tries again, as any
        // second process would.
        for attempt in 0.. {
            let (reports, seller, body) = (reports.clone(), seller.clone(), body.clone());
            match db.write_blocking(move |c| broker::reports::charge::begin_purchase(c, &reports, &seller, None, &body))
            {
                Ok(id) => return id,
                Err(e) if attempt < 50 && format!("{e:?}").contains("database is locked") => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(e) => panic!("begin_purchase: {e:?}"),
            }
        }
        unreachable!()
    };

    let id = begin(&rich.seller);
    let url = format!("{}/v1/seller/reports/{id}", m.broker);
    let done = m
        .eventually("the outbox completes the purchase", || async {
            let v = m.get(&url, Some(&rich.token)).await.expect(200);
            (v["status"] == "completed").then_some(v)
        })
        .await;
    assert!(close(done["epsilon_spent"].as_f64().unwrap(), 0.2));
    assert_eq!(done["rows"].as_array().unwrap().len(), 3, "tools, garden, (other): {done}");
    assert_eq!(available(&m, &rich).await, before - 2_500);
    assert_eq!(report_revenue(&m.balanced_trial_balance().await), 2_500);

    let id = begin(&poor.seller);
    let url = format!("{}/v1/seller/reports/{id}", m.broker);
    let failed = m
        .eventually("the outbox fails the purchase", || async {
            let v = m.get(&url, Some(&poor.token)).await.expect(200);
            (v["status"] == "failed").then_some(v)
        })
        .await;
    assert_eq!(failed["failure"], "insufficient_balance");
    assert!(failed["rows"].is_null());
    assert_eq!(failed["epsilon_spent"], 0.0);
    assert!(close(left_this_month(&catalogue(&m, &m.broker, &poor.token).await), 0.3));
    let csv = format!("{url}/csv");
    m.get(&csv, Some(&poor.token)).await.expect_problem(409, "report_not_ready");
    assert_eq!(report_revenue(&m.balanced_trial_balance().await), 2_500);
}

/// Racing purchases: the budget's conditional updates let exactly as many fresh reports
/// through as the broker's part allows, and the same report bought at once by two
/// salespeople is computed and paid for in privacy only once.
#[tokio::test]
async fn concurrent_purchases_never_overspend_and_a_report_is_released_once() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("North", "north").await;
    let mut shops = vec![];
    for category in ["tools", "garden", "home", "toys", "books", "music"] {
        let s = shop(&m, &union, category).await;
        fund(&m, &s, 5_000).await;
        shops.push(s);
    }
    order(&m, &shops[0], 1).await;

    // Two salespeople, the same report, at once.
    let (a, b) = tokio::join!(
        buy(&m, &m.broker, &shops[0].token, "sales_history", "category"),
        buy(&m, &m.broker, &shops[1].token, "sales_history", "category"),
    );
    let (a, b) = (a.expect(201), b.expect(201));
    assert_eq!(a["rows"], b["rows"]);
    assert_eq!(a["privacy"]["release_id"], b["privacy"]["release_id"]);
    let spent: f64 = [&a, &b].iter().map(|v| v["epsilon_spent"].as_f64().unwrap()).sum();
    assert!(close(spent, 0.2), "the copy was paid for in privacy once, not {spent}");

    // Four fresh reports racing for the 0.4 left of the broker's 0.6: two get through.
    let groupings = ["kind", "region", "month", "price_band"];
    let answers = futures_util::future::join_all(
        shops[2..].iter().zip(groupings).map(|(s, g)| buy(&m, &m.broker, &s.token, "sales_history", g)),
    )
    .await;
    let mut ok = 0;
    for (answer, s) in answers.into_iter().zip(&shops[2..]) {
        match answer.status.as_u16() {
            201 => ok += 1,
            _ => {
                answer.expect_problem(409, "privacy_budget_exhausted");
                assert_eq!(available(&m, s).await, 5_000 - 150, "a refused purchase is not charged");
            }
        }
    }
    assert_eq!(ok, 2);
    assert!(close(left_this_month(&catalogue(&m, &m.broker, &shops[5].token).await), 0.0));
    assert_eq!(report_revenue(&m.balanced_trial_balance().await), 4 * 2_500);
}

/// With a generous budget the finance figures sit near the truth: paid value, refunds and
/// the average basket of 32 paid orders, 8 of them partly refunded (well above the
/// threshold of 20, so that the noisy count never hides the cell).
#[tokio::test]
async fn finance_figures_carry_paid_value_refunds_and_average_basket() {
    let m = TestMarket::spawn_with(with_privacy(
        "[settings.privacy]\nmonthly_epsilon = 20.0\nbroker_epsilon = 12.0\nsettlement_epsilon = 8.0\n\
         [settings.privacy.finances]\nepsilon = 4.0\nvalue_cap = 5000",
    ))
    .await;
    let union = m.create_union("North", "north").await;
    let s = shop(&m, &union, "tools").await;
    fund(&m, &s, 4_000).await;
    let api_key = m.partner_key().await;
    for i in 0..31 {
        let order = OrderId::generate();
        let payable = Message::plain_payable(order.clone(), s.store.clone(), s.product.clone(), eur(4_000));
        assert_eq!(m.send_message(ServiceName::Broker, ServiceName::Settlement, payable).await, 204);
        let payment = m.pay_in_full(&api_key, &order, 4_000, "r").await.payment_id;
        if i < 8 {
            m.refund(&api_key, &payment, 1_000).await.expect(201);
        }
    }
    // 32 orders of 40.00 (one from the funding), 8 refunded 10.00 each.
    let report = buy(&m, &m.settlement, &s.token, "finances", "category").await.expect(201);
    let cell = report["rows"].as_array().unwrap().iter().find(|r| r["category"] == "tools").unwrap().clone();
    assert_eq!(cell["suppressed"], false, "{report}");
    let near = |measure: &str, truth: i64, tolerance: i64| {
        let v = cell[measure].as_i64().unwrap();
        assert!((v - truth).abs() <= tolerance, "{measure}: {v} released for {truth}");
    };
    // Noise scales: orders 1/1.6 ≈ 0.6; paid and refunded 5 000/1.2 ≈ 4 167 minor units.
    near("orders", 32, 5);
    near("paid", 32 * 4_000, 25_000);
    near("refunded", 8 * 1_000, 25_000);
    near("average_basket", 4_000, 1_200);
}
