//! Nothing at rest links a person to a purchase in clear: after a whole checkout with buyer
//! mail, every file under the data directory is owner only, and no file (SQLite databases
//! and their WAL included) nor, on PostgreSQL, any table holds the buyer's mail address,
//! an address line or the order's capability.
//!
//! Which assertion holds which rule:
//! - `modes_are_owner_only`: files 0600 and folders 0700 (`shared::files`, the SQLite file
//!   made before SQLite opens it, key files, the spool); the leftovers made wide before
//!   start are narrowed (`narrow_tree` at start).
//! - `nothing_in_clear` over the files and the tables: the contact sealed by the broker,
//!   the address sealed by delivery, the capability never stored; with SMTP configured
//!   no mail is written to disk (the spool would hold the buyer's address in clear).
//! - the relay's mails: buyer mail names the order and its status, no item, no price.
//! - `spooled_mail_is_owner_only_and_tells_the_buyer_no_item`: the file spool's modes.

use crate::flows::{address, ADDRESS_LINE, RECIPIENT};
use crate::helpers::{eur, order_of, postgres_admin_url, TestMarket};
use client::broker::orders::{OrderStatus, PlaceOrder, Placed};
use serde_json::json;
use shared::config::{MailTransportKind, ServiceName};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const BUYER_MAIL: &str = "quiet.buyer.7q@buyers.example";
const CITY: &str = "Northtownhaven";
const POSTAL_CODE: &str = "QZ-7731";
const ITEM: &str = "Toner Restful R-7";
const PRICE: i64 = 4_321;

/// One mail a relay took: its recipients and its text.
#[derive(Debug, Clone)]
struct Relayed {
    to: Vec<String>,
    data: String,
}

/// An SMTP relay on loopback that accepts every mail and keeps it in memory only.
fn relay() -> (String, Arc<Mutex<Vec<Relayed>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mails = Arc::new(Mutex::new(Vec::new()));
    let kept = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let kept = kept.clone();
            std::thread::spawn(move || serve_smtp(stream, &kept));
        }
    });
    (url, mails)
}

fn serve_smtp(mut stream: std::net::TcpStream, kept: &Mutex<Vec<Relayed>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut say = |s: &str| stream.write_all(s.as_bytes()).is_ok();
    say("220 relay.test ESMTP\r\n");
    let (mut to, mut line) = (Vec::new(), String::new());
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let ok = match verb.as_str() {
            "RCPT" => {
                to.push(line.trim_end().trim_start_matches("RCPT TO:").trim_matches(['<', '>']).to_string());
                say("250 ok\r\n")
            }
            "DATA" => {
                say("354 go ahead\r\n");
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                        break;
                    }
                    data.push_str(&l);
                }
                kept.lock().unwrap().push(Relayed { to: std::mem::take(&mut to), data });
                say("250 queued\r\n")
            }
            "QUIT" => {
                say("221 bye\r\n");
                return;
            }
            _ => say("250 ok\r\n"),
        };
        if !ok {
            return;
        }
        line.clear();
    }
}

/// Every file and folder under `root`, with its mode.
fn walk(root: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        out.push((path.clone(), meta.is_dir(), meta.permissions().mode() & 0o777));
        if meta.is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

#[track_caller]
fn modes_are_owner_only(root: &Path) {
    let root_mode = std::fs::metadata(root).unwrap().permissions().mode() & 0o777;
    assert_eq!(root_mode, 0o700, "the data directory");
    for (path, is_dir, mode) in walk(root) {
        let want = if is_dir { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{} is {mode:o}", path.display());
    }
}

/// `needle` and, for bytes a database shows as hex, its hex form.
fn forms(needle: &str) -> [String; 2] {
    [needle.to_string(), needle.bytes().map(|b| format!("{b:02x}")).collect()]
}

#[track_caller]
fn nothing_in_clear(what: &str, bytes: &[u8], needles: &[&str]) {
    for needle in needles {
        for form in forms(needle) {
            assert!(!bytes.windows(form.len()).any(|w| w == form.as_bytes()), "{what} holds `{needle}` in clear");
        }
    }
}

/// Reads every file under `root`; returns how many hold `control`, something that is
/// meant to be stored in clear, so that a scan that reads nothing cannot pass.
#[track_caller]
fn files_hold_nothing_in_clear(root: &Path, needles: &[&str], control: &str) -> usize {
    let mut controls = 0;
    for (path, is_dir, _) in walk(root) {
        if is_dir {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else { continue };
        nothing_in_clear(&path.display().to_string(), &bytes, needles);
        controls += usize::from(bytes.windows(control.len()).any(|w| w == control.as_bytes()));
    }
    controls
}

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// Every row of every table of a PostgreSQL database, as JSON lines (bytea shows as hex).
fn dump_postgres(url: &str) -> String {
    use diesel::{Connection, RunQueryDsl};
    let mut c = diesel::PgConnection::establish(url).unwrap();
    let tables: Vec<Line> = diesel::sql_query(
        "SELECT table_name::text AS line FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(&mut c)
    .unwrap();
    assert!(tables.iter().any(|t| t.line == "outbox"), "the dump sees the tables");
    let mut out = String::new();
    for t in tables {
        let rows: Vec<Line> = diesel::sql_query(format!("SELECT row_to_json(t)::text AS line FROM \"{}\" t", t.line))
            .load(&mut c)
            .unwrap();
        for r in rows {
            out.push_str(&r.line);
            out.push('\n');
        }
    }
    out
}

/// Leaves what an older build (or a loose umask) made: a world-readable data directory,
/// key folder and database file.
fn wide_leftovers(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(dir.join("keys")).unwrap();
    std::fs::set_permissions(dir.join("keys"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("broker.db"), b"").unwrap();
    std::fs::set_permissions(dir.join("broker.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
}

#[tokio::test]
async fn after_a_checkout_with_mail_no_file_or_table_holds_the_buyer_in_clear() {
    let (smtp_url, relayed) = relay();
    let m = TestMarket::spawn_with(|c| {
        c.mail.transport = MailTransportKind::Smtp;
        c.mail.smtp_url = Some(smtp_url);
        wide_leftovers(&c.data_dir);
    })
    .await;

    let union = m.create_union("Rest union", "north").await;
    let (_seller, seller_token) = m.create_seller("Restful Toner Ltd").await;
    let store_id = m.create_store(&seller_token, &union, "Rest corner", "office").await;
    let product = m.create_product(&m.operator, ITEM, "toner", json!({"colour": "black"}), PRICE).await;
    m.put_offer(&seller_token, &store_id, &product, PRICE, 5, true, json!({})).await;
    m.branch_with_stock(&product, 3).await;
    let courier = m.courier("Cora", "cora@couriers.example").await;
    let api_key = m.partner_key().await;

    // The buyer orders with a contact address and gives the delivery address.
    let order = PlaceOrder {
        expected_price: Some(eur(PRICE)),
        contact: Some(BUYER_MAIL.into()),
        ..order_of(&store_id, &product, 1)
    };
    let Placed { order_id, capability, .. } = m.place_order(&order).await;
    m.give_address(&order_id, &capability, &address(CITY, POSTAL_CODE, "north", "DE")).await;

    // Paid, routed, picked up, delivered.
    m.pay_in_full(&api_key, &order_id, PRICE, "ref-rest").await;
    let shipment_id = m.routed(&order_id, &capability).await.shipment_id;
    m.courier_steps(&courier, &shipment_id, &["picked_up", "delivered"]).await;
    m.broker_shows(&order_id, &capability, OrderStatus::Delivered).await;

    // The relay took the buyer's mails up to the delivery, and the store's.
    let mails = m
        .eventually("the buyer's delivery mail and the store's order mail", || async {
            let mails = relayed.lock().unwrap().clone();
            let buyer =
                mails.iter().any(|r| r.to == [BUYER_MAIL] && r.data.contains(&format!("Order {order_id} delivered")));
            let store = mails.iter().any(|r| {
                r.to.iter().any(|t| t.ends_with("@sellers.example"))
                    && r.data.contains(&format!("New order {order_id}"))
            });
            (buyer && store).then_some(mails)
        })
        .await;
    let (to_buyer, to_store): (Vec<_>, Vec<_>) = mails.iter().partition(|r| r.to == [BUYER_MAIL]);
    assert!(to_buyer.len() >= 3, "placed, paid, shipped, delivered: {to_buyer:?}");
    for r in &to_buyer {
        assert!(r.data.contains(order_id.as_str()) && r.data.contains("Status: "), "{}", r.data);
        for detail in [ITEM, "43.21", "Rest corner", "Quantity"] {
            assert!(!r.data.contains(detail), "buyer mail tells `{detail}`: {}", r.data);
        }
    }
    assert!(
        to_store.iter().any(|r| r.data.contains(ITEM) && r.data.contains("43.21 EUR")),
        "the store still reads its sale"
    );
    assert!(to_store.iter().all(|r| !r.data.contains(BUYER_MAIL)));

    let needles = [BUYER_MAIL, RECIPIENT, ADDRESS_LINE, CITY, POSTAL_CODE, capability.as_str()];
    let dir = m.config.data_dir.clone();
    modes_are_owner_only(&dir);
    assert!(!dir.join("mail").exists(), "with SMTP configured no mail is written to disk");
    // The store's name is stored in clear on SQLite (in the database or its WAL).
    let sqlite = postgres_admin_url().is_none();
    let control = files_hold_nothing_in_clear(&dir, &needles, "Rest corner");
    assert!(!sqlite || control > 0, "the scan reads the databases");
    match postgres_admin_url() {
        None => {
            // Running, the WAL holds the latest pages; stopped, they are checkpointed into
            // the database files. Both must be clean.
            for service in ServiceName::ALL {
                assert!(dir.join(format!("{service}.db-wal")).exists(), "{service} runs on a WAL");
            }
            let (_config, dir) = m.stop().await;
            modes_are_owner_only(dir.path());
            assert!(files_hold_nothing_in_clear(dir.path(), &needles, "Rest corner") > 0);
        }
        Some(_) => {
            for service in ServiceName::ALL {
                let url = m.config.service(service).database_url.clone().unwrap();
                let dump = dump_postgres(&url);
                assert!(dump.contains("\"destination\""), "{service}: the dump has the outbox rows");
                if service == ServiceName::Broker {
                    assert!(dump.contains("Rest corner"), "the dump reads the stores");
                }
                nothing_in_clear(&format!("the {service} database"), dump.as_bytes(), &needles);
            }
        }
    }
}

#[tokio::test]
async fn spooled_mail_is_owner_only_and_tells_the_buyer_no_item() {
    let m = TestMarket::spawn().await;
    let union = m.create_union("Spool union", "north").await;
    let (_seller, seller_token) = m.create_seller("Spool Toner Ltd").await;
    let store_id = m.create_store(&seller_token, &union, "Spool corner", "office").await;
    let product = m.create_product(&m.operator, ITEM, "toner", json!({"colour": "black"}), PRICE).await;
    m.put_offer(&seller_token, &store_id, &product, PRICE, 5, true, json!({})).await;
    let order = PlaceOrder { contact: Some(BUYER_MAIL.into()), ..order_of(&store_id, &product, 1) };
    let order_id = m.place_order(&order).await.order_id;
    let mails = m
        .eventually("the buyer's and the store's mail in the spool", || async {
            let mails = m.mails();
            let about = |s: &str| mails.iter().find(|t| t.contains(order_id.as_str()) && t.contains(s)).cloned();
            Some((about(&format!("To: {BUYER_MAIL}"))?, about("@sellers.example")?))
        })
        .await;
    let (to_buyer, to_store) = mails;
    assert!(to_buyer.contains("Status: "), "{to_buyer}");
    for detail in [ITEM, "43.21", "Spool corner"] {
        assert!(!to_buyer.contains(detail), "buyer mail tells `{detail}`: {to_buyer}");
    }
    assert!(to_store.contains(ITEM), "{to_store}");
    // Renamed into place once whole; a dot-named temporary may still be on its way.
    m.eventually("the two mails renamed into the spool", || async {
        let spool = walk(&m.config.data_dir.join("mail"));
        (spool.iter().filter(|(p, _, _)| p.extension().is_some_and(|e| e == "eml")).count() >= 2).then_some(())
    })
    .await;
    modes_are_owner_only(&m.config.data_dir);
}
