//! Signing in and out of a desk (the salesperson's at `/seller`, the manufacturer's at
//! `/manufacturer`, the operators' console at `/console`): the same form, the broker's own
//! `POST /v1/sessions` (or `POST /v1/operator-sessions`), and an `HttpOnly` cookie scoped
//! to the desk's path.

use super::api;
use super::same_origin;
use super::view::{self, see_other, unreachable, Frame};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use client::admin::Admin;
use client::broker::Broker;
use client::Failure;
use maud::html;
use serde::Deserialize;

pub struct Desk {
    /// Where the desk lives; its cookie is scoped to it.
    pub path: &'static str,
    pub cookie: &'static str,
    /// The sign-in form's element id (`seller-sign-in`).
    pub form_id: &'static str,
    pub title: &'static str,
    pub frame: fn() -> Frame,
    pub sign_in: SignIn,
}

/// Whose password the desk's form takes.
#[derive(Clone, Copy)]
pub enum SignIn {
    /// A seller's or a manufacturer's account.
    Account,
    /// An operator's account.
    Operator,
}

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

impl Desk {
    /// The desk's sign-in and sign-out form posts, at `{path}/sign-in` and `{path}/sign-out`.
    pub fn routes(&'static self, cfg: &mut web::ServiceConfig) {
        let sign_in = move |state: web::Data<State>, req: HttpRequest, form: web::Form<Credentials>| async move {
            self.sign_in(&state, &req, &form).await
        };
        let sign_out = move |state: web::Data<State>, req: HttpRequest| async move { self.sign_out(&state, &req) };
        cfg.route(&format!("{}/sign-in", self.path), web::post().to(sign_in))
            .route(&format!("{}/sign-out", self.path), web::post().to(sign_out));
    }

    pub fn sign_in_page(&self, state: &State, status: u16, error: Option<String>) -> HttpResponse {
        let action = format!("{}/sign-in", self.path);
        let body = html! {
            form id=(self.form_id) method="post" action=(action) {
                label for="email" { "Mail address" }
                input #email name="email" type="email" autocomplete="username" required;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                @if let Some(e) = error { span.field-error #sign-in-error role="alert" { (e) } }
                button type="submit" { "Sign in" }
            }
        };
        view::respond(state, status, (self.frame)(), self.title, body)
    }

    pub async fn sign_in(&self, state: &State, req: &HttpRequest, form: &Credentials) -> HttpResponse {
        if !same_origin(req, state) {
            return view::forbidden_origin(state);
        }
        let credentials =
            client::broker::accounts::Credentials { email: form.email.clone(), password: form.password.clone() };
        let api = api::broker(state, req);
        let session = match self.sign_in {
            SignIn::Account => Broker::new(api).sign_in_account(&credentials).await,
            SignIn::Operator => Admin::new(api).sign_in(&credentials).await,
        };
        match session {
            Ok(t) => {
                let c = view::cookie(state, self.cookie, &t.access_token, self.path, Some(t.expires_in));
                see_other(state, self.path, &[c])
            }
            Err(Failure::Refused(r)) => self.sign_in_page(state, r.status, Some(r.detail())),
            Err(Failure::Unreachable(e)) => unreachable(state, e),
        }
    }

    pub fn sign_out(&self, state: &State, req: &HttpRequest) -> HttpResponse {
        if !same_origin(req, state) {
            return view::forbidden_origin(state);
        }
        see_other(state, self.path, &[view::cookie(state, self.cookie, "", self.path, Some(0))])
    }
}
