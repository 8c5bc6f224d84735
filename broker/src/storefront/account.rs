//! The optional browsing pseudonym (and deleting its sequence), and the optional
//! pseudonymous buyer account: a handle and a password, no mail address.

use super::api::{self, cookie};
use super::shop::frame;
use super::view::{self, see_other, unreachable};
use super::{same_origin, BUYER_COOKIE, SESSION_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;
use serde_json::json;

pub async fn privacy(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let session = cookie(&req, SESSION_COOKIE);
    let steps = match &session {
        Some(_) => match api::broker(&state, &req).get("/v1/browsing").await {
            Ok(r) if r.ok() => r.body["events"].as_array().map(Vec::len).unwrap_or(0),
            _ => 0,
        },
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
        match api::broker(&state, &req).call(reqwest::Method::DELETE, "/v1/browsing", None, &[]).await {
            Ok(r) if r.ok() => {}
            Ok(r) => return view::problem(&state, frame(&req), "Privacy", &r),
            Err(e) => return unreachable(&state, e),
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
    let api = api::broker(state, req).bearer(token.clone());
    let profile = match &token {
        Some(_) => api.get("/v1/buyer").await.ok().filter(|r| r.ok()),
        None => None,
    };
    let compatible = match &profile {
        Some(_) => api
            .get("/v1/buyer/products?limit=20")
            .await
            .ok()
            .filter(|r| r.ok())
            .and_then(|r| r.body["products"].as_array().cloned())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut f = frame(req);
    f.private = true;
    let err = |form: &str| error.as_ref().filter(|(w, _)| *w == form).map(|(_, d)| d.clone());
    let body = html! {
        @if let Some(p) = profile {
            p #signed-in { "Signed in as " strong { (p.body["handle"].as_str().unwrap_or_default()) } ". Points: "
                (p.body["points"]) ". Equipment: " (p.body["equipment"].as_array().map(|e| e.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
            p { "Orders you place while signed in get your group's prices; the store still sees only a per-order handle." }
            form #equipment-form method="post" action="/shop/account/equipment" {
                label for="equipment" { "Equipment you own (kinds, separated by commas), for compatible items and prices" }
                input #equipment name="equipment" value=(p.body["equipment"].as_array().map(|e| e.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default());
                @if let Some(d) = err("equipment") { span.field-error #equipment-error role="alert" { (d) } }
                button type="submit" { "Save equipment" }
            }
            @if !compatible.is_empty() {
                h2 { "Fits your equipment" }
                ul #compatible {
                    @for p in &compatible {
                        li { a href={"/shop/search?kind=" (super::api::enc(p["kind"].as_str().unwrap_or_default()))} { (p["name"].as_str().unwrap_or_default()) }
                             " · list price " (view::money(&p["list_price"])) }
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

async fn session(state: &State, req: &HttpRequest, form: &Credentials, which: &str) -> HttpResponse {
    let body = json!({"handle": form.handle, "password": form.password});
    let r = match api::broker(state, req).post("/v1/buyer-sessions", body).await {
        Ok(r) => r,
        Err(e) => return unreachable(state, e),
    };
    if !r.ok() {
        return page_with(state, req, r.status, Some((which, r.detail()))).await;
    }
    let token = r.body["access_token"].as_str().unwrap_or_default();
    let age = r.body["expires_in"].as_i64();
    see_other(state, "/shop/account", &[view::cookie(state, BUYER_COOKIE, token, "/", age)])
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
    let body = json!({"handle": form.handle, "password": form.password});
    match api::broker(&state, &req).post("/v1/buyers", body).await {
        Ok(r) if r.ok() => session(&state, &req, &form, "register").await,
        Ok(r) => page_with(&state, &req, r.status, Some(("register", r.detail()))).await,
        Err(e) => unreachable(&state, e),
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
    let list: Vec<&str> = form.equipment.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
    let api = api::broker(&state, &req).bearer(Some(token));
    match api.call(reqwest::Method::PUT, "/v1/buyer/equipment", Some(json!({"equipment": list})), &[]).await {
        Ok(r) if r.ok() => see_other(&state, "/shop/account", &[]),
        Ok(r) => page_with(&state, &req, r.status, Some(("equipment", r.detail()))).await,
        Err(e) => unreachable(&state, e),
    }
}

pub async fn collection_code(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let Some(token) = cookie(&req, BUYER_COOKIE) else { return page_with(&state, &req, 401, None).await };
    match api::broker(&state, &req).bearer(Some(token)).post("/v1/buyer/collection-codes", json!({})).await {
        Ok(r) if r.ok() => {
            let code = r.body["code"].as_str().map(str::to_string);
            account_page(&state, &req, 200, None, code).await
        }
        Ok(r) => view::problem(&state, frame(&req), "Account", &r),
        Err(e) => unreachable(&state, e),
    }
}
