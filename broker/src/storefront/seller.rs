//! The salesperson's desk: orders (with per-order buyer handles), price confirmation, the
//! unmet-demand record, balances and remittances (from settlement, with the seller's own
//! token), their own nodes' stock and the goods to issue there (from delivery, likewise),
//! an order's shipment status (from delivery, with a view token the broker signs for that
//! order), and aggregated reports with a table and a chart.

use super::api::{self, cookie, enc, Reply};
use super::desk::{Credentials, Desk};
use super::view::{self, money_value, see_other, unreachable, Frame};
use super::{same_origin, SELLER_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;
use serde_json::{json, Value};

fn frame() -> Frame {
    Frame { seller: true, private: true, ..Frame::default() }
}

const DESK: Desk =
    Desk { path: "/seller", cookie: SELLER_COOKIE, form_id: "seller-sign-in", title: "Seller sign-in", frame };

fn sign_in_page(state: &State, status: u16, error: Option<String>) -> HttpResponse {
    DESK.sign_in_page(state, status, error)
}

pub async fn sign_in(state: web::Data<State>, req: HttpRequest, form: web::Form<Credentials>) -> HttpResponse {
    DESK.sign_in(&state, &req, &form).await
}

pub async fn sign_out(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    DESK.sign_out(&state, &req)
}

/// The seller's token and their stores, or the sign-in page.
async fn signed_in(state: &State, req: &HttpRequest) -> Result<(String, Vec<Value>), HttpResponse> {
    let Some(token) = cookie(req, SELLER_COOKIE) else { return Err(sign_in_page(state, 200, None)) };
    let api = api::broker(state, req).bearer(Some(token.clone()));
    match api.get("/v1/seller/stores").await {
        Ok(r) if r.ok() => Ok((token, r.body["stores"].as_array().cloned().unwrap_or_default())),
        Ok(r) if r.status == 401 || r.status == 403 => {
            Err(sign_in_page(state, 401, Some("Your session ended; sign in again.".into())))
        }
        Ok(r) => Err(view::problem(state, frame(), "Seller desk", &r)),
        Err(e) => Err(unreachable(state, e)),
    }
}

fn rows(r: &Result<Reply, super::api::Unreachable>, key: &str) -> Vec<Value> {
    match r {
        Ok(r) if r.ok() => r.body[key].as_array().cloned().unwrap_or_default(),
        _ => Vec::new(),
    }
}

pub async fn dashboard(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let (token, stores) = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let broker = api::broker(&state, &req).bearer(Some(token.clone()));
    let settlement = api::settlement(&state).bearer(Some(token.clone()));
    let orders = rows(&broker.get("/v1/seller/orders?limit=100").await, "orders");
    let delivery = api::delivery(&state).bearer(Some(token));
    let nodes = rows(&delivery.get("/v1/seller/nodes").await, "nodes");
    let dispatches = rows(&delivery.get("/v1/seller/dispatches?limit=100").await, "dispatches");
    let mut per_store = Vec::new();
    for s in &stores {
        let id = enc(s["id"].as_str().unwrap_or_default());
        let unmet = rows(&broker.get(&format!("/v1/seller/stores/{id}/unmet-demand")).await, "products");
        let balance = settlement.get(&format!("/v1/seller/balance?store_id={id}")).await.ok().filter(Reply::ok);
        let remits =
            rows(&settlement.get(&format!("/v1/seller/remittances?store_id={id}&limit=10")).await, "remittances");
        per_store.push((s, unmet, balance.map(|b| b.body), remits));
    }
    let body = html! {
        form method="post" action="/seller/sign-out" { button type="submit" { "Sign out" } }
        h2 { "Orders" }
        @if orders.is_empty() { p { "No orders yet." } }
        @else {
            table.results #seller-orders {
                thead { tr { th { "Order" } th { "Buyer handle" } th { "Product" } th.num { "Qty" } th.num { "Value" } th { "Status" } th { "Shipment" } th {} } }
                tbody {
                    @for o in &orders {
                        @let id = o["order_id"].as_str().unwrap_or_default();
                        tr {
                            td { code { (id) } }
                            td { (o["buyer_handle"].as_str().unwrap_or_default()) }
                            td { code { (o["product_id"].as_str().unwrap_or_default()) } }
                            td.num { (o["quantity"]) }
                            td.num { (money_value(&o["amount"])) }
                            td { (o["status"].as_str().unwrap_or_default()) }
                            @let shipment = o["shipment_status"].as_str().unwrap_or_default();
                            td { @if shipment == "not_requested" { (shipment) } @else {
                                a href={"/seller/orders/" (enc(id)) "/shipment"} { (shipment) }
                            } }
                            td { @if o["status"] == "awaiting_confirmation" {
                                form method="post" action={"/seller/orders/" (enc(id)) "/confirm"} {
                                    label { "Unit price " input name="price" value=(view::major_text(o["unit_price"]["amount"].as_i64().unwrap_or(0), o["unit_price"]["currency"].as_str().unwrap_or("EUR"))) size="8"; }
                                    input type="hidden" name="currency" value=(o["unit_price"]["currency"].as_str().unwrap_or("EUR"));
                                    button type="submit" { "Confirm price" }
                                }
                            } }
                        }
                    }
                }
            }
        }
        @if !dispatches.is_empty() {
            h2 { "Goods to issue at your node" }
            p.muted { "Delivery entrusts these to you: hand each to the courier, then mark it issued. The buyer and the destination stay with delivery." }
            table.results #seller-dispatches {
                thead { tr { th { "Shipment" } th { "Product" } th.num { "Qty" } th { "Status" } th {} } }
                tbody {
                    @for d in &dispatches {
                        @let id = d["shipment_id"].as_str().unwrap_or_default();
                        tr {
                            td { code { (id) } }
                            td { code { (d["product_id"].as_str().unwrap_or_default()) } }
                            td.num { (d["quantity"]) }
                            td { (d["status"].as_str().unwrap_or_default()) }
                            td { @if d["status"] == "awaiting_goods_issue" {
                                form method="post" action={"/seller/dispatches/" (enc(id)) "/goods-issue"} {
                                    button type="submit" { "Goods issued" }
                                }
                            } }
                        }
                    }
                }
            }
        }
        @for n in &nodes {
            @let node_id = n["node_id"].as_str().unwrap_or_default();
            section.node {
                h2 { "Stock at " (n["name"].as_str().unwrap_or_default()) }
                @let stock = n["stock"].as_array().cloned().unwrap_or_default();
                @if stock.is_empty() { p.muted { "Nothing counted here yet." } }
                @else {
                    table.results { thead { tr { th { "Product" } th.num { "Units" } } }
                        tbody { @for l in &stock { tr { td { code { (l["product_id"].as_str().unwrap_or_default()) } } td.num { (l["quantity"]) } } } } }
                }
                form.node-stock method="post" action={"/seller/nodes/" (enc(node_id)) "/stock"} {
                    label { "Product " input name="product_id" required size="30"; }
                    label { "Units " input name="quantity" type="number" min="0" required size="6"; }
                    button type="submit" { "Set stock" }
                }
            }
        }
        @for (s, unmet, balance, remits) in &per_store {
            section.store {
                h2 { (s["name"].as_str().unwrap_or_default()) }
                @if let Some(b) = balance {
                    p { "Available " strong { (money_value(&b["available"])) } " · in escrow " (money_value(&b["escrow"])) }
                }
                h3 { "Unmet demand" }
                @if unmet.is_empty() { p.muted { "Nobody asked for anything this store could not sell." } }
                @else {
                    table.results { thead { tr { th { "Product" } th.num { "Not sellable" } th.num { "Out of stock" } th.num { "Total" } } }
                        tbody { @for u in unmet { tr { td { (u["product_name"].as_str().unwrap_or_default()) } td.num { (u["non_sellable"]) } td.num { (u["out_of_stock"]) } td.num { (u["total"]) } } } } }
                }
                h3 { "Remittances" }
                @if remits.is_empty() { p.muted { "None yet." } }
                @else {
                    table.results { tbody { @for r in remits { tr { td { (r["created"].as_str().unwrap_or_default()) } td.num { (money_value(&r["amount"])) } td { "to the account ending " (r["iban_last4"].as_str().unwrap_or("····")) } } } } }
                }
            }
        }
    };
    view::page(&state, frame(), "Seller desk", body)
}

#[derive(Deserialize)]
pub struct Confirm {
    price: String,
    currency: String,
}

pub async fn confirm(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Confirm>,
) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return sign_in_page(&state, 401, None) };
    let Some(amount) = view::parse_major(&form.price, &form.currency) else {
        let r = Reply::refused(422, "write the unit price as an amount, e.g. 12.50");
        return view::problem(&state, frame(), "Confirm price", &r);
    };
    let body = json!({"price": {"amount": amount, "currency": form.currency}});
    match api::broker(&state, &req).bearer(Some(token)).post(&format!("/v1/orders/{}/confirm", enc(&path)), body).await
    {
        Ok(r) if r.ok() => see_other(&state, "/seller", &[]),
        Ok(r) => view::problem(&state, frame(), "Confirm price", &r),
        Err(e) => unreachable(&state, e),
    }
}

/// One order's shipment as delivery tells it. Delivery holds no seller id: the broker
/// signs a short-lived view token for the order's own seller, and the page reads
/// delivery with that token (never with the seller's own).
pub async fn shipment(state: web::Data<State>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return sign_in_page(&state, 401, None) };
    let order = path.into_inner();
    let mint = format!("/v1/seller/orders/{}/shipment-view", enc(&order));
    let minted = match api::broker(&state, &req).bearer(Some(token)).post(&mint, json!({})).await {
        Ok(r) if r.ok() => r,
        Ok(r) if r.status == 401 => {
            return sign_in_page(&state, 401, Some("Your session ended; sign in again.".into()))
        }
        Ok(r) => return view::problem(&state, frame(), "Shipment", &r),
        Err(e) => return unreachable(&state, e),
    };
    let view_token = minted.body["token"].as_str().map(str::to_string);
    let read = api::delivery(&state).bearer(view_token).get(&format!("/v1/seller/shipments/{}", enc(&order))).await;
    let r = match read {
        Ok(r) if r.ok() || r.status == 404 => r,
        Ok(r) => return view::problem(&state, frame(), "Shipment", &r),
        Err(e) => return unreachable(&state, e),
    };
    let body = html! {
        p { "Order " code { (order) } }
        @if r.ok() {
            dl #seller-shipment {
                dt { "Status" } dd { (r.body["status"].as_str().unwrap_or_default()) }
                dt { "Delivered" } dd { @if r.body["delivered"] == true { "yes" } @else { "no" } }
                dt { "Estimated delivery" } dd { (r.body["estimated_delivery"].as_str().unwrap_or("not known yet")) }
            }
        } @else {
            p #seller-shipment { "Delivery has no shipment for this order yet: it starts once the order is paid." }
        }
        p.muted { "Delivery tells you how the goods are doing, never where they go." }
        p { a href="/seller" { "Back to the desk" } }
    };
    view::page(&state, frame(), "Shipment", body)
}

/// The salesperson has handed the goods to the courier at their node.
pub async fn issue_goods(state: web::Data<State>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return sign_in_page(&state, 401, None) };
    let path = format!("/v1/seller/dispatches/{}/goods-issue", enc(&path));
    match api::delivery(&state).bearer(Some(token)).post(&path, json!({})).await {
        Ok(r) if r.ok() => see_other(&state, "/seller", &[]),
        Ok(r) => view::problem(&state, frame(), "Goods issue", &r),
        Err(e) => unreachable(&state, e),
    }
}

#[derive(Deserialize)]
pub struct NodeStock {
    product_id: String,
    quantity: String,
}

/// The salesperson counts the stock at their own node.
pub async fn set_node_stock(
    state: web::Data<State>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<NodeStock>,
) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return sign_in_page(&state, 401, None) };
    let Ok(quantity) = form.quantity.trim().parse::<i64>() else {
        let r = Reply::refused(422, "write the units as a whole number, e.g. 12");
        return view::problem(&state, frame(), "Set stock", &r);
    };
    let url = format!("/v1/seller/nodes/{}/inventory/{}", enc(&path), enc(form.product_id.trim()));
    let api = api::delivery(&state).bearer(Some(token));
    match api.call(reqwest::Method::PUT, &url, Some(json!({"quantity": quantity})), &[]).await {
        Ok(r) if r.ok() => see_other(&state, "/seller", &[]),
        Ok(r) => view::problem(&state, frame(), "Set stock", &r),
        Err(e) => unreachable(&state, e),
    }
}

pub async fn reports(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    report_page(&state, &req, None).await
}

async fn report_page(state: &State, req: &HttpRequest, bought: Option<Reply>) -> HttpResponse {
    let (token, stores) = match signed_in(state, req).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let catalogue =
        rows(&api::broker(state, req).bearer(Some(token.clone())).get("/v1/seller/reports/catalogue").await, "reports");
    let finances =
        rows(&api::settlement(state).bearer(Some(token)).get("/v1/seller/reports/catalogue").await, "reports");
    let today = shared::time::now().format("%Y-%m").to_string();
    let status = bought.as_ref().map(|r| if r.ok() { 200 } else { r.status }).unwrap_or(200);
    let body = html! {
        @if let Some(r) = &bought {
            @if r.ok() { (report(&r.body)) } @else { p.error role="alert" { (r.detail()) } }
        }
        h2 { "Buy a report" }
        p.muted { "Every figure is aggregated, bounded per order and noised; a copy already released costs money but no privacy." }
        form #buy-report method="post" action="/seller/reports" {
            label for="kind" { "Report" }
            select #kind name="choice" {
                @for c in catalogue.iter().chain(finances.iter()) {
                    option value={(c["kind"].as_str().unwrap_or_default()) "|" (c["group_by"].as_str().unwrap_or_default())} {
                        (c["kind"].as_str().unwrap_or_default()) " by " (c["group_by"].as_str().unwrap_or_default()) " · " (money_value(&c["price"])) }
                }
            }
            @if stores.len() > 1 {
                label for="store" { "Charge store" }
                select #store name="store_id" { @for s in &stores { option value=(s["id"].as_str().unwrap_or_default()) { (s["name"].as_str().unwrap_or_default()) } } }
            }
            label for="from" { "From (YYYY-MM)" } input #from name="from" value=(today);
            label for="to" { "To (YYYY-MM)" } input #to name="to" value=(today);
            button type="submit" { "Buy" }
        }
    };
    view::respond(state, status, frame(), "Reports", body)
}

#[derive(Deserialize)]
pub struct Buy {
    choice: String,
    store_id: Option<String>,
    from: String,
    to: String,
}

pub async fn buy_report(state: web::Data<State>, req: HttpRequest, form: web::Form<Buy>) -> HttpResponse {
    if !same_origin(&req, &state) {
        return view::forbidden_origin(&state);
    }
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return sign_in_page(&state, 401, None) };
    let (kind, group_by) = form.choice.split_once('|').unwrap_or((&form.choice, ""));
    let body = json!({"kind": kind, "group_by": group_by, "from": form.from.trim(), "to": form.to.trim()});
    let query = form.store_id.as_deref().map(|s| format!("?store_id={}", enc(s))).unwrap_or_default();
    // Finances are settlement's analyses; sales and preferences the broker's.
    let api = if kind == "finances" { api::settlement(&state) } else { api::broker(&state, &req) };
    match api.bearer(Some(token)).post(&format!("/v1/seller/reports{query}"), body).await {
        Ok(r) => report_page(&state, &req, Some(r)).await,
        Err(e) => unreachable(&state, e),
    }
}

/// A report's rows as a table, and its first numeric column as a bar chart.
fn report(r: &Value) -> Markup {
    let rows = r["rows"].as_array().cloned().unwrap_or_default();
    let columns: Vec<String> =
        rows.first().and_then(Value::as_object).map(|o| o.keys().cloned().collect()).unwrap_or_default();
    let numeric = columns.iter().find(|c| rows.iter().all(|row| row[c.as_str()].is_number())).cloned();
    let label_col = columns.iter().find(|c| Some(*c) != numeric.as_ref()).cloned();
    html! {
        section #report {
            h2 { (r["kind"].as_str().unwrap_or_default()) " by " (r["group_by"].as_str().unwrap_or_default()) }
            p.muted { "Price " (money_value(&r["price"])) " · ε spent " (r["epsilon_spent"]) " · budget left " (r["budget_left"]) }
            @if rows.is_empty() { p { "No group had enough orders to be shown." } }
            @else {
                @if let Some(n) = &numeric { (chart(&rows, label_col.as_deref(), n)) }
                table.results {
                    thead { tr { @for c in &columns { th { (c) } } } }
                    tbody { @for row in &rows { tr { @for c in &columns {
                        td { (row[c.as_str()].as_str().map(str::to_string).unwrap_or_else(|| row[c.as_str()].to_string())) } } } } }
                }
            }
        }
    }
}

/// A horizontal bar chart as inline SVG (presentation attributes only, so the strict
/// style policy holds).
fn chart(rows: &[Value], label: Option<&str>, value: &str) -> Markup {
    let max = rows.iter().filter_map(|r| r[value].as_f64()).fold(0.0_f64, f64::max).max(1.0);
    let bar_h = 22;
    let height = rows.len() as i64 * bar_h + 10;
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-label="{value} per group" width="640" height="{height}" viewBox="0 0 640 {height}" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, r) in rows.iter().enumerate() {
        let v = r[value].as_f64().unwrap_or(0.0);
        let w = ((v.max(0.0) / max) * 380.0).round();
        let y = i as i64 * bar_h + 5;
        let name =
            label.map(|l| r[l].as_str().map(str::to_string).unwrap_or_else(|| r[l].to_string())).unwrap_or_default();
        svg.push_str(&format!(
            r##"<text x="0" y="{}" font-size="12" fill="#222">{}</text><rect x="200" y="{y}" width="{w}" height="{}" fill="#3b6ea5"/><text x="{}" y="{}" font-size="12" fill="#222">{}</text>"##,
            y + 15,
            html! { (name) }.into_string(),
            bar_h - 6,
            205.0 + w,
            y + 15,
            v
        ));
    }
    svg.push_str("</svg>");
    PreEscaped(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_shows_its_rows_and_a_bar_per_row() {
        let r = json!({
            "kind": "sales_history", "group_by": "category", "price": {"amount": 2500, "currency": "EUR"},
            "epsilon_spent": 0.2, "budget_left": 0.3,
            "rows": [{"category": "office <b>", "units": 40}, {"category": "home", "units": 20}],
        });
        let html = report(&r).into_string();
        assert_eq!(html.matches("<rect").count(), 2, "{html}");
        assert!(html.contains("office &lt;b&gt;") && !html.contains("office <b>"), "labels are escaped: {html}");
        assert!(html.contains("width=\"380\"") && html.contains("width=\"190\""), "bars scale to the largest: {html}");
        assert!(!html.contains("style="), "no inline style under the strict policy: {html}");
        let empty = report(&json!({"kind": "sales_history", "rows": []})).into_string();
        assert!(empty.contains("No group had enough orders"));
    }
}
