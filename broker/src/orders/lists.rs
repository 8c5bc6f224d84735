//! The seller's and the manufacturer's order lists, in the store's view.

use super::domain::OrderStatus;
use super::store;
use super::views::seller_views;
use crate::error::{BrokerError, Code, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use client::broker::orders::SellerOrders;
use serde::Deserialize;
use shared::auth::{Manufacturer, Seller};
use shared::ids::{OrderId, ProductId, StoreId};

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
    let q = q.into_inner();
    let status = match q.status.as_deref() {
        Some(s) => {
            Some(OrderStatus::parse(s).ok_or_else(|| BrokerError::refused(Code::InvalidStatus, "unknown status"))?)
        }
        None => None,
    };
    let page = page.into_inner();
    let list = state
        .core
        .db
        .read(move |c| {
            let list = store::for_seller(c, &seller.id, q.store_id.as_ref(), status, page.limit(), page.offset())?;
            seller_views(c, list)
        })
        .await?;
    Ok(HttpResponse::Ok().json(SellerOrders { orders: list }))
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
