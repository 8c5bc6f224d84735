//! Store registration, the public store view, and the owner's dashboard.

use super::domain::{check_owner, fold_unmet, StoreOwner};
use super::store::{self, PublicStore, SupplierId};
use crate::browsing::store::Viewed;
use crate::browsing::Session;
use crate::catalog::domain::Registration;
use crate::catalog::domain::{parse_key, parse_name, parse_price, parse_quantity, MANUFACTURER_CATEGORY};
use crate::catalog::Store;
use crate::catalog::{self, stock::Movement};
use crate::error::{BrokerError, Code, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use shared::auth::Seller;
use shared::db::AnyConnection;
use shared::http::Page;
use shared::ids::{ProductId, StoreId, UnionId};
use shared::money::Money;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/stores", web::post().to(create_store))
        .route("/v1/stores/{store_id}", web::get().to(read_store))
        .route("/v1/stores/{store_id}/offers", web::get().to(list_offers))
        .route("/v1/seller/stores", web::get().to(my_stores))
        .route("/v1/seller/stores/{store_id}/unmet-demand", web::get().to(unmet_demand))
        .route("/v1/seller/stores/{store_id}/stock-movements", web::get().to(list_movements))
        .route("/v1/seller/stores/{store_id}/stock-movements", web::post().to(move_stock))
        .route("/v1/seller/stores/{store_id}/suppliers", web::get().to(list_suppliers))
        .route("/v1/seller/stores/{store_id}/suppliers", web::post().to(create_supplier))
        .route("/v1/seller/stores/{store_id}/offers/{product_id}/urgent-price", web::put().to(set_urgent))
        .route("/v1/seller/stores/{store_id}/offers/{product_id}/urgent-price", web::delete().to(end_urgent));
}

/// Loads the store and checks the caller owns it: 404 unknown, 403 another's.
pub fn owned(conn: &mut AnyConnection, owner: &StoreOwner, id: &StoreId) -> Result<Store> {
    check_owner(owner, catalog::stores::store(conn, id)?)
}

pub use client::broker::stores::{CreatedStore, NewStoreBody};

#[utoipa::path(post, path = "/v1/stores", request_body = NewStoreBody,
    responses((status = 201, body = CreatedStore), (status = 404, description = "unknown union")), security(("seller" = [])))]
pub async fn create_store(
    state: web::Data<State>,
    seller: Seller,
    body: web::Json<NewStoreBody>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let name = parse_name("name", &body.name)?;
    let category = parse_key("category", &body.category)?;
    if category == MANUFACTURER_CATEGORY {
        return Err(BrokerError::refused(Code::ReservedCategory, "that category belongs to manufacturers' own stores"));
    }
    let union_id = UnionId::parse(body.union_id.trim())?;
    let id = StoreId::generate();
    let sid = id.clone();
    state
        .core
        .db
        .write(move |c| {
            // A valid token for an account that is gone opens nothing.
            if !crate::accounts::store::seller_exists(c, &seller.id)? {
                return Err(BrokerError::Shared(shared::Error::Unauthorized));
            }
            let region = store::union_region(c, &union_id)?.ok_or(BrokerError::NotFound("union"))?;
            let new = Registration {
                id: sid,
                name,
                union_id: Some(union_id),
                category,
                region,
                seller_id: Some(seller.id),
                manufacturer_id: None,
            };
            store::insert_store(c, &new)?;
            Ok::<_, BrokerError>(())
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Created().json(CreatedStore { id }))
}

#[utoipa::path(get, path = "/v1/stores/{store_id}", responses((status = 200, body = PublicStore), (status = 404)))]
pub async fn read_store(state: web::Data<State>, path: web::Path<String>, session: Session) -> Result<HttpResponse> {
    let id = StoreId::parse(&path)?;
    let viewed = Viewed { store_id: Some(id.clone()), ..Default::default() };
    session.open(&state, "store", viewed, move |c| store::public_store(c, &id)).await
}

pub use client::broker::catalog::{Shelf, ShelfItem};

#[utoipa::path(get, path = "/v1/stores/{store_id}/offers", params(Page), responses((status = 200, body = Shelf)))]
pub async fn list_offers(
    state: web::Data<State>,
    path: web::Path<String>,
    page: web::Query<Page>,
) -> Result<HttpResponse> {
    let id = StoreId::parse(&path)?;
    let (limit, offset) = (page.limit(), page.offset());
    let offers = state
        .core
        .db
        .read(move |c| {
            store::public_store(c, &id)?.ok_or(BrokerError::NotFound("store"))?;
            // A suspended store's shelf is empty to buyers until the suspension is lifted.
            if catalog::stores::is_suspended(c, &id)? {
                return Ok(Vec::new());
            }
            Ok::<_, BrokerError>(catalog::offers::store_offers(c, &id, limit, offset)?)
        })
        .await?;
    let offers = offers
        .into_iter()
        .map(|o| ShelfItem { price: o.current_price(), product_id: o.product_id, stock: o.stock, sellable: o.sellable })
        .collect();
    Ok(HttpResponse::Ok().json(Shelf { offers }))
}

pub use client::broker::stores::{MyStores, UnmetDemandReport};

#[utoipa::path(get, path = "/v1/seller/stores", responses((status = 200, body = MyStores)))]
pub async fn my_stores(state: web::Data<State>, seller: Seller) -> Result<HttpResponse> {
    let stores = state.core.db.read(move |c| Ok::<_, BrokerError>(store::stores_of_seller(c, &seller.id)?)).await?;
    Ok(HttpResponse::Ok().json(MyStores { stores }))
}

/// Which products buyers asked this store for that it could not sell, and how often.
#[utoipa::path(get, path = "/v1/seller/stores/{store_id}/unmet-demand", responses((status = 200, body = UnmetDemandReport)))]
pub async fn unmet_demand(state: web::Data<State>, owner: StoreOwner, path: web::Path<String>) -> Result<HttpResponse> {
    let id = StoreId::parse(&path)?;
    let sid = id.clone();
    let rows = state
        .core
        .db
        .read(move |c| {
            owned(c, &owner, &sid)?;
            Ok::<_, BrokerError>(store::unmet_demand(c, &sid)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UnmetDemandReport { store_id: id, products: fold_unmet(rows) }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct MovementQuery {
    product_id: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Movements {
    movements: Vec<store::MovementView>,
}

#[utoipa::path(get, path = "/v1/seller/stores/{store_id}/stock-movements", params(MovementQuery),
    responses((status = 200, body = Movements)))]
pub async fn list_movements(
    state: web::Data<State>,
    owner: StoreOwner,
    path: web::Path<String>,
    q: web::Query<MovementQuery>,
) -> Result<HttpResponse> {
    let id = StoreId::parse(&path)?;
    let q = q.into_inner();
    let product = q.product_id.as_deref().map(ProductId::parse).transpose()?;
    let page = Page { limit: q.limit, offset: q.offset };
    let movements = state
        .core
        .db
        .read(move |c| {
            owned(c, &owner, &id)?;
            Ok::<_, BrokerError>(store::movements(c, &id, product.as_ref(), page.limit(), page.offset())?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Movements { movements }))
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockMove {
    product_id: String,
    direction: Direction,
    quantity: i64,
    #[serde(default)]
    supplier_id: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StockAfter {
    product_id: ProductId,
    stock: i64,
}

/// Goods laid in (optionally from a supplier) or taken out; mails the store when the
/// stock falls to its reserve.
#[utoipa::path(post, path = "/v1/seller/stores/{store_id}/stock-movements", request_body = StockMove,
    responses((status = 200, body = StockAfter), (status = 409, description = "insufficient_stock")))]
pub async fn move_stock(
    state: web::Data<State>,
    owner: StoreOwner,
    path: web::Path<String>,
    body: web::Json<StockMove>,
) -> Result<HttpResponse> {
    let id = StoreId::parse(&path)?;
    let body = body.into_inner();
    let product = ProductId::parse(body.product_id.trim())?;
    let quantity = parse_quantity(body.quantity)?;
    let supplier = body.supplier_id.as_deref().map(|s| SupplierId::parse(s.trim())).transpose()?;
    let note = body.note.as_deref().map(|n| parse_name("note", n)).transpose()?;
    let (delta, kind) = match body.direction {
        Direction::In => (quantity, Movement::In),
        Direction::Out => (-quantity, Movement::Out),
    };
    let pid = product.clone();
    let stock = state
        .core
        .db
        .write(move |c| {
            owned(c, &owner, &id)?;
            catalog::offers::find_offer(c, &id, &pid)?.ok_or(BrokerError::NotFound("offer"))?;
            if let Some(s) = &supplier {
                if !store::supplier_of_store(c, &id, s)? {
                    return Err(BrokerError::NotFound("supplier"));
                }
            }
            catalog::stock::move_stock(c, &id, &pid, delta, kind, supplier.as_ref(), note.as_deref())?
                .ok_or_else(|| BrokerError::refused(Code::InsufficientStock, "the store has fewer units than that"))
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(StockAfter { product_id: product, stock }))
}

#[derive(Serialize, ToSchema)]
pub struct Suppliers {
    suppliers: Vec<store::SupplierView>,
}

#[utoipa::path(get, path = "/v1/seller/stores/{store_id}/suppliers", responses((status = 200, body = Suppliers)))]
pub async fn list_suppliers(
    state: web::Data<State>,
    owner: StoreOwner,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = StoreId::parse(&path)?;
    let suppliers = state
        .core
        .db
        .read(move |c| {
            owned(c, &owner, &id)?;
            Ok::<_, BrokerError>(store::suppliers_of(c, &id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Suppliers { suppliers }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSupplier {
    name: String,
    #[serde(default)]
    contact: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedSupplier {
    id: SupplierId,
}

#[utoipa::path(post, path = "/v1/seller/stores/{store_id}/suppliers", request_body = NewSupplier,
    responses((status = 201, body = CreatedSupplier)))]
pub async fn create_supplier(
    state: web::Data<State>,
    owner: StoreOwner,
    path: web::Path<String>,
    body: web::Json<NewSupplier>,
) -> Result<HttpResponse> {
    let id = StoreId::parse(&path)?;
    let name = parse_name("name", &body.name)?;
    let contact = body.contact.as_deref().map(|c| parse_name("contact", c)).transpose()?;
    let supplier = SupplierId::generate();
    let sup = supplier.clone();
    state
        .core
        .db
        .write(move |c| {
            owned(c, &owner, &id)?;
            Ok::<_, BrokerError>(store::insert_supplier(c, &sup, &id, &name, contact.as_deref())?)
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedSupplier { id: supplier }))
}

/// Longest run of an urgent price: a sale, not a new regular price.
const MAX_URGENT_DAYS: i64 = 31;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UrgentPrice {
    price: Money,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    until: shared::time::Timestamp,
}

#[derive(Serialize, ToSchema)]
pub struct UrgentPriceSet {
    product_id: ProductId,
    price: Money,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    until: shared::time::Timestamp,
}

/// Urgent selling: a lower price until a time; search and selections honour it.
#[utoipa::path(put, path = "/v1/seller/stores/{store_id}/offers/{product_id}/urgent-price", request_body = UrgentPrice,
    responses((status = 200, body = UrgentPriceSet)))]
pub async fn set_urgent(
    state: web::Data<State>,
    owner: StoreOwner,
    path: web::Path<(String, String)>,
    body: web::Json<UrgentPrice>,
) -> Result<HttpResponse> {
    let (store_id, product) = shared::ids::store_and_product(path.into_inner())?;
    let UrgentPrice { price, until } = body.into_inner();
    let price = parse_price(price, state.core.config.money.ceiling())?;
    let now = shared::time::now();
    if until <= now || until > now + chrono::Duration::days(MAX_URGENT_DAYS) {
        return Err(BrokerError::refused(
            Code::InvalidUntil,
            format!("`until` must lie in the next {MAX_URGENT_DAYS} days"),
        ));
    }
    let pid = product.clone();
    state
        .core
        .db
        .write(move |c| {
            owned(c, &owner, &store_id)?;
            let offer = catalog::offers::find_offer(c, &store_id, &pid)?.ok_or(BrokerError::NotFound("offer"))?;
            if offer.price.currency != price.currency {
                return Err(BrokerError::common(
                    shared::error::Code::WrongCurrency,
                    "the urgent price must be in the offer's currency",
                ));
            }
            catalog::urgent_prices::set_urgent_price(c, &store_id, &pid, Some(price), Some(until))?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(UrgentPriceSet { product_id: product, price, until }))
}

#[utoipa::path(delete, path = "/v1/seller/stores/{store_id}/offers/{product_id}/urgent-price",
    responses((status = 204)))]
pub async fn end_urgent(
    state: web::Data<State>,
    owner: StoreOwner,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (store_id, product) = shared::ids::store_and_product(path.into_inner())?;
    state
        .core
        .db
        .write(move |c| {
            owned(c, &owner, &store_id)?;
            if catalog::urgent_prices::set_urgent_price(c, &store_id, &product, None, None)? == 0 {
                return Err(BrokerError::NotFound("offer"));
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
