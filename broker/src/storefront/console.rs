//! The operators' console at `/console`: orders in their store's view, the stores with the
//! forms that suspend or lift (one store, or every store of a seller), the messages
//! between services that wait or died, the arbiter's queue of disputes (see `arbiter`) (at all three services, each with retry and
//! discard), a remittance run with what it paid and held back, and the audit logs. Server-rendered over the services' own admin API with the
//! operator's own token, so each service checks the roles and records the action itself;
//! under the storefront's rules (its CSP, no script needed). Every form carries a CSRF
//! token besides the same-origin check: a digest of the session, which a page of another
//! origin can neither read nor compute.

use super::api::{self, cookie, enc};
use super::desk::{Desk, SignIn};
use super::view::{self, money, see_other, unreachable, Frame};
use super::{same_origin, CONSOLE_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use client::admin::{Admin, AdminStore, Suspension};
use client::broker::orders::SellerView;
use client::{Answer, Failure};
use maud::{html, Markup};
use serde::Deserialize;
use shared::audit::Entry;
use shared::config::ServiceName;
use shared::ids::{MessageId, OrderId, SellerId, StoreId};
use shared::outbox::{Listed, MessageStatus};

pub(super) fn frame() -> Frame {
    Frame { console: true, private: true, ..Frame::default() }
}

pub const DESK: Desk = Desk {
    path: "/console",
    cookie: CONSOLE_COOKIE,
    form_id: "console-sign-in",
    title: "Operator sign-in",
    frame,
    sign_in: SignIn::Operator,
};

/// The session's CSRF token: a digest of the session cookie under a label of its own, so
/// it names this session and no other and says nothing of the cookie.
fn csrf(session: &str) -> String {
    shared::crypto::sha256_hex(format!("console csrf\n{session}").as_bytes())[..32].to_string()
}

pub(super) fn csrf_field(session: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf(session)); }
}

/// The sign-in form again, and the session cookie cleared.
pub(super) fn session_ended(state: &State) -> HttpResponse {
    let mut page = DESK.sign_in_page(state, 401, Some("Your session ended; sign in again.".into()));
    let gone = view::cookie(state, CONSOLE_COOKIE, "", DESK.path, Some(0));
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&gone) {
        page.headers_mut().append(actix_web::http::header::SET_COOKIE, value);
    }
    page
}

/// The session cookie, when it holds an operator's token that verifies here. Anything else
/// (a buyer's or a seller's token, a forged or expired one) goes back to the sign-in form
/// before a single service is called.
pub(super) async fn operator_session(state: &State, req: &HttpRequest) -> Option<String> {
    let session = cookie(req, CONSOLE_COOKIE)?;
    let claims = state.core.auth.verifier.verify(&session).await.ok()?;
    (claims.role == shared::auth::Role::Operator).then_some(session)
}

/// A form field or path that names nothing: said on the page, nothing sent anywhere.
pub(super) fn bad_input(state: &State, detail: &str) -> HttpResponse {
    let body =
        html! { p.error #console-notice role="alert" { (detail) } p { a href="/console" { "Back to the console" } } };
    view::respond(state, 400, frame(), "Operators' console", body)
}

/// The session of a form post, once its origin and CSRF token are checked; or the page
/// that refuses it.
pub(super) async fn session_of_form(
    state: &State,
    req: &HttpRequest,
    token: &str,
) -> Result<String, Box<HttpResponse>> {
    if !same_origin(req, state) {
        return Err(Box::new(view::forbidden_origin(state)));
    }
    let Some(session) = operator_session(state, req).await else { return Err(Box::new(session_ended(state))) };
    if !shared::crypto::constant_time_eq(csrf(&session).as_bytes(), token.as_bytes()) {
        let body = html! {
            p.error #csrf-refused role="alert" { "This form is stale or was not sent from the console; reload the page." }
        };
        return Err(Box::new(view::respond(state, 403, frame(), "Refused", body)));
    }
    Ok(session)
}

/// The admin API of one service, called with the operator's own token.
fn admin_at(state: &State, req: &HttpRequest, service: ServiceName, session: &str) -> Admin {
    let api = match service {
        ServiceName::Broker => api::broker(state, req),
        ServiceName::Settlement => api::settlement(state),
        ServiceName::Delivery => api::delivery(state),
    };
    Admin::new(api.bearer(Some(session.to_string())))
}

/// A section the operator's roles do not cover says so instead of failing the page.
pub(super) fn section<T>(answer: Answer<T>, id: &str, show: impl FnOnce(T) -> Markup) -> Markup {
    match answer {
        Ok(v) => show(v),
        Err(Failure::Refused(r)) if r.status == 403 => html! { p.muted id=(id) { "Your roles do not cover this." } },
        Err(Failure::Refused(r)) => html! { p.error id=(id) role="alert" { (r.detail()) } },
        Err(Failure::Unreachable(_)) => {
            html! { p.error id=(id) role="alert" { "This service does not answer just now." } }
        }
    }
}

/// `GET /console?store_id=&order_id=`: what the console shows, filtered.
#[derive(Deserialize, Default)]
pub struct Lookup {
    store_id: Option<String>,
    order_id: Option<String>,
}

pub async fn dashboard(state: web::Data<State>, req: HttpRequest, q: web::Query<Lookup>) -> HttpResponse {
    dashboard_with(&state, &req, &q, 200, None).await
}

/// The console; `outcome` says what the form just sent did, when it has more to say than
/// the page itself shows.
async fn dashboard_with(
    state: &State,
    req: &HttpRequest,
    q: &Lookup,
    status: u16,
    outcome: Option<Markup>,
) -> HttpResponse {
    let Some(session) = operator_session(state, req).await else {
        return match cookie(req, CONSOLE_COOKIE) {
            Some(_) => session_ended(state),
            None => DESK.sign_in_page(state, 200, None),
        };
    };
    let broker = admin_at(state, req, ServiceName::Broker, &session);
    let stores = match broker.stores(None).await {
        Err(Failure::Refused(r)) if r.status == 401 => return session_ended(state),
        other => other,
    };
    let store = q.store_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let order = q.order_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if order.is_some_and(|o| OrderId::parse(o).is_err()) || store.is_some_and(|s| StoreId::parse(s).is_err()) {
        return bad_input(state, "That is not an order id (ord_…) or a store id (sto_…).");
    }
    let orders = match order {
        Some(id) => broker.order(id).await.map(|o| vec![o]),
        None => broker.orders(store, None).await.map(|l| l.orders),
    };
    let mut messages = Vec::new();
    let mut audits = Vec::new();
    for service in ServiceName::ALL {
        let admin = admin_at(state, req, service, &session);
        for status in [MessageStatus::Dead, MessageStatus::Pending] {
            messages.push((service, status, admin.outbox(status.as_ref()).await));
        }
        audits.push((service, admin.latest_audit(50).await));
    }
    let disputes = super::arbiter::queue_section(state, req, &session).await;
    let body = html! {
        @if let Some(outcome) = outcome { (outcome) }
        section #console-orders {
            h2 { "Orders" }
            p.muted { "As the store sees them: a per-order buyer handle, never who or where." }
            form.inline #order-lookup method="get" action="/console" {
                label for="order_id" { "Order id " }
                input #order_id name="order_id" value=(order.unwrap_or_default()) maxlength="40";
                label for="store_id" { " or store id " }
                input #store_id name="store_id" value=(store.unwrap_or_default()) maxlength="40";
                button type="submit" { "Look up" }
            }
            (section(orders, "orders-refused", |o| orders_table(&o)))
        }
        section #console-disputes {
            h2 { "Disputes for the arbiter" }
            p.muted { "Escalated disputes, oldest first; each file is read (and audited) on its own page." }
            (disputes)
        }
        section #console-stores {
            h2 { "Stores and sellers" }
            (section(stores, "stores-refused", |s| stores_table(&session, &s.stores)))
            (seller_form(&session))
        }
        section #console-payouts {
            h2 { "Payouts" }
            p.muted { "Pays every store's available balance to its payout account (finance)." }
            form #run-remittances method="post" action="/console/remittances/run" {
                (csrf_field(&session)) button type="submit" { "Run remittances now" }
            }
        }
        section #console-messages {
            h2 { "Messages between services" }
            @for (service, status, list) in messages {
                @let id = format!("{service}-{}", status.as_ref());
                h3 { (status.as_ref()) " at " (service) }
                (section(list, &format!("{id}-refused"), |m| messages_table(&session, service, &id, &m.messages)))
            }
        }
        section #console-audit {
            h2 { "Audit logs" }
            @for (service, entries) in audits {
                h3 { (service) ", latest first" }
                (section(entries, &format!("{service}-audit-refused"), |a| audit_table(service, &a.entries)))
            }
        }
        form method="post" action="/console/sign-out" { button #sign-out type="submit" { "Sign out" } }
    };
    view::respond(state, status, frame(), "Operators' console", body)
}

fn orders_table(orders: &[SellerView]) -> Markup {
    html! {
        @if orders.is_empty() { p.muted #orders-none { "No orders." } }
        @else {
            table.results #orders {
                thead { tr {
                    th { "Order" } th { "Store" } th { "Buyer handle" } th { "Product" } th.num { "Qty" }
                    th.num { "Amount" } th { "Status" } th { "Shipment" } th { "Placed" }
                } }
                tbody {
                    @for o in orders {
                        tr data-order=(o.order_id) {
                            td { code { (o.order_id) } }
                            td { a href={"/console?store_id=" (enc(o.store_id.as_str()))} { code { (o.store_id) } } }
                            td { code { (o.buyer_handle) } }
                            td { code { (o.product_id) } }
                            td.num { (o.quantity) }
                            td.num { (money(&o.amount)) }
                            td.state { (o.status.as_ref()) @if let Some(r) = &o.reason { ": " (r) } }
                            td { (o.shipment_status) }
                            td { (shared::time::to_rfc3339(o.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

fn stores_table(session: &str, stores: &[AdminStore]) -> Markup {
    html! {
        table.results #stores {
            thead { tr { th { "Store" } th { "Name" } th { "Owner" } th { "Region" } th { "State" } th {} } }
            tbody {
                @for s in stores {
                    tr data-store=(s.store_id) {
                        td { a href={"/console?store_id=" (enc(s.store_id.as_str()))} { code { (s.store_id) } } }
                        td { (s.name) }
                        td {
                            @if let Some(seller) = &s.seller_id { "seller " code { (seller) } }
                            @else if let Some(m) = &s.manufacturer_id { "manufacturer " code { (m) } }
                        }
                        td { (s.region) }
                        td.state {
                            @if s.suspended { "suspended: " (s.suspension_reason.as_deref().unwrap_or_default()) }
                            @else { "open" }
                        }
                        td {
                            form.suspension method="post" action={"/console/stores/" (enc(s.store_id.as_str())) "/suspension"} {
                                (csrf_field(session))
                                @if s.suspended {
                                    button name="suspended" value="false" type="submit" { "Lift suspension" }
                                } @else {
                                    input name="reason" required maxlength="500" placeholder="Reason" aria-label="Reason";
                                    button name="suspended" value="true" type="submit" { "Suspend" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn seller_form(session: &str) -> Markup {
    html! {
        form #seller-suspension method="post" action="/console/sellers/suspension" {
            (csrf_field(session))
            label for="seller_id" { "Every store of seller " }
            input #seller_id name="seller_id" required maxlength="40" placeholder="sel_…";
            input name="reason" maxlength="500" placeholder="Reason (to suspend)" aria-label="Reason";
            button name="suspended" value="true" type="submit" { "Suspend" }
            button name="suspended" value="false" type="submit" { "Lift" }
        }
    }
}

fn messages_table(session: &str, service: ServiceName, id: &str, messages: &[Listed]) -> Markup {
    html! {
        @if messages.is_empty() { p.muted id={(id) "-none"} { "None." } }
        @else {
            table.results id=(id) {
                thead { tr {
                    th { "Message" } th { "To" } th { "Kind" } th.num { "Attempts" } th { "Next attempt" }
                    th { "Last error" } th {}
                } }
                tbody {
                    @for m in messages {
                        @let base = format!("/console/messages/{service}/{}", enc(m.id.as_str()));
                        tr data-message=(m.id) {
                            td { code { (m.id) } }
                            td { (m.destination) }
                            td { (m.kind) }
                            td.num { (m.attempts) }
                            td { (shared::time::to_rfc3339(m.next_attempt_at)) }
                            td { (m.last_error.as_deref().unwrap_or_default()) }
                            td {
                                form.retry method="post" action={(base) "/retry"} {
                                    (csrf_field(session)) button type="submit" { "Retry now" }
                                }
                                @if m.status == MessageStatus::Dead {
                                    form.discard method="post" action={(base) "/discard"} {
                                        (csrf_field(session)) button type="submit" { "Discard" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn audit_table(service: ServiceName, entries: &[Entry]) -> Markup {
    html! {
        table.results id={(service) "-audit"} {
            thead { tr { th.num { "#" } th { "When" } th { "Who" } th { "What" } th { "Target" } th.num { "Answer" } } }
            tbody {
                @for e in entries {
                    tr {
                        td.num { (e.seq) }
                        td { (shared::time::to_rfc3339(e.at)) }
                        td { code { (e.actor) } }
                        td { (e.action) }
                        td { code { (e.target) } }
                        td.num { (e.status) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct SuspensionForm {
    csrf: String,
    suspended: bool,
    #[serde(default)]
    reason: Option<String>,
    /// Only on the seller form.
    #[serde(default)]
    seller_id: Option<String>,
}

impl SuspensionForm {
    fn asked(&self) -> Suspension {
        let reason = self.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        Suspension { suspended: self.suspended, reason: reason.filter(|_| self.suspended).map(str::to_string) }
    }
}

/// After a form's call: back to the console, or the console with the service's refusal.
async fn after<T>(state: &State, req: &HttpRequest, done: Answer<T>) -> HttpResponse {
    match done {
        Ok(_) => see_other(state, "/console", &[]),
        Err(failure) => refused(state, req, failure).await,
    }
}

async fn refused(state: &State, req: &HttpRequest, failure: Failure) -> HttpResponse {
    match failure {
        Failure::Refused(r) if r.status == 401 => session_ended(state),
        Failure::Refused(r) => {
            let status = if r.status >= 400 { r.status } else { 502 };
            let notice = html! { p.error #console-notice role="alert" { (r.detail()) } };
            dashboard_with(state, req, &Lookup::default(), status, Some(notice)).await
        }
        Failure::Unreachable(e) => unreachable(state, e),
    }
}

pub async fn suspend_store(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<SuspensionForm>,
) -> HttpResponse {
    let session = match session_of_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let Ok(store) = StoreId::parse(&path) else { return bad_input(&state, "That is not a store id (sto_…).") };
    let admin = admin_at(&state, &req, ServiceName::Broker, &session);
    let done = admin.suspend_store(store.as_str(), &form.asked()).await;
    after(&state, &req, done).await
}

pub async fn suspend_seller(
    state: web::Data<State>,
    req: HttpRequest,
    form: web::Form<SuspensionForm>,
) -> HttpResponse {
    let session = match session_of_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let admin = admin_at(&state, &req, ServiceName::Broker, &session);
    let Ok(seller) = SellerId::parse(form.seller_id.as_deref().unwrap_or_default().trim()) else {
        return bad_input(&state, "That is not a seller id (sel_…).");
    };
    let done = admin.suspend_seller(seller.as_str(), &form.asked()).await;
    after(&state, &req, done).await
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: String,
}

pub async fn message_action(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let session = match session_of_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let (service, id, action) = path.into_inner();
    let not_found = |what: &str| view::respond(&state, 404, frame(), "Not found", html! { p.error { (what) } });
    let Some(service) = ServiceName::parse(&service) else { return not_found("No such service.") };
    let Ok(id) = MessageId::parse(&id) else { return bad_input(&state, "That is not a message id (msg_…).") };
    let id = id.to_string();
    let admin = admin_at(&state, &req, service, &session);
    let done = match action.as_str() {
        "retry" => admin.retry(&id).await,
        "discard" => admin.discard(&id).await,
        _ => return not_found("No such action."),
    };
    after(&state, &req, done).await
}

/// Runs remittances at settlement and shows what was paid and what waits, and why.
pub async fn run_remittances(state: web::Data<State>, req: HttpRequest, form: web::Form<ActionForm>) -> HttpResponse {
    let session = match session_of_form(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let api = api::settlement(&state).bearer(Some(session));
    match client::settlement::Settlement::new(api).run_remittances().await {
        Ok(batch) => dashboard_with(&state, &req, &Lookup::default(), 200, Some(batch_table(&batch))).await,
        Err(failure) => refused(&state, &req, failure).await,
    }
}

fn batch_table(batch: &client::settlement::Batch) -> Markup {
    html! {
        section.notice #remittance-run role="status" {
            h2 { "Remittances run" }
            p { (batch.remittances.len()) " paid, " (batch.skipped.len()) " held back." }
            table.results #remitted {
                thead { tr { th { "Store" } th.num { "Amount" } th { "Outcome" } } }
                tbody {
                    @for r in &batch.remittances {
                        tr data-store=(r.store_id) {
                            td { code { (r.store_id) } } td.num { (money(&r.amount)) }
                            td { "paid to the account ending " (r.iban_last4) }
                        }
                    }
                    @for s in &batch.skipped {
                        tr data-store=(s.store_id) {
                            td { code { (s.store_id) } } td.num { (money(&s.amount)) }
                            td.state { "held back: " (s.reason) }
                        }
                    }
                }
            }
        }
    }
}
