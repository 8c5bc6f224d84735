//! The arbiter's desk in the operators' console: the queue of escalated disputes, one
//! dispute's file (what was bought and how it went, the dispute's own thread; never who or
//! where) and the decision form. Each read and each decision goes to the broker's API with
//! the operator's own token, so the broker checks the `arbiter` role and audits it.

use super::api::{self, enc};
use super::console::{bad_input, csrf_field, frame, operator_session, session_ended, session_of_form};
use super::view::{self, money, see_other, unreachable};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use client::broker::disputes::{ArbiterDecision, DisputeFile, DisputeMessage, DisputeView, Outcome};
use client::broker::Broker;
use client::{Answer, Failure};
use maud::{html, Markup};
use serde::Deserialize;
use shared::ids::DisputeId;
use shared::money::Money;

fn broker(state: &State, req: &HttpRequest, session: &str) -> Broker {
    Broker::new(api::broker(state, req).bearer(Some(session.to_string())))
}

/// The console's section of escalated disputes, each a link to its file.
pub async fn queue_section(state: &State, req: &HttpRequest, session: &str) -> Markup {
    let queue = broker(state, req, session).dispute_queue(None).await;
    super::console::section(queue, "disputes-refused", |q| {
        html! {
            @if q.disputes.is_empty() { p.muted #dispute-queue { "No dispute waits for a decision." } }
            @else {
                table.results #dispute-queue {
                    thead { tr { th { "Dispute" } th { "Reason" } th { "Product" } th.num { "Amount" } th { "Store" } th { "Opened" } } }
                    tbody {
                        @for f in &q.disputes {
                            @let id = f.dispute.dispute_id.as_str();
                            tr {
                                td { a href={"/console/disputes/" (enc(id))} { code { (id) } } }
                                td { (f.dispute.reason) }
                                td { (f.order.product_name) " × " (f.order.quantity) }
                                td.num { (money(&f.order.amount)) }
                                td { (f.order.store.name) }
                                td { (shared::time::to_rfc3339(f.dispute.opened_at)) }
                            }
                        }
                    }
                }
            }
        }
    })
}

fn thread(messages: &[DisputeMessage]) -> Markup {
    html! {
        ol.thread #dispute-thread {
            @for m in messages {
                li { strong { (m.from) } " · " (shared::time::to_rfc3339(m.at)) p { (m.text) } }
            }
        }
    }
}

/// The dispute's status, offer and decision as its parties read them.
pub fn dispute_summary(d: &DisputeView) -> Markup {
    html! {
        dl.summary #dispute-summary {
            dt { "Status" } dd #dispute-status { (d.status) }
            dt { "Reason" } dd { (d.reason) }
            dt { "Store answers by" } dd { (shared::time::to_rfc3339(d.respond_by)) }
            @if let Some(o) = &d.offer {
                dt { "Offer" } dd { (o.refund_percent) " % (" (money(&o.refund)) "), until " (shared::time::to_rfc3339(o.expires_at)) }
            }
            @if let Some(dec) = &d.decision {
                dt { "Decision" } dd #dispute-decision { (dec.outcome) ": " (money(&dec.refund)) " back to the buyer" }
            }
        }
        (thread(&d.messages))
    }
}

fn file_page(state: &State, session: &str, f: &DisputeFile, status: u16, notice: Option<Markup>) -> HttpResponse {
    let id = f.dispute.dispute_id.as_str();
    let paid = f.order.amount;
    let body = html! {
        @if let Some(n) = notice { (n) }
        section #dispute-file {
            h2 { "Order" }
            dl.summary {
                dt { "Order" } dd { code { (f.order.order_id) } }
                dt { "Product" } dd { (f.order.product_name) " × " (f.order.quantity) " (" code { (f.order.product_id) } ")" }
                dt { "Amount paid" } dd { (money(&paid)) }
                dt { "Store" } dd { (f.order.store.name) }
                dt { "Order status" } dd { (f.order.status) }
                dt { "Placed" } dd { (shared::time::to_rfc3339(f.order.placed_at)) }
                @if let Some(t) = f.order.accept_by { dt { "Acceptance window ends" } dd { (shared::time::to_rfc3339(t)) } }
            }
            p.muted { "The file holds what was bought and how it went; never the buyer, an address or the salesperson's identity." }
            h2 { "Shipment" }
            @match &f.shipment {
                Some(s) => {
                    dl.summary #shipment-facts {
                        dt { "Status" } dd { (s.status) }
                        dt { "Delivery PIN given" } dd { @if s.pin_confirmed { "yes" } @else { "no" } }
                        @if let Some(t) = s.estimated_delivery { dt { "Estimated delivery" } dd { (shared::time::to_rfc3339(t)) } }
                    }
                    @if !s.events.is_empty() {
                        table #shipment-events {
                            thead { tr { th { "When" } th { "What" } } }
                            tbody { @for e in &s.events { tr { td { (shared::time::to_rfc3339(e.at)) } td { (e.kind) } } } }
                        }
                    }
                }
                None => p.muted { "Delivery has no shipment to show for this order now." }
            }
            h2 { "Dispute" }
            (dispute_summary(&f.dispute))
        }
        @if f.dispute.decision.is_none() {
            section #decision-box {
                h2 { "Decide" }
                form #decision-form method="post" action={"/console/disputes/" (enc(id)) "/decision"} {
                    (csrf_field(session))
                    fieldset {
                        legend { "Outcome" }
                        label { input type="radio" name="outcome" value="refund" required; " Refund everything (" (money(&paid)) ")" }
                        label { input type="radio" name="outcome" value="release" required; " Release everything to the store" }
                        label { input type="radio" name="outcome" value="split" required; " Split: refund " }
                        input #refund name="refund" size="8" placeholder=(view::major_text(paid.amount / 2, paid.currency.as_str()));
                        " " (paid.currency)
                    }
                    label for="note" { "Why (both sides read it; no names, no addresses)" }
                    textarea #note name="note" rows="3" required maxlength="2000" {}
                    button type="submit" { "Decide" }
                }
            }
        }
        p { a href="/console" { "Back to the console" } }
    };
    view::respond(state, status, frame(), "Dispute file", body)
}

async fn show(state: &State, req: &HttpRequest, id: &str, status: u16, notice: Option<Markup>) -> HttpResponse {
    let Some(session) = operator_session(state, req).await else { return session_ended(state) };
    let Ok(id) = DisputeId::parse(id) else { return bad_input(state, "That is not a dispute id (dsp_…).") };
    match broker(state, req, &session).dispute_file(id.as_str()).await {
        Ok(f) => file_page(state, &session, &f, status, notice),
        Err(failure) => refused(state, failure),
    }
}

fn refused(state: &State, failure: Failure) -> HttpResponse {
    match failure {
        Failure::Refused(r) if r.status == 401 => session_ended(state),
        Failure::Refused(r) => {
            let body = html! { p.error #console-notice role="alert" { (r.detail()) } p { a href="/console" { "Back to the console" } } };
            view::respond(state, r.status.max(400), frame(), "Dispute file", body)
        }
        Failure::Unreachable(e) => unreachable(state, e),
    }
}

/// `GET /console/disputes/{dispute_id}`: the file (the broker audits the read).
pub async fn file(state: web::Data<State>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    show(&state, &req, &path, 200, None).await
}

#[derive(Deserialize)]
pub struct DecisionForm {
    csrf: String,
    outcome: String,
    #[serde(default)]
    refund: String,
    note: String,
}

/// `POST /console/disputes/{dispute_id}/decision`.
pub async fn decide(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<DecisionForm>,
) -> HttpResponse {
    let session = match session_of_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let Ok(id) = DisputeId::parse(&path) else { return bad_input(&state, "That is not a dispute id (dsp_…).") };
    let Ok(outcome) = form.outcome.parse::<Outcome>() else { return bad_input(&state, "Choose an outcome.") };
    let broker = broker(&state, &req, &session);
    let refund = if outcome == Outcome::Split {
        let file: Answer<DisputeFile> = broker.dispute_file(id.as_str()).await;
        let currency = match file {
            Ok(f) => f.order.amount.currency,
            Err(failure) => return refused(&state, failure),
        };
        match view::parse_major(&form.refund, currency.as_str()) {
            Some(amount) => Some(Money::new(amount, currency)),
            None => {
                let notice =
                    html! { p.error #console-notice role="alert" { "Write the refund as an amount, e.g. 12.50." } };
                return show(&state, &req, id.as_str(), 422, Some(notice)).await;
            }
        }
    } else {
        None
    };
    let decision = ArbiterDecision { outcome, refund, return_required: false, note: form.note.clone() };
    match broker.decide(id.as_str(), &decision).await {
        Ok(_) => see_other(&state, &format!("/console/disputes/{}", enc(id.as_str())), &[]),
        Err(Failure::Refused(r)) if r.status != 401 => {
            let notice = html! { p.error #console-notice role="alert" { (r.detail()) } };
            show(&state, &req, id.as_str(), r.status, Some(notice)).await
        }
        Err(failure) => refused(&state, failure),
    }
}
