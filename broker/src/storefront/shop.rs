//! Browsing and search: unions → stores → products, search by kind, characteristics,
//! price and region, and the selection that answers with alternatives. All of it works
//! with JavaScript off.

use super::api::{self, enc};
use super::view::{self, attributes, failed, form_key, money, page, parse_major, Frame};
use super::{same_origin, BUYER_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use client::broker::catalog::{Alternative, Backorder, SelectionBody};
use client::broker::Broker;
use client::Failure;
use maud::{html, Markup};
use serde::Deserialize;
use shared::money::Money;
use shared::rules::Unsellable;

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
    let unions = match Broker::new(api::broker(&state, &req)).unions(100).await {
        Ok(list) => list.unions,
        Err(e) => return failed(&state, frame(&req), "The shop", e),
    };
    let body = html! {
        p.lead { "Shop across independent stores. No store learns who you are or where you live: "
            "your address goes straight to the carrier, your payment straight to the payment partner." }
        (search_form(&SearchForm::default(), None))
        h2 { "Regional unions" }
        @if unions.is_empty() { p { "No store has opened yet." } }
        ul.unions {
            @for u in &unions {
                li {
                    a href={"/shop/unions/" (u.union.id)} { (u.union.name) }
                    " · " span.muted { (u.union.region) " · " (u.stores.len()) " stores" }
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
    let page_of_results = match Broker::new(api::broker(&state, &req)).search(&query).await {
        Ok(results) => results,
        Err(Failure::Refused(r)) => {
            // The API names no form field; put its words where they fit best.
            let field = ["min_price", "max_price", "currency", "region", "kind"]
                .into_iter()
                .find(|f| r.detail().contains(f) || r.code().contains(f))
                .unwrap_or("");
            let e = (field, r.detail());
            return view::respond(&state, r.status, frame(&req), "Search", search_form(&f, Some(&e)));
        }
        Err(e) => return failed(&state, frame(&req), "Search", e),
    };
    let (results, next) = (page_of_results.results, page_of_results.next_offset);
    let body = html! {
        (search_form(&f, None))
        @if results.is_empty() { p { "Nothing sellable and in stock matches. Try fewer characteristics." } }
        @else {
            table.results {
                thead { tr { th { "Product" } th { "Store" } th { "Region" } th.num { "Price" } th.num { "In stock" } } }
                tbody {
                    @for h in &results {
                        tr {
                            td { a.product-link href={"/shop/stores/" (h.store_id) "/products/" (h.product_id)} { (h.product_name) } }
                            td { a href={"/shop/stores/" (h.store_id)} { (h.store_name) } }
                            td { (h.region) }
                            td.num { (money(&h.price)) @if h.urgent { " " span.badge { "urgent sale" } } }
                            td.num { (h.stock) }
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
    let union = match Broker::new(api::broker(&state, &req)).union(&path).await {
        Ok(union) => union,
        Err(e) => return failed(&state, frame(&req), "Union", e),
    };
    let body = html! {
        p.muted { "Region " (union.union.region) }
        ul.stores {
            @for s in &union.stores {
                li { a href={"/shop/stores/" (s.id)} { (s.name) } " · " span.muted { (s.category) } }
            }
        }
    };
    page(&state, frame(&req), &union.union.name, body)
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
    let broker = Broker::new(api::broker(&state, &req));
    let store = match broker.store(&path).await {
        Ok(store) => store,
        Err(e) => return failed(&state, frame(&req), "Store", e),
    };
    let offset = q.offset.unwrap_or(0).max(0);
    let offers = match broker.shelf(&path, SHELF, offset).await {
        Ok(shelf) => shelf.offers,
        Err(e) => return failed(&state, frame(&req), "Store", e),
    };
    let mut names = Vec::with_capacity(offers.len());
    for o in &offers {
        let name = match broker.product(o.product_id.as_str()).await {
            Ok(product) => product.name,
            Err(_) => o.product_id.to_string(),
        };
        names.push(name);
    }
    let id = enc(&path);
    let body = html! {
        p.muted { (store.category) " · region " (store.region)
            @if let Some(u) = &store.union_id { " · " a href={"/shop/unions/" (u)} { "its union" } } }
        table.results {
            thead { tr { th { "Product" } th.num { "Price" } th { "Availability" } } }
            tbody {
                @for (o, name) in offers.iter().zip(&names) {
                    tr {
                        td { a.product-link href={"/shop/stores/" (id) "/products/" (o.product_id)} { (name) } }
                        td.num { (money(&o.price)) }
                        td { @if !o.sellable { "not sold here" } @else if o.stock <= 0 { "out of stock" } @else { (o.stock) " in stock" } }
                    }
                }
            }
        }
        nav.pages {
            @if offset > 0 { a href={"/shop/stores/" (id) "?offset=" ((offset - SHELF).max(0))} { "Previous" } " " }
            @if offers.len() as i64 == SHELF { a href={"/shop/stores/" (id) "?offset=" (offset + SHELF)} { "Next" } }
        }
    };
    page(&state, frame(&req), &store.name, body)
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
    let broker = Broker::new(api::broker(&state, &req));
    let store = match broker.store(&store_id).await {
        Ok(store) => store,
        Err(e) => return failed(&state, frame(&req), "Product", e),
    };
    let product = match broker.product(&product_id).await {
        Ok(product) => product,
        Err(e) => return failed(&state, frame(&req), "Product", e),
    };
    let body = html! {
        p.muted { (product.kind) " at " a href={"/shop/stores/" (enc(&store_id))} { (store.name) } }
        (attributes(&product.attributes))
        p { "List price " (money(&product.list_price)) }
        (choose_form(&store_id, &product_id, q.referral.as_deref().filter(|r| !r.is_empty()), 1, None))
    };
    page(&state, frame(&req), &product.name, body)
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
    let broker = Broker::new(api::broker(&state, &req));
    let choice = SelectionBody { product_id: product_id.clone(), quantity };
    let answer = match broker.select(&store_id, &choice).await {
        Ok(answer) => answer,
        Err(Failure::Refused(r)) if r.status == 422 || r.status == 400 => {
            let body = choose_form(&store_id, &product_id, referral.as_deref(), 1, Some(&r.detail()));
            return view::respond(&state, r.status, frame(&req), "Choose", body);
        }
        Err(e) => return failed(&state, frame(&req), "Choose", e),
    };
    let name = broker.product(&product_id).await.map(|p| p.name).unwrap_or_else(|_| product_id.clone());
    let signed_in = frame(&req).signed_in;
    let body = match (answer.sellable, &answer.price) {
        (true, Some(price)) => html! {
            p { "This store sells it: " strong { (money(price)) } " each."
                @if answer.union_fulfilment { " Another store of its union ships it for this store." } }
            (order_form(&store_id, &product_id, quantity, price, referral.as_deref(), signed_in, "Order without an account"))
        },
        _ => alternatives(
            &product_id,
            quantity,
            answer.reason,
            &answer.alternatives,
            answer.backorder.as_ref(),
            signed_in,
        ),
    };
    let mut f = frame(&req);
    f.private = true;
    page(&state, f, &name, body)
}

/// Why a store cannot sell, and where the buyer can get it instead.
pub fn alternatives(
    product_id: &str,
    quantity: i64,
    reason: Option<Unsellable>,
    alts: &[Alternative],
    backorder: Option<&Backorder>,
    signed_in: bool,
) -> Markup {
    let reason = match reason {
        Some(Unsellable::NonSellable) => "This store cannot sell this product.",
        Some(Unsellable::OutOfStock) => "This store has not enough in stock.",
        Some(Unsellable::StoreSuspended) => "This store is suspended and takes no orders.",
        None => "This store cannot take this order.",
    };
    html! {
        p.notice role="status" id="unsellable" { (reason) }
        @if !alts.is_empty() {
            h2 { "Stores that can sell it" }
            ul.alternatives {
                @for a in alts {
                    li {
                        a.alternative href={"/shop/stores/" (a.store_id) "/products/" (enc(product_id))
                            @if let Some(r) = &a.referral { "?referral=" (enc(r)) }} {
                            (a.store_name) }
                        " · " (money(&a.price)) " · " (a.stock) " in stock"
                        @if a.same_union { " · " span.badge { "same union" } }
                    }
                }
            }
        }
        @if let Some(b) = backorder {
            h2 { "Back-order from the manufacturer" }
            p { "The manufacturer can make it for you: " (money(&b.price)) " each, in about " (b.estimated_days) " days." }
            (order_form(b.store_id.as_str(), product_id, quantity, &b.price, None, signed_in, "Back-order it"))
        }
        @if alts.is_empty() && backorder.is_none() { p { "No other store has it now. " a href="/" { "Back to the shop" } } }
    }
}

/// The order form: a plain post that works without JavaScript; its idempotency key makes
/// a reload or a second click return the first order instead of placing another.
pub fn order_form(
    store_id: &str,
    product_id: &str,
    quantity: i64,
    price: &Money,
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
            input type="hidden" name="expected_amount" value=(price.amount);
            input type="hidden" name="expected_currency" value=(price.currency);
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
