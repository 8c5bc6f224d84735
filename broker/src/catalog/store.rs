//! The catalog's queries. The `pub` functions here are also what the orders module calls:
//! `store`, `find_offer`, `product`, `reserve_stock`, `release_stock`, `alternatives`,
//! `backorder_offer`, `record_redirects`. Every one runs inside the caller's transaction.

use super::domain::{crosses_reserve, Alternative, Backorder, Offer, Product, Store};
use crate::schema::{manufacturers, offers, product_attributes, products, redirects, sellers, stock_movements, stores};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ManufacturerId, ProductId, SellerId, StoreId, UnionId};
use shared::money::{Currency, Money};
use shared::time::{now, Timestamp};
use std::collections::BTreeMap;

/// Reads money stored by us; a currency we would not have written is a corrupt row.
pub(crate) fn money(amount: i64, currency: &str) -> QueryResult<Money> {
    Currency::parse(currency)
        .map(|c| Money::new(amount, c))
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

#[derive(Queryable)]
struct StoreRow {
    id: String,
    name: String,
    union_id: Option<String>,
    category: String,
    region: String,
    seller_id: Option<String>,
    manufacturer_id: Option<String>,
}

/// A store with its owner and the owner's contact address, or `None`.
pub fn store(conn: &mut AnyConnection, id: &StoreId) -> QueryResult<Option<Store>> {
    let row: Option<StoreRow> = stores::table
        .filter(stores::id.eq(id.as_str()))
        .select((
            stores::id,
            stores::name,
            stores::union_id,
            stores::category,
            stores::region,
            stores::seller_id,
            stores::manufacturer_id,
        ))
        .first(conn)
        .optional()?;
    let Some(r) = row else { return Ok(None) };
    let contact_email = match (&r.seller_id, &r.manufacturer_id) {
        (Some(s), _) => sellers::table.filter(sellers::id.eq(s)).select(sellers::email).first(conn)?,
        (None, Some(m)) => {
            manufacturers::table.filter(manufacturers::id.eq(m)).select(manufacturers::email).first(conn)?
        }
        (None, None) => String::new(),
    };
    Ok(Some(Store {
        id: StoreId::from_db(r.id),
        name: r.name,
        union_id: r.union_id.map(UnionId::from_db),
        category: r.category,
        region: r.region,
        seller_id: r.seller_id.map(SellerId::from_db),
        manufacturer_id: r.manufacturer_id.map(ManufacturerId::from_db),
        contact_email,
    }))
}

/// The manufacturer's own store (the seller of its back-orders).
pub fn manufacturer_store(conn: &mut AnyConnection, manufacturer: &ManufacturerId) -> QueryResult<Option<StoreId>> {
    stores::table
        .filter(stores::manufacturer_id.eq(manufacturer.as_str()))
        .select(stores::id)
        .first::<String>(conn)
        .optional()
        .map(|o| o.map(StoreId::from_db))
}

#[allow(clippy::type_complexity)]
type ProductTuple = (String, String, String, String, i64, String, Option<String>, bool, i32, String);

fn product_from(t: ProductTuple) -> QueryResult<Product> {
    let (id, name, kind, attributes, amount, currency, manufacturer_id, requires_approval, backorder_days, compat) = t;
    Ok(Product {
        id: ProductId::from_db(id),
        name,
        kind,
        attributes: serde_json::from_str::<BTreeMap<String, String>>(&attributes)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
        list_price: money(amount, &currency)?,
        manufacturer_id: manufacturer_id.map(ManufacturerId::from_db),
        requires_approval,
        backorder_days,
        compatible_with: serde_json::from_str(&compat).unwrap_or_default(),
    })
}

pub fn product(conn: &mut AnyConnection, id: &ProductId) -> QueryResult<Option<Product>> {
    let row: Option<ProductTuple> = products::table
        .filter(products::id.eq(id.as_str()))
        .select((
            products::id,
            products::name,
            products::kind,
            products::attributes,
            products::list_price_amount,
            products::list_price_currency,
            products::manufacturer_id,
            products::requires_approval,
            products::backorder_days,
            products::compatible_with,
        ))
        .first(conn)
        .optional()?;
    row.map(product_from).transpose()
}

pub fn insert_product(conn: &mut AnyConnection, p: &Product) -> QueryResult<()> {
    let t = now();
    diesel::insert_into(products::table)
        .values((
            products::id.eq(p.id.as_str()),
            products::name.eq(&p.name),
            products::kind.eq(&p.kind),
            products::attributes.eq(serde_json::to_string(&p.attributes).expect("attributes serialize")),
            products::list_price_amount.eq(p.list_price.amount),
            products::list_price_currency.eq(p.list_price.currency.as_str()),
            products::manufacturer_id.eq(p.manufacturer_id.as_ref().map(|m| m.as_str())),
            products::requires_approval.eq(p.requires_approval),
            products::backorder_days.eq(p.backorder_days),
            products::compatible_with.eq(serde_json::to_string(&p.compatible_with).expect("list serializes")),
            products::created_at.eq(t),
        ))
        .execute(conn)?;
    // One row at a time: the multi-backend connection has no batch insert.
    for (n, v) in &p.attributes {
        diesel::insert_into(product_attributes::table)
            .values((
                product_attributes::product_id.eq(p.id.as_str()),
                product_attributes::name.eq(n),
                // Lower-cased so that search matches regardless of case; the product keeps the text as given.
                product_attributes::value.eq(v.to_lowercase()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[allow(clippy::type_complexity)]
pub(crate) type OfferTuple = (
    String,
    String,
    String,
    i64,
    String,
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
    let price = money(amount, &currency)?;
    Ok(Offer {
        store_id: StoreId::from_db(store_id),
        product_id: ProductId::from_db(product_id),
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
        .filter(offers::store_id.eq(store.as_str()))
        .filter(offers::product_id.eq(product.as_str()))
        .select(offer_columns!())
        .first(conn)
        .optional()?;
    row.map(offer_from).transpose()
}

pub fn store_offers(conn: &mut AnyConnection, store: &StoreId, limit: i64, offset: i64) -> QueryResult<Vec<Offer>> {
    let rows: Vec<OfferTuple> = offers::table
        .filter(offers::store_id.eq(store.as_str()))
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
        .filter(offers::store_id.eq(offer.store_id.as_str()))
        .filter(offers::product_id.eq(offer.product_id.as_str()))
        .select(offers::sellable)
        .first::<bool>(conn)
        .optional()?;
    let t = now();
    let values = (
        offers::kind.eq(&offer.kind),
        offers::price_amount.eq(offer.price.amount),
        offers::price_currency.eq(offer.price.currency.as_str()),
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
            .filter(offers::store_id.eq(offer.store_id.as_str()))
            .filter(offers::product_id.eq(offer.product_id.as_str()))
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
                offers::store_id.eq(offer.store_id.as_str()),
                offers::product_id.eq(offer.product_id.as_str()),
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

/// Sets or (with `None`) ends an offer's urgent price, and with it the current price
/// search ranks by: the urgent price while `until` lies ahead, else the regular one.
pub fn set_urgent_price(
    conn: &mut AnyConnection,
    store: &StoreId,
    product: &ProductId,
    price: Option<Money>,
    until: Option<Timestamp>,
) -> QueryResult<usize> {
    let t = now();
    let target =
        offers::table.filter(offers::store_id.eq(store.as_str())).filter(offers::product_id.eq(product.as_str()));
    let fields = (
        offers::urgent_price_amount.eq(price.map(|m| m.amount)),
        offers::urgent_until.eq(until),
        offers::updated_at.eq(t),
    );
    match (price, until) {
        (Some(p), Some(u)) if u > t => {
            diesel::update(target).set((fields, offers::current_price.eq(p.amount))).execute(conn)
        }
        _ => diesel::update(target).set((fields, offers::current_price.eq(offers::price_amount))).execute(conn),
    }
}

/// Offers whose current price is an urgent one (`offers_urgent_running`): running, or
/// ended and not yet swept.
macro_rules! urgent_standing {
    () => {
        offers::table.filter(offers::current_price.ne(offers::price_amount))
    };
}

/// The sweep: every urgent price that ended at or before `at` gives way to the regular
/// price. Conditional on the urgent price still standing, so sweepers may run side by side.
pub fn end_urgent_prices(conn: &mut AnyConnection, at: Timestamp) -> QueryResult<usize> {
    diesel::update(urgent_standing!().filter(offers::urgent_until.le(at)))
        .set(offers::current_price.eq(offers::price_amount))
        .execute(conn)
}

/// Has an urgent price ended at or before `at` without being swept yet? Until it is,
/// its stored current price is stale and search ranks by the rule itself.
pub fn urgent_price_ended(conn: &mut AnyConnection, at: Timestamp) -> QueryResult<bool> {
    Ok(urgent_standing!()
        .filter(offers::urgent_until.le(at))
        .select(offers::urgent_until)
        .first::<Option<Timestamp>>(conn)
        .optional()?
        .is_some())
}

/// When the next running urgent price ends, if any runs.
pub fn next_urgent_end(conn: &mut AnyConnection) -> QueryResult<Option<Timestamp>> {
    urgent_standing!().select(diesel::dsl::min(offers::urgent_until)).first(conn)
}

/// Why stock moved; stored with each movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// Goods laid in (from a supplier).
    In,
    /// Goods taken out by the store.
    Out,
    /// Set directly by an offer update.
    Set,
    /// Reserved by an order.
    Order,
    /// Returned by a cancelled order.
    Release,
}

impl Movement {
    pub fn as_str(&self) -> &'static str {
        match self {
            Movement::In => "in",
            Movement::Out => "out",
            Movement::Set => "set",
            Movement::Order => "order",
            Movement::Release => "release",
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn record_movement(
    conn: &mut AnyConnection,
    store: &StoreId,
    product: &ProductId,
    delta: i64,
    stock_after: i64,
    kind: Movement,
    supplier: Option<&str>,
    note: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(stock_movements::table)
        .values((
            stock_movements::store_id.eq(store.as_str()),
            stock_movements::product_id.eq(product.as_str()),
            stock_movements::delta.eq(delta),
            stock_movements::stock_after.eq(stock_after),
            stock_movements::kind.eq(kind.as_str()),
            stock_movements::supplier_id.eq(supplier),
            stock_movements::note.eq(note),
            stock_movements::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves stock by `delta` (negative: out) if it stays within `0..=max`; returns the stock
/// after, or `None` when there was too little (or too much) or no offer. Conditional, so
/// two concurrent orders can never both take the last unit. Records the movement and mails
/// the store when the reserve threshold is crossed.
#[allow(clippy::too_many_arguments)]
pub fn move_stock(
    conn: &mut AnyConnection,
    store: &StoreId,
    product: &ProductId,
    delta: i64,
    kind: Movement,
    supplier: Option<&str>,
    note: Option<&str>,
) -> QueryResult<Option<i64>> {
    let target =
        offers::table.filter(offers::store_id.eq(store.as_str())).filter(offers::product_id.eq(product.as_str()));
    let changed = if delta < 0 {
        diesel::update(target.filter(offers::stock.ge(-delta)))
            .set((offers::stock.eq(offers::stock + delta), offers::updated_at.eq(now())))
            .execute(conn)?
    } else {
        diesel::update(target.filter(offers::stock.le(super::domain::MAX_STOCK - delta)))
            .set((offers::stock.eq(offers::stock + delta), offers::updated_at.eq(now())))
            .execute(conn)?
    };
    if changed == 0 {
        return Ok(None);
    }
    let (after, threshold): (i64, Option<i64>) =
        target.select((offers::stock, offers::reserve_threshold)).first(conn)?;
    record_movement(conn, store, product, delta, after, kind, supplier, note)?;
    if crosses_reserve(threshold, after - delta, after) {
        mail_reserve(conn, store, product, after)?;
    }
    Ok(Some(after))
}

pub(crate) fn mail_reserve(
    conn: &mut AnyConnection,
    store_id: &StoreId,
    product_id: &ProductId,
    stock: i64,
) -> QueryResult<()> {
    let Some(s) = store(conn, store_id)? else { return Ok(()) };
    if s.contact_email.is_empty() {
        return Ok(());
    }
    let product_name = product(conn, product_id)?.map(|p| p.name).unwrap_or_default();
    let mail = shared::mail::Mail {
        to: shared::mail::Recipient::Address { address: s.contact_email.clone() },
        subject: format!("Reserve reached: {product_name}"),
        body: format!(
            "Store {} has {stock} unit(s) left of {product_name} ({product_id}), at or below its reserve.\n",
            s.name
        ),
    };
    shared::mail::queue(conn, store_id.as_str(), &mail)
}

/// Takes `qty` units for an order. `false` when the store has fewer.
pub fn reserve_stock(conn: &mut AnyConnection, store: &StoreId, product: &ProductId, qty: i64) -> QueryResult<bool> {
    Ok(move_stock(conn, store, product, -qty, Movement::Order, None, None)?.is_some())
}

/// Gives back what [`reserve_stock`] took (a cancelled order).
pub fn release_stock(conn: &mut AnyConnection, store: &StoreId, product: &ProductId, qty: i64) -> QueryResult<bool> {
    Ok(move_stock(conn, store, product, qty, Movement::Release, None, None)?.is_some())
}

/// Stores that can sell `qty` of `product` instead of `from`: sellable, enough stock,
/// ranked same union first, then region nearness, then price (the urgent price where it
/// runs), then most stock. Manufacturers' stores are left out: they appear as the
/// back-order instead.
pub fn alternatives(
    conn: &mut AnyConnection,
    from: &StoreId,
    product: &ProductId,
    qty: i64,
) -> QueryResult<Vec<Alternative>> {
    const MAX: usize = 5;
    let origin: Option<(Option<String>, String)> = stores::table
        .filter(stores::id.eq(from.as_str()))
        .select((stores::union_id, stores::region))
        .first(conn)
        .optional()?;
    let (union_id, region) = origin.unwrap_or((None, String::new()));
    // One product's offers: bounded by the number of stores, read through offers_product.
    let rows: Vec<(OfferTuple, String, Option<String>, String)> = offers::table
        .inner_join(stores::table)
        .filter(offers::product_id.eq(product.as_str()))
        .filter(offers::sellable.eq(true))
        .filter(offers::stock.ge(qty))
        .filter(offers::store_id.ne(from.as_str()))
        .filter(stores::manufacturer_id.is_null())
        .select((offer_columns!(), stores::name, stores::union_id, stores::region))
        .load(conn)?;
    let t = now();
    let mut ranked = Vec::with_capacity(rows.len());
    for (o, name, u, r) in rows {
        let offer = offer_from(o)?;
        let same_union = union_id.is_some() && u == union_id;
        let near = super::domain::nearness(&region, &r);
        ranked.push((
            (!same_union, near, offer.price_at(t).amount, -offer.stock, offer.store_id.clone()),
            Alternative {
                store_id: offer.store_id.clone(),
                store_name: name,
                price: offer.price_at(t),
                stock: offer.stock,
                same_union,
                referral: None,
            },
        ));
    }
    ranked.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(ranked.into_iter().take(MAX).map(|(_, a)| a).collect())
}

/// Ordering from the manufacturer, where the product names one with a store, unless the
/// manufacturer marked it non-sellable there (discontinued). The price is the
/// manufacturer's offer where it has one, else the list price.
pub fn backorder_offer(conn: &mut AnyConnection, product_id: &ProductId) -> QueryResult<Option<Backorder>> {
    let Some(p) = product(conn, product_id)? else { return Ok(None) };
    let Some(manufacturer_id) = p.manufacturer_id else { return Ok(None) };
    let Some(store_id) = manufacturer_store(conn, &manufacturer_id)? else { return Ok(None) };
    let price = match find_offer(conn, &store_id, product_id)? {
        Some(o) if !o.sellable => return Ok(None),
        Some(o) => o.current_price(),
        None => p.list_price,
    };
    Ok(Some(Backorder { store_id, manufacturer_id, price, estimated_days: p.backorder_days }))
}

/// Remembers that the buyer was sent from `from` to each alternative for `product`.
pub fn record_redirects(
    conn: &mut AnyConnection,
    from: &StoreId,
    product: &ProductId,
    to: &[StoreId],
) -> QueryResult<()> {
    let t = now();
    for s in to {
        diesel::insert_into(redirects::table)
            .values((
                redirects::from_store_id.eq(from.as_str()),
                redirects::to_store_id.eq(s.as_str()),
                redirects::product_id.eq(product.as_str()),
                redirects::created_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
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

/// For an offer that opted in to union fulfilment but is short: the nearest store of the
/// same union that can ship `qty` (same region first, then cheapest, then most stock).
pub fn union_shipper(
    conn: &mut AnyConnection,
    store: &StoreId,
    product: &ProductId,
    qty: i64,
) -> QueryResult<Option<StoreId>> {
    Ok(alternatives(conn, store, product, qty)?.into_iter().find(|a| a.same_union).map(|a| a.store_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::*;

    #[test]
    fn registering_a_store_writes_store_registered_for_settlement() {
        let (_d, mut conn) = sqlite();
        let w = world(&mut conn);
        let s = shop(&mut conn, &w, Some(&w.union_a), "north");
        let lines = outbox(&mut conn);
        let line = lines
            .iter()
            .find(|l| l.destination == "settlement" && l.payload.contains(s.as_str()))
            .expect("a message for the store");
        assert_eq!((line.destination.as_str(), line.kind.as_str()), ("settlement", "store_registered"));
        let env: shared::messages::Envelope = serde_json::from_str(&line.payload).unwrap();
        match env.message {
            shared::messages::Message::StoreRegistered { store_id, seller_id, union_id, region, .. } => {
                assert_eq!((store_id, seller_id, union_id), (s, Some(w.seller.clone()), Some(w.union_a.clone())));
                assert_eq!(region, "north");
            }
            other => panic!("{other:?}"),
        }
        // The manufacturer's own store has no union and names the manufacturer.
        let maker =
            lines.iter().find(|l| l.destination == "settlement" && l.payload.contains(w.maker_store.as_str())).unwrap();
        assert!(maker.payload.contains(w.manufacturer.as_str()) && maker.payload.contains("\"union_id\":null"));
    }

    #[test]
    fn reserving_never_takes_more_than_there_is_and_mails_at_the_reserve() {
        let (_d, mut conn) = sqlite();
        let w = world(&mut conn);
        let s = shop(&mut conn, &w, Some(&w.union_a), "north");
        offer(&mut conn, &s, &w.product, 900, 3, true);
        assert!(!reserve_stock(&mut conn, &s, &w.product, 4).unwrap());
        assert!(reserve_stock(&mut conn, &s, &w.product, 1).unwrap());
        assert_eq!(find_offer(&mut conn, &s, &w.product).unwrap().unwrap().stock, 2);
        // 3 -> 2 crossed the reserve of 2: one mail to the seller.
        let mails: Vec<_> = outbox(&mut conn).into_iter().filter(|l| l.destination == "mail").collect();
        assert_eq!(mails.len(), 1);
        assert!(mails[0].payload.contains("s@x.example"));
        assert!(reserve_stock(&mut conn, &s, &w.product, 2).unwrap());
        assert!(!reserve_stock(&mut conn, &s, &w.product, 1).unwrap());
        assert!(release_stock(&mut conn, &s, &w.product, 3).unwrap());
        assert_eq!(find_offer(&mut conn, &s, &w.product).unwrap().unwrap().stock, 3);
        assert!(!reserve_stock(&mut conn, &s, &ProductId::generate(), 1).unwrap());
    }

    #[test]
    fn alternatives_rank_same_union_first_and_redirects_are_remembered() {
        let (_d, mut conn) = sqlite();
        let w = world(&mut conn);
        let union_b = UnionId::generate();
        crate::unions::store::insert_union(&mut conn, &union_b, "B", "south").unwrap();
        let origin = shop(&mut conn, &w, Some(&w.union_a), "north");
        let near_dear = shop(&mut conn, &w, Some(&w.union_a), "north");
        let far_cheap = shop(&mut conn, &w, Some(&union_b), "south");
        let short = shop(&mut conn, &w, Some(&w.union_a), "north");
        offer(&mut conn, &origin, &w.product, 900, 5, false);
        offer(&mut conn, &near_dear, &w.product, 1200, 5, true);
        offer(&mut conn, &far_cheap, &w.product, 800, 5, true);
        offer(&mut conn, &short, &w.product, 700, 1, true);
        let alts = alternatives(&mut conn, &origin, &w.product, 2).unwrap();
        let ids: Vec<_> = alts.iter().map(|a| a.store_id.clone()).collect();
        assert_eq!(ids, vec![near_dear.clone(), far_cheap.clone()]);
        assert!(alts[0].same_union && !alts[1].same_union);
        assert_eq!(union_shipper(&mut conn, &origin, &w.product, 2).unwrap(), Some(near_dear.clone()));

        // The redirects are remembered, one per alternative shown.
        record_redirects(&mut conn, &origin, &w.product, &ids).unwrap();
        let recorded: i64 = redirects::table
            .filter(redirects::from_store_id.eq(origin.as_str()))
            .filter(redirects::product_id.eq(w.product.as_str()))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(recorded, 2);
    }

    #[test]
    fn the_backorder_is_an_offer_of_the_manufacturers_store() {
        let (_d, mut conn) = sqlite();
        let w = world(&mut conn);
        let b = backorder_offer(&mut conn, &w.product).unwrap().unwrap();
        assert_eq!((b.store_id.clone(), b.manufacturer_id.clone()), (w.maker_store.clone(), w.manufacturer.clone()));
        assert_eq!((b.price, b.estimated_days), (eur(1000), 10));
        let maker_store = store(&mut conn, &w.maker_store).unwrap().unwrap();
        assert!(maker_store.is_manufacturer_store());
        assert_eq!(maker_store.contact_email, "m@x.example");
        // Made to order: sellable without stock, at the back-order price.
        assert_eq!(sellability(&mut conn, &maker_store, &w.product, 50).unwrap(), Ok(()));
        assert_eq!(quote(&mut conn, &maker_store, &w.product).unwrap(), Some(eur(1000)));
        // The manufacturer's own price wins; a discontinued product has no back-order.
        offer(&mut conn, &w.maker_store, &w.product, 1100, 0, true);
        assert_eq!(backorder_offer(&mut conn, &w.product).unwrap().unwrap().price, eur(1100));
        offer(&mut conn, &w.maker_store, &w.product, 1100, 0, false);
        assert!(backorder_offer(&mut conn, &w.product).unwrap().is_none());
        assert!(sellability(&mut conn, &maker_store, &w.product, 1).unwrap().is_err());
    }
}
