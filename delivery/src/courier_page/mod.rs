//! The courier page: server-rendered HTML over delivery's own JSON API, for a phone and
//! without JavaScript. A courier signs in, sees the open legs and their own, and reports
//! pick-up, transit, delivery or failure with plain form posts (post, then redirect).
//!
//! The page keeps the API's promises: no third-party request, no script, a strict
//! Content-Security-Policy, no referrer, and one cookie (the courier's session,
//! `HttpOnly`, `SameSite=Strict`, `Secure` off localhost, only under `/courier`).

mod api;
mod view;

use crate::State;
use actix_web::{http::header, web, HttpRequest, HttpResponse};
use api::enc;
use maud::html;
use serde::Deserialize;
use serde_json::json;

pub const COURIER_COOKIE: &str = "mp_courier";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/courier", web::get().to(page))
        .route("/courier/style.css", web::get().to(style))
        .route("/courier/sign-in", web::post().to(sign_in))
        .route("/courier/sign-out", web::post().to(sign_out))
        .route("/courier/shipments/{shipment_id}/events", web::post().to(event));
}

fn public_url(state: &State) -> String {
    state.core.config.delivery.public_url()
}

fn same_origin(req: &HttpRequest, state: &State) -> bool {
    shared::pages::same_origin(req, &public_url(state))
}

fn session(state: &State, token: &str, max_age: Option<i64>) -> String {
    shared::pages::cookie(&public_url(state), COURIER_COOKIE, token, "/courier", max_age)
}

async fn style() -> HttpResponse {
    let mut r = HttpResponse::Ok();
    view::headers(&mut r);
    r.insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(view::STYLE_CSS)
}

pub async fn page(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    list(&state, &req, 200, None).await
}

/// The courier's legs, with `error` (the API's words) above them when an action failed.
async fn list(state: &State, req: &HttpRequest, status: u16, error: Option<String>) -> HttpResponse {
    let Some(token) = shared::pages::cookie_value(req, COURIER_COOKIE) else { return view::sign_in(200, None) };
    let r = match api::delivery(state, req, Some(token)).get("/v1/courier/shipments?limit=100").await {
        Ok(r) if r.ok() => r,
        Ok(r) if r.status == 401 || r.status == 403 => {
            return view::sign_in(401, Some("Your session ended; sign in again.".into()))
        }
        Ok(r) => {
            return view::respond(r.status.max(400), "Deliveries", html! { p.error role="alert" { (r.detail()) } })
        }
        Err(e) => return view::unreachable(e),
    };
    let legs = r.body["shipments"].as_array().cloned().unwrap_or_default();
    let (mine, open): (Vec<_>, Vec<_>) = legs.iter().partition(|l| l["claimed"] == true);
    let body = html! {
        @if let Some(e) = error { p.error #courier-error role="alert" { (e) } }
        h2 { "Your legs" }
        @if mine.is_empty() { p.muted #no-claimed { "None: pick up an open leg below." } }
        div #claimed { @for l in &mine { (view::leg(l)) } }
        h2 { "Open legs" }
        @if open.is_empty() { p.muted #no-open { "No leg is waiting for a courier." } }
        div #open { @for l in &open { (view::leg(l)) } }
        form method="post" action="/courier/sign-out" { button.secondary #sign-out type="submit" { "Sign out" } }
    };
    view::respond(status, "Deliveries", body)
}

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

/// Signs in at delivery's own `POST /v1/sessions`, whose per-client limit holds here too:
/// the courier's address travels with the call.
pub async fn sign_in(state: web::Data<State>, req: HttpRequest, form: web::Form<Credentials>) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin();
    }
    let body = json!({"email": form.email, "password": form.password});
    let r = match api::delivery(&state, &req, None).post("/v1/sessions", body).await {
        Ok(r) => r,
        Err(e) => return view::unreachable(e),
    };
    if !r.ok() {
        return view::sign_in(r.status, Some(r.detail()));
    }
    let token = r.body["access_token"].as_str().unwrap_or_default();
    view::see_other("/courier", &[session(&state, token, r.body["expires_in"].as_i64())])
}

pub async fn sign_out(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin();
    }
    view::see_other("/courier", &[session(&state, "", Some(0))])
}

#[derive(Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    kind: String,
    reason: Option<String>,
    /// The buyer's delivery PIN, asked on the final leg to the buyer.
    pin: Option<String>,
}

/// Reports one event through `POST /v1/courier/shipments/{id}/events`; a refusal is shown
/// on the list in the API's words.
pub async fn event(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Event>,
) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin();
    }
    let Some(token) = shared::pages::cookie_value(&req, COURIER_COOKIE) else { return view::sign_in(401, None) };
    let mut body = json!({"type": form.kind});
    if let Some(reason) = form.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        body["reason"] = json!(reason);
    }
    if let Some(pin) = form.pin.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        body["pin"] = json!(pin);
    }
    let target = format!("/v1/courier/shipments/{}/events", enc(&path));
    match api::delivery(&state, &req, Some(token)).post(&target, body).await {
        Ok(r) if r.ok() => view::see_other("/courier", &[]),
        Ok(r) if r.status == 401 => view::sign_in(401, Some("Your session ended; sign in again.".into())),
        Ok(r) => list(&state, &req, r.status, Some(r.detail())).await,
        Err(e) => view::unreachable(e),
    }
}
