//! What each side sees of an order (`GET /v1/orders/{id}`): the buyer its order and the
//! store's name, the store and the manufacturer a per-order buyer handle and the public
//! price, never anything that names a person.

use super::caller::{authorize, OrderCaller};
use super::domain::{self, OrderStatus, Party};
use super::public_price::{self, PublicPrice};
use super::store::Order;
use crate::catalog::{Product, Store};
use crate::error::{BrokerError, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use shared::db::AnyConnection;
use shared::ids::{OrderId, ProductId, StoreId};
use shared::money::Money;
use shared::time::Timestamp;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct StoreRef {
    pub(super) id: StoreId,
    /// The store's public display name: all a buyer learns about the seller.
    pub(super) name: String,
}

/// The order as its buyer sees it.
#[derive(Serialize, ToSchema)]
pub struct BuyerView {
    order_id: OrderId,
    status: OrderStatus,
    product_id: ProductId,
    product_name: String,
    quantity: i64,
    unit_price: Money,
    discount: Money,
    amount: Money,
    store: StoreRef,
    reason: Option<String>,
    note: Option<String>,
    /// Until when settlement takes payment (once the order is payable).
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pay_by: Option<Timestamp>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    created_at: Timestamp,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    updated_at: Timestamp,
}

pub(super) fn buyer_view(o: Order, store: &Store, product: &Product) -> BuyerView {
    BuyerView {
        order_id: o.id,
        status: o.status,
        product_id: o.product_id,
        product_name: product.name.clone(),
        quantity: o.quantity,
        unit_price: o.unit_price,
        discount: o.discount,
        amount: o.amount,
        store: StoreRef { id: store.id.clone(), name: store.name.clone() },
        reason: o.reason,
        note: o.note,
        pay_by: o.pay_by,
        created_at: o.created_at,
        updated_at: o.updated_at,
    }
}

/// The order as the store sees it: a per-order buyer handle, never anything more.
#[derive(Serialize, ToSchema)]
pub struct SellerView {
    order_id: OrderId,
    buyer_handle: String,
    store_id: StoreId,
    product_id: ProductId,
    quantity: i64,
    unit_price: Money,
    amount: Money,
    status: OrderStatus,
    /// Where the goods are, as far as the broker knows; the detail is at delivery's
    /// `GET /v1/seller/shipments/{order_id}`, with a token from
    /// `POST /v1/seller/orders/{order_id}/shipment-view`.
    shipment_status: &'static str,
    referral_store_id: Option<StoreId>,
    shipper_store_id: Option<StoreId>,
    backorder: bool,
    reason: Option<String>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    created_at: Timestamp,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    updated_at: Timestamp,
}

fn shipment_status(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::AwaitingConfirmation | OrderStatus::AwaitingApproval | OrderStatus::AwaitingPayment => {
            "not_requested"
        }
        OrderStatus::Paid | OrderStatus::CancelRequested => "awaiting_pickup",
        OrderStatus::Shipped => "in_transit",
        OrderStatus::Delivered => "delivered",
        OrderStatus::Cancelled | OrderStatus::Expired => "cancelled",
    }
}

/// The seller's view shows the public price (offer price × quantity), never what a
/// group price or points made of it.
pub(super) fn seller_view(o: Order, public: PublicPrice) -> SellerView {
    SellerView {
        shipment_status: shipment_status(o.status),
        order_id: o.id,
        buyer_handle: o.buyer_handle,
        store_id: o.store_id,
        product_id: o.product_id,
        quantity: o.quantity,
        unit_price: public.unit_price,
        amount: public.amount,
        status: o.status,
        referral_store_id: o.referral_store_id,
        shipper_store_id: o.shipper_store_id,
        backorder: o.backorder,
        reason: o.reason,
        created_at: o.created_at,
        updated_at: o.updated_at,
    }
}

pub(super) fn view(
    conn: &mut AnyConnection,
    party: Party,
    o: Order,
    store: &Store,
    product: &Product,
) -> Result<serde_json::Value> {
    Ok(match party {
        Party::Buyer => serde_json::to_value(buyer_view(o, store, product)),
        Party::Seller | Party::Manufacturer => {
            let public = public_price::of(conn, &o)?;
            serde_json::to_value(seller_view(o, public))
        }
    }
    .unwrap_or_default())
}

pub(super) fn seller_views(conn: &mut AnyConnection, list: Vec<Order>) -> Result<Vec<SellerView>> {
    list.into_iter()
        .map(|o| {
            let public = public_price::of(conn, &o)?;
            Ok(seller_view(o, public))
        })
        .collect()
}

#[utoipa::path(get, tag = "orders", path = "/v1/orders/{order_id}",
    responses((status = 200, description = "BuyerView for the capability, SellerView for the store"),
        (status = 401, description = "unauthorized"), (status = 403, description = "forbidden")))]
pub async fn read(state: web::Data<State>, caller: OrderCaller, path: web::Path<String>) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    caller.precheck(&id, "read")?;
    let v = state
        .core
        .db
        .read(move |c| {
            let (o, s, p, party) = authorize(c, &caller, &id, &[Party::Buyer, Party::Seller, Party::Manufacturer])?;
            // Redirect the buyer whose payment was refused to stores that can sell it.
            let redirect = party == Party::Buyer
                && o.status == OrderStatus::Cancelled
                && o.note.as_deref().is_some_and(|n| n.starts_with(domain::PAYMENT_REFUSED));
            let alternatives = if redirect {
                Some(crate::catalog::redirects::alternatives(c, &o.store_id, &o.product_id, o.quantity)?)
            } else {
                None
            };
            let mut v = view(c, party, o, &s, &p)?;
            if let (Some(a), Some(obj)) = (alternatives, v.as_object_mut()) {
                obj.insert("alternatives".into(), serde_json::to_value(a).unwrap_or_default());
            }
            Ok::<_, BrokerError>(v)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}
