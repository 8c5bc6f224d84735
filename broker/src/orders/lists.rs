//! The seller's, the manufacturer's and the operators' order lists, in the store's view:
//! an operator (support or admin) sees an order as its store does, never more.

use super::domain::OrderStatus;
use super::store;
use super::views::seller_views;
use crate::error::{BrokerError, Code, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use client::broker::orders::{SellerOrders, SellerView};
use serde::Deserialize;
use shared::auth::{Manufacturer, Operator, Seller, Support};
use shared::ids::{OrderId, ProductId, SellerId, StoreId};

#[derive(Deserialize)]
pub struct SellerQuery {
    store_id: Option<StoreId>,
    status: Option<String>,
}

#[utoipa::path(get, tag = "orders", path = "/v1/seller/orders",
    responses((status = 200, body = SellerOrders)))]
pub async fn seller_orders(
    state: web::Data<State>,
    seller: Seller,
    q: web::Query<SellerQuery>,
    page: web::Query<shared::http::Page>,
) -> Result<HttpResponse> {
    listed(&state, Some(seller.id), q.into_inner(), page.into_inner()).await
}

fn status_of(q: &SellerQuery) -> Result<Option<OrderStatus>> {
    q.status
        .as_deref()
        .map(|s| OrderStatus::parse(s).ok_or_else(|| BrokerError::refused(Code::InvalidStatus, "unknown status")))
        .transpose()
}

async fn listed(
    state: &State,
    seller: Option<SellerId>,
    q: SellerQuery,
    page: shared::http::Page,
) -> Result<HttpResponse> {
    let status = status_of(&q)?;
    let list = state
        .core
        .db
        .read(move |c| {
            let list = store::listed(c, seller.as_ref(), q.store_id.as_ref(), status, page.limit(), page.offset())?;
            seller_views(c, list)
        })
        .await?;
    Ok(HttpResponse::Ok().json(SellerOrders { orders: list }))
}

#[utoipa::path(get, tag = "admin", path = "/v1/admin/orders",
    params(("store_id" = Option<String>, Query), ("status" = Option<String>, Query),
        ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = SellerOrders, description = "every store's orders in the store's view")),
    security(("operator" = [])))]
pub async fn operator_orders(
    state: web::Data<State>,
    _op: Operator<Support>,
    q: web::Query<SellerQuery>,
    page: web::Query<shared::http::Page>,
) -> Result<HttpResponse> {
    listed(&state, None, q.into_inner(), page.into_inner()).await
}

#[utoipa::path(get, tag = "admin", path = "/v1/admin/orders/{order_id}",
    params(("order_id" = String, Path)),
    responses((status = 200, body = SellerView), (status = 404, description = "not_found")),
    security(("operator" = [])))]
pub async fn operator_order(
    state: web::Data<State>,
    _op: Operator<Support>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    let view = state
        .core
        .db
        .read(move |c| {
            let order = store::get(c, &id)?.ok_or(BrokerError::NotFound("order"))?;
            let public = super::public_price::of(c, &order)?;
            Ok::<_, BrokerError>(super::views::seller_view(order, public))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(get, tag = "orders", path = "/v1/manufacturer/orders",
    responses((status = 200, body = SellerOrders,
        description = "orders waiting for its approval, then the back-orders its own store sold")))]
pub async fn manufacturer_orders(
    state: web::Data<State>,
    m: Manufacturer,
    page: web::Query<shared::http::Page>,
) -> Result<HttpResponse> {
    let page = page.into_inner();
    let list = state
        .core
        .db
        .read(move |c| {
            use crate::schema::products;
            use diesel::prelude::*;
            let mine: Vec<ProductId> =
                products::table.filter(products::manufacturer_id.eq(&m.id)).select(products::id).load(c)?;
            let mut list = store::awaiting_approval(c, &mine, 200)?;
            if let Some(own) = crate::catalog::stores::manufacturer_store(c, &m.id)? {
                let sold = store::for_store(c, &own, page.limit(), page.offset())?;
                let seen: Vec<OrderId> = list.iter().map(|o| o.id.clone()).collect();
                list.extend(sold.into_iter().filter(|o| !seen.contains(&o.id)));
            }
            seller_views(c, list)
        })
        .await?;
    Ok(HttpResponse::Ok().json(SellerOrders { orders: list }))
}
