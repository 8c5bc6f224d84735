//! Where a buyer goes when a store cannot sell: the other stores that can (ranked), the
//! manufacturer's back-order, a union store that ships for it; and the record of each
//! redirect shown.

use super::domain::{Alternative, Backorder};
use super::offers::{find_offer, offer_from, OfferTuple};
use super::products::product;
use super::stores::manufacturer_store;
use crate::schema::{offers, redirects, stores};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ProductId, StoreId, UnionId};
use shared::time::now;

/// Stores that can sell `qty` of `product` instead of `from`: sellable, enough stock,
/// ranked same union first, then region nearness, then price (the urgent price where it
/// runs), then most stock. Manufacturers' stores are left out: they appear as the
/// back-order instead. So are suspended stores.
pub fn alternatives(
    conn: &mut AnyConnection,
    from: &StoreId,
    product: &ProductId,
    qty: i64,
) -> QueryResult<Vec<Alternative>> {
    const MAX: usize = 5;
    let origin: Option<(Option<UnionId>, String)> =
        stores::table.filter(stores::id.eq(from)).select((stores::union_id, stores::region)).first(conn).optional()?;
    let (union_id, region) = origin.unwrap_or((None, String::new()));
    // One product's offers: bounded by the number of stores, read through offers_product.
    let rows: Vec<(OfferTuple, String, Option<UnionId>, String)> = offers::table
        .inner_join(stores::table)
        .filter(offers::product_id.eq(product))
        .filter(offers::sellable.eq(true))
        .filter(offers::stock.ge(qty))
        .filter(offers::store_id.ne(from))
        .filter(stores::manufacturer_id.is_null())
        .filter(stores::suspended_at.is_null())
        .select((crate::offer_columns!(), stores::name, stores::union_id, stores::region))
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
    if super::stores::is_suspended(conn, &store_id)? {
        return Ok(None);
    }
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
                redirects::from_store_id.eq(from),
                redirects::to_store_id.eq(s),
                redirects::product_id.eq(product),
                redirects::created_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
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
    use crate::catalog::offers::{quote, sellability};
    use crate::catalog::stores::store;
    use crate::catalog::testing::*;

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
            .filter(redirects::from_store_id.eq(origin))
            .filter(redirects::product_id.eq(&w.product))
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
