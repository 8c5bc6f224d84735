//! The page frame, money as people read it, cookies, and the answers every page shares.

use super::{api::Reply, headers, peer_origins, secure_cookies};
use crate::State;
use actix_web::{http::header, HttpResponse};
use client::Failure;
use maud::{html, Markup, DOCTYPE};
use shared::money::Money;
use std::collections::BTreeMap;

/// What the frame needs to know about the visitor.
#[derive(Default, Clone, Copy)]
pub struct Frame {
    pub signed_in: bool,
    pub seller: bool,
    pub manufacturer: bool,
    /// The operators' console.
    pub console: bool,
    /// Pages that hold a capability or an account's data are never cached.
    pub private: bool,
}

pub fn page(state: &State, frame: Frame, title: &str, body: Markup) -> HttpResponse {
    respond(state, 200, frame, title, body)
}

pub fn respond(state: &State, status: u16, frame: Frame, title: &str, body: Markup) -> HttpResponse {
    let (settlement, delivery) = peer_origins(state);
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · Marketplace" }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/app.js" defer {}
            }
            body data-settlement=(settlement) data-delivery=(delivery) {
                header.top {
                    a.brand href="/" { "Marketplace" }
                    nav {
                        @if frame.console {
                            a href="/console" { "Operators' console" }
                        } @else if frame.manufacturer {
                            a href="/manufacturer" { "Manufacturer desk" }
                        } @else if frame.seller {
                            a href="/seller" { "Seller desk" }
                            a href="/seller/reports" { "Reports" }
                        } @else {
                            a href="/" { "Shop" }
                            a href="/shop/orders" { "My order" }
                            a href="/shop/privacy" { "Privacy" }
                            a href="/shop/account" { @if frame.signed_in { "Account" } @else { "Sign in (optional)" } }
                        }
                    }
                }
                main.wide[frame.console] { h1 { (title) } (body) }
                footer {
                    @if frame.console {
                        p { "Every request made here is recorded in the audit log of the service that answers it." }
                    } @else {
                        p { "No account needed. This page loads nothing from other sites and sends no referrer. "
                            a href="/shop/privacy" { "What this shop keeps" } "." }
                    }
                }
            }
        }
    };
    let mut r = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default());
    headers(&mut r, state);
    if frame.private {
        r.insert_header((header::CACHE_CONTROL, "no-store"));
    }
    r.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8")).body(markup.into_string())
}

/// A page that says what went wrong, in the API's words.
pub fn problem(state: &State, frame: Frame, title: &str, reply: &Reply) -> HttpResponse {
    let status = if reply.status >= 400 { reply.status } else { 502 };
    respond(
        state,
        status,
        frame,
        title,
        html! { p.error role="alert" { (reply.detail()) } p { a href="/" { "Back to the shop" } } },
    )
}

/// A page for a typed call that has no answer: the API's refusal, or that it is unreachable.
pub fn failed(state: &State, frame: Frame, title: &str, failure: Failure) -> HttpResponse {
    match failure {
        Failure::Refused(reply) => problem(state, frame, title, &reply),
        Failure::Unreachable(e) => unreachable(state, e),
    }
}

pub fn unreachable(state: &State, e: super::api::Unreachable) -> HttpResponse {
    tracing::warn!(error = %e, "storefront call failed");
    respond(
        state,
        502,
        Frame::default(),
        "Please try again",
        html! { p.error { "The shop could not answer just now. Nothing was ordered or paid." } },
    )
}

pub fn forbidden_origin(state: &State) -> HttpResponse {
    respond(
        state,
        403,
        Frame::default(),
        "Refused",
        html! { p.error { "This form must be sent from this shop's own pages." } },
    )
}

/// Money as a person reads it: `12.34 EUR`.
pub fn money(m: &Money) -> String {
    format_minor(m.amount, m.currency.as_str())
}

pub fn format_minor(amount: i64, currency: &str) -> String {
    let digits = decimals(currency);
    if digits == 0 {
        return format!("{amount} {currency}");
    }
    let unit = 10i64.pow(digits);
    let sign = if amount < 0 { "-" } else { "" };
    let a = amount.unsigned_abs();
    format!("{sign}{}.{:0width$} {currency}", a / unit as u64, a % unit as u64, width = digits as usize)
}

/// Minor-unit digits of a currency (ISO 4217; the few without cents, else two).
pub fn decimals(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "XAF" | "XOF" | "UGX" | "PYG" => 0,
        _ => 2,
    }
}

/// A decimal amount typed by a person (`12`, `12.5`, `12.50`) in minor units.
pub fn parse_major(text: &str, currency: &str) -> Option<i64> {
    let text = text.trim();
    let digits = decimals(currency) as usize;
    let (whole, frac) = text.split_once(['.', ',']).unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > digits
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<digits$}").parse().ok()? };
    whole.checked_mul(10i64.pow(digits as u32))?.checked_add(frac)
}

/// The major-unit text of an amount, for a form's initial value.
pub fn major_text(amount: i64, currency: &str) -> String {
    format_minor(amount, currency).split(' ').next().unwrap_or_default().to_string()
}

/// A cookie the way this storefront sets every cookie.
pub fn cookie(state: &State, name: &str, value: &str, path: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if secure_cookies(state) {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// A 303 to another page of the storefront, with cookies to set.
pub fn see_other(state: &State, location: &str, cookies: &[String]) -> HttpResponse {
    let mut r = HttpResponse::SeeOther();
    headers(&mut r, state);
    r.insert_header((header::LOCATION, location.to_string()));
    for c in cookies {
        r.append_header((header::SET_COOKIE, c.clone()));
    }
    r.finish()
}

/// A fresh idempotency key for a form: a reload or a second click sends the same one.
pub fn form_key() -> String {
    shared::ids::random_hex128()
}

/// A product's characteristics as `name: value` pairs.
pub fn attributes(attributes: &BTreeMap<String, String>) -> Markup {
    html! {
        @if !attributes.is_empty() {
            dl.attributes {
                @for (k, v) in attributes {
                    dt { (k) }
                    dd { (v) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(format_minor(1234, "EUR"), "12.34 EUR");
        assert_eq!(format_minor(5, "EUR"), "0.05 EUR");
        assert_eq!(format_minor(-150, "EUR"), "-1.50 EUR");
        assert_eq!(format_minor(700, "JPY"), "700 JPY");
        assert_eq!(major_text(1234, "EUR"), "12.34");
    }

    #[test]
    fn typed_amounts_parse_to_minor_units_or_not_at_all() {
        assert_eq!(parse_major("12", "EUR"), Some(1200));
        assert_eq!(parse_major("12.5", "EUR"), Some(1250));
        assert_eq!(parse_major("12,05", "EUR"), Some(1205));
        assert_eq!(parse_major(".5", "EUR"), Some(50));
        assert_eq!(parse_major("700", "JPY"), Some(700));
        for bad in ["", "abc", "1.234", "-1", "1e3", "1.2.3", "."] {
            assert_eq!(parse_major(bad, "EUR"), None, "{bad}");
        }
        assert_eq!(parse_major("99999999999999999999", "EUR"), None);
    }
}
