//! A dispute on the seller desk: the buyer's claim and the thread, and the store's answer
//! (accept: a full refund; offer a percentage; contest: the arbiter decides). Read and
//! answered at the broker with the seller's own token, which checks it is the order's store.

use super::api::{self, cookie, enc};
use super::arbiter::dispute_summary;
use super::seller::{frame, DESK};
use super::view::{self, failed, see_other};
use super::{same_origin, SELLER_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use client::broker::disputes::{DisputeStatus, StoreAction, StoreResponse};
use client::broker::Broker;
use client::Failure;
use maud::html;
use serde::Deserialize;
use shared::ids::{DisputeId, OrderId};

fn ids(path: &(String, String)) -> Option<(OrderId, DisputeId)> {
    Some((OrderId::parse(&path.0).ok()?, DisputeId::parse(&path.1).ok()?))
}

/// `GET /seller/orders/{order_id}/disputes/{dispute_id}`.
pub async fn page(state: web::Data<State>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return DESK.sign_in_page(&state, 401, None) };
    let Some((order, dispute)) = ids(&path) else {
        let r = super::api::Reply::refused(404, "no such dispute");
        return view::problem(&state, frame(), "Dispute", &r);
    };
    let d = match Broker::new(api::broker(&state, &req).bearer(Some(token)))
        .dispute(order.as_str(), dispute.as_str())
        .await
    {
        Ok(d) => d,
        Err(Failure::Refused(r)) if r.status == 401 => {
            return DESK.sign_in_page(&state, 401, Some("Your session ended; sign in again.".into()))
        }
        Err(e) => return failed(&state, frame(), "Dispute", e),
    };
    let action = format!("/seller/orders/{}/disputes/{}", enc(order.as_str()), enc(dispute.as_str()));
    let body = html! {
        p { "Order " code { (order) } }
        (dispute_summary(&d))
        @if d.status == DisputeStatus::Open {
            section #dispute-answer {
                h2 { "Answer" }
                p.muted { "Never write a name or an address here: the buyer and the arbiter read it." }
                form #dispute-answer-form method="post" action=(action) {
                    fieldset {
                        legend { "Your answer" }
                        label { input type="radio" name="action" value="accept" required; " Accept: refund everything" }
                        label { input type="radio" name="action" value="offer" required; " Offer a partial refund of " }
                        input #refund-percent name="refund_percent" type="number" min="1" max="99" size="4"; " %"
                        label { input type="radio" name="action" value="contest" required; " Contest: the arbiter decides" }
                    }
                    label for="answer-message" { "Message" }
                    textarea #answer-message name="message" rows="3" required maxlength="2000" {}
                    button type="submit" { "Send the answer" }
                }
            }
        }
        p { a href="/seller" { "Back to the desk" } }
    };
    view::page(&state, frame(), "Dispute", body)
}

#[derive(Deserialize)]
pub struct AnswerForm {
    action: String,
    #[serde(default)]
    refund_percent: String,
    message: String,
}

/// `POST /seller/orders/{order_id}/disputes/{dispute_id}`: the store's answer.
pub async fn answer(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<AnswerForm>,
) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return DESK.sign_in_page(&state, 401, None) };
    let refused = |detail: &str| view::problem(&state, frame(), "Dispute", &super::api::Reply::refused(422, detail));
    let Some((order, dispute)) = ids(&path) else { return refused("no such dispute") };
    let Ok(action) = form.action.parse::<StoreAction>() else { return refused("choose an answer") };
    let refund_percent = match action {
        StoreAction::Offer => match form.refund_percent.trim().parse::<i64>() {
            Ok(p) => Some(p),
            Err(_) => return refused("write the offer as a whole percentage, 1 to 99"),
        },
        _ => None,
    };
    let body = StoreResponse { action, refund_percent, message: form.message.clone() };
    match Broker::new(api::broker(&state, &req).bearer(Some(token))).answer_dispute(dispute.as_str(), &body).await {
        Ok(_) => {
            let back = format!("/seller/orders/{}/disputes/{}", enc(order.as_str()), enc(dispute.as_str()));
            see_other(&state, &back, &[])
        }
        Err(e) => failed(&state, frame(), "Dispute", e),
    }
}
