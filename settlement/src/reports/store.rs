//! The finance records a report reads, and the buyer store of a purchase.

use crate::error::Result;
use crate::schema::{orders, payments, stores};
use diesel::prelude::*;
use privacy::analyses::{settled_contributions, Grouping, PublicLabels, Settled};
use privacy::report::Contribution;
use privacy::Window;
use shared::auth::Seller;
use shared::db::AnyConnection;
use shared::ids::{OrderId, StoreId};
use shared::money::Currency;
use std::collections::HashMap;

/// The store a purchase is charged to: the one named (it must be the seller's), or the
/// seller's only store.
pub fn buyer_store(conn: &mut AnyConnection, seller: &Seller, given: Option<&StoreId>) -> Result<StoreId> {
    let owner = shared::owner::StoreOwner::Seller(seller.id.clone());
    crate::stores::routes::resolve_store(conn, &owner, given.cloned())
}

/// The public labels of the grid: the stores' categories and regions as the broker
/// registered them (public facts about stores, not about buyers).
pub fn labels(conn: &mut AnyConnection) -> QueryResult<PublicLabels> {
    let rows: Vec<(String, String)> = stores::table.select((stores::category, stores::region)).distinct().load(conn)?;
    let mut labels = PublicLabels::default();
    for (category, region) in rows {
        labels.categories.insert(category);
        labels.regions.insert(region);
    }
    Ok(labels)
}

/// Every order first paid within `window`, in `currency`: what was captured for it and
/// refunded of it (whenever that happened), under its payee store's category and region.
/// An order belongs to the month of its first capture and nowhere else, so it lies in
/// exactly one month of data.
pub fn settled(conn: &mut AnyConnection, window: Window, currency: Currency) -> QueryResult<Vec<Settled>> {
    let first_paid: Vec<OrderId> = payments::table
        .filter(payments::captured.gt(0))
        .filter(payments::currency.eq(currency))
        .filter(payments::created_at.ge(window.start()))
        .filter(payments::created_at.lt(window.end()))
        .select(payments::order_id)
        .distinct()
        .load(conn)?;
    let mut out = Vec::with_capacity(first_paid.len());
    for chunk in first_paid.chunks(500) {
        let pays: Vec<(OrderId, i64, i64, shared::time::Timestamp)> = payments::table
            .filter(payments::order_id.eq_any(chunk))
            .filter(payments::currency.eq(currency))
            .filter(payments::captured.gt(0))
            .select((payments::order_id, payments::captured, payments::refunded, payments::created_at))
            .load(conn)?;
        let places: Vec<(OrderId, String, String)> = orders::table
            .inner_join(stores::table.on(stores::store_id.eq(orders::store_id)))
            .filter(orders::order_id.eq_any(chunk))
            .select((orders::order_id, stores::category, stores::region))
            .load(conn)?;
        let places: HashMap<OrderId, (String, String)> = places.into_iter().map(|(o, c, r)| (o, (c, r))).collect();
        let mut per_order: HashMap<OrderId, Settled> = HashMap::new();
        for (order, captured, refunded, at) in pays {
            let Some((category, region)) = places.get(&order) else { continue };
            let s = per_order.entry(order.clone()).or_insert_with(|| Settled {
                order: order.into_string(),
                category: category.clone(),
                region: region.clone(),
                at,
                paid: 0,
                refunded: 0,
            });
            s.paid = s.paid.saturating_add(captured);
            s.refunded = s.refunded.saturating_add(refunded);
            s.at = s.at.min(at);
        }
        // Orders whose first capture was before the window belong to an earlier month.
        out.extend(per_order.into_values().filter(|s| s.at >= window.start()));
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.order.cmp(&b.order)));
    Ok(out)
}

/// The labels and contributions a finance report is released from.
pub fn load(
    conn: &mut AnyConnection,
    grouping: Grouping,
    window: Window,
    currency: Currency,
) -> QueryResult<(PublicLabels, Vec<Contribution>)> {
    let labels = labels(conn)?;
    let records = settled(conn, window, currency)?;
    let contributions = settled_contributions(grouping, &labels, &records);
    Ok((labels, contributions))
}
