//! `POST /v1/products`, `GET /v1/products/{id}`, `PUT /v1/stores/{store_id}/offers/{product_id}`.

use super::domain::{
    parse_attributes, parse_equipment, parse_key, parse_name, parse_price, parse_stock, Offer, Product, MAX_ATTRIBUTES,
};
use super::stock::Movement;
use super::{offers, products, reserve_mail, stock};
use crate::accounts::store::manufacturer_exists;
use crate::browsing::store::Viewed;
use crate::browsing::Session;
use crate::error::{BrokerError, Code, Result};
use crate::stores::domain::StoreOwner;
use crate::stores::routes::owned;
use crate::State;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use shared::auth::Principal;
use shared::config::ServiceName;
use shared::ids::{ManufacturerId, ProductId, StoreId};
use shared::messages::Message;
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/products", web::post().to(create_product))
        .route("/v1/products/{product_id}", web::get().to(read_product))
        .route("/v1/stores/{store_id}/offers/{product_id}", web::put().to(put_offer))
        .route("/v1/stores/{store_id}/offers/{product_id}", web::get().to(read_offer))
        .route("/v1/seller/stores/{store_id}/offers", web::get().to(list_own_offers));
}

/// Who may add to the catalog: an admin (or the bootstrap token), or a manufacturer (for its
/// own products).
pub enum Author {
    Operator,
    Manufacturer(ManufacturerId),
}

impl FromRequest for Author {
    type Error = shared::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, shared::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let principal = Principal::from_request(&req, payload);
        Box::pin(async move {
            if let Some(operator) = shared::auth::operator_among::<shared::auth::Admin>(&req).await {
                return operator.map(|_| Author::Operator);
            }
            let claims = principal.await?.0;
            if claims.role != shared::auth::Role::Manufacturer {
                return Err(shared::Error::Forbidden("only operators and manufacturers add products".into()));
            }
            Ok(Author::Manufacturer(ManufacturerId::parse(&claims.sub).map_err(|_| shared::Error::Unauthorized)?))
        })
    }
}

pub use client::broker::catalog::{CreatedProduct, NewProduct};

#[utoipa::path(post, path = "/v1/products", request_body = NewProduct,
    responses((status = 201, body = CreatedProduct), (status = 422, description = "invalid input")),
    security(("operator" = []), ("manufacturer" = [])))]
pub async fn create_product(
    state: web::Data<State>,
    author: Author,
    body: web::Json<NewProduct>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let named = body.manufacturer_id.as_deref().map(|m| ManufacturerId::parse(m.trim())).transpose()?;
    let manufacturer_id = match (author, named) {
        (Author::Operator, named) => named,
        (Author::Manufacturer(me), None) => Some(me),
        (Author::Manufacturer(me), Some(named)) if named == me => Some(me),
        (Author::Manufacturer(_), Some(_)) => {
            return Err(BrokerError::Forbidden("a manufacturer adds only its own products".into()))
        }
    };
    let backorder_days = body.backorder_days.unwrap_or(14);
    if !(1..=365).contains(&backorder_days) {
        return Err(BrokerError::refused(Code::InvalidBackorderDays, "`backorder_days` must be 1 to 365"));
    }
    if body.compatible_with.len() > MAX_ATTRIBUTES {
        return Err(BrokerError::refused(Code::InvalidCompatibleWith, "too many compatible equipment kinds"));
    }
    let product = Product {
        id: ProductId::generate(),
        name: parse_name("name", &body.name)?,
        kind: parse_key("kind", &body.kind)?,
        attributes: match &body.attributes {
            Some(a) => parse_attributes(a)?,
            None => BTreeMap::new(),
        },
        list_price: parse_price(body.list_price, state.core.config.money.ceiling())?,
        manufacturer_id,
        requires_approval: body.requires_approval,
        backorder_days,
        compatible_with: body.compatible_with.iter().map(|k| parse_equipment(k)).collect::<Result<Vec<_>>>()?,
    };
    let id = product.id.clone();
    state
        .core
        .db
        .write(move |c| {
            if let Some(m) = &product.manufacturer_id {
                if !manufacturer_exists(c, m)? {
                    return Err(BrokerError::NotFound("manufacturer"));
                }
            }
            products::insert_product(c, &product)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedProduct { id }))
}

#[utoipa::path(get, path = "/v1/products/{product_id}", responses((status = 200, body = crate::catalog::Product), (status = 404)))]
pub async fn read_product(state: web::Data<State>, path: web::Path<String>, session: Session) -> Result<HttpResponse> {
    let id = ProductId::parse(&path)?;
    let viewed = Viewed { product_id: Some(id.clone()), ..Default::default() };
    session.open(&state, "product", viewed, move |c| products::product(c, &id)).await
}

pub use client::broker::catalog::{OfferBody, OfferView};

impl From<Offer> for OfferView {
    fn from(o: Offer) -> Self {
        OfferView {
            current_price: o.current_price(),
            store_id: o.store_id,
            product_id: o.product_id,
            price: o.price,
            stock: o.stock,
            sellable: o.sellable,
            reason: o.reason,
            union_fulfilment: o.union_fulfilment,
            requires_price_confirmation: o.requires_price_confirmation,
            reserve_threshold: o.reserve_threshold,
            urgent_price: o.urgent_price,
            urgent_until: o.urgent_until,
            updated_at: o.updated_at,
        }
    }
}

/// Creates or replaces the store's offer. Settlement hears of every change of
/// sellability (and of the first rule) in the same transaction.
#[utoipa::path(put, path = "/v1/stores/{store_id}/offers/{product_id}", request_body = OfferBody,
    responses((status = 200, body = OfferView), (status = 403), (status = 404)), security(("seller" = [])))]
pub async fn put_offer(
    state: web::Data<State>,
    owner: StoreOwner,
    path: web::Path<(String, String)>,
    body: web::Json<OfferBody>,
) -> Result<HttpResponse> {
    let (store_id, product_id) = shared::ids::store_and_product(path.into_inner())?;
    let body = body.into_inner();
    let price = parse_price(body.price, state.core.config.money.ceiling())?;
    let stock = parse_stock("stock", body.stock)?;
    let reserve_threshold = body.reserve_threshold.map(|r| parse_stock("reserve_threshold", r)).transpose()?;
    let reason = match (body.sellable, body.reason.as_deref()) {
        (true, _) => None,
        (false, Some(r)) => Some(parse_key("reason", r)?),
        (false, None) => Some("not_offered".to_string()),
    };
    let offer = state
        .core
        .db
        .write(move |c| {
            owned(c, &owner, &store_id)?;
            let product = products::product(c, &product_id)?.ok_or(BrokerError::NotFound("product"))?;
            let existing = offers::find_offer(c, &store_id, &product_id)?;
            // A running urgent price survives an update in the same currency.
            let (urgent_price, urgent_until) = match &existing {
                Some(e) if e.price.currency == price.currency => (e.urgent_price, e.urgent_until),
                _ => (None, None),
            };
            let offer = Offer {
                store_id: store_id.clone(),
                product_id: product_id.clone(),
                kind: product.kind,
                price,
                stock,
                sellable: body.sellable,
                reason,
                union_fulfilment: body.union_fulfilment,
                requires_price_confirmation: body.requires_price_confirmation,
                reserve_threshold,
                urgent_price,
                urgent_until,
                updated_at: shared::time::now(),
            };
            let before = offers::put_offer(c, &offer)?;
            let old_stock = existing.as_ref().map(|e| e.stock).unwrap_or(0);
            if stock != old_stock || existing.is_none() {
                stock::record_movement(c, &store_id, &product_id, stock - old_stock, stock, Movement::Set, None, None)?;
            }
            if existing.is_some() && super::domain::crosses_reserve(reserve_threshold, old_stock, stock) {
                reserve_mail::mail_reserve(c, &store_id, &product_id, stock)?;
            }
            if before != Some(offer.sellable) {
                shared::outbox::send(
                    c,
                    ServiceName::Broker,
                    ServiceName::Settlement,
                    Message::SellabilityChanged {
                        store_id: store_id.clone(),
                        product_id: product_id.clone(),
                        sellable: offer.sellable,
                        reason: offer.reason.clone(),
                    },
                )?;
            }
            offers::find_offer(c, &store_id, &product_id)?.ok_or(BrokerError::NotFound("offer"))
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(OfferView::from(offer)))
}

#[utoipa::path(get, path = "/v1/stores/{store_id}/offers/{product_id}", responses((status = 200, body = OfferView)),
    security(("seller" = [])))]
pub async fn read_offer(
    state: web::Data<State>,
    owner: StoreOwner,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (store_id, product_id) = shared::ids::store_and_product(path.into_inner())?;
    let offer = state
        .core
        .db
        .read(move |c| {
            owned(c, &owner, &store_id)?;
            offers::find_offer(c, &store_id, &product_id)?.ok_or(BrokerError::NotFound("offer"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(OfferView::from(offer)))
}

#[derive(Serialize, ToSchema)]
pub struct OwnOffers {
    offers: Vec<OfferView>,
}

/// The owner's view of all its store's offers, with stock thresholds and urgent prices.
#[utoipa::path(get, path = "/v1/seller/stores/{store_id}/offers", params(shared::http::Page),
    responses((status = 200, body = OwnOffers)))]
pub async fn list_own_offers(
    state: web::Data<State>,
    owner: StoreOwner,
    path: web::Path<String>,
    page: web::Query<shared::http::Page>,
) -> Result<HttpResponse> {
    let store_id = StoreId::parse(&path)?;
    let (limit, offset) = (page.limit(), page.offset());
    let offers = state
        .core
        .db
        .read(move |c| {
            owned(c, &owner, &store_id)?;
            Ok::<_, BrokerError>(offers::store_offers(c, &store_id, limit, offset)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OwnOffers { offers: offers.into_iter().map(OfferView::from).collect() }))
}
