//! The page frame, the security headers, and a leg as the courier reads it.

use crate::shipments::domain::{EventKind, LegStatus};
use actix_web::{http::header, HttpResponse};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

/// The storefront's policy less what the courier page never needs: no script at all and
/// no call to another origin.
const CSP: &str = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn headers(r: &mut actix_web::HttpResponseBuilder) {
    r.insert_header(("content-security-policy", CSP))
        .insert_header(("referrer-policy", "no-referrer"))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("x-frame-options", "DENY"))
        .insert_header(("cross-origin-opener-policy", "same-origin"))
        .insert_header(("permissions-policy", "interest-cohort=(), browsing-topics=(), geolocation=(), camera=()"));
}

pub const STYLE_CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.45 system-ui,sans-serif;color:#222;background:#fafafa}\
header,main{max-width:40rem;margin:0 auto;padding:.75rem}\
header{background:#3b6ea5;color:#fff;max-width:none}\
header strong{display:block;max-width:40rem;margin:0 auto}\
h1{font-size:1.3rem;margin:.5rem 0}\
label{display:block;margin:.5rem 0 .2rem}\
input,button{font:inherit;width:100%;padding:.6rem;border:1px solid #999;border-radius:4px}\
button{background:#3b6ea5;color:#fff;border:0;margin:.3rem 0;min-height:2.75rem}\
button.secondary{background:#666}\
.leg{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.75rem;margin:.75rem 0}\
.leg dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem .75rem;margin:0 0 .5rem}\
.leg dt{color:#666}.leg dd{margin:0;overflow-wrap:anywhere}\
.label{white-space:pre-line;font-weight:600}\
.error{background:#fde8e8;border:1px solid #c33;padding:.6rem;border-radius:4px}\
.muted{color:#666}\
";

pub fn respond(status: u16, title: &str, body: Markup) -> HttpResponse {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · Delivery" }
                link rel="stylesheet" href="/courier/style.css";
            }
            body {
                header { strong { "Marketplace delivery · couriers" } }
                main { h1 { (title) } (body) }
            }
        }
    };
    let mut r = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default());
    headers(&mut r);
    // Every page holds a session or a label: never cached.
    r.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(markup.into_string())
}

/// A 303 to another courier page, with cookies to set.
pub fn see_other(location: &str, cookies: &[String]) -> HttpResponse {
    let mut r = HttpResponse::SeeOther();
    headers(&mut r);
    r.insert_header((header::LOCATION, location.to_string()));
    for c in cookies {
        r.append_header((header::SET_COOKIE, c.clone()));
    }
    r.finish()
}

pub fn forbidden_origin() -> HttpResponse {
    respond(403, "Refused", html! { p.error role="alert" { "This form must be sent from the courier page itself." } })
}

pub fn unreachable(e: super::api::Unreachable) -> HttpResponse {
    tracing::warn!(error = %e, "courier page call failed");
    respond(
        502,
        "Please try again",
        html! { p.error role="alert" { "Delivery could not answer just now. Nothing was recorded." } },
    )
}

pub fn sign_in(status: u16, error: Option<String>) -> HttpResponse {
    let body = html! {
        form #courier-sign-in method="post" action="/courier/sign-in" {
            label for="email" { "Mail address" }
            input #email name="email" type="email" autocomplete="username" required;
            label for="password" { "Password" }
            input #password name="password" type="password" autocomplete="current-password" required;
            @if let Some(e) = error { p.error #sign-in-error role="alert" { (e) } }
            button type="submit" { "Sign in" }
        }
    };
    respond(status, "Courier sign-in", body)
}

/// The events a courier may report on a leg in this status, as the API's transitions
/// allow them (the API decides; the page only offers what can succeed).
pub fn actions(status: Option<LegStatus>, claimed: bool) -> &'static [EventKind] {
    use EventKind::*;
    match (status, claimed) {
        (Some(LegStatus::Open), _) => &[PickedUp],
        (Some(LegStatus::PickedUp), true) => &[InTransit, Delivered, Failed],
        (Some(LegStatus::InTransit), true) => &[Delivered, Failed],
        _ => &[],
    }
}

fn button_text(event: EventKind) -> &'static str {
    match event {
        EventKind::PickedUp => "Pick up",
        EventKind::InTransit => "In transit",
        EventKind::Delivered => "Delivered",
        EventKind::Failed => "Failed",
    }
}

/// One leg from `GET /v1/courier/shipments`: exactly what the API shows (the label only
/// where the API gives one: a claimed final leg).
pub fn leg(l: &Value) -> Markup {
    let id = l["shipment_id"].as_str().unwrap_or_default();
    let status = l["status"].as_str().unwrap_or_default();
    let claimed = l["claimed"] == true;
    let to_buyer = l["to"] == "buyer";
    let action = format!("/courier/shipments/{}/events", super::api::enc(id));
    html! {
        section.leg data-shipment=(id) data-status=(status) {
            dl {
                dt { "Shipment" } dd { code { (id) } }
                dt { "Leg" } dd { (l["leg"].as_i64().unwrap_or(0) + 1) " of " (l["legs"]) }
                dt { "From" } dd { (l["from_node"].as_str().unwrap_or_default()) }
                dt { "To" } dd { (l["to"].as_str().unwrap_or_default()) }
                dt { "Region" } dd { (l["region"].as_str().unwrap_or_default()) }
                dt { "Goods" } dd { (l["quantity"]) " × " code { (l["product_id"].as_str().unwrap_or_default()) } }
                dt { "Status" } dd.status { (status) @if claimed { " (yours)" } }
                @if let Some(label) = l["label"].as_str() { dt { "Deliver to" } dd.label { (label) } }
            }
            @for event in actions(status.parse().ok(), claimed) {
                @if *event == EventKind::Failed {
                    form.event-failed method="post" action=(action) {
                        input type="hidden" name="type" value="failed";
                        label { "Why it failed " input name="reason" required maxlength="500"; }
                        button.secondary type="submit" { (button_text(*event)) }
                    }
                } @else if *event == EventKind::Delivered && to_buyer {
                    // Proof of delivery: the buyer tells the courier their PIN at the door.
                    form.event-delivered method="post" action=(action) {
                        input type="hidden" name="type" value="delivered";
                        label { "The buyer's delivery PIN "
                            input.pin name="pin" required inputmode="numeric" autocomplete="off" pattern="[0-9]{6}" maxlength="6"; }
                        button type="submit" { (button_text(*event)) }
                    }
                } @else {
                    form class={"event-" (event)} method="post" action=(action) {
                        input type="hidden" name="type" value=(event);
                        button type="submit" { (button_text(*event)) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_events_a_leg_can_take_are_offered() {
        use EventKind::*;
        assert_eq!(actions(Some(LegStatus::Open), false), [PickedUp]);
        assert_eq!(actions(Some(LegStatus::PickedUp), true), [InTransit, Delivered, Failed]);
        assert_eq!(actions(Some(LegStatus::InTransit), true), [Delivered, Failed]);
        assert!(actions(Some(LegStatus::PickedUp), false).is_empty(), "another courier's leg offers nothing");
        assert!(actions(Some(LegStatus::Delivered), true).is_empty());
        assert!(actions(None, true).is_empty(), "a status the page does not know offers nothing");
    }

    #[test]
    fn a_leg_shows_the_label_only_where_the_api_gave_one_and_escapes_it() {
        let open = json!({"shipment_id": "shp_1", "leg": 0, "legs": 1, "from_node": "n1", "to": "buyer",
            "status": "open", "region": "north", "product_id": "p", "quantity": 1, "claimed": false});
        let html = leg(&open).into_string();
        assert!(!html.contains("Deliver to"), "{html}");
        assert!(html.contains("Pick up") && !html.contains("Delivered"), "{html}");
        let mut mine = open.clone();
        mine["status"] = json!("picked_up");
        mine["claimed"] = json!(true);
        mine["label"] = json!("Ann <b>\n1 Road");
        let html = leg(&mine).into_string();
        assert!(html.contains("Ann &lt;b&gt;") && !html.contains("<b>"), "{html}");
        assert!(html.contains("name=\"reason\"") && html.contains("Delivered"), "{html}");
        assert!(!html.contains("style=") && !html.contains("<script"), "{html}");
    }
}
