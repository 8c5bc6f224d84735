//! The buyer's storefront, the seller pages, the manufacturer's desk and the operators'
//! console: server-rendered HTML over the services' own JSON APIs, with a little plain
//! JavaScript from this origin for what the browser does itself (the receipt code, the
//! address sent straight to delivery, tracking, messages).
//!
//! The pages keep the API's promises: no third-party request, a strict
//! Content-Security-Policy, no referrer, and no cookie but the optional browsing pseudonym
//! and the sign-in sessions (all `HttpOnly`, `SameSite=Strict`, `Secure` off localhost).

mod account;
mod api;
mod arbiter;
mod checkout;
mod console;
mod demo_pay;
mod desk;
mod manufacturer;
mod seller;
mod seller_disputes;
mod shop;
mod view;

use crate::State;
use actix_web::{http::header, web, HttpRequest, HttpResponse};

pub const SESSION_COOKIE: &str = crate::browsing::routes::COOKIE;
pub const BUYER_COOKIE: &str = "mp_buyer";
pub const SELLER_COOKIE: &str = "mp_seller";
pub const MANUFACTURER_COOKIE: &str = "mp_manufacturer";
pub const CONSOLE_COOKIE: &str = "mp_console";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(shop::home))
        .route("/static/app.js", web::get().to(script))
        .route("/static/style.css", web::get().to(style))
        .route("/shop/search", web::get().to(shop::search))
        .route("/shop/unions/{union_id}", web::get().to(shop::union))
        .route("/shop/stores/{store_id}", web::get().to(shop::store))
        .route("/shop/stores/{store_id}/products/{product_id}", web::get().to(shop::product))
        .route("/shop/stores/{store_id}/products/{product_id}/select", web::post().to(shop::select))
        .route("/shop/order", web::post().to(checkout::place))
        .route("/shop/orders", web::get().to(checkout::find))
        .route("/shop/orders/{order_id}", web::get().to(checkout::order))
        .route("/shop/privacy", web::get().to(account::privacy))
        .route("/shop/privacy/pseudonym", web::post().to(account::start_pseudonym))
        .route("/shop/privacy/forget", web::post().to(account::forget))
        .route("/shop/account", web::get().to(account::page))
        .route("/shop/account/register", web::post().to(account::register))
        .route("/shop/account/sign-in", web::post().to(account::sign_in))
        .route("/shop/account/sign-out", web::post().to(account::sign_out))
        .route("/shop/account/equipment", web::post().to(account::equipment))
        .route("/shop/account/collection-code", web::post().to(account::collection_code))
        .route("/demo-pay/{order_id}", web::get().to(demo_pay::page))
        .route("/demo-pay/{order_id}", web::post().to(demo_pay::pay))
        .route("/seller", web::get().to(seller::dashboard))
        .configure(|cfg| seller::DESK.routes(cfg))
        .route("/seller/orders/{order_id}/confirm", web::post().to(seller::confirm))
        .route("/seller/orders/{order_id}/shipment", web::get().to(seller::shipment))
        .route("/seller/orders/{order_id}/disputes/{dispute_id}", web::get().to(seller_disputes::page))
        .route("/seller/orders/{order_id}/disputes/{dispute_id}", web::post().to(seller_disputes::answer))
        .route("/seller/dispatches/{shipment_id}/goods-issue", web::post().to(seller::issue_goods))
        .route("/seller/nodes/{node_id}/stock", web::post().to(seller::set_node_stock))
        .route("/seller/reports", web::get().to(seller::reports))
        .route("/seller/reports", web::post().to(seller::buy_report))
        .route("/manufacturer", web::get().to(manufacturer::desk))
        .configure(|cfg| manufacturer::DESK.routes(cfg))
        .route("/manufacturer/orders/{order_id}/approve", web::post().to(manufacturer::approve))
        .route("/manufacturer/orders/{order_id}/refuse", web::post().to(manufacturer::refuse))
        .route("/console", web::get().to(console::dashboard))
        .configure(|cfg| console::DESK.routes(cfg))
        .route("/console/stores/{store_id}/suspension", web::post().to(console::suspend_store))
        .route("/console/sellers/suspension", web::post().to(console::suspend_seller))
        .route("/console/remittances/run", web::post().to(console::run_remittances))
        .route("/console/disputes/{dispute_id}", web::get().to(arbiter::file))
        .route("/console/disputes/{dispute_id}/decision", web::post().to(arbiter::decide))
        .route("/console/messages/{service}/{message_id}/{action}", web::post().to(console::message_action));
}

const APP_JS: &str = include_str!("../../static/app.js");
const STYLE_CSS: &str = include_str!("../../static/style.css");

async fn script(state: web::Data<State>) -> HttpResponse {
    asset(&state, "text/javascript; charset=utf-8", APP_JS)
}

async fn style(state: web::Data<State>) -> HttpResponse {
    asset(&state, "text/css; charset=utf-8", STYLE_CSS)
}

fn asset(state: &State, content_type: &str, body: &'static str) -> HttpResponse {
    let mut r = HttpResponse::Ok();
    headers(&mut r, state);
    r.insert_header((header::CONTENT_TYPE, content_type)).insert_header((header::CACHE_CONTROL, "no-cache")).body(body)
}

/// The origins the page may call besides its own: settlement (the order's settlement
/// status) and delivery (address and tracking).
pub fn peer_origins(state: &State) -> (String, String) {
    let c = &state.core.config;
    (shared::cors::origin_of(&c.settlement.public_url()), shared::cors::origin_of(&c.delivery.public_url()))
}

/// The privacy headers every storefront answer carries.
pub fn headers(r: &mut actix_web::HttpResponseBuilder, state: &State) {
    let (settlement, delivery) = peer_origins(state);
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self' {settlement} {delivery}; form-action 'self'; frame-ancestors 'none'; \
         base-uri 'none'; object-src 'none'"
    );
    r.insert_header(("content-security-policy", csp))
        .insert_header(("referrer-policy", "no-referrer"))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("x-frame-options", "DENY"))
        .insert_header(("cross-origin-opener-policy", "same-origin"))
        .insert_header(("permissions-policy", "interest-cohort=(), browsing-topics=(), geolocation=(), camera=()"));
}

/// Form posts must come from this shop's own pages (see [`shared::pages::same_origin`]).
pub fn same_origin(req: &HttpRequest, state: &State) -> bool {
    shared::pages::same_origin(req, &state.core.config.broker.public_url())
}

/// Cookies get `Secure` unless the storefront is served from this machine over plain
/// http (development and tests).
pub fn secure_cookies(state: &State) -> bool {
    shared::pages::secure_cookies(&state.core.config.broker.public_url())
}
