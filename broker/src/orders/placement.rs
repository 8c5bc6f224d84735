//! `POST /v1/orders`: placing an order, with an optional `Idempotency-Key`, and the
//! capability that answers it.

use super::domain::{KeyRefusal, OrderKey};
use super::views::StoreRef;
use super::workflow::{self, KeyHashes, Keyed, NewOrder, Receipt};
use crate::error::{BrokerError, Code, Result};
use crate::orders::settings::of as settings;
use crate::State;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use shared::auth::Buyer;

/// The request header naming one placement; see [`place`].
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Set on an answer given again for a key.
pub const REPLAYED: &str = "Idempotent-Replayed";

pub use client::broker::orders::{PlaceOrder, Placed, PlacedEarlier};

/// The answer to a placement: the receipt with a capability signed for it.
fn placed(r: Receipt, capability: String) -> Placed {
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

/// Places an order. With an `Idempotency-Key` (the storefront always sends one), the same
/// key and body answer the first order again, with `Idempotent-Replayed: true`: within
/// `order_key_replay_secs` (15 minutes) of the first answer with a freshly signed
/// capability (a reload, a double click), later with 200 and the order id and status only,
/// so a key found later opens nothing. The same key with another body is 422
/// `idempotency_key_reused`. The key is committed with its order, so a concurrent request
/// with the same key waits for the first and replays it. Refusals (409, 422) place nothing
/// and are not kept under the key.
#[utoipa::path(post, tag = "orders", path = "/v1/orders", request_body = PlaceOrder,
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
        Err(refusal) => return Ok(shared::error::respond(&BrokerError::Key(refusal))),
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
        Some(_) => return Err(BrokerError::refused(Code::InvalidContact, "`contact` is not a valid mail address")),
        None => None,
    };
    let points = body.points.unwrap_or(0);
    if points < 0 {
        return Err(BrokerError::refused(Code::InvalidPoints, "`points` must not be negative"));
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
        Keyed::Busy => return Ok(shared::error::respond(&BrokerError::Key(KeyRefusal::InUse))),
    };
    let capability = super::capability::sign(&state, &receipt.order_id)?;
    let mut answer = HttpResponse::Created();
    if replayed {
        answer.insert_header((REPLAYED, "true"));
    }
    Ok(answer.json(placed(receipt, capability)))
}
