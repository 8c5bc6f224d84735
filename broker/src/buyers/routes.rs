//! `POST /v1/buyers`, `POST /v1/buyer-sessions`, the account's equipment, points and
//! compatible products, collection codes, and the group prices stores set.

use super::domain::{self, Group};
use super::store;
use crate::accounts::domain::parse_password;
use crate::catalog::Product;
use crate::error::{BrokerError, Result};
use crate::State;
use actix_web::{web, HttpResponse};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use shared::auth::{Buyer, Claims, Role, Seller};
use shared::config::ServiceName;
use shared::db::is_unique_violation;
use shared::ids::{BuyerId, ProductId, StoreId};
use shared::money::Money;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/buyers", web::post().to(create_buyer))
        .route(
            "/v1/buyer-sessions",
            web::post().to(create_session).wrap(actix_web::middleware::from_fn(shared::ratelimit::login)),
        )
        .route("/v1/buyer", web::get().to(profile))
        .route("/v1/buyer/equipment", web::put().to(put_equipment))
        .route("/v1/buyer/products", web::get().to(compatible_products))
        .route("/v1/buyer/collection-codes", web::post().to(create_collection_code))
        .route("/v1/seller/collections", web::post().to(redeem_collection))
        .route("/v1/stores/{store_id}/group-prices", web::put().to(put_group_price));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBuyer {
    handle: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedBuyer {
    id: BuyerId,
}

fn handle_taken() -> BrokerError {
    BrokerError::conflict("handle_taken", "this handle is taken")
}

#[utoipa::path(post, path = "/v1/buyers", request_body = NewBuyer,
    responses((status = 201, body = CreatedBuyer), (status = 409, description = "handle_taken")))]
pub async fn create_buyer(state: web::Data<State>, body: web::Json<NewBuyer>) -> Result<HttpResponse> {
    let body = body.into_inner();
    let handle = domain::parse_handle(&body.handle)?;
    let password = parse_password(&body.password)?.to_string();
    let hash = tokio::task::spawn_blocking(move || shared::crypto::hash_password(&password))
        .await
        .map_err(|_| shared::Error::Internal("hashing task failed".into()))?
        .map_err(|_| shared::Error::Internal("hashing failed".into()))?;
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

#[derive(Serialize, ToSchema)]
pub struct AccessToken {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
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
    let valid = tokio::task::spawn_blocking(move || shared::crypto::verify_password(&password, hash.as_deref()))
        .await
        .unwrap_or(false);
    let Some(id) = id.filter(|_| valid) else { return Err(shared::Error::Unauthorized.into()) };
    let ttl = state.core.config.access_token_ttl_secs;
    let claims = Claims::new(ServiceName::Broker, id.into_string(), Role::Buyer, &ServiceName::ALL, ttl);
    let token = state.core.auth.signer.sign(&claims)?;
    Ok(HttpResponse::Ok().json(AccessToken { access_token: token, token_type: "Bearer", expires_in: ttl }))
}

#[derive(Serialize, ToSchema)]
pub struct ProfileView {
    id: BuyerId,
    handle: String,
    points: i64,
    equipment: Vec<String>,
}

#[utoipa::path(get, path = "/v1/buyer", responses((status = 200, body = ProfileView)))]
pub async fn profile(state: web::Data<State>, buyer: Buyer) -> Result<HttpResponse> {
    let p = state.core.db.read(move |c| store::profile(c, &buyer.id)?.ok_or(BrokerError::NotFound("buyer"))).await?;
    Ok(HttpResponse::Ok().json(ProfileView { id: p.id, handle: p.handle, points: p.points, equipment: p.equipment }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EquipmentBody {
    equipment: Vec<String>,
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
    state
        .core
        .db
        .write(move |c| {
            if store::profile(c, &buyer.id)?.is_none() {
                return Err(BrokerError::NotFound("buyer"));
            }
            Ok(store::set_equipment(c, &buyer.id, &items)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "equipment": saved })))
}

#[derive(Deserialize)]
pub struct CompatibleQuery {
    kind: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CompatibleProduct {
    product_id: ProductId,
    name: String,
    kind: String,
    list_price: Money,
    compatible_with: Vec<String>,
}

/// Only the products that fit the equipment the buyer registered (seed `004_…`).
#[utoipa::path(get, path = "/v1/buyer/products", responses((status = 200, description = "{products: [...]}")))]
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
                if let Some(p) = crate::catalog::store::product(c, &id)? {
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
    Ok(HttpResponse::Ok().json(serde_json::json!({ "products": products })))
}

/// A one-time code the buyer hands in with returned items. Only its hash is kept, and
/// the store that redeems it learns nothing but the code.
#[utoipa::path(post, path = "/v1/buyer/collection-codes", responses((status = 201, description = "{code}")))]
pub async fn create_collection_code(state: web::Data<State>, buyer: Buyer) -> Result<HttpResponse> {
    let code = shared::crypto::random_token("col");
    let hash = shared::crypto::sha256_hex(code.as_bytes());
    state
        .core
        .db
        .write(move |c| {
            if store::profile(c, &buyer.id)?.is_none() {
                return Err(BrokerError::NotFound("buyer"));
            }
            Ok(store::insert_collection_code(c, &buyer.id, &hash)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "code": code })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    code: String,
    items: i64,
}

#[utoipa::path(post, path = "/v1/seller/collections", request_body = Collection,
    responses((status = 200, description = "{points}"), (status = 404, description = "unknown_code")))]
pub async fn redeem_collection(
    state: web::Data<State>,
    _seller: Seller,
    body: web::Json<Collection>,
) -> Result<HttpResponse> {
    let Collection { code, items } = body.into_inner();
    let points = domain::collection_points(items, crate::orders::settings::of(&state).collection_points_per_item)?;
    let hash = shared::crypto::sha256_hex(code.trim().as_bytes());
    state
        .core
        .db
        .write(move |c| {
            let buyer = store::redeem_collection_code(c, &hash, items)?
                .ok_or_else(|| BrokerError::invalid("unknown_code", "the code is unknown or was used"))?;
            Ok::<_, BrokerError>(store::add_points(c, &buyer, points)?)
        })
        .await?;
    // The answer names no account: the store learns only that the code was good.
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "points": points })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPrice {
    product_id: ProductId,
    group: Group,
    price: Money,
}

/// A price for a group of buyers (owners of some equipment, a points tier), never for
/// one account, so a price cannot single out one buyer's orders.
#[utoipa::path(put, path = "/v1/stores/{store_id}/group-prices", request_body = GroupPrice,
    responses((status = 200, description = "the group price"), (status = 403, description = "forbidden")))]
pub async fn put_group_price(
    state: web::Data<State>,
    seller: Seller,
    path: web::Path<String>,
    body: web::Json<GroupPrice>,
) -> Result<HttpResponse> {
    let store_id = StoreId::parse(&path)?;
    let GroupPrice { product_id, group, price } = body.into_inner();
    let group = group.parse()?;
    let price = state.core.config.money.ceiling().admit(price)?;
    let answer = serde_json::json!({ "store_id": store_id, "product_id": product_id, "group": group, "price": price });
    state
        .core
        .db
        .write(move |c| {
            let store = crate::catalog::store::store(c, &store_id)?.ok_or(BrokerError::NotFound("store"))?;
            if store.seller_id.as_ref() != Some(&seller.id) {
                return Err(BrokerError::Forbidden("not your store".into()));
            }
            if crate::catalog::store::product(c, &product_id)?.is_none() {
                return Err(BrokerError::NotFound("product"));
            }
            Ok(store::put_group_price(c, &store_id, &product_id, &group, price)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
