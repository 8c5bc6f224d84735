//! The manufacturer's desk: the orders of its products that wait for its approval, each
//! approved or refused (with an optional reason) by a plain form post. The API shows a
//! manufacturer no buyer data, and neither does this page: not even the per-order handle
//! the store sees.

use super::api::{self, cookie, enc};
use super::desk::{Desk, SignIn};
use super::view::{self, money, see_other, unreachable, Frame};
use super::{same_origin, MANUFACTURER_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use client::broker::orders::{OrderStatus, Reason, SellerView};
use client::broker::Broker;
use client::{Answer, Failure};
use maud::{html, Markup};
use serde::Deserialize;

fn frame() -> Frame {
    Frame { manufacturer: true, private: true, ..Frame::default() }
}

pub const DESK: Desk = Desk {
    path: "/manufacturer",
    cookie: MANUFACTURER_COOKIE,
    form_id: "manufacturer-sign-in",
    title: "Manufacturer sign-in",
    frame,
    sign_in: SignIn::Account,
};

pub async fn desk(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    desk_with(&state, &req, 200, None).await
}

/// The orders awaiting approval, with `error` (the API's words) above them when an action
/// was refused.
async fn desk_with(state: &State, req: &HttpRequest, status: u16, error: Option<String>) -> HttpResponse {
    let Some(token) = cookie(req, MANUFACTURER_COOKIE) else { return DESK.sign_in_page(state, 200, None) };
    let orders = match Broker::new(api::broker(state, req).bearer(Some(token))).manufacturer_orders(100).await {
        Ok(list) => list.orders,
        Err(Failure::Refused(r)) if r.status == 401 => {
            return DESK.sign_in_page(state, 401, Some("Your session ended; sign in again.".into()))
        }
        Err(Failure::Refused(r)) if r.status == 403 => {
            return DESK.sign_in_page(state, 403, Some("This account is not a manufacturer's.".into()))
        }
        Err(Failure::Refused(r)) => return view::problem(state, frame(), "Manufacturer desk", &r),
        Err(Failure::Unreachable(e)) => return unreachable(state, e),
    };
    let body = html! {
        @if let Some(e) = error { p.error #manufacturer-error role="alert" { (e) } }
        (awaiting(&orders))
        form method="post" action="/manufacturer/sign-out" { button #sign-out type="submit" { "Sign out" } }
    };
    view::respond(state, status, frame(), "Manufacturer desk", body)
}

/// The orders waiting for approval: order, store, product, quantity and value, never
/// anything about the buyer.
fn awaiting(orders: &[SellerView]) -> Markup {
    let waiting: Vec<&SellerView> = orders.iter().filter(|o| o.status == OrderStatus::AwaitingApproval).collect();
    html! {
        h2 { "Orders awaiting your approval" }
        @if waiting.is_empty() { p.muted #nothing-waiting { "No order waits for your approval." } }
        @else {
            table.results #awaiting-approval {
                thead { tr { th { "Order" } th { "Store" } th { "Product" } th.num { "Qty" } th.num { "Value" } th {} } }
                tbody {
                    @for o in waiting {
                        @let id = o.order_id.as_str();
                        tr data-order=(id) {
                            td { code { (id) } }
                            td { code { (o.store_id) } }
                            td { code { (o.product_id) } }
                            td.num { (o.quantity) }
                            td.num { (money(&o.amount)) }
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
    step(&state, &req, &path, None).await
}

pub async fn refuse(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Refusal>,
) -> HttpResponse {
    let reason = Reason { reason: form.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string) };
    step(&state, &req, &path, Some(reason)).await
}

/// Approves the order, or refuses it (with the reason given).
async fn step(state: &State, req: &HttpRequest, order: &str, refusal: Option<Reason>) -> HttpResponse {
    if !same_origin(req, state) {
        return view::forbidden_origin(state);
    }
    let Some(token) = cookie(req, MANUFACTURER_COOKIE) else { return DESK.sign_in_page(state, 401, None) };
    let broker = Broker::new(api::broker(state, req).bearer(Some(token)));
    let done: Answer<SellerView> = match &refusal {
        None => broker.approve(order).await,
        Some(reason) => broker.refuse(order, reason).await,
    };
    match done {
        Ok(_) => see_other(state, "/manufacturer", &[]),
        Err(Failure::Refused(r)) if r.status == 401 => {
            DESK.sign_in_page(state, 401, Some("Your session ended; sign in again.".into()))
        }
        Err(Failure::Refused(r)) => desk_with(state, req, r.status, Some(r.detail())).await,
        Err(Failure::Unreachable(e)) => unreachable(state, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desk_lists_only_orders_awaiting_approval_and_nothing_of_the_buyer() {
        use client::broker::orders::ShipmentProgress;
        use shared::ids::{OrderId, ProductId, StoreId};
        use shared::money::Money;
        let order = |handle: &str, quantity: i64, status: OrderStatus| SellerView {
            order_id: OrderId::generate(),
            buyer_handle: handle.into(),
            store_id: StoreId::generate(),
            product_id: ProductId::generate(),
            quantity,
            unit_price: Money::new(1900, shared::money::Currency::EUR),
            amount: Money::new(1900 * quantity, shared::money::Currency::EUR),
            status,
            shipment_status: ShipmentProgress::NotRequested,
            referral_store_id: None,
            shipper_store_id: None,
            backorder: false,
            reason: None,
            dispute_id: None,
            created_at: shared::time::now(),
            updated_at: shared::time::now(),
        };
        let (wait, paid) =
            (order("bh_secret", 2, OrderStatus::AwaitingApproval), order("bh_other", 1, OrderStatus::Paid));
        let html = awaiting(&[wait.clone(), paid.clone()]).into_string();
        assert!(html.contains(wait.order_id.as_str()) && html.contains("38.00 EUR"), "{html}");
        assert!(!html.contains(paid.order_id.as_str()), "{html}");
        assert!(!html.contains("bh_secret") && !html.contains("bh_other"), "no buyer handle: {html}");
        let approve = format!("/manufacturer/orders/{}/approve", wait.order_id);
        assert!(html.contains(&approve) && html.contains("/refuse"), "{html}");
        assert!(awaiting(&[]).into_string().contains("No order waits"));
    }
}
