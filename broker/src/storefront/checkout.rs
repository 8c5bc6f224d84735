//! Ordering without an account, the receipt code shown once, and the order page (whose
//! calls the browser makes itself, with the capability it keeps).

use super::api::{self, cookie, enc};
use super::shop::{alternatives, frame, order_form};
use super::view::{self, failed, money, page};
use super::{same_origin, BUYER_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use client::broker::orders::{PlaceOrder, Placed, PlacedEarlier, Placement, PlacementRefusal};
use client::broker::Broker;
use client::Failure;
use maud::html;
use serde::Deserialize;
use shared::ids::{ProductId, StoreId};
use shared::money::{Currency, Money};
use shared::rules::Unsellable;

#[derive(Deserialize)]
pub struct OrderForm {
    /// Generated when the form was rendered (128 random bits). The broker keeps it (hashed)
    /// with the order, so a reload or a second click (the browser posts the same form
    /// again), even across broker restarts or copies, answers with the first order and a
    /// fresh receipt code; after the broker's replay window, only with the order's id and
    /// status.
    idempotency_key: String,
    store_id: String,
    product_id: String,
    quantity: String,
    expected_amount: Option<i64>,
    expected_currency: Option<String>,
    /// The referral token the buyer followed here, passed on to the order.
    referral: Option<String>,
    contact: Option<String>,
    points: Option<String>,
}

pub async fn place(state: web::Data<State>, req: HttpRequest, form: web::Form<OrderForm>) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let form = form.into_inner();
    let mut f = frame(&req);
    f.private = true;
    let Ok(quantity) = form.quantity.trim().parse::<i64>() else {
        return view::respond(&state, 422, f, "Order", html! { p.error { "The quantity must be a whole number." } });
    };
    // The page wrote these fields itself: one that does not read is a form changed by hand.
    let expected_price = match (form.expected_amount, form.expected_currency.as_deref().map(Currency::parse)) {
        (Some(amount), Some(Ok(currency))) => Ok(Some(Money { amount, currency })),
        (None, None) => Ok(None),
        _ => Err(()),
    };
    let (Ok(store_id), Ok(product_id), Ok(expected_price)) =
        (StoreId::parse(&form.store_id), ProductId::parse(&form.product_id), expected_price)
    else {
        return view::respond(
            &state,
            422,
            f,
            "Order",
            html! { p.error { "This form is stale: go back and choose again." } },
        );
    };
    let mut order = PlaceOrder {
        store_id,
        product_id,
        quantity,
        referral: form.referral.clone().filter(|r| !r.is_empty()),
        referral_store_id: None,
        expected_price,
        contact: form.contact.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_string),
        points: None,
    };
    match form.points.as_deref().map(str::trim).filter(|p| !p.is_empty() && *p != "0").map(str::parse::<i64>) {
        None => {}
        Some(Ok(p)) => order.points = Some(p),
        Some(Err(_)) => {
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
    let broker = Broker::new(api::broker(&state, &req).bearer(cookie(&req, BUYER_COOKIE)));
    let r = match broker.place(&order, form.idempotency_key.trim()).await {
        Ok(Placement::Placed(placed)) => return receipt(&state, f, &placed),
        Ok(Placement::PlacedEarlier(earlier)) => return placed_earlier(&state, f, &earlier),
        Err(Failure::Refused(r)) => r,
        Err(e) => return failed(&state, f, "Order", e),
    };
    let refusal: PlacementRefusal = r.extensions();
    let shown = match r.code() {
        "idempotency_key_invalid" => html! { p.error { "This form is stale: go back and choose again." } },
        "idempotency_key_reused" => html! {
        p.error { "This order form was already used for another order. Go back and choose again." } },
        // The first click is still being placed.
        "idempotency_key_in_use" => {
            html! { p.error { "Your order is still being placed. Reload this page in a moment." } }
        }
        code @ ("non_sellable" | "out_of_stock") => {
            let reason = if code == "non_sellable" { Unsellable::NonSellable } else { Unsellable::OutOfStock };
            alternatives(
                &form.product_id,
                quantity,
                Some(reason),
                &refusal.alternatives,
                refusal.backorder.as_ref(),
                f.signed_in,
            )
        }
        "price_changed" => html! {
            p.error role="alert" { (r.detail()) }
            @if let Some(price) = &refusal.current_price {
                p { "Order at the new price?" }
                (order_form(&form.store_id, &form.product_id, quantity, price,
                    form.referral.as_deref().filter(|s| !s.is_empty()), f.signed_in, "Order at the new price"))
            }
        },
        "invalid_contact" => html! {
            p.error role="alert" id="contact-error" { (r.detail()) }
            p { "Go back and correct the mail address, or leave it empty." }
        },
        _ => {
            html! { p.error role="alert" id="quantity-error" { (r.detail()) } p { a href="/" { "Back to the shop" } } }
        }
    };
    let title = if r.code().starts_with("idempotency_key") { "Order" } else { "Order not placed" };
    view::respond(&state, r.status, f, title, shown)
}

/// The receipt: the capability shown once, to copy or to keep in this browser.
fn receipt(state: &State, f: view::Frame, order: &Placed) -> HttpResponse {
    let order_id = order.order_id.as_str();
    let body = html! {
        p { "Order " code #order-id { (order_id) } " at " (order.store.name)
            ": " strong #order-amount { (money(&order.amount)) } ", " span #order-status { (order.status.words()) } "." }
        section #receipt data-order-id=(order_id) {
            h2 { "Your receipt code" }
            p { "This code is your only key to the order: to pay, give the address, track it and write to the store. "
                "The shop does not keep it and cannot show it again. Copy it somewhere safe." }
            textarea #capability readonly rows="5" spellcheck="false" { (order.capability) }
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

/// The form was posted again long after its order was placed: the receipt code was shown
/// then and is not given again.
fn placed_earlier(state: &State, f: view::Frame, order: &PlacedEarlier) -> HttpResponse {
    let order_id = order.order_id.as_str();
    let status = order.status.words();
    let body = html! {
        p #placed-earlier { "This form already placed order " code #order-id { (order_id) } " (" span #order-status { (status) } ")." }
        p { "Its receipt code was shown when it was placed and is not shown again. "
            a href="/shop/orders" { "Open it with your receipt code" } ", or " a href="/" { "go back to the shop" } "." }
    };
    view::page(state, f, "Order", body)
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
                    dt { "Delivery PIN" } dd { strong #o-pin {} " " span.muted { "Tell it to the courier at your door; nobody else is shown it." } }
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
                section #accept-box hidden {
                    h2 { "Accept the goods" }
                    p #accept-by.muted {}
                    p { "Once you accept, the store is paid. Accept only when you have what you ordered." }
                    form #accept-form {
                        span.field-error #accept-error role="alert" {}
                        button #accept type="submit" { "Accept: everything is as ordered" }
                    }
                }
                p #accepted hidden { "You accepted this order; the store is paid." }
                section #dispute-box hidden {
                    h2 { "A problem with this order?" }
                    p.muted { "Open a dispute instead of accepting: the money stays held. The store answers within three days; "
                        "if you do not agree, an arbiter decides without ever learning who or where you are. "
                        "Never write your name or an address here." }
                    form #dispute-form {
                        label for="dispute-reason" { "What is wrong" }
                        select #dispute-reason name="reason" required {
                            option value="damaged" { "It arrived damaged" }
                            option value="not_as_described" { "It is not as described" }
                            option value="not_received" { "It never reached me" }
                            option value="other" { "Something else" }
                        }
                        label for="dispute-message" { "What happened" }
                        textarea #dispute-message name="message" rows="3" required maxlength="2000" {}
                        span.field-error #dispute-error role="alert" {}
                        button #open-dispute type="submit" { "Open a dispute" }
                    }
                }
                section #dispute-view hidden {
                    h2 { "Your dispute" }
                    dl.summary {
                        dt { "Status" } dd #d-status {}
                        dt { "The store answers by" } dd #d-respond {}
                        dt { "Offer" } dd #d-offer {}
                        dt { "Decision" } dd #d-decision {}
                    }
                    ol.thread #d-thread {}
                    p #d-offer-actions hidden {
                        button #take-offer type="button" { "Take the offer" } " "
                        button #escalate type="button" { "Decline: let the arbiter decide" }
                    }
                    span.field-error #d-error role="alert" {}
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
