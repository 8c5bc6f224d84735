//! Ordering without an account, the receipt code shown once, and the order page (whose
//! calls the browser makes itself, with the capability it keeps).

use super::api::{cookie, enc, Api};
use super::shop::{alternatives, frame, order_form};
use super::view::{self, money, page, unreachable};
use super::{same_origin, BUYER_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;
use serde_json::{json, Value};
use shared::auth::{Claims, Role};
use shared::config::ServiceName;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Deserialize, Clone)]
pub struct OrderForm {
    idempotency_key: String,
    store_id: String,
    product_id: String,
    quantity: String,
    expected_amount: Option<i64>,
    expected_currency: Option<String>,
    referral_store_id: Option<String>,
    contact: Option<String>,
    points: Option<String>,
}

impl OrderForm {
    /// What the form asks for; an empty optional field counts as left out.
    fn fingerprint(&self) -> String {
        let opt = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        shared::crypto::sha256_hex(
            format!(
                "{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}",
                self.store_id.trim(),
                self.product_id.trim(),
                self.quantity.trim(),
                self.expected_amount,
                opt(&self.expected_currency),
                opt(&self.referral_store_id),
                opt(&self.contact),
                opt(&self.points).filter(|p| p != "0")
            )
            .as_bytes(),
        )
    }
}

/// What a form's idempotency key already did. The page's key makes a reload (the browser
/// posts the form again) or a second click answer with the first order. The capability
/// itself is not kept: a replay gets a freshly signed one for the same order.
enum Slot {
    Placing { since: Instant },
    Placed { fingerprint: String, at: Instant, order: Value },
}

const KEEP: Duration = Duration::from_secs(24 * 3600);

fn slots() -> &'static Mutex<HashMap<String, Slot>> {
    static SLOTS: std::sync::OnceLock<Mutex<HashMap<String, Slot>>> = std::sync::OnceLock::new();
    SLOTS.get_or_init(Default::default)
}

enum Claim {
    Fresh,
    Replay(Value),
    Busy,
    Mismatch,
}

fn claim(key: &str, fingerprint: &str) -> Claim {
    let mut slots = slots().lock().unwrap_or_else(|p| p.into_inner());
    if slots.len() > 50_000 {
        slots.retain(|_, s| match s {
            Slot::Placing { since, .. } => since.elapsed() < Duration::from_secs(60),
            Slot::Placed { at, .. } => at.elapsed() < KEEP,
        });
    }
    match slots.get(key) {
        Some(Slot::Placed { fingerprint: f, order, at }) if at.elapsed() < KEEP => {
            if f == fingerprint {
                Claim::Replay(order.clone())
            } else {
                Claim::Mismatch
            }
        }
        Some(Slot::Placing { since, .. }) if since.elapsed() < Duration::from_secs(60) => Claim::Busy,
        _ => {
            slots.insert(key.to_string(), Slot::Placing { since: Instant::now() });
            Claim::Fresh
        }
    }
}

fn settle(key: &str, fingerprint: &str, placed: Option<Value>) {
    let mut slots = slots().lock().unwrap_or_else(|p| p.into_inner());
    match placed {
        Some(order) => {
            slots.insert(
                key.to_string(),
                Slot::Placed { fingerprint: fingerprint.to_string(), at: Instant::now(), order },
            );
        }
        // A refused order may be tried again with the same form.
        None => {
            slots.remove(key);
        }
    }
}

fn capability_for(state: &State, order_id: &str) -> Option<String> {
    let mut claims = Claims::new(
        ServiceName::Broker,
        order_id,
        Role::Capability,
        &ServiceName::ALL,
        state.core.config.capability_ttl_secs,
    );
    claims.scope = ["read", "cancel", "address", "message"].map(String::from).to_vec();
    state.core.auth.signer.sign(&claims).ok()
}

pub async fn place(state: web::Data<State>, req: HttpRequest, form: web::Form<OrderForm>) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let form = form.into_inner();
    let mut f = frame(&req);
    f.private = true;
    let key = form.idempotency_key.trim().to_string();
    if key.len() < 16 || key.len() > 128 {
        return view::respond(
            &state,
            400,
            f,
            "Order",
            html! { p.error { "This form is stale: go back and choose again." } },
        );
    }
    let fingerprint = form.fingerprint();
    let mut waited = 0;
    let replay = loop {
        match claim(&key, &fingerprint) {
            Claim::Fresh => break None,
            Claim::Replay(order) => break Some(order),
            Claim::Mismatch => {
                return view::respond(
                    &state,
                    422,
                    f,
                    "Order",
                    html! {
                    p.error { "This order form was already used for another order. Go back and choose again." } },
                )
            }
            // The first click is still being placed: wait for it rather than place another.
            Claim::Busy if waited < 100 => {
                waited += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Claim::Busy => {
                return view::respond(
                    &state,
                    409,
                    f,
                    "Order",
                    html! {
                    p.error { "Your order is still being placed. Reload this page in a moment." } },
                )
            }
        }
    };
    if let Some(order) = replay {
        return receipt(&state, f, &order, capability_for(&state, order["order_id"].as_str().unwrap_or_default()));
    }

    let Ok(quantity) = form.quantity.trim().parse::<i64>() else {
        settle(&key, &fingerprint, None);
        return view::respond(&state, 422, f, "Order", html! { p.error { "The quantity must be a whole number." } });
    };
    let mut body = json!({"store_id": form.store_id, "product_id": form.product_id, "quantity": quantity});
    if let (Some(a), Some(c)) = (form.expected_amount, &form.expected_currency) {
        body["expected_price"] = json!({"amount": a, "currency": c});
    }
    if let Some(r) = form.referral_store_id.as_deref().filter(|r| !r.is_empty()) {
        body["referral_store_id"] = json!(r);
    }
    if let Some(c) = form.contact.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        body["contact"] = json!(c);
    }
    match form.points.as_deref().map(str::trim).filter(|p| !p.is_empty() && *p != "0").map(str::parse::<i64>) {
        None => {}
        Some(Ok(p)) => body["points"] = json!(p),
        Some(Err(_)) => {
            settle(&key, &fingerprint, None);
            return view::respond(
                &state,
                422,
                f,
                "Order",
                html! {
                p.error #points-error role="alert" { "Points must be a whole number." } },
            );
        }
    }
    let api = Api::broker(&state, &req).bearer(cookie(&req, BUYER_COOKIE));
    let r = match api.call(reqwest::Method::POST, "/v1/orders", Some(body), &[("idempotency-key", &key)]).await {
        Ok(r) => r,
        Err(e) => {
            settle(&key, &fingerprint, None);
            return unreachable(&state, e);
        }
    };
    if r.status != 201 {
        settle(&key, &fingerprint, None);
        let shown = match r.code() {
            "non_sellable" | "out_of_stock" => {
                alternatives(&form.store_id, &form.product_id, quantity, &r.body, f.signed_in)
            }
            "price_changed" => html! {
                p.error role="alert" { (r.detail()) }
                p { "Order at the new price?" }
                (order_form(&form.store_id, &form.product_id, quantity, &r.body["current_price"],
                    form.referral_store_id.as_deref().filter(|s| !s.is_empty()), f.signed_in, "Order at the new price"))
            },
            "invalid_contact" => html! {
                p.error role="alert" id="contact-error" { (r.detail()) }
                p { "Go back and correct the mail address, or leave it empty." }
            },
            _ => {
                html! { p.error role="alert" id="quantity-error" { (r.detail()) } p { a href="/" { "Back to the shop" } } }
            }
        };
        return view::respond(&state, r.status, f, "Order not placed", shown);
    }
    let capability = r.body["capability"].as_str().map(str::to_string);
    let mut kept = r.body.clone();
    if let Some(o) = kept.as_object_mut() {
        o.remove("capability");
    }
    settle(&key, &fingerprint, Some(kept.clone()));
    receipt(&state, f, &kept, capability)
}

/// The receipt: the capability shown once, to copy or to keep in this browser.
fn receipt(state: &State, f: view::Frame, order: &Value, capability: Option<String>) -> HttpResponse {
    let order_id = order["order_id"].as_str().unwrap_or_default();
    let body = html! {
        p { "Order " code #order-id { (order_id) } " at " (order["store"]["name"].as_str().unwrap_or_default())
            ": " strong #order-amount { (money(&order["amount"])) } ", " span #order-status { (order["status"].as_str().unwrap_or_default().replace('_', " ")) } "." }
        section #receipt data-order-id=(order_id) {
            h2 { "Your receipt code" }
            p { "This code is your only key to the order: to pay, give the address, track it and write to the store. "
                "The shop does not keep it and cannot show it again. Copy it somewhere safe." }
            textarea #capability readonly rows="5" spellcheck="false" { (capability.unwrap_or_default()) }
            p.js-only hidden {
                button #copy type="button" { "Copy" } " "
                label { input #remember type="checkbox"; " Keep it in this browser (localStorage) until I remove it" }
            }
            p.js-only hidden { a #to-order.button href={"/shop/orders/" (enc(order_id))} { "Continue: address and payment" } }
            noscript { p { "The next steps (address, payment, tracking) need JavaScript: the browser sends them straight to "
                "the carrier and the payment partner, never through this shop." } }
        }
    };
    view::page(state, f, "Thank you", body)
}

/// Opening an order from a receipt code (JavaScript reads the order id out of it).
pub async fn find(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let body = html! {
        section #find-order {
            p { "Paste your receipt code. It stays in this browser." }
            form #receipt-form {
                label for="receipt-code" { "Receipt code" }
                textarea #receipt-code name="code" rows="4" spellcheck="false" required {}
                span.field-error #receipt-code-error role="alert" {}
                button type="submit" { "Open my order" }
            }
            ul #kept-orders {}
            noscript { p { "Opening an order needs JavaScript." } }
        }
    };
    let mut f = frame(&req);
    f.private = true;
    page(&state, f, "My order", body)
}

/// The order page: the browser calls the broker, settlement and delivery itself with the
/// capability it holds; the page carries no order data.
pub async fn order(state: web::Data<State>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let order_id = path.into_inner();
    let demo = super::demo_pay::enabled(&state);
    let body = html! {
        section #order data-order-id=(order_id) data-demo-pay=(if demo { "1" } else { "" }) {
            noscript { p { "This page needs JavaScript: it talks to the carrier and the payment partner directly." } }
            div #need-code hidden {
                p.error #code-problem role="alert" {}
                form #code-form {
                    label for="code" { "Receipt code for this order" }
                    textarea #code rows="4" spellcheck="false" required {}
                    button type="submit" { "Use this code" }
                }
            }
            div #order-view hidden {
                dl.summary {
                    dt { "Product" } dd #o-product {}
                    dt { "Store" } dd #o-store {}
                    dt { "Amount" } dd #o-amount {}
                    dt { "Order status" } dd #o-status {}
                    dt { "Payment" } dd #o-payment {}
                    dt { "Shipment" } dd #o-shipment {}
                }
                p #pay-box hidden { a #pay-link.button href="#" { "Pay" } }
                section #address-box {
                    h2 { "Delivery address" }
                    p.muted { "Sent from this browser straight to the carrier, sealed there; this shop never sees it. "
                        "Instead of your name you may give a collection code." }
                    form #address-form {
                        @for (name, label, req) in [("name", "Name or collection code", true), ("line1", "Street and number", true),
                            ("line2", "More (optional)", false), ("city", "City", true), ("postal_code", "Postal code", true),
                            ("region", "Region", true), ("country", "Country (two letters)", true)] {
                            div.field {
                                label for={"a-" (name)} { (label) }
                                input id={"a-" (name)} name=(name) autocomplete="off" required[req];
                                span.field-error id={"a-" (name) "-error"} role="alert" {}
                            }
                        }
                        span.field-error #address-error role="alert" {}
                        button #send-address type="submit" { "Send to the carrier" }
                    }
                    p #address-done hidden { "The carrier has your address." }
                }
                section #tracking {
                    h2 { "Tracking" }
                    ol #legs {}
                    p #eta {}
                }
                section #messages-box {
                    h2 { "Messages with the store" }
                    ol #messages {}
                    form #message-form {
                        label for="message" { "Write to the store" }
                        textarea #message name="body" rows="3" required {}
                        span.field-error #message-error role="alert" {}
                        button type="submit" { "Send" }
                    }
                }
                section #cancel-box {
                    h2 { "Cancel" }
                    form #cancel-form {
                        label for="cancel-reason" { "Why (for the store)" }
                        input #cancel-reason name="reason" value="changed my mind" required;
                        span.field-error #cancel-error role="alert" {}
                        button #cancel type="submit" { "Cancel this order" }
                    }
                }
                p { button #forget-code type="button" { "Remove the receipt code from this browser" } }
            }
        }
    };
    let mut f = frame(&req);
    f.private = true;
    page(&state, f, "Your order", body)
}
