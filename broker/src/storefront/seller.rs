//! The salesperson's desk: orders (with per-order buyer handles), price confirmation, the
//! unmet-demand record, balances and remittances (from settlement, with the seller's own
//! token), their own nodes' stock and the goods to issue there (from delivery, likewise),
//! an order's shipment status (from delivery, with a view token the broker signs for that
//! order), and aggregated reports with a table and a chart.

use super::api::{self, cookie, enc, Reply};
use super::desk::{Desk, SignIn};
use super::view::{self, failed, money, see_other, unreachable, Frame};
use super::{same_origin, SELLER_COOKIE};
use crate::State;
use actix_web::{web, HttpRequest, HttpResponse};
use client::broker::catalog::PublicStore;
use client::broker::orders::{Confirmation, OrderStatus, ShipmentProgress};
use client::broker::Broker;
use client::delivery::{Delivery, InventoryBody, LegStatus};
use client::reports::{BuyBody, Cell, Report, Reports};
use client::settlement::Settlement;
use client::{Answer, Failure};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;
use shared::money::{Currency, Money};
use std::collections::BTreeMap;

pub(super) fn frame() -> Frame {
    Frame { seller: true, private: true, ..Frame::default() }
}

pub const DESK: Desk = Desk {
    path: "/seller",
    cookie: SELLER_COOKIE,
    form_id: "seller-sign-in",
    title: "Seller sign-in",
    frame,
    sign_in: SignIn::Account,
};

/// The seller's token and their stores, or the sign-in page.
async fn signed_in(state: &State, req: &HttpRequest) -> Result<(String, Vec<PublicStore>), HttpResponse> {
    let Some(token) = cookie(req, SELLER_COOKIE) else { return Err(DESK.sign_in_page(state, 200, None)) };
    match Broker::new(api::broker(state, req).bearer(Some(token.clone()))).my_stores().await {
        Ok(mine) => Ok((token, mine.stores)),
        Err(Failure::Refused(r)) if r.status == 401 || r.status == 403 => {
            Err(DESK.sign_in_page(state, 401, Some("Your session ended; sign in again.".into())))
        }
        Err(e) => Err(failed(state, frame(), "Seller desk", e)),
    }
}

/// A list the desk shows: empty when its call gave none (the rest of the desk still shows).
fn listed<T, L>(answer: Answer<T>, list: impl FnOnce(T) -> Vec<L>) -> Vec<L> {
    answer.map(list).unwrap_or_default()
}

pub async fn dashboard(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let (token, stores) = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let broker = Broker::new(api::broker(&state, &req).bearer(Some(token.clone())));
    let settlement = Settlement::new(api::settlement(&state).bearer(Some(token.clone())));
    let orders = listed(broker.seller_orders(100).await, |l| l.orders);
    let delivery = Delivery::new(api::delivery(&state).bearer(Some(token)));
    let nodes = listed(delivery.own_nodes().await, |l| l.nodes);
    let dispatches = listed(delivery.dispatches(100).await, |l| l.dispatches);
    let mut per_store = Vec::new();
    for s in &stores {
        let id = s.id.as_str();
        let unmet = listed(broker.unmet_demand(id).await, |r| r.products);
        let balance = settlement.balance(id).await.ok();
        let remits = listed(settlement.remittances(id, 10).await, |r| r.remittances);
        per_store.push((s, unmet, balance, remits));
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
                        @let id = o.order_id.as_str();
                        tr {
                            td { code { (id) } }
                            td { (o.buyer_handle) }
                            td { code { (o.product_id) } }
                            td.num { (o.quantity) }
                            td.num { (money(&o.amount)) }
                            td { (o.status) }
                            @let shipment = o.shipment_status;
                            td { @if o.shipment_status == ShipmentProgress::NotRequested { (shipment) } @else {
                                a href={"/seller/orders/" (enc(id)) "/shipment"} { (shipment) }
                            } }
                            td { @if let Some(d) = &o.dispute_id {
                                a.dispute href={"/seller/orders/" (enc(id)) "/disputes/" (enc(d.as_str()))} { "Dispute" }
                            } @else if o.status == OrderStatus::AwaitingConfirmation {
                                form method="post" action={"/seller/orders/" (enc(id)) "/confirm"} {
                                    label { "Unit price " input name="price" value=(view::major_text(o.unit_price.amount, o.unit_price.currency.as_str())) size="8"; }
                                    input type="hidden" name="currency" value=(o.unit_price.currency);
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
                        @let id = d.shipment_id.as_str();
                        tr {
                            td { code { (id) } }
                            td { code { (d.product_id) } }
                            td.num { (d.quantity) }
                            td { (d.status) }
                            td { @if d.status == LegStatus::AwaitingGoodsIssue {
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
            section.node {
                h2 { "Stock at " (n.name) }
                @if n.stock.is_empty() { p.muted { "Nothing counted here yet." } }
                @else {
                    table.results { thead { tr { th { "Product" } th.num { "Units" } } }
                        tbody { @for l in &n.stock { tr { td { code { (l.product_id) } } td.num { (l.quantity) } } } } }
                }
                form.node-stock method="post" action={"/seller/nodes/" (enc(n.node_id.as_str())) "/stock"} {
                    label { "Product " input name="product_id" required size="30"; }
                    label { "Units " input name="quantity" type="number" min="0" required size="6"; }
                    button type="submit" { "Set stock" }
                }
            }
        }
        @for (s, unmet, balance, remits) in &per_store {
            section.store {
                h2 { (s.name) }
                @if let Some(b) = balance {
                    p { "Available " strong { (money(&b.available)) } " · in escrow " (money(&b.escrow)) }
                }
                h3 { "Unmet demand" }
                @if unmet.is_empty() { p.muted { "Nobody asked for anything this store could not sell." } }
                @else {
                    table.results { thead { tr { th { "Product" } th.num { "Not sellable" } th.num { "Out of stock" } th.num { "Total" } } }
                        tbody { @for u in unmet { tr { td { (u.product_name) } td.num { (u.non_sellable) } td.num { (u.out_of_stock) } td.num { (u.total) } } } } }
                }
                h3 { "Remittances" }
                @if remits.is_empty() { p.muted { "None yet." } }
                @else {
                    table.results { tbody { @for r in remits { tr { td { (shared::time::to_rfc3339(r.created)) } td.num { (money(&r.amount)) } td { "to the account ending " (r.iban_last4.as_deref().unwrap_or("····")) } } } } }
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
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return DESK.sign_in_page(&state, 401, None) };
    let Some(amount) = view::parse_major(&form.price, &form.currency) else {
        let r = Reply::refused(422, "write the unit price as an amount, e.g. 12.50");
        return view::problem(&state, frame(), "Confirm price", &r);
    };
    let Ok(currency) = Currency::parse(&form.currency) else {
        let r = Reply::refused(422, "this form is stale: reload the desk");
        return view::problem(&state, frame(), "Confirm price", &r);
    };
    let confirmation = Confirmation { price: Some(Money { amount, currency }) };
    match Broker::new(api::broker(&state, &req).bearer(Some(token))).confirm(&path, &confirmation).await {
        Ok(_) => see_other(&state, "/seller", &[]),
        Err(e) => failed(&state, frame(), "Confirm price", e),
    }
}

/// One order's shipment as delivery tells it. Delivery holds no seller id: the broker
/// signs a short-lived view token for the order's own seller, and the page reads
/// delivery with that token (never with the seller's own).
pub async fn shipment(state: web::Data<State>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return DESK.sign_in_page(&state, 401, None) };
    let order = path.into_inner();
    let minted = match Broker::new(api::broker(&state, &req).bearer(Some(token))).shipment_view(&order).await {
        Ok(t) => t,
        Err(Failure::Refused(r)) if r.status == 401 => {
            return DESK.sign_in_page(&state, 401, Some("Your session ended; sign in again.".into()))
        }
        Err(e) => return failed(&state, frame(), "Shipment", e),
    };
    let shipment = match Delivery::new(api::delivery(&state).bearer(Some(minted.token))).seller_shipment(&order).await {
        Ok(s) => Some(s),
        Err(Failure::Refused(r)) if r.status == 404 => None,
        Err(e) => return failed(&state, frame(), "Shipment", e),
    };
    let body = html! {
        p { "Order " code { (order) } }
        @if let Some(s) = &shipment {
            dl #seller-shipment {
                dt { "Status" } dd { (s.status) }
                dt { "Delivered" } dd { @if s.delivered { "yes" } @else { "no" } }
                dt { "Estimated delivery" } dd {
                    (s.estimated_delivery.map(shared::time::to_rfc3339).unwrap_or_else(|| "not known yet".into())) }
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
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return DESK.sign_in_page(&state, 401, None) };
    match Delivery::new(api::delivery(&state).bearer(Some(token))).issue_goods(&path).await {
        Ok(_) => see_other(&state, "/seller", &[]),
        Err(e) => failed(&state, frame(), "Goods issue", e),
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
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return DESK.sign_in_page(&state, 401, None) };
    let Ok(quantity) = form.quantity.trim().parse::<i64>() else {
        let r = Reply::refused(422, "write the units as a whole number, e.g. 12");
        return view::problem(&state, frame(), "Set stock", &r);
    };
    let delivery = Delivery::new(api::delivery(&state).bearer(Some(token)));
    match delivery.set_own_stock(&path, form.product_id.trim(), &InventoryBody { quantity }).await {
        Ok(_) => see_other(&state, "/seller", &[]),
        Err(e) => failed(&state, frame(), "Set stock", e),
    }
}

pub async fn reports(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    report_page(&state, &req, None).await
}

async fn report_page(state: &State, req: &HttpRequest, bought: Option<Answer<Report>>) -> HttpResponse {
    let (token, stores) = match signed_in(state, req).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let catalogue =
        listed(Reports::new(api::broker(state, req).bearer(Some(token.clone()))).catalogue().await, |c| c.reports);
    let finances = listed(Reports::new(api::settlement(state).bearer(Some(token))).catalogue().await, |c| c.reports);
    let today = shared::time::now().format("%Y-%m").to_string();
    let (status, shown) = match bought {
        None => (200, None),
        Some(Ok(r)) => (200, Some(report(&r))),
        Some(Err(Failure::Refused(r))) => (r.status, Some(html! { p.error role="alert" { (r.detail()) } })),
        Some(Err(Failure::Unreachable(e))) => return unreachable(state, e),
    };
    let body = html! {
        @if let Some(shown) = shown { (shown) }
        h2 { "Buy a report" }
        p.muted { "Every figure is aggregated, bounded per order and noised; a copy already released costs money but no privacy." }
        form #buy-report method="post" action="/seller/reports" {
            label for="kind" { "Report" }
            select #kind name="choice" {
                @for c in catalogue.iter().chain(finances.iter()) {
                    option value={(c.kind) "|" (c.group_by)} { (c.kind) " by " (c.group_by) " · " (money(&c.price)) }
                }
            }
            @if stores.len() > 1 {
                label for="store" { "Charge store" }
                select #store name="store_id" { @for s in &stores { option value=(s.id) { (s.name) } } }
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
    let Some(token) = cookie(&req, SELLER_COOKIE) else { return DESK.sign_in_page(&state, 401, None) };
    let (kind, group_by) = form.choice.split_once('|').unwrap_or((&form.choice, ""));
    let body = BuyBody {
        kind: kind.into(),
        group_by: group_by.into(),
        from: form.from.trim().into(),
        to: form.to.trim().into(),
    };
    // Finances are settlement's analyses; sales and preferences the broker's.
    let api = if kind == "finances" { api::settlement(&state) } else { api::broker(&state, &req) };
    let bought = Reports::new(api.bearer(Some(token))).buy(&body, form.store_id.as_deref()).await;
    report_page(&state, &req, Some(bought)).await
}

/// A report's rows as a table, and its first numeric column as a bar chart.
fn report(r: &Report) -> Markup {
    let rows = &r.rows;
    let columns: Vec<String> = rows.first().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    let numeric = columns.iter().find(|c| rows.iter().all(|row| cell(row, c).number().is_some())).cloned();
    let label_col = columns.iter().find(|c| Some(*c) != numeric.as_ref()).cloned();
    let budget_left = r.budget_left.map(|b| b.to_string()).unwrap_or_else(|| "null".into());
    html! {
        section #report {
            h2 { (r.kind) " by " (r.group_by) }
            p.muted { "Price " (money(&r.price)) " · ε spent " (r.epsilon_spent) " · budget left " (budget_left) }
            @if rows.is_empty() { p { "No group had enough orders to be shown." } }
            @else {
                @if let Some(n) = &numeric { (chart(rows, label_col.as_deref(), n)) }
                table.results {
                    thead { tr { @for c in &columns { th { (c) } } } }
                    tbody { @for row in rows { tr { @for c in &columns { td { (cell(row, c)) } } } } }
                }
            }
        }
    }
}

/// A horizontal bar chart as inline SVG (presentation attributes only, so the strict
/// style policy holds).
/// A row's cell in `column`; empty where the row has none.
fn cell<'a>(row: &'a BTreeMap<String, Cell>, column: &str) -> &'a Cell {
    row.get(column).unwrap_or(&Cell::Empty)
}

fn chart(rows: &[BTreeMap<String, Cell>], label: Option<&str>, value: &str) -> Markup {
    let max = rows.iter().filter_map(|r| cell(r, value).number()).fold(0.0_f64, f64::max).max(1.0);
    let bar_h = 22;
    let height = rows.len() as i64 * bar_h + 10;
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-label="{value} per group" width="640" height="{height}" viewBox="0 0 640 {height}" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, r) in rows.iter().enumerate() {
        let v = cell(r, value).number().unwrap_or(0.0);
        let w = ((v.max(0.0) / max) * 380.0).round();
        let y = i as i64 * bar_h + 5;
        let name = label.map(|l| cell(r, l).to_string()).unwrap_or_default();
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
        let r: Report = serde_json::from_value(serde_json::json!({
            "kind": "sales_history", "group_by": "category", "price": {"amount": 2500, "currency": "EUR"},
            "epsilon_spent": 0.2, "budget_left": 0.3,
            "rows": [{"category": "office <b>", "units": 40}, {"category": "home", "units": 20}],
        }))
        .unwrap();
        let html = report(&r).into_string();
        assert_eq!(html.matches("<rect").count(), 2, "{html}");
        assert!(html.contains("office &lt;b&gt;") && !html.contains("office <b>"), "labels are escaped: {html}");
        assert!(html.contains("width=\"380\"") && html.contains("width=\"190\""), "bars scale to the largest: {html}");
        assert!(!html.contains("style="), "no inline style under the strict policy: {html}");
        let empty = Report { rows: vec![], ..r };
        let empty = report(&empty).into_string();
        assert!(empty.contains("No group had enough orders"));
    }
}
