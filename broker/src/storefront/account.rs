//! The optional browsing pseudonym (and deleting its sequence), and the optional
//! pseudonymous buyer account: a handle and a password, no mail address.

use super::api::{self, cookie};
use super::shop::frame;
use super::view::{self, failed, see_other};
use super::{same_origin, BUYER_COOKIE, SESSION_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use client::broker::buyers::{EquipmentBody, NewBuyer};
use client::broker::Broker;
use client::Failure;
use maud::html;
use serde::Deserialize;

pub async fn privacy(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let session = cookie(&req, SESSION_COOKIE);
    let steps = match &session {
        Some(_) => Broker::new(api::broker(&state, &req)).browsing().await.map(|s| s.events.len()).unwrap_or(0),
        None => 0,
    };
    let body = html! {
        h2 { "What this shop keeps" }
        ul {
            li { "Orders: product, quantity, value and store, under a random order id. Not your name, address or payment." }
            li { "Searches: the kind and characteristics asked, without anything about who asked." }
            li { "Your receipt code: nowhere but where you put it." }
        }
        h2 { "Cookies" }
        p { "None, unless you ask for one: a browsing pseudonym (below) or a sign-in session. "
            "Both are HttpOnly and SameSite=Strict, and no other site's cookie is ever set." }
        h2 { "Browsing pseudonym" }
        @if session.is_some() {
            p #pseudonym-on { "This browser has a browsing pseudonym. Its sequence has " strong #steps { (steps) } " steps." }
            form method="post" action="/shop/privacy/forget" {
                button #forget type="submit" { "Delete my browsing sequence and the pseudonym" }
            }
        } @else {
            p #pseudonym-off { "This browser has no browsing pseudonym: what you view is not kept as a sequence." }
            form method="post" action="/shop/privacy/pseudonym" {
                button #start-pseudonym type="submit" { "Keep a browsing pseudonym (for the shop's analyses of browsing)" }
            }
        }
    };
    view::page(&state, frame(&req), "Privacy", body)
}

pub async fn start_pseudonym(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let id = crate::browsing::SessionId::generate();
    let c = view::cookie(&state, SESSION_COOKIE, id.as_str(), "/", Some(180 * 24 * 3600));
    see_other(&state, "/shop/privacy", &[c])
}

pub async fn forget(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    if cookie(&req, SESSION_COOKIE).is_some() {
        if let Err(e) = Broker::new(api::broker(&state, &req)).forget_browsing().await {
            return failed(&state, frame(&req), "Privacy", e);
        }
    }
    let gone = view::cookie(&state, SESSION_COOKIE, "", "/", Some(0));
    see_other(&state, "/shop/privacy", &[gone])
}

pub async fn page_with(state: &State, req: &HttpRequest, status: u16, error: Option<(&str, String)>) -> HttpResponse {
    account_page(state, req, status, error, None).await
}

async fn account_page(
    state: &State,
    req: &HttpRequest,
    status: u16,
    error: Option<(&str, String)>,
    collection_code: Option<String>,
) -> HttpResponse {
    let token = cookie(req, BUYER_COOKIE);
    let broker = Broker::new(api::broker(state, req).bearer(token.clone()));
    let profile = match &token {
        Some(_) => broker.profile().await.ok(),
        None => None,
    };
    let compatible = match &profile {
        Some(_) => broker.compatible_products(20).await.map(|c| c.products).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut f = frame(req);
    f.private = true;
    let err = |form: &str| error.as_ref().filter(|(w, _)| *w == form).map(|(_, d)| d.clone());
    let body = html! {
        @if let Some(p) = profile {
            p #signed-in { "Signed in as " strong { (p.handle) } ". Points: " (p.points) ". Equipment: " (p.equipment.join(", ")) }
            p { "Orders you place while signed in get your group's prices; the store still sees only a per-order handle." }
            form #equipment-form method="post" action="/shop/account/equipment" {
                label for="equipment" { "Equipment you own (kinds, separated by commas), for compatible items and prices" }
                input #equipment name="equipment" value=(p.equipment.join(", "));
                @if let Some(d) = err("equipment") { span.field-error #equipment-error role="alert" { (d) } }
                button type="submit" { "Save equipment" }
            }
            @if !compatible.is_empty() {
                h2 { "Fits your equipment" }
                ul #compatible {
                    @for p in &compatible {
                        li { a href={"/shop/search?kind=" (super::api::enc(&p.kind))} { (p.name) }
                             " · list price " (view::money(&p.list_price)) }
                    }
                }
            }
            h2 { "Collection and recycling" }
            p { "Hand in used items with a one-time code; the store that takes them learns only the code, and you get points." }
            @if let Some(code) = collection_code { p #collection-code { "Your code: " strong { (code) } } }
            form method="post" action="/shop/account/collection-code" { button #new-collection-code type="submit" { "Get a collection code" } }
            form method="post" action="/shop/account/sign-out" { button #sign-out type="submit" { "Sign out" } }
        } @else {
            p { "An account is optional: a handle and a password, no mail address. It keeps equipment, points and group prices." }
            @for (action, title, id) in [("/shop/account/sign-in", "Sign in", "sign-in"), ("/shop/account/register", "Create a pseudonymous account", "register")] {
                h2 { (title) }
                form.account method="post" action=(action) id={(id) "-form"} {
                    label for={(id) "-handle"} { "Handle" }
                    input id={(id) "-handle"} name="handle" autocomplete="username" required;
                    label for={(id) "-password"} { "Password" }
                    input id={(id) "-password"} name="password" type="password" autocomplete=(if id == "register" { "new-password" } else { "current-password" }) required;
                    @if let Some(d) = err(id) { span.field-error id={(id) "-error"} role="alert" { (d) } }
                    button type="submit" { (title) }
                }
            }
        }
    };
    view::respond(state, status, f, "Account", body)
}

pub async fn page(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    page_with(&state, &req, 200, None).await
}

#[derive(Deserialize)]
pub struct Credentials {
    handle: String,
    password: String,
}

impl Credentials {
    fn credentials(&self) -> NewBuyer {
        NewBuyer { handle: self.handle.clone(), password: self.password.clone() }
    }
}

async fn session(state: &State, req: &HttpRequest, form: &Credentials, which: &str) -> HttpResponse {
    match Broker::new(api::broker(state, req)).sign_in(&form.credentials()).await {
        Ok(t) => see_other(
            state,
            "/shop/account",
            &[view::cookie(state, BUYER_COOKIE, &t.access_token, "/", Some(t.expires_in))],
        ),
        Err(Failure::Refused(r)) => page_with(state, req, r.status, Some((which, r.detail()))).await,
        Err(e) => failed(state, frame(req), "Account", e),
    }
}

pub async fn sign_in(state: web::Data<State>, req: HttpRequest, form: web::Form<Credentials>) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    session(&state, &req, &form, "sign-in").await
}

pub async fn register(state: web::Data<State>, req: HttpRequest, form: web::Form<Credentials>) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    match Broker::new(api::broker(&state, &req)).register(&form.credentials()).await {
        Ok(_) => session(&state, &req, &form, "register").await,
        Err(Failure::Refused(r)) => page_with(&state, &req, r.status, Some(("register", r.detail()))).await,
        Err(e) => failed(&state, frame(&req), "Account", e),
    }
}

pub async fn sign_out(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    see_other(&state, "/shop/account", &[view::cookie(&state, BUYER_COOKIE, "", "/", Some(0))])
}

#[derive(Deserialize)]
pub struct Equipment {
    equipment: String,
}

pub async fn equipment(state: web::Data<State>, req: HttpRequest, form: web::Form<Equipment>) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let Some(token) = cookie(&req, BUYER_COOKIE) else { return page_with(&state, &req, 401, None).await };
    let equipment = form.equipment.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_string).collect();
    let broker = Broker::new(api::broker(&state, &req).bearer(Some(token)));
    match broker.set_equipment(&EquipmentBody { equipment }).await {
        Ok(_) => see_other(&state, "/shop/account", &[]),
        Err(Failure::Refused(r)) => page_with(&state, &req, r.status, Some(("equipment", r.detail()))).await,
        Err(e) => failed(&state, frame(&req), "Account", e),
    }
}

pub async fn collection_code(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let Some(token) = cookie(&req, BUYER_COOKIE) else { return page_with(&state, &req, 401, None).await };
    match Broker::new(api::broker(&state, &req).bearer(Some(token))).collection_code().await {
        Ok(c) => account_page(&state, &req, 200, None, Some(c.code)).await,
        Err(e) => failed(&state, frame(&req), "Account", e),
    }
}
