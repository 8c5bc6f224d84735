//! Stock: conditional moves that never take more than there is, each recorded as a
//! movement, and the reserve mail when a move crosses the threshold.

use super::domain::crosses_reserve;
use super::reserve_mail::mail_reserve;
use crate::schema::{offers, stock_movements};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ProductId, StoreId};
use shared::time::now;

shared::text_enum! {
    /// Why stock moved; stored with each movement.
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
}

impl Movement {
    pub fn as_str(&self) -> &'static str {
        self.into()
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
    supplier: Option<&crate::stores::store::SupplierId>,
    note: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(stock_movements::table)
        .values((
            stock_movements::store_id.eq(store),
            stock_movements::product_id.eq(product),
            stock_movements::delta.eq(delta),
            stock_movements::stock_after.eq(stock_after),
            stock_movements::kind.eq(kind),
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
    supplier: Option<&crate::stores::store::SupplierId>,
    note: Option<&str>,
) -> QueryResult<Option<i64>> {
    let target = offers::table.filter(offers::store_id.eq(store)).filter(offers::product_id.eq(product));
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

/// Takes `qty` units for an order. `false` when the store has fewer.
pub fn reserve_stock(conn: &mut AnyConnection, store: &StoreId, product: &ProductId, qty: i64) -> QueryResult<bool> {
    Ok(move_stock(conn, store, product, -qty, Movement::Order, None, None)?.is_some())
}

/// Gives back what [`reserve_stock`] took (a cancelled order).
pub fn release_stock(conn: &mut AnyConnection, store: &StoreId, product: &ProductId, qty: i64) -> QueryResult<bool> {
    Ok(move_stock(conn, store, product, qty, Movement::Release, None, None)?.is_some())
}

#[cfg(test)]
mod tests {
    use super::super::offers::find_offer;
    use super::*;
    use crate::catalog::testing::*;

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
}
