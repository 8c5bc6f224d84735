//! `POST /v1/orders`, `GET /v1/orders/{id}`, the workflow steps, the message relay and
//! the seller's and manufacturer's order lists. Buyers act with the order capability;
//! nothing here stores or returns anything that names a person.

use super::domain::{self, Event, KeyRefusal, OrderKey, OrderStatus, Party, Step};
use super::public_price::{self, PublicPrice};
use super::store::{self, Order, RelayedMessage};
use super::workflow::{self, KeyHashes, Keyed, NewOrder, Receipt};
use crate::catalog::{Product, Store};
use crate::error::{BrokerError, Result};
use crate::orders::settings::of as settings;
use crate::State;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use shared::auth::{Buyer, Capability, Claims, Manufacturer, Principal, Role, Seller};
use shared::config::ServiceName;
use shared::db::AnyConnection;
use shared::http::ActionBody;
use shared::ids::{ManufacturerId, OrderId, ProductId, SellerId, StoreId};
use shared::money::Money;
use shared::time::Timestamp;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/orders", web::post().to(place).wrap(actix_web::middleware::from_fn(shared::ratelimit::placement)))
        .route("/v1/orders/{order_id}", web::get().to(read))
        .route("/v1/orders/{order_id}/cancel", web::post().to(cancel))
        .route("/v1/orders/{order_id}/confirm", web::post().to(confirm))
        .route("/v1/orders/{order_id}/approve", web::post().to(approve))
        .route("/v1/orders/{order_id}/refuse", web::post().to(refuse))
        .route("/v1/orders/{order_id}/messages", web::get().to(messages))
        .route("/v1/orders/{order_id}/messages", web::post().to(post_message))
        .route("/v1/seller/orders", web::get().to(seller_orders))
        .route("/v1/manufacturer/orders", web::get().to(manufacturer_orders));
}

// ---- who is calling

/// Whoever may act on an order: its capability's bearer, a seller, or a manufacturer.
pub enum OrderCaller {
    Capability(Capability),
    Seller(SellerId),
    Manufacturer(ManufacturerId),
}

impl FromRequest for OrderCaller {
    type Error = BrokerError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        Box::pin(async move {
            let Principal(claims) = principal.await?;
            let bad = || BrokerError::from(shared::Error::Unauthorized);
            match claims.role {
                Role::Capability => {
                    let id = OrderId::parse(&claims.sub).map_err(|_| bad())?;
                    Ok(OrderCaller::Capability(Capability { id, claims }))
                }
                Role::Seller => Ok(OrderCaller::Seller(SellerId::parse(&claims.sub).map_err(|_| bad())?)),
                Role::Manufacturer => {
                    Ok(OrderCaller::Manufacturer(ManufacturerId::parse(&claims.sub).map_err(|_| bad())?))
                }
                _ => Err(BrokerError::Forbidden("this route is for an order's buyer, store or manufacturer".into())),
            }
        })
    }
}

impl OrderCaller {
    /// A capability is checked before anything is read, so that one for another order
    /// learns nothing, not even whether this order exists.
    fn precheck(&self, order: &OrderId, scope: &str) -> Result<()> {
        match self {
            OrderCaller::Capability(c) => Ok(c.for_order(order, scope)?),
            _ => Ok(()),
        }
    }

    /// The parts this caller plays in the order.
    fn parties(&self, order: &Order, store: &Store, product: &Product) -> Vec<Party> {
        let mut parties = Vec::new();
        match self {
            OrderCaller::Capability(c) if c.id == order.id => parties.push(Party::Buyer),
            OrderCaller::Capability(_) => {}
            OrderCaller::Seller(s) if store.seller_id.as_ref() == Some(s) => parties.push(Party::Seller),
            OrderCaller::Seller(_) => {}
            OrderCaller::Manufacturer(m) => {
                // A manufacturer's own store sells its back-orders: there it is the seller.
                if store.manufacturer_id.as_ref() == Some(m) {
                    parties.push(Party::Seller);
                }
                if order.needs_approval && product.manufacturer_id.as_ref() == Some(m) {
                    parties.push(Party::Manufacturer);
                }
            }
        }
        parties
    }
}

fn not_yours() -> BrokerError {
    BrokerError::Forbidden("this order is not yours".into())
}

/// Loads the order and decides in which part the caller acts, or refuses.
pub(super) fn authorize(
    conn: &mut shared::db::AnyConnection,
    caller: &OrderCaller,
    id: &OrderId,
    wanted: &[Party],
) -> Result<(Order, Store, Product, Party)> {
    let order = store::get(conn, id)?.ok_or(BrokerError::NotFound("order"))?;
    let (s, p) = workflow::surroundings(conn, &order)?;
    let party = caller.parties(&order, &s, &p).into_iter().find(|p| wanted.contains(p)).ok_or_else(not_yours)?;
    Ok((order, s, p, party))
}

// ---- what each side sees

#[derive(Serialize, ToSchema)]
pub struct StoreRef {
    id: StoreId,
    /// The store's public display name: all a buyer learns about the seller.
    name: String,
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

fn buyer_view(o: Order, store: &Store, product: &Product) -> BuyerView {
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
fn seller_view(o: Order, public: PublicPrice) -> SellerView {
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

fn view(
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

fn seller_views(conn: &mut AnyConnection, list: Vec<Order>) -> Result<Vec<SellerView>> {
    list.into_iter()
        .map(|o| {
            let public = public_price::of(conn, &o)?;
            Ok(seller_view(o, public))
        })
        .collect()
}

// ---- placing

/// The request header naming one placement; see [`place`].
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Set on an answer given again for a key.
pub const REPLAYED: &str = "Idempotent-Replayed";

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    store_id: StoreId,
    product_id: ProductId,
    quantity: i64,
    /// The `referral` token of the selection's (or a 409's) alternative the buyer followed:
    /// it earns the referring store its fee once. A reused, forged, expired or mismatched
    /// token earns nothing, and the order goes through all the same.
    #[serde(default)]
    referral: Option<String>,
    /// Deprecated and ignored: a referral is earned only through `referral`.
    #[serde(default)]
    referral_store_id: Option<String>,
    /// The unit price the buyer saw; a different current price is 409 `price_changed`.
    #[serde(default)]
    expected_price: Option<Money>,
    /// A mail address for this order's news, sealed, never shown to the store, shredded
    /// when the order closes. Without it, the buyer reads the status with the capability.
    #[serde(default)]
    contact: Option<String>,
    /// Collection points to spend as a discount (logged-in buyers).
    #[serde(default)]
    points: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Placed {
    order_id: OrderId,
    /// The order capability: `Authorization: Bearer` for this order at all three services.
    capability: String,
    amount: Money,
    unit_price: Money,
    quantity: i64,
    product_id: ProductId,
    status: OrderStatus,
    store: StoreRef,
    /// Until when settlement takes payment; then the order expires and its stock goes
    /// back. `null` while the order waits for confirmation or approval.
    #[serde(with = "shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pay_by: Option<Timestamp>,
}

impl Placed {
    fn new(r: Receipt, capability: String) -> Placed {
        Placed {
            order_id: r.order_id,
            capability,
            amount: r.amount,
            unit_price: r.unit_price,
            quantity: r.quantity,
            product_id: r.product_id,
            status: r.status,
            store: StoreRef { id: r.store_id, name: r.store_name },
            pay_by: r.pay_by,
        }
    }
}

/// The answer to a key replayed after `order_key_replay_secs`: the key named this order
/// once, but it is no longer a way into it (no capability, no price, no store).
#[derive(Serialize, ToSchema)]
pub struct PlacedEarlier {
    order_id: OrderId,
    /// The order's status now.
    status: OrderStatus,
}

/// A logged-in buyer, if the request carries a token; a bad token is refused rather than
/// silently ignored.
async fn optional_buyer(req: &HttpRequest) -> Result<Option<Buyer>> {
    if shared::auth::bearer(req).is_none() {
        return Ok(None);
    }
    Ok(Some(Buyer::extract(req).await?))
}

/// The request's `Idempotency-Key`, if it sent one (exactly one, well formed).
fn order_key(req: &HttpRequest) -> std::result::Result<Option<OrderKey>, KeyRefusal> {
    let mut values = req.headers().get_all(IDEMPOTENCY_KEY);
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(KeyRefusal::Invalid);
    }
    OrderKey::parse(value.to_str().map_err(|_| KeyRefusal::Invalid)?).map(Some)
}

/// A capability for the order, signed now: the broker never stores one.
fn capability(state: &State, order: &OrderId) -> Result<String> {
    let mut claims = Claims::new(
        ServiceName::Broker,
        order.as_str(),
        Role::Capability,
        &ServiceName::ALL,
        state.core.config.capability_ttl_secs,
    );
    claims.scope = ["read", "cancel", "address", "message"].map(String::from).to_vec();
    Ok(state.core.auth.signer.sign(&claims)?)
}

/// Places an order. With an `Idempotency-Key` (the storefront always sends one), the same
/// key and body answer the first order again, with `Idempotent-Replayed: true`: within
/// `order_key_replay_secs` (15 minutes) of the first answer with a freshly signed
/// capability (a reload, a double click), later with 200 and the order id and status only,
/// so a key found later opens nothing. The same key with another body is 422
/// `idempotency_key_reused`. The key is committed with its order, so a concurrent request
/// with the same key waits for the first and replays it. Refusals (409, 422) place nothing
/// and are not kept under the key.
#[utoipa::path(post, path = "/v1/orders", request_body = PlaceOrder,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "optional, at least 128 bits: 32 or more hex digits, or 22 or more base64url characters \
            (`A-Za-z0-9-_`), with at least 8 different ones, at most 255; unguessable. Kept 30 days, as a \
            hash only; replays with a capability for 15 minutes")),
    responses((status = 201, body = Placed, headers(("Idempotent-Replayed" = String,
            description = "`true` when this is the answer to an earlier request with the same key")),
            description = "placed, or the key's order answered again with a fresh capability (within the replay window)"),
        (status = 200, body = PlacedEarlier, headers(("Idempotent-Replayed" = String, description = "`true`")),
            description = "the key's order, placed before the replay window: its id and current status only, no capability"),
        (status = 400, description = "idempotency_key_invalid"),
        (status = 409, description = "non_sellable, out_of_stock (with alternatives, each with its `referral` token), price_changed (with current_price), insufficient_points, idempotency_key_in_use (with Retry-After)"),
        (status = 422, description = "invalid_quantity, invalid_contact, idempotency_key_reused (the key was used with another body); a bad `referral` is never refused, it earns nothing")),
    security((), ("buyer" = [])))]
pub async fn place(state: web::Data<State>, req: HttpRequest, body: web::Json<PlaceOrder>) -> Result<HttpResponse> {
    let key = match order_key(&req) {
        Ok(k) => k,
        Err(refusal) => return Ok(shared::error::respond(&refusal)),
    };
    let buyer = optional_buyer(&req).await?;
    let body = body.into_inner();
    let key = key.map(|k| {
        // The body as parsed (defaults filled in) and who asks: another buyer's request,
        // even with the same body, is another request.
        let request = serde_json::to_string(&body).unwrap_or_default();
        let who = buyer.as_ref().map(|b| b.id.as_str()).unwrap_or("-");
        KeyHashes { key_hash: k.digest(), request_hash: k.fingerprint(&format!("POST /v1/orders\n{who}\n{request}")) }
    });
    let contact = match body.contact.as_deref().map(str::trim) {
        Some(c) if shared::mail::valid_address(c) => Some(c.to_string()),
        Some(_) => return Err(BrokerError::invalid("invalid_contact", "`contact` is not a valid mail address")),
        None => None,
    };
    let points = body.points.unwrap_or(0);
    if points < 0 {
        return Err(BrokerError::invalid("invalid_points", "`points` must not be negative"));
    }
    if points > 0 && buyer.is_none() {
        return Err(shared::Error::Unauthorized.into());
    }
    // Verified here, outside the transaction; the order claims the token id in it.
    let referral = body.referral.as_deref().and_then(|t| crate::referrals::read(&state, t));
    let (store_id, product_id) = (body.store_id.clone(), body.product_id.clone());
    let new = NewOrder {
        store_id: body.store_id,
        product_id: body.product_id,
        quantity: body.quantity,
        referral,
        expected_price: body.expected_price,
        contact,
        points,
        buyer: buyer.map(|b| b.id),
        points_currency: crate::buyers::collections::CollectionSettings::of(&state).currency()?,
    };
    let settings = settings(&state);
    let sealer = state.contacts.clone();
    let keyed = state.core.db.write(move |c| workflow::place_keyed(c, key.as_ref(), new, &settings, &sealer)).await?;
    let (receipt, replayed) = match keyed {
        Keyed::Placed(r) => {
            state.core.kick();
            (r, false)
        }
        Keyed::Replayed(r) => (r, true),
        Keyed::PlacedEarlier { order_id, status } => {
            return Ok(HttpResponse::Ok().insert_header((REPLAYED, "true")).json(PlacedEarlier { order_id, status }));
        }
        Keyed::Refused(mut e) => {
            state.core.kick();
            if let BrokerError::Unsellable { alternatives, .. } = &mut e {
                crate::referrals::sign_alternatives_json(&state, &store_id, &product_id, alternatives)?;
            }
            return Err(e);
        }
        Keyed::Busy => return Ok(shared::error::respond(&KeyRefusal::InUse)),
    };
    let capability = capability(&state, &receipt.order_id)?;
    let mut answer = HttpResponse::Created();
    if replayed {
        answer.insert_header((REPLAYED, "true"));
    }
    Ok(answer.json(Placed::new(receipt, capability)))
}

// ---- reading and the workflow

#[utoipa::path(get, path = "/v1/orders/{order_id}",
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
                Some(crate::catalog::store::alternatives(c, &o.store_id, &o.product_id, o.quantity)?)
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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Optional: the order keeps a generic reason without one.
    #[serde(default)]
    reason: Option<String>,
}

impl Reason {
    fn checked(&self, default: &str) -> Result<String> {
        domain::check_reason(self.reason.as_deref().unwrap_or(default))
            .map_err(|d| BrokerError::invalid("invalid_reason", d))
    }
}

/// Runs one workflow event for a caller allowed to cause it, in one transaction.
async fn step(
    state: &State,
    caller: OrderCaller,
    id: OrderId,
    event: Event,
    reason: Option<String>,
) -> Result<(serde_json::Value, Step)> {
    let settings = settings(state);
    let out = state
        .core
        .db
        .write(move |c| {
            let wanted: Vec<Party> = [Party::Buyer, Party::Seller, Party::Manufacturer]
                .into_iter()
                .filter(|p| domain::may(*p, event))
                .collect();
            let (_, s, p, party) = authorize(c, &caller, &id, &wanted)?;
            let (order, step) = workflow::apply(c, &settings, &id, event, reason.as_deref())?;
            Ok::<_, BrokerError>((view(c, party, order, &s, &p)?, step))
        })
        .await?;
    state.core.kick();
    Ok(out)
}

/// The reasons recorded when the caller gives none.
const NO_CANCEL_REASON: &str = "cancelled without a reason";
const NO_REFUSAL_REASON: &str = "refused without a reason";

#[utoipa::path(post, path = "/v1/orders/{order_id}/cancel", request_body = Reason,
    responses((status = 200, description = "cancelled"), (status = 202, description = "{status: cancel_requested}"),
        (status = 409, description = "invalid_transition (with status)")))]
pub async fn cancel(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
    body: ActionBody<Reason>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    caller.precheck(&id, "cancel")?;
    let reason = body.0.checked(NO_CANCEL_REASON)?;
    let (v, _) = step(&state, caller, id.clone(), Event::Cancel, Some(reason)).await?;
    if v["status"] == OrderStatus::CancelRequested.as_str() {
        // Paid: delivery decides; the outcome follows by message.
        return Ok(HttpResponse::Accepted().json(serde_json::json!({ "order_id": id, "status": "cancel_requested" })));
    }
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// A new unit price; the order keeps its price without one.
    #[serde(default)]
    price: Option<Money>,
}

#[utoipa::path(post, path = "/v1/orders/{order_id}/confirm", request_body = Confirmation,
    responses((status = 200, description = "the order, confirmed"), (status = 409, description = "invalid_transition")))]
pub async fn confirm(
    state: web::Data<State>,
    seller: OrderCaller,
    path: web::Path<String>,
    body: ActionBody<Confirmation>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    // No body keeps the price; a body that does not parse (a price above the money
    // ceiling among them) is refused, never read as "no new price".
    let price = body.0.price;
    let settings = settings(&state);
    let v = state
        .core
        .db
        .write(move |c| {
            let (_, s, p, party) = authorize(c, &seller, &id, &[Party::Seller])?;
            let order = workflow::confirm(c, &settings, &id, price)?;
            view(c, party, order, &s, &p)
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(post, path = "/v1/orders/{order_id}/approve",
    responses((status = 200, description = "the order, approved"), (status = 409, description = "invalid_transition")))]
pub async fn approve(state: web::Data<State>, caller: OrderCaller, path: web::Path<String>) -> Result<HttpResponse> {
    let (v, _) = step(&state, caller, OrderId::parse(&path)?, Event::Approve, None).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(post, path = "/v1/orders/{order_id}/refuse", request_body = Reason,
    responses((status = 200, description = "the order, cancelled"), (status = 409, description = "invalid_transition")))]
pub async fn refuse(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
    body: ActionBody<Reason>,
) -> Result<HttpResponse> {
    let reason = body.0.checked(NO_REFUSAL_REASON)?;
    let (v, _) = step(&state, caller, OrderId::parse(&path)?, Event::Refuse, Some(reason)).await?;
    Ok(HttpResponse::Ok().json(v))
}

// ---- the relay

#[derive(Serialize, ToSchema)]
pub struct MessageView {
    seq: i64,
    /// `buyer` or `store`: never who.
    author: String,
    body: String,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    created_at: Timestamp,
}

impl From<RelayedMessage> for MessageView {
    fn from(m: RelayedMessage) -> Self {
        MessageView { seq: m.seq, author: m.author, body: m.body, created_at: m.created_at }
    }
}

#[derive(Deserialize)]
pub struct After {
    after: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/v1/orders/{order_id}/messages",
    responses((status = 200, description = "{messages: [{seq, author, body, created_at}]}")))]
pub async fn messages(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
    q: web::Query<After>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    caller.precheck(&id, "message")?;
    let (after, limit) = (q.after.unwrap_or(0), q.limit.unwrap_or(100).clamp(1, 500));
    let list = state
        .core
        .db
        .read(move |c| {
            authorize(c, &caller, &id, &[Party::Buyer, Party::Seller])?;
            Ok::<_, BrokerError>(store::messages(c, &id, after, limit)?)
        })
        .await?;
    let list: Vec<MessageView> = list.into_iter().map(MessageView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "messages": list })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    body: String,
}

#[utoipa::path(post, path = "/v1/orders/{order_id}/messages", request_body = NewMessage,
    responses((status = 201, body = MessageView)))]
pub async fn post_message(
    state: web::Data<State>,
    caller: OrderCaller,
    path: web::Path<String>,
    body: web::Json<NewMessage>,
) -> Result<HttpResponse> {
    let id = OrderId::parse(&path)?;
    caller.precheck(&id, "message")?;
    let text = domain::check_message(&body.body).map_err(|d| BrokerError::invalid("invalid_message", d))?;
    let m = state
        .core
        .db
        .write(move |c| {
            let (order, _, _, party) = authorize(c, &caller, &id, &[Party::Buyer, Party::Seller])?;
            let author = if party == Party::Buyer { "buyer" } else { "store" };
            let m = store::add_message(c, &id, author, &text)?;
            // The store hears of a buyer's message by mail; the buyer reads the relay.
            if party == Party::Buyer {
                let (s, _) = workflow::surroundings(c, &order)?;
                if !s.contact_email.is_empty() {
                    let mail = shared::mail::Mail {
                        to: shared::mail::Recipient::Address { address: s.contact_email },
                        subject: format!("Order {id}: a message from the buyer"),
                        // The text itself stays in the relay: the mail only says where to read it.
                        body: format!(
                            "The buyer wrote about order {id}.\nRead and reply at\n  /v1/orders/{id}/messages\n"
                        ),
                    };
                    shared::mail::queue(c, &format!("store/{id}"), &mail)?;
                }
            }
            Ok::<_, BrokerError>(m)
        })
        .await?;
    state.core.kick();
    Ok(HttpResponse::Created().json(MessageView::from(m)))
}

// ---- lists

#[derive(Deserialize)]
pub struct SellerQuery {
    store_id: Option<StoreId>,
    status: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[utoipa::path(get, path = "/v1/seller/orders",
    responses((status = 200, description = "{orders: [SellerView]}")))]
pub async fn seller_orders(
    state: web::Data<State>,
    seller: Seller,
    q: web::Query<SellerQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let status = match q.status.as_deref() {
        Some(s) => Some(OrderStatus::parse(s).ok_or_else(|| BrokerError::invalid("invalid_status", "unknown status"))?),
        None => None,
    };
    let page = shared::http::Page { limit: q.limit, offset: q.offset };
    let list = state
        .core
        .db
        .read(move |c| {
            let list = store::for_seller(c, &seller.id, q.store_id.as_ref(), status, page.limit(), page.offset())?;
            seller_views(c, list)
        })
        .await?;
    let orders: Vec<SellerView> = list;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "orders": orders })))
}

#[utoipa::path(get, path = "/v1/manufacturer/orders",
    responses((status = 200, description = "{orders: [SellerView]}: orders waiting for its approval, then the back-orders its own store sold")))]
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
            let mine: Vec<String> =
                products::table.filter(products::manufacturer_id.eq(m.id.as_str())).select(products::id).load(c)?;
            let mut list = store::awaiting_approval(c, &mine, 200)?;
            if let Some(own) = crate::catalog::store::manufacturer_store(c, &m.id)? {
                let sold = store::for_store(c, &own, page.limit(), page.offset())?;
                let seen: Vec<OrderId> = list.iter().map(|o| o.id.clone()).collect();
                list.extend(sold.into_iter().filter(|o| !seen.contains(&o.id)));
            }
            seller_views(c, list)
        })
        .await?;
    let orders: Vec<SellerView> = list;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "orders": orders })))
}
