//! The records a report reads (the sales history and the preference store), the public
//! facts its grid is built from, and the buyer store of a purchase.

use crate::error::{BrokerError, Code, Result};
use crate::schema::sales;
use crate::schema::{offers, preference_events, product_attributes, products, stores};
use diesel::prelude::*;
use privacy::analyses::{
    interest_contributions, sales_contributions, Grouping, Interest, PublicLabels, ReportKind, Sale,
};
use privacy::report::Contribution;
use privacy::Window;
use shared::db::AnyConnection;
use shared::ids::{SellerId, StoreId};
use shared::money::Currency;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The store a purchase is charged to: the one named (it must be the seller's), or the
/// seller's only store.
pub fn buyer_store(conn: &mut AnyConnection, seller: &SellerId, given: Option<&StoreId>) -> Result<StoreId> {
    match given {
        Some(store) => {
            let owner: Option<Option<String>> =
                stores::table.find(store.as_str()).select(stores::seller_id).first(conn).optional()?;
            match owner {
                None => Err(BrokerError::NotFound("store")),
                Some(Some(o)) if o == seller.as_str() => Ok(store.clone()),
                Some(_) => Err(BrokerError::Forbidden("not your store".into())),
            }
        }
        None => {
            let mut mine: Vec<String> = stores::table
                .filter(stores::seller_id.eq(seller.as_str()))
                .order(stores::id)
                .select(stores::id)
                .load(conn)?;
            match mine.len() {
                0 => Err(BrokerError::refused(Code::NoStore, "open a store before buying reports")),
                1 => Ok(StoreId::from_db(mine.remove(0))),
                _ => Err(BrokerError::StoreRequired),
            }
        }
    }
}

/// The public facts a grid is built from: the catalogue's kinds and characteristics and
/// the stores' categories and regions. Nothing here comes from orders or searches.
pub fn labels(conn: &mut AnyConnection) -> QueryResult<PublicLabels> {
    let mut labels = PublicLabels::default();
    let kinds: Vec<String> = products::table.select(products::kind).distinct().load(conn)?;
    labels.kinds.extend(kinds);
    let places: Vec<(String, String)> =
        stores::table.select((stores::category, stores::region)).distinct().load(conn)?;
    for (category, region) in places {
        labels.categories.insert(category);
        labels.regions.insert(region);
    }
    let attrs: Vec<(String, String, String)> = product_attributes::table
        .inner_join(products::table.on(products::id.eq(product_attributes::product_id)))
        .select((products::kind, product_attributes::name, product_attributes::value))
        .distinct()
        .load(conn)?;
    for (kind, name, value) in attrs {
        labels.attributes.entry(kind).or_default().entry(name).or_default().insert(value);
    }
    Ok(labels)
}

/// The sales history of `window` in `currency`, oldest first. Each sale is one order's.
pub fn sales_in(conn: &mut AnyConnection, window: Window, currency: Currency) -> QueryResult<Vec<Sale>> {
    let rows: Vec<(String, String, String, String, i64, i64, shared::time::Timestamp)> = sales::table
        .filter(sales::currency.eq(currency.as_str()))
        .filter(sales::sold_at.ge(window.start()))
        .filter(sales::sold_at.lt(window.end()))
        .order((sales::sold_at, sales::id))
        .select((
            sales::id,
            sales::kind,
            sales::category,
            sales::region,
            sales::quantity,
            sales::amount,
            sales::sold_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(order, kind, category, region, quantity, value, at)| Sale {
            order,
            kind,
            category,
            region,
            at,
            quantity,
            value,
        })
        .collect())
}

/// What the public offers can serve right now: the products on sale with stock, and for
/// each kind the characteristics of those products.
struct Servable {
    products: HashSet<String>,
    by_kind: HashMap<String, Vec<BTreeMap<String, String>>>,
}

fn servable(conn: &mut AnyConnection) -> QueryResult<Servable> {
    let offered: Vec<(String, String)> = offers::table
        .filter(offers::sellable.eq(true))
        .filter(offers::stock.gt(0))
        .select((offers::product_id, offers::kind))
        .distinct()
        .load(conn)?;
    let ids: Vec<String> = offered.iter().map(|(p, _)| p.clone()).collect();
    let mut attrs: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, String, String)> = product_attributes::table
            .filter(product_attributes::product_id.eq_any(chunk))
            .select((product_attributes::product_id, product_attributes::name, product_attributes::value))
            .load(conn)?;
        for (p, n, v) in rows {
            attrs.entry(p).or_default().insert(n, v);
        }
    }
    let mut by_kind: HashMap<String, Vec<BTreeMap<String, String>>> = HashMap::new();
    for (p, kind) in &offered {
        by_kind.entry(kind.clone()).or_default().push(attrs.get(p).cloned().unwrap_or_default());
    }
    Ok(Servable { products: offered.into_iter().map(|(p, _)| p).collect(), by_kind })
}

/// The preference store of `window`, oldest first. A request counts as unserved when no
/// public offer can serve it at the time the report is computed (the product is on sale
/// nowhere, or no product on sale has the asked characteristics). Requests made without a
/// session pseudonym are each their own privacy unit.
pub fn interests_in(conn: &mut AnyConnection, window: Window) -> QueryResult<Vec<Interest>> {
    type Row = (i64, Option<String>, String, String, Option<String>, shared::time::Timestamp);
    let rows: Vec<Row> = preference_events::table
        .filter(preference_events::created_at.ge(window.start()))
        .filter(preference_events::created_at.lt(window.end()))
        .order(preference_events::seq)
        .select((
            preference_events::seq,
            preference_events::session_id,
            preference_events::kind,
            preference_events::attributes,
            preference_events::product_id,
            preference_events::created_at,
        ))
        .load(conn)?;
    let can = servable(conn)?;
    Ok(rows
        .into_iter()
        .map(|(seq, session, kind, attributes, product, at)| {
            let asked: BTreeMap<String, String> = serde_json::from_str(&attributes).unwrap_or_default();
            let served = match &product {
                Some(p) => can.products.contains(p),
                None => can.by_kind.get(&kind).is_some_and(|offered| {
                    offered.iter().any(|have| asked.iter().all(|(n, v)| have.get(n) == Some(v)))
                }),
            };
            Interest {
                session: session.unwrap_or_else(|| format!("request-{seq}")),
                kind,
                attributes: asked.into_iter().collect(),
                served,
                at,
            }
        })
        .collect())
}

/// The labels and contributions a report is released from.
pub fn load(
    conn: &mut AnyConnection,
    kind: ReportKind,
    grouping: Grouping,
    window: Window,
    currency: Currency,
) -> QueryResult<(PublicLabels, Vec<Contribution>)> {
    let labels = labels(conn)?;
    let contributions = match kind {
        ReportKind::SalesHistory => sales_contributions(grouping, &labels, &sales_in(conn, window, currency)?),
        ReportKind::Preferences => interest_contributions(grouping, &labels, &interests_in(conn, window)?),
        ReportKind::Finances => vec![],
    };
    Ok((labels, contributions))
}
