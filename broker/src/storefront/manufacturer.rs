//! The manufacturer's desk: the orders of its products that wait for its approval, each
//! approved or refused (with an optional reason) by a plain form post. The API shows a
//! manufacturer no buyer data, and neither does this page: not even the per-order handle
//! the store sees.

use super::api::{self, cookie, enc};
use super::desk::{Credentials, Desk};
use super::view::{self, money, see_other, unreachable, Frame};
use super::{same_origin, MANUFACTURER_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

fn frame() -> Frame {
    Frame { manufacturer: true, private: true, ..Frame::default() }
}

const DESK: Desk = Desk {
    path: "/manufacturer",
    cookie: MANUFACTURER_COOKIE,
    form_id: "manufacturer-sign-in",
    title: "Manufacturer sign-in",
    frame,
};

fn sign_in_page(state: &State, status: u16, error: Option<String>) -> HttpResponse {
    DESK.sign_in_page(state, status, error)
}

pub async fn sign_in(state: web::Data<State>, req: HttpRequest, form: web::Form<Credentials>) -> HttpResponse {
    DESK.sign_in(&state, &req, &form).await
}

pub async fn sign_out(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    DESK.sign_out(&state, &req)
}

pub async fn desk(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    desk_with(&state, &req, 200, None).await
}

/// The orders awaiting approval, with `error` (the API's words) above them when an action
/// was refused.
async fn desk_with(state: &State, req: &HttpRequest, status: u16, error: Option<String>) -> HttpResponse {
    let Some(token) = cookie(req, MANUFACTURER_COOKIE) else { return sign_in_page(state, 200, None) };
    let r = match api::broker(state, req).bearer(Some(token)).get("/v1/manufacturer/orders?limit=100").await {
        Ok(r) if r.ok() => r,
        Ok(r) if r.status == 401 => return sign_in_page(state, 401, Some("Your session ended; sign in again.".into())),
        Ok(r) if r.status == 403 => {
            return sign_in_page(state, 403, Some("This account is not a manufacturer's.".into()))
        }
        Ok(r) => return view::problem(state, frame(), "Manufacturer desk", &r),
        Err(e) => return unreachable(state, e),
    };
    let orders = r.body["orders"].as_array().cloned().unwrap_or_default();
    let body = html! {
        @if let Some(e) = error { p.error #manufacturer-error role="alert" { (e) } }
        (awaiting(&orders))
        form method="post" action="/manufacturer/sign-out" { button #sign-out type="submit" { "Sign out" } }
    };
    view::respond(state, status, frame(), "Manufacturer desk", body)
}

/// The orders waiting for approval: order, store, product, quantity and value, never
/// anything about the buyer.
fn awaiting(orders: &[Value]) -> Markup {
    let waiting: Vec<&Value> = orders.iter().filter(|o| o["status"] == "awaiting_approval").collect();
    html! {
        h2 { "Orders awaiting your approval" }
        @if waiting.is_empty() { p.muted #nothing-waiting { "No order waits for your approval." } }
        @else {
            table.results #awaiting-approval {
                thead { tr { th { "Order" } th { "Store" } th { "Product" } th.num { "Qty" } th.num { "Value" } th {} } }
                tbody {
                    @for o in waiting {
                        @let id = o["order_id"].as_str().unwrap_or_default();
                        tr data-order=(id) {
                            td { code { (id) } }
                            td { code { (o["store_id"].as_str().unwrap_or_default()) } }
                            td { code { (o["product_id"].as_str().unwrap_or_default()) } }
                            td.num { (o["quantity"]) }
                            td.num { (money(&o["amount"])) }
                            td {
                                form.approve method="post" action={"/manufacturer/orders/" (enc(id)) "/approve"} {
                                    button type="submit" { "Approve" }
                                }
                                form.refuse method="post" action={"/manufacturer/orders/" (enc(id)) "/refuse"} {
                                    label { "Reason (optional) " input name="reason" maxlength="500" size="20"; }
                                    button type="submit" { "Refuse" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct Refusal {
    #[serde(default)]
    reason: Option<String>,
}

pub async fn approve(state: web::Data<State>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    step(&state, &req, &path, "approve", json!({})).await
}

pub async fn refuse(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Refusal>,
) -> HttpResponse {
    let body = match form.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => json!({"reason": reason}),
        None => json!({}),
    };
    step(&state, &req, &path, "refuse", body).await
}

async fn step(state: &State, req: &HttpRequest, order: &str, action: &str, body: Value) -> HttpResponse {
    if !same_origin(req, state) {
        return view::forbidden_origin(state);
    }
    let Some(token) = cookie(req, MANUFACTURER_COOKIE) else { return sign_in_page(state, 401, None) };
    let path = format!("/v1/orders/{}/{action}", enc(order));
    match api::broker(state, req).bearer(Some(token)).post(&path, body).await {
        Ok(r) if r.ok() => see_other(state, "/manufacturer", &[]),
        Ok(r) if r.status == 401 => sign_in_page(state, 401, Some("Your session ended; sign in again.".into())),
        Ok(r) => desk_with(state, req, r.status, Some(r.detail())).await,
        Err(e) => unreachable(state, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desk_lists_only_orders_awaiting_approval_and_nothing_of_the_buyer() {
        let orders = [
            json!({"order_id": "ord_wait", "buyer_handle": "bh_secret", "store_id": "sto_1", "product_id": "prd_1",
                   "quantity": 2, "amount": {"amount": 3800, "currency": "EUR"}, "status": "awaiting_approval"}),
            json!({"order_id": "ord_paid", "buyer_handle": "bh_other", "store_id": "sto_1", "product_id": "prd_1",
                   "quantity": 1, "amount": {"amount": 1900, "currency": "EUR"}, "status": "paid"}),
        ];
        let html = awaiting(&orders).into_string();
        assert!(html.contains("ord_wait") && html.contains("38.00 EUR"), "{html}");
        assert!(!html.contains("ord_paid"), "{html}");
        assert!(!html.contains("bh_secret") && !html.contains("bh_other"), "no buyer handle: {html}");
        assert!(html.contains("/manufacturer/orders/ord_wait/approve") && html.contains("/refuse"), "{html}");
        assert!(awaiting(&[]).into_string().contains("No order waits"));
    }
}
