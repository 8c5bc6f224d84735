//! The order routes: `POST /v1/orders` ([`placement`](super::placement)), `GET
//! /v1/orders/{id}` ([`views`](super::views)), the workflow steps ([`steps`](super::steps)),
//! the message relay ([`relay`](super::relay)), the buyer's acceptance
//! ([`acceptance`](super::acceptance)), a fresh capability
//! ([`capability`](super::capability)) and the order lists ([`lists`](super::lists)). Buyers act with the order capability; nothing here
//! stores or returns anything that names a person.

use super::{acceptance, capability, lists, placement, relay, steps, views};
use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v1/orders",
        web::post().to(placement::place).wrap(actix_web::middleware::from_fn(shared::ratelimit::placement)),
    )
    .route("/v1/orders/{order_id}", web::get().to(views::read))
    .route("/v1/orders/{order_id}/cancel", web::post().to(steps::cancel))
    .route("/v1/orders/{order_id}/accept", web::post().to(acceptance::accept_route))
    .route("/v1/orders/{order_id}/capability", web::post().to(capability::renew))
    .route("/v1/orders/{order_id}/confirm", web::post().to(steps::confirm))
    .route("/v1/orders/{order_id}/approve", web::post().to(steps::approve))
    .route("/v1/orders/{order_id}/refuse", web::post().to(steps::refuse))
    .route("/v1/orders/{order_id}/messages", web::get().to(relay::messages))
    .route("/v1/orders/{order_id}/messages", web::post().to(relay::post_message))
    .route("/v1/seller/orders", web::get().to(lists::seller_orders))
    .route("/v1/manufacturer/orders", web::get().to(lists::manufacturer_orders))
    .route("/v1/admin/orders", web::get().to(lists::operator_orders))
    .route("/v1/admin/orders/{order_id}", web::get().to(lists::operator_order));
}
