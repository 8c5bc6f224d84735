//! The demo payment partner's page: only in demo mode, clearly marked, and calling
//! settlement exactly as a partner would (API key, `Idempotency-Key`).
//!
//! Where its key lives: `marketplace demo` creates the partner "Demo Pay" and writes its
//! credentials to `<data dir>/demo-credentials.json`. The broker reads the key from there
//! on the server side, per request, and never puts it in a page; without that file (any
//! real deployment) `/demo-pay` answers 404. A real deployment sends the buyer to its
//! partner's hosted payment page instead, and the partner calls settlement itself.

use super::api::{self, enc};
use super::same_origin;
use super::view::{self, format_minor, major_text, parse_major, Frame};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use client::settlement::{PaymentBody, PaymentStatus, Settlement};
use client::Failure;
use maud::{html, Markup};
use serde::Deserialize;
use shared::money::{Currency, Money};
use std::time::Duration;

/// The entry `marketplace demo` writes for its partner.
pub const CREDENTIALS_FILE: &str = "demo-credentials.json";
pub const PARTNER_ENTRY: &str = "payment partner Demo Pay";

/// One entry of the credentials file.
#[derive(Deserialize)]
struct Credential {
    api_key: Option<String>,
}

fn api_key(state: &State) -> Option<String> {
    let text = std::fs::read_to_string(state.core.config.data_dir.join(CREDENTIALS_FILE)).ok()?;
    let mut entries: std::collections::HashMap<String, Credential> = serde_json::from_str(&text).ok()?;
    entries.remove(PARTNER_ENTRY)?.api_key
}

pub fn enabled(state: &State) -> bool {
    api_key(state).is_some()
}

fn frame() -> Frame {
    Frame { private: true, ..Frame::default() }
}

fn banner() -> Markup {
    html! {
        div.demo-banner role="note" {
            strong { "DEMO PAYMENT PARTNER" }
            " — not a real payment: no money moves and nothing about you is asked. "
            "A real shop sends you to its payment partner's own page here."
        }
    }
}

fn off(state: &State) -> HttpResponse {
    view::respond(
        state,
        404,
        frame(),
        "Not here",
        html! { p { "There is no demo payment partner in this marketplace." } },
    )
}

#[derive(Deserialize)]
pub struct Amount {
    amount: Option<i64>,
    currency: Option<String>,
}

pub async fn page(state: web::Data<State>, path: web::Path<String>, q: web::Query<Amount>) -> HttpResponse {
    if !enabled(&state) {
        return off(&state);
    }
    let order_id = path.into_inner();
    let currency = q.currency.clone().unwrap_or_else(|| "EUR".into());
    let body = html! {
        (banner())
        (pay_form(&order_id, &major_text(q.amount.unwrap_or(0), &currency), &currency, None))
    };
    view::page(&state, frame(), "Demo Pay", body)
}

fn pay_form(order_id: &str, amount: &str, currency: &str, error: Option<&str>) -> Markup {
    html! {
        form #demo-pay-form method="post" action={"/demo-pay/" (enc(order_id))} {
            input type="hidden" name="idempotency_key" value=(view::form_key());
            input type="hidden" name="currency" value=(currency);
            p { "Order " code { (order_id) } }
            label for="amount" { "Amount (" (currency) ")" }
            input #amount name="amount" value=(amount) inputmode="decimal" required;
            @if let Some(e) = error { span.field-error #amount-error role="alert" { (e) } }
            button #demo-pay type="submit" data-once="1" { "Pay (demo)" }
        }
    }
}

#[derive(Deserialize)]
pub struct Payment {
    idempotency_key: String,
    amount: String,
    currency: String,
}

pub async fn pay(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Payment>,
) -> HttpResponse {
    let Some(key) = api_key(&state) else { return off(&state) };
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let order_id = path.into_inner();
    let currency = form.currency.trim().to_ascii_uppercase();
    let (Some(amount), Ok(code)) = (parse_major(&form.amount, &currency), Currency::parse(&currency)) else {
        let body =
            html! { (banner()) (pay_form(&order_id, &form.amount, &currency, Some("write an amount, e.g. 12.50"))) };
        return view::respond(&state, 422, frame(), "Demo Pay", body);
    };
    let idem = format!("demo-pay-{}", form.idempotency_key.trim());
    let payment = PaymentBody {
        order_id: order_id.clone(),
        amount: Money { amount, currency: code },
        partner_reference: format!("demo-{}", &shared::crypto::sha256_hex(idem.as_bytes())[..12]),
    };
    let settlement = Settlement::new(api::settlement(&state).bearer(Some(key)));
    // Settlement hears of a new order through the broker's outbox; like any partner, the
    // demo retries with the same key while the order is still unknown there.
    let mut tries = 0;
    let answer = loop {
        match settlement.pay(&payment, &idem).await {
            Err(Failure::Refused(r)) if (r.code() == "unknown_order" || r.status == 409) && tries < 40 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(Failure::Refused(r)) => {
                let body = html! { (banner()) (pay_form(&order_id, &form.amount, &currency, Some(&r.detail()))) };
                return view::respond(&state, r.status, frame(), "Demo Pay", body);
            }
            Err(Failure::Unreachable(e)) => return view::unreachable(&state, e),
            Ok(answer) => break answer,
        }
    };
    let back = format!("/shop/orders/{}", enc(&order_id));
    let body = html! {
        (banner())
        p #payment-result data-status=(answer.status) {
            @match answer.status {
                PaymentStatus::Captured => { "Paid: " (format_minor(amount, &currency)) "." }
                PaymentStatus::Partial => { "Part paid: the order waits for the rest." }
                _ => { "Not taken: " (answer.reason.as_deref().unwrap_or("refused")) "." }
            }
        }
        @if let Some(refund) = &answer.refund {
            p { "Returned to you: " (view::money(&refund.amount)) }
        }
        p { a #back-to-order.button href=(back) { "Back to your order" } }
    };
    view::page(&state, frame(), "Demo Pay", body)
}
