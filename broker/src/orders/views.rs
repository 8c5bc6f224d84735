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
use shared::db::AnyConnection;
use shared::ids::OrderId;

pub use client::broker::orders::StoreRef;

pub use client::broker::orders::{BuyerView, SellerView, ShipmentProgress};

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
        accept_by: o.accept_by,
        accepted_at: o.accepted_at,
        dispute_id: o.dispute_id,
        created_at: o.created_at,
        updated_at: o.updated_at,
    }
}

/// The seller's view shows the public price (offer price × quantity), never what a
/// group price or points made of it.
pub(super) fn seller_view(o: Order, public: PublicPrice) -> SellerView {
    SellerView {
        shipment_status: ShipmentProgress::from(o.status),
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
        dispute_id: o.dispute_id,
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
