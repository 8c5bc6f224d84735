//! `POST /v1/buyers`, `POST /v1/buyer-sessions`, the account's equipment, points and
//! compatible products, collection codes, and the group prices stores set.

use super::domain::{self, Group};
use super::store;
use crate::accounts::domain::parse_password;
use crate::catalog::Product;
use crate::error::{BrokerError, Code, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use shared::auth::{Admin, Buyer, Claims, Operator, Role, Seller};
use shared::config::ServiceName;
use shared::db::{is_unique_violation, AnyConnection};
use shared::hashing::Purpose;
use shared::ids::{BuyerId, ProductId, StoreId};
use shared::money::Money;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v1/buyers",
        web::post().to(create_buyer).wrap(actix_web::middleware::from_fn(shared::ratelimit::signup)),
    )
    .route(
        "/v1/buyer-sessions",
        web::post().to(create_session).wrap(actix_web::middleware::from_fn(shared::ratelimit::login)),
    )
    .route("/v1/buyer", web::get().to(profile))
    .route("/v1/buyer/equipment", web::put().to(put_equipment))
    .route("/v1/buyer/products", web::get().to(compatible_products))
    .route("/v1/buyer/collection-codes", web::post().to(create_collection_code))
    .route("/v1/seller/collections", web::post().to(redeem_collection))
    .route("/v1/stores/{store_id}/collection-point", web::put().to(put_collection_point))
    .route("/v1/stores/{store_id}/group-prices", web::put().to(put_group_price))
    .route("/v1/stores/{store_id}/group-prices", web::get().to(list_group_prices));
}

pub use client::broker::buyers::{
    AccessToken, CollectionCode, CompatibleProduct, CompatibleProducts, CreatedBuyer, EquipmentBody, NewBuyer,
    ProfileView,
};

fn handle_taken() -> BrokerError {
    BrokerError::refused(Code::HandleTaken, "this handle is taken")
}

#[utoipa::path(post, path = "/v1/buyers", request_body = NewBuyer,
    responses((status = 201, body = CreatedBuyer), (status = 409, description = "handle_taken")))]
pub async fn create_buyer(state: web::Data<State>, body: web::Json<NewBuyer>) -> Result<HttpResponse> {
    let body = body.into_inner();
    let handle = domain::parse_handle(&body.handle)?;
    let password = parse_password(&body.password)?.to_string();
    let hash = state.core.hashing.hash(password, Purpose::SignUp).await.map_err(shared::Error::from)?;
    let id = BuyerId::generate();
    let bid = id.clone();
    state
        .core
        .db
        .write(move |c| {
            if store::handle_taken(c, &handle)? {
                return Err(handle_taken());
            }
            match c.transaction(|c| store::insert(c, &bid, &handle, &hash)) {
                Err(e) if is_unique_violation(&e) => Err(handle_taken()),
                other => Ok(other?),
            }
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedBuyer { id }))
}

#[utoipa::path(post, path = "/v1/buyer-sessions", request_body = NewBuyer,
    responses((status = 200, body = AccessToken), (status = 401, description = "unauthorized")))]
pub async fn create_session(state: web::Data<State>, body: web::Json<NewBuyer>) -> Result<HttpResponse> {
    let NewBuyer { handle, password } = body.into_inner();
    let handle = handle.trim().to_lowercase();
    let found = state.core.db.read(move |c| Ok::<_, BrokerError>(store::credentials(c, &handle)?)).await?;
    let (id, hash) = match found {
        Some((id, h)) => (Some(id), Some(h)),
        None => (None, None),
    };
    // Unknown handles are checked against a dummy hash: the time taken does not tell.
    let valid = state.core.hashing.verify(password, hash).await.map_err(shared::Error::from)?;
    let Some(id) = id.filter(|_| valid) else { return Err(shared::Error::Unauthorized.into()) };
    let ttl = state.core.config.access_token_ttl_secs;
    let claims = Claims::new(ServiceName::Broker, id.into_string(), Role::Buyer, &ServiceName::ALL, ttl);
    let token = state.core.auth.signer.sign(&claims)?;
    Ok(HttpResponse::Ok().json(AccessToken { access_token: token, token_type: "Bearer".into(), expires_in: ttl }))
}

#[utoipa::path(get, path = "/v1/buyer", responses((status = 200, body = ProfileView)))]
pub async fn profile(state: web::Data<State>, buyer: Buyer) -> Result<HttpResponse> {
    let p = state.core.db.read(move |c| store::profile(c, &buyer.id)?.ok_or(BrokerError::NotFound("buyer"))).await?;
    Ok(HttpResponse::Ok().json(ProfileView { id: p.id, handle: p.handle, points: p.points, equipment: p.equipment }))
}

/// Writes for the buyer a token names, once their account is found (404 `not_found` if not).
async fn write_as<T: Send + 'static>(
    state: &State,
    buyer: Buyer,
    write: impl FnOnce(&mut AnyConnection, &BuyerId) -> diesel::QueryResult<T> + Send + 'static,
) -> Result<T> {
    state
        .core
        .db
        .write(move |c| {
            if store::profile(c, &buyer.id)?.is_none() {
                return Err(BrokerError::NotFound("buyer"));
            }
            Ok(write(c, &buyer.id)?)
        })
        .await
}

#[utoipa::path(put, path = "/v1/buyer/equipment", request_body = EquipmentBody,
    responses((status = 200, body = EquipmentBody)))]
pub async fn put_equipment(
    state: web::Data<State>,
    buyer: Buyer,
    body: web::Json<EquipmentBody>,
) -> Result<HttpResponse> {
    let items = domain::parse_equipment(&body.equipment)?;
    let saved = items.clone();
    write_as(&state, buyer, move |c, id| store::set_equipment(c, id, &items)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "equipment": saved })))
}

#[derive(Deserialize)]
pub struct CompatibleQuery {
    kind: Option<String>,
    limit: Option<i64>,
}

/// Only the products that fit the equipment the buyer registered (seed `004_…`).
#[utoipa::path(get, path = "/v1/buyer/products", responses((status = 200, body = CompatibleProducts)))]
pub async fn compatible_products(
    state: web::Data<State>,
    buyer: Buyer,
    q: web::Query<CompatibleQuery>,
) -> Result<HttpResponse> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let kind = q.kind.clone();
    let products: Vec<Product> = state
        .core
        .db
        .read(move |c| {
            let equipment = store::equipment(c, &buyer.id)?;
            let mut out = Vec::new();
            for id in store::compatible_candidates(c, &equipment, kind.as_deref(), limit)? {
                if let Some(p) = crate::catalog::products::product(c, &id)? {
                    if p.compatible_with.iter().any(|x| equipment.contains(x)) {
                        out.push(p);
                    }
                }
            }
            Ok::<_, BrokerError>(out)
        })
        .await?;
    let products: Vec<CompatibleProduct> = products
        .into_iter()
        .map(|p| CompatibleProduct {
            product_id: p.id,
            name: p.name,
            kind: p.kind,
            list_price: p.list_price,
            compatible_with: p.compatible_with,
        })
        .collect();
    Ok(HttpResponse::Ok().json(CompatibleProducts { products }))
}

/// A one-time code the buyer hands in with returned items. Only its hash is kept, and
/// the store that redeems it learns nothing but the code.
#[utoipa::path(post, path = "/v1/buyer/collection-codes", responses((status = 201, body = CollectionCode)))]
pub async fn create_collection_code(state: web::Data<State>, buyer: Buyer) -> Result<HttpResponse> {
    let code = shared::crypto::random_token("col");
    let hash = shared::crypto::sha256_hex(code.as_bytes());
    write_as(&state, buyer, move |c, id| store::insert_collection_code(c, id, &hash)).await?;
    Ok(HttpResponse::Created().json(CollectionCode { code }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    /// The collection point that took the items: one of the seller's stores, enabled by
    /// the operator.
    store_id: StoreId,
    code: String,
    items: i64,
}

/// Redeems a collection code at a collection point. The points are funded first: the
/// store's available balance at settlement is charged their value (points ×
/// `point_value_minor`) into the points liability, and only then are they credited.
#[utoipa::path(post, path = "/v1/seller/collections", request_body = Collection,
    responses((status = 200, description = "{items, points}"),
        (status = 202, description = "{status: pending}: settlement is away; the points follow once charged"),
        (status = 403, description = "not your store"),
        (status = 409, description = "not_a_collection_point, collection_cap_reached or insufficient_balance"),
        (status = 422, description = "unknown_code")))]
pub async fn redeem_collection(
    state: web::Data<State>,
    minter: web::Data<super::mint::Minter>,
    seller: Seller,
    body: web::Json<Collection>,
) -> Result<HttpResponse> {
    let Collection { store_id, code, items } = body.into_inner();
    let orders = crate::orders::settings::of(&state);
    let settings = super::collections::CollectionSettings::of(&state);
    let points = domain::collection_points(items, orders.collection_points_per_item)?;
    let value = super::collections::value_of(points, orders.point_value_minor, settings.currency()?)?;
    let redemption = super::mint::Redemption {
        seller: seller.id,
        store: store_id,
        code_hash: shared::crypto::sha256_hex(code.trim().as_bytes()),
        items,
        points,
        value,
        daily_cap: settings.collection_daily_points_cap,
    };
    let mint = state.core.db.write(move |c| super::mint::begin(c, &redemption)).await?;
    state.core.kick();
    // The answer names no account: the store learns only that the code was good.
    match minter.settle(&mint).await? {
        super::mint::Outcome::Credited => {
            Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "points": points })))
        }
        super::mint::Outcome::Pending => Ok(HttpResponse::Accepted().json(serde_json::json!({ "status": "pending" }))),
        super::mint::Outcome::Refused(Code::InsufficientBalance) => Err(BrokerError::refused(
            Code::InsufficientBalance,
            "the store's available balance does not cover the points' value",
        )),
        super::mint::Outcome::Refused(code) => {
            Err(BrokerError::refused(code, "settlement refused to charge the points; nothing was minted"))
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionPoint {
    enabled: bool,
}

/// The operator enables or disables a store as a collection point: only these mint points.
#[utoipa::path(put, path = "/v1/stores/{store_id}/collection-point", request_body = CollectionPoint,
    responses((status = 200, description = "{store_id, collection_point}"), (status = 403, description = "operator only"),
        (status = 404, description = "unknown store")), security(("operator" = [])))]
pub async fn put_collection_point(
    state: web::Data<State>,
    _op: Operator<Admin>,
    path: web::Path<String>,
    body: web::Json<CollectionPoint>,
) -> Result<HttpResponse> {
    let store_id = StoreId::parse(&path)?;
    let enabled = body.enabled;
    let answer = serde_json::json!({ "store_id": store_id, "collection_point": enabled });
    state
        .core
        .db
        .write(move |c| {
            crate::catalog::stores::store(c, &store_id)?.ok_or(BrokerError::NotFound("store"))?;
            Ok::<_, BrokerError>(super::collections::set_collection_point(c, &store_id, enabled)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

pub use client::broker::buyers::GroupPrice;

/// A price for a group of buyers (owners of some equipment, a points tier), never for
/// one account, so a price cannot single out one buyer's orders. A store sets at most
/// `group_prices_per_product` (5) per product, and the list is public.
#[utoipa::path(put, path = "/v1/stores/{store_id}/group-prices", request_body = GroupPrice,
    responses((status = 200, description = "the group price"), (status = 403, description = "forbidden")),
    security(("seller" = [])))]
pub async fn put_group_price(
    state: web::Data<State>,
    seller: Seller,
    path: web::Path<String>,
    body: web::Json<GroupPrice>,
) -> Result<HttpResponse> {
    let store_id = StoreId::parse(&path)?;
    let cap = super::collections::CollectionSettings::of(&state).group_prices_per_product;
    let GroupPrice { product_id, group, price } = body.into_inner();
    let group = domain::parse_group(group)?;
    let price = state.core.config.money.ceiling().admit(price)?;
    let answer = serde_json::json!({ "store_id": store_id, "product_id": product_id, "group": group, "price": price });
    state
        .core
        .db
        .write(move |c| {
            let store = crate::catalog::stores::store(c, &store_id)?.ok_or(BrokerError::NotFound("store"))?;
            if store.seller_id.as_ref() != Some(&seller.id) {
                return Err(BrokerError::Forbidden("not your store".into()));
            }
            if crate::catalog::products::product(c, &product_id)?.is_none() {
                return Err(BrokerError::NotFound("product"));
            }
            let existing = store::group_prices(c, &store_id, &product_id)?;
            let replaces = existing.iter().any(|(g, _)| g.key() == group.key());
            if !replaces && existing.len() as i64 >= cap {
                return Err(BrokerError::refused(
                    Code::TooManyGroupPrices,
                    format!("a store sets at most {cap} group prices per product"),
                ));
            }
            Ok(store::put_group_price(c, &store_id, &product_id, &group, price)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Serialize, ToSchema)]
pub struct ListedGroupPrice {
    product_id: ProductId,
    group: Group,
    price: Money,
}

/// A store's group prices: public, like its offers, so that every tier is known to all.
#[utoipa::path(get, path = "/v1/stores/{store_id}/group-prices",
    responses((status = 200, description = "{store_id, group_prices: [{product_id, group, price}]}"),
        (status = 404, description = "unknown store")))]
pub async fn list_group_prices(state: web::Data<State>, path: web::Path<String>) -> Result<HttpResponse> {
    let store_id = StoreId::parse(&path)?;
    let id = store_id.clone();
    let list = state
        .core
        .db
        .read(move |c| {
            crate::catalog::stores::store(c, &id)?.ok_or(BrokerError::NotFound("store"))?;
            Ok::<_, BrokerError>(store::store_group_prices(c, &id)?)
        })
        .await?;
    let list: Vec<ListedGroupPrice> =
        list.into_iter().map(|(product_id, group, price)| ListedGroupPrice { product_id, group, price }).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "store_id": store_id, "group_prices": list })))
}
