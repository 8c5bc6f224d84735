//! Browsing and search: unions → stores → products, search by kind, characteristics,
//! price and region, and the selection that answers with alternatives. All of it works
//! with JavaScript off.

use super::api::{self, enc};
use super::view::{self, attributes, form_key, money, page, parse_major, problem, unreachable, Frame};
use super::{same_origin, BUYER_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn frame(req: &HttpRequest) -> Frame {
    Frame { signed_in: super::api::cookie(req, BUYER_COOKIE).is_some(), ..Frame::default() }
}

/// The search form's fields as typed, kept to fill the form again.
#[derive(Deserialize, Default, Clone)]
pub struct SearchForm {
    #[serde(default)]
    kind: String,
    /// `name=value` pairs separated by commas.
    #[serde(default)]
    characteristics: String,
    #[serde(default)]
    min_price: String,
    #[serde(default)]
    max_price: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    offset: Option<i64>,
}

/// Where a search form field is wrong: (field, what to say).
type FieldError = (&'static str, String);

impl SearchForm {
    /// The API's query string, or the field that cannot become one.
    pub fn query(&self) -> Result<String, FieldError> {
        let currency = match self.currency.trim() {
            "" => "EUR".to_string(),
            c => c.to_ascii_uppercase(),
        };
        let mut q = vec![format!("kind={}", enc(self.kind.trim()))];
        for pair in self.characteristics.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once(['=', ':'])
                .ok_or(("characteristics", format!("write `{pair}` as name=value, e.g. colour=black")))?;
            q.push(format!("attr.{}={}", enc(name.trim()), enc(value.trim())));
        }
        let mut priced = false;
        for (field, text) in [("min_price", &self.min_price), ("max_price", &self.max_price)] {
            if text.trim().is_empty() {
                continue;
            }
            let minor = parse_major(text, &currency)
                .ok_or((field, format!("`{}` is not an amount in {currency}, e.g. 12.50", text.trim())))?;
            q.push(format!("{field}={minor}"));
            priced = true;
        }
        if priced {
            q.push(format!("currency={}", enc(&currency)));
        }
        if !self.region.trim().is_empty() {
            q.push(format!("region={}", enc(self.region.trim())));
        }
        if let Some(o) = self.offset.filter(|o| *o > 0) {
            q.push(format!("offset={o}"));
        }
        Ok(q.join("&"))
    }
}

fn search_form(f: &SearchForm, error: Option<&FieldError>) -> Markup {
    let says = |field: &str| error.filter(|(f, _)| *f == field).map(|(_, d)| d.clone());
    let field = |name: &'static str, label: &str, value: &str, hint: &str| {
        html! {
            label for=(name) { (label) }
            input id=(name) name=(name) value=(value) placeholder=(hint) aria-invalid=[says(name).map(|_| "true")];
            @if let Some(d) = says(name) { span.field-error id={(name) "-error"} role="alert" { (d) } }
        }
    };
    html! {
        form.search action="/shop/search" method="get" {
            (field("kind", "Kind", &f.kind, "toner, cable, lamp…"))
            (field("characteristics", "Characteristics", &f.characteristics, "colour=black, size=a4"))
            (field("min_price", "From", &f.min_price, "0.00"))
            (field("max_price", "To", &f.max_price, "99.00"))
            (field("currency", "Currency", &f.currency, "EUR"))
            (field("region", "Region", &f.region, "north"))
            button type="submit" { "Search" }
            @if let Some((field, d)) = error { @if field.is_empty() { p.field-error role="alert" { (d) } } }
        }
    }
}

pub async fn home(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let api = api::broker(&state, &req);
    let unions = match api.get("/v1/unions?limit=100").await {
        Ok(r) if r.ok() => r.body,
        Ok(r) => return problem(&state, frame(&req), "The shop", &r),
        Err(e) => return unreachable(&state, e),
    };
    let body = html! {
        p.lead { "Shop across independent stores. No store learns who you are or where you live: "
            "your address goes straight to the carrier, your payment straight to the payment partner." }
        (search_form(&SearchForm::default(), None))
        h2 { "Regional unions" }
        @let list = unions["unions"].as_array().cloned().unwrap_or_default();
        @if list.is_empty() { p { "No store has opened yet." } }
        ul.unions {
            @for u in &list {
                li {
                    a href={"/shop/unions/" (u["id"].as_str().unwrap_or_default())} { (u["name"].as_str().unwrap_or_default()) }
                    " · " span.muted { (u["region"].as_str().unwrap_or_default()) " · "
                        (u["stores"].as_array().map(Vec::len).unwrap_or(0)) " stores" }
                }
            }
        }
    };
    page(&state, frame(&req), "The shop", body)
}

pub async fn search(state: web::Data<State>, req: HttpRequest, form: web::Query<SearchForm>) -> HttpResponse {
    let f = form.into_inner();
    if f.kind.trim().is_empty() {
        let e = ("kind", "say what kind of product you look for".to_string());
        return view::respond(&state, 422, frame(&req), "Search", search_form(&f, Some(&e)));
    }
    let query = match f.query() {
        Ok(q) => q,
        Err(e) => return view::respond(&state, 422, frame(&req), "Search", search_form(&f, Some(&e))),
    };
    let r = match api::broker(&state, &req).get(&format!("/v1/search?{query}")).await {
        Ok(r) => r,
        Err(e) => return unreachable(&state, e),
    };
    if !r.ok() {
        // The API names no form field; put its words where they fit best.
        let field = ["min_price", "max_price", "currency", "region", "kind"]
            .into_iter()
            .find(|f| r.detail().contains(f) || r.code().contains(f))
            .unwrap_or("");
        let e = (field, r.detail());
        return view::respond(&state, r.status, frame(&req), "Search", search_form(&f, Some(&e)));
    }
    let results = r.body["results"].as_array().cloned().unwrap_or_default();
    let next = r.body["next_offset"].as_i64();
    let body = html! {
        (search_form(&f, None))
        @if results.is_empty() { p { "Nothing sellable and in stock matches. Try fewer characteristics." } }
        @else {
            table.results {
                thead { tr { th { "Product" } th { "Store" } th { "Region" } th.num { "Price" } th.num { "In stock" } } }
                tbody {
                    @for h in &results {
                        @let store = h["store_id"].as_str().unwrap_or_default();
                        @let product = h["product_id"].as_str().unwrap_or_default();
                        tr {
                            td { a.product-link href={"/shop/stores/" (store) "/products/" (product)} { (h["product_name"].as_str().unwrap_or(product)) } }
                            td { a href={"/shop/stores/" (store)} { (h["store_name"].as_str().unwrap_or_default()) } }
                            td { (h["region"].as_str().unwrap_or_default()) }
                            td.num { (money(&h["price"])) @if h["urgent"] == true { " " span.badge { "urgent sale" } } }
                            td.num { (h["stock"]) }
                        }
                    }
                }
            }
            @if let Some(n) = next {
                @let more = SearchForm { offset: Some(n), ..f.clone() };
                @if let Ok(q) = more.query() {
                    p { a href={"/shop/search?" (form_query(&more, &q))} { "More results" } }
                }
            }
        }
    };
    page(&state, frame(&req), "Search", body)
}

/// The next page's link repeats the form's own fields (not the API's), so the form refills.
fn form_query(f: &SearchForm, _api: &str) -> String {
    format!(
        "kind={}&characteristics={}&min_price={}&max_price={}&currency={}&region={}&offset={}",
        enc(&f.kind),
        enc(&f.characteristics),
        enc(&f.min_price),
        enc(&f.max_price),
        enc(&f.currency),
        enc(&f.region),
        f.offset.unwrap_or(0)
    )
}

pub async fn union(state: web::Data<State>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let r = match api::broker(&state, &req).get(&format!("/v1/unions/{}", enc(&path))).await {
        Ok(r) if r.ok() => r.body,
        Ok(r) => return problem(&state, frame(&req), "Union", &r),
        Err(e) => return unreachable(&state, e),
    };
    let title = r["name"].as_str().unwrap_or("Union").to_string();
    let body = html! {
        p.muted { "Region " (r["region"].as_str().unwrap_or_default()) }
        ul.stores {
            @for s in r["stores"].as_array().cloned().unwrap_or_default() {
                li { a href={"/shop/stores/" (s["id"].as_str().unwrap_or_default())} { (s["name"].as_str().unwrap_or_default()) }
                     " · " span.muted { (s["category"].as_str().unwrap_or_default()) } }
            }
        }
    };
    page(&state, frame(&req), &title, body)
}

#[derive(Deserialize)]
pub struct Shelf {
    offset: Option<i64>,
}

const SHELF: i64 = 24;

pub async fn store(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<Shelf>,
) -> HttpResponse {
    let api = api::broker(&state, &req);
    let id = enc(&path);
    let store = match api.get(&format!("/v1/stores/{id}")).await {
        Ok(r) if r.ok() => r.body,
        Ok(r) => return problem(&state, frame(&req), "Store", &r),
        Err(e) => return unreachable(&state, e),
    };
    let offset = q.offset.unwrap_or(0).max(0);
    let offers = match api.get(&format!("/v1/stores/{id}/offers?limit={SHELF}&offset={offset}")).await {
        Ok(r) if r.ok() => r.body["offers"].as_array().cloned().unwrap_or_default(),
        Ok(r) => return problem(&state, frame(&req), "Store", &r),
        Err(e) => return unreachable(&state, e),
    };
    let mut names = Vec::with_capacity(offers.len());
    for o in &offers {
        let pid = o["product_id"].as_str().unwrap_or_default();
        let name = match api.get(&format!("/v1/products/{}", enc(pid))).await {
            Ok(r) if r.ok() => r.body["name"].as_str().unwrap_or(pid).to_string(),
            _ => pid.to_string(),
        };
        names.push(name);
    }
    let title = store["name"].as_str().unwrap_or("Store").to_string();
    let body = html! {
        p.muted { (store["category"].as_str().unwrap_or_default()) " · region " (store["region"].as_str().unwrap_or_default())
            @if let Some(u) = store["union_id"].as_str() { " · " a href={"/shop/unions/" (u)} { "its union" } } }
        table.results {
            thead { tr { th { "Product" } th.num { "Price" } th { "Availability" } } }
            tbody {
                @for (o, name) in offers.iter().zip(&names) {
                    tr {
                        td { a.product-link href={"/shop/stores/" (id) "/products/" (o["product_id"].as_str().unwrap_or_default())} { (name) } }
                        td.num { (money(&o["price"])) }
                        td { @if o["sellable"] == false { "not sold here" } @else if o["stock"].as_i64().unwrap_or(0) <= 0 { "out of stock" } @else { (o["stock"]) " in stock" } }
                    }
                }
            }
        }
        nav.pages {
            @if offset > 0 { a href={"/shop/stores/" (id) "?offset=" ((offset - SHELF).max(0))} { "Previous" } " " }
            @if offers.len() as i64 == SHELF { a href={"/shop/stores/" (id) "?offset=" (offset + SHELF)} { "Next" } }
        }
    };
    page(&state, frame(&req), &title, body)
}

#[derive(Deserialize)]
pub struct Referral {
    /// The referral token of the alternative that sent the buyer here: carried to the
    /// order, where it earns the store the buyer came from its fee.
    referral: Option<String>,
}

pub async fn product(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<Referral>,
) -> HttpResponse {
    let (store_id, product_id) = path.into_inner();
    let api = api::broker(&state, &req);
    let store = match api.get(&format!("/v1/stores/{}", enc(&store_id))).await {
        Ok(r) if r.ok() => r.body,
        Ok(r) => return problem(&state, frame(&req), "Product", &r),
        Err(e) => return unreachable(&state, e),
    };
    let product = match api.get(&format!("/v1/products/{}", enc(&product_id))).await {
        Ok(r) if r.ok() => r.body,
        Ok(r) => return problem(&state, frame(&req), "Product", &r),
        Err(e) => return unreachable(&state, e),
    };
    let title = product["name"].as_str().unwrap_or("Product").to_string();
    let body = html! {
        p.muted { (product["kind"].as_str().unwrap_or_default()) " at "
            a href={"/shop/stores/" (enc(&store_id))} { (store["name"].as_str().unwrap_or_default()) } }
        (attributes(&product))
        p { "List price " (money(&product["list_price"])) }
        (choose_form(&store_id, &product_id, q.referral.as_deref().filter(|r| !r.is_empty()), 1, None))
    };
    page(&state, frame(&req), &title, body)
}

fn choose_form(store_id: &str, product_id: &str, referral: Option<&str>, quantity: i64, error: Option<&str>) -> Markup {
    html! {
        form.choose method="post" action={"/shop/stores/" (enc(store_id)) "/products/" (enc(product_id)) "/select"} {
            @if let Some(r) = referral { input type="hidden" name="referral" value=(r); }
            label for="quantity" { "Quantity" }
            input id="quantity" name="quantity" type="number" min="1" max="1000" value=(quantity) required;
            @if let Some(d) = error { span.field-error id="quantity-error" role="alert" { (d) } }
            button #choose type="submit" { "Choose" }
        }
    }
}

#[derive(Deserialize)]
pub struct Choice {
    quantity: String,
    referral: Option<String>,
}

pub async fn select(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<Choice>,
) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let (store_id, product_id) = path.into_inner();
    let referral = form.referral.clone().filter(|r| !r.is_empty());
    let Ok(quantity) = form.quantity.trim().parse::<i64>() else {
        let body = choose_form(&store_id, &product_id, referral.as_deref(), 1, Some("write a whole number of items"));
        return view::respond(&state, 422, frame(&req), "Choose", body);
    };
    let api = api::broker(&state, &req);
    let answer = match api
        .post(
            &format!("/v1/stores/{}/selections", enc(&store_id)),
            json!({"product_id": product_id, "quantity": quantity}),
        )
        .await
    {
        Ok(r) if r.ok() => r.body,
        Ok(r) if r.status == 422 || r.status == 400 => {
            let body = choose_form(&store_id, &product_id, referral.as_deref(), 1, Some(&r.detail()));
            return view::respond(&state, r.status, frame(&req), "Choose", body);
        }
        Ok(r) => return problem(&state, frame(&req), "Choose", &r),
        Err(e) => return unreachable(&state, e),
    };
    let product = api.get(&format!("/v1/products/{}", enc(&product_id))).await.ok().map(|r| r.body).unwrap_or_default();
    let name = product["name"].as_str().unwrap_or(&product_id).to_string();
    let body = if answer["sellable"] == true {
        html! {
            p { "This store sells it: " strong { (money(&answer["price"])) } " each."
                @if answer["union_fulfilment"] == true { " Another store of its union ships it for this store." } }
            (order_form(&store_id, &product_id, quantity, &answer["price"], referral.as_deref(), frame(&req).signed_in, "Order without an account"))
        }
    } else {
        alternatives(&product_id, quantity, &answer, frame(&req).signed_in)
    };
    let mut f = frame(&req);
    f.private = true;
    page(&state, f, &name, body)
}

/// Why a store cannot sell, and where the buyer can get it instead.
pub fn alternatives(product_id: &str, quantity: i64, answer: &Value, signed_in: bool) -> Markup {
    let reason = match answer["reason"].as_str().or(answer["code"].as_str()) {
        Some("non_sellable") => "This store cannot sell this product.",
        Some("out_of_stock") => "This store has not enough in stock.",
        _ => "This store cannot take this order.",
    };
    let alts = answer["alternatives"].as_array().cloned().unwrap_or_default();
    html! {
        p.notice role="status" id="unsellable" { (reason) }
        @if !alts.is_empty() {
            h2 { "Stores that can sell it" }
            ul.alternatives {
                @for a in &alts {
                    li {
                        a.alternative href={"/shop/stores/" (a["store_id"].as_str().unwrap_or_default()) "/products/" (enc(product_id))
                            @if let Some(r) = a["referral"].as_str() { "?referral=" (enc(r)) }} {
                            (a["store_name"].as_str().unwrap_or_default()) }
                        " · " (money(&a["price"])) " · " (a["stock"]) " in stock"
                        @if a["same_union"] == true { " · " span.badge { "same union" } }
                    }
                }
            }
        }
        @if answer["backorder"].is_object() {
            @let b = &answer["backorder"];
            h2 { "Back-order from the manufacturer" }
            p { "The manufacturer can make it for you: " (money(&b["price"])) " each, in about " (b["estimated_days"]) " days." }
            (order_form(b["store_id"].as_str().unwrap_or_default(), product_id, quantity, &b["price"], None, signed_in, "Back-order it"))
        }
        @if alts.is_empty() && !answer["backorder"].is_object() { p { "No other store has it now. " a href="/" { "Back to the shop" } } }
    }
}

/// The order form: a plain post that works without JavaScript; its idempotency key makes
/// a reload or a second click return the first order instead of placing another.
pub fn order_form(
    store_id: &str,
    product_id: &str,
    quantity: i64,
    price: &Value,
    referral: Option<&str>,
    signed_in: bool,
    label: &str,
) -> Markup {
    html! {
        form.order method="post" action="/shop/order" {
            input type="hidden" name="idempotency_key" value=(form_key());
            input type="hidden" name="store_id" value=(store_id);
            input type="hidden" name="product_id" value=(product_id);
            input type="hidden" name="quantity" value=(quantity);
            @if let (Some(a), Some(c)) = (price["amount"].as_i64(), price["currency"].as_str()) {
                input type="hidden" name="expected_amount" value=(a);
                input type="hidden" name="expected_currency" value=(c);
            }
            @if let Some(r) = referral { input type="hidden" name="referral" value=(r); }
            p { (quantity) " × " (money(price)) }
            details {
                summary { "Mail me news of this order (optional)" }
                label for="contact" { "Mail address" }
                input id="contact" name="contact" type="email" autocomplete="off";
                p.muted { "Sealed, never shown to the store, deleted when the order closes." }
            }
            @if signed_in {
                label for="points" { "Collection points to spend (optional)" }
                input #points name="points" type="number" min="0" value="0";
            }
            button #place-order type="submit" data-once="1" { (label) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_form_becomes_the_api_query() {
        let f = SearchForm {
            kind: "toner".into(),
            characteristics: "colour=black, size: a4".into(),
            min_price: "1".into(),
            max_price: "12.50".into(),
            region: "north".into(),
            ..SearchForm::default()
        };
        assert_eq!(
            f.query().unwrap(),
            "kind=toner&attr.colour=black&attr.size=a4&min_price=100&max_price=1250&currency=EUR&region=north"
        );
    }

    #[test]
    fn a_bad_field_is_named() {
        let f = SearchForm { kind: "toner".into(), characteristics: "black".into(), ..SearchForm::default() };
        assert_eq!(f.query().unwrap_err().0, "characteristics");
        let f = SearchForm { kind: "toner".into(), max_price: "cheap".into(), ..SearchForm::default() };
        assert_eq!(f.query().unwrap_err().0, "max_price");
    }
}
