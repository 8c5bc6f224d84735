//! A store's offers of the catalog: reading and writing them, whether a store can sell, and
//! at what price.

use super::domain::{Offer, Store};
use super::redirects::backorder_offer;
use crate::schema::offers;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ProductId, StoreId};
use shared::money::{Currency, Money};
use shared::time::{now, Timestamp};

#[allow(clippy::type_complexity)]
pub(crate) type OfferTuple = (
    StoreId,
    ProductId,
    String,
    i64,
    Currency,
    i64,
    bool,
    Option<String>,
    bool,
    bool,
    Option<i64>,
    Option<i64>,
    Option<Timestamp>,
    Timestamp,
);

#[macro_export]
#[doc(hidden)]
macro_rules! offer_columns {
    () => {
        (
            $crate::schema::offers::store_id,
            $crate::schema::offers::product_id,
            $crate::schema::offers::kind,
            $crate::schema::offers::price_amount,
            $crate::schema::offers::price_currency,
            $crate::schema::offers::stock,
            $crate::schema::offers::sellable,
            $crate::schema::offers::reason,
            $crate::schema::offers::union_fulfilment,
            $crate::schema::offers::requires_price_confirmation,
            $crate::schema::offers::reserve_threshold,
            $crate::schema::offers::urgent_price_amount,
            $crate::schema::offers::urgent_until,
            $crate::schema::offers::updated_at,
        )
    };
}

pub(crate) fn offer_from(t: OfferTuple) -> QueryResult<Offer> {
    let (
        store_id,
        product_id,
        kind,
        amount,
        currency,
        stock,
        sellable,
        reason,
        uf,
        rpc,
        reserve,
        urgent,
        until,
        updated,
    ) = t;
    let price = Money::new(amount, currency);
    Ok(Offer {
        store_id,
        product_id,
        kind,
        price,
        stock,
        sellable,
        reason,
        union_fulfilment: uf,
        requires_price_confirmation: rpc,
        reserve_threshold: reserve,
        urgent_price: urgent.map(|a| Money::new(a, price.currency)),
        urgent_until: until,
        updated_at: updated,
    })
}

pub fn find_offer(conn: &mut AnyConnection, store: &StoreId, product: &ProductId) -> QueryResult<Option<Offer>> {
    let row: Option<OfferTuple> = offers::table
        .filter(offers::store_id.eq(store))
        .filter(offers::product_id.eq(product))
        .select(offer_columns!())
        .first(conn)
        .optional()?;
    row.map(offer_from).transpose()
}

pub fn store_offers(conn: &mut AnyConnection, store: &StoreId, limit: i64, offset: i64) -> QueryResult<Vec<Offer>> {
    let rows: Vec<OfferTuple> = offers::table
        .filter(offers::store_id.eq(store))
        .order(offers::product_id.asc())
        .limit(limit)
        .offset(offset)
        .select(offer_columns!())
        .load(conn)?;
    rows.into_iter().map(offer_from).collect()
}

/// Creates or replaces an offer. Returns the sellability before the write (`None` for a
/// new offer), so the caller knows whether settlement must hear of a change.
pub fn put_offer(conn: &mut AnyConnection, offer: &Offer) -> QueryResult<Option<bool>> {
    let before = offers::table
        .filter(offers::store_id.eq(&offer.store_id))
        .filter(offers::product_id.eq(&offer.product_id))
        .select(offers::sellable)
        .first::<bool>(conn)
        .optional()?;
    let t = now();
    let values = (
        offers::kind.eq(&offer.kind),
        offers::price_amount.eq(offer.price.amount),
        offers::price_currency.eq(offer.price.currency),
        offers::stock.eq(offer.stock),
        offers::sellable.eq(offer.sellable),
        offers::reason.eq(offer.reason.as_deref()),
        offers::union_fulfilment.eq(offer.union_fulfilment),
        offers::requires_price_confirmation.eq(offer.requires_price_confirmation),
        offers::reserve_threshold.eq(offer.reserve_threshold),
        offers::urgent_price_amount.eq(offer.urgent_price.map(|m| m.amount)),
        offers::urgent_until.eq(offer.urgent_until),
        offers::updated_at.eq(t),
        offers::current_price.eq(offer.price_at(t).amount),
    );
    let update = |conn: &mut AnyConnection| {
        diesel::update(offers::table)
            .filter(offers::store_id.eq(&offer.store_id))
            .filter(offers::product_id.eq(&offer.product_id))
            .set(values)
            .execute(conn)
    };
    if before.is_some() {
        update(conn)?;
        return Ok(before);
    }
    // Two first writes of one offer may race; the loser updates what the winner inserted.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(offers::table)
            .values((
                offers::store_id.eq(&offer.store_id),
                offers::product_id.eq(&offer.product_id),
                values,
                offers::created_at.eq(t),
            ))
            .execute(c)
    });
    match inserted {
        Err(e) if shared::db::is_unique_violation(&e) => {
            update(conn)?;
        }
        other => {
            other?;
        }
    }
    Ok(before)
}

/// Can `store` sell `qty` of `product` on its own? A manufacturer's store sells to order
/// (no stock is checked) whatever it has a back-order offer for; any other store follows
/// the shared rule over its offer. Union fulfilment is a separate question:
/// [`union_shipper`].
pub fn sellability(
    conn: &mut AnyConnection,
    store: &Store,
    product: &ProductId,
    qty: i64,
) -> QueryResult<Result<(), shared::rules::Unsellable>> {
    if store.suspended {
        return Ok(Err(shared::rules::Unsellable::StoreSuspended));
    }
    if store.is_manufacturer_store() {
        let ok = backorder_offer(conn, product)?.is_some_and(|b| b.store_id == store.id);
        return Ok(if ok { Ok(()) } else { Err(shared::rules::Unsellable::NonSellable) });
    }
    let offer = find_offer(conn, &store.id, product)?;
    Ok(shared::rules::check(offer.map(|o| o.rule()).as_ref(), qty))
}

/// What a buyer pays for one unit at `store` now: the offer's current price, or at a
/// manufacturer's store the back-order price. `None` when the store does not offer it.
pub fn quote(conn: &mut AnyConnection, store: &Store, product: &ProductId) -> QueryResult<Option<Money>> {
    if store.is_manufacturer_store() {
        return Ok(backorder_offer(conn, product)?.filter(|b| b.store_id == store.id).map(|b| b.price));
    }
    Ok(find_offer(conn, &store.id, product)?.map(|o| o.current_price()))
}
