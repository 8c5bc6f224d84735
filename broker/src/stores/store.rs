//! Store queries: registration (with its message to settlement), listings, the dashboard.

use crate::catalog::domain::Registration;
use crate::schema::{products, selection_events, stock_movements, stores, suppliers, unions};
use diesel::prelude::*;
use shared::config::ServiceName;
use shared::db::AnyConnection;
use shared::ids::{ProductId, SellerId, StoreId, UnionId};
use shared::messages::Message;
use shared::time::{now, Timestamp};

shared::typed_id!(
    /// A supplier of one store.
    SupplierId,
    "sup"
);

/// Inserts the store and tells settlement in the same transaction, so a store exists for
/// settlement exactly when it exists here.
pub fn insert_store(conn: &mut AnyConnection, s: &Registration) -> QueryResult<()> {
    diesel::insert_into(stores::table)
        .values((
            stores::id.eq(&s.id),
            stores::name.eq(&s.name),
            stores::union_id.eq(s.union_id.as_ref()),
            stores::category.eq(&s.category),
            stores::region.eq(&s.region),
            stores::seller_id.eq(s.seller_id.as_ref()),
            stores::manufacturer_id.eq(s.manufacturer_id.as_ref()),
            stores::created_at.eq(now()),
        ))
        .execute(conn)?;
    let registered = Message::StoreRegistered {
        store_id: s.id.clone(),
        seller_id: s.seller_id.clone(),
        manufacturer_id: s.manufacturer_id.clone(),
        union_id: s.union_id.clone(),
        name: s.name.clone(),
        category: s.category.clone(),
        region: s.region.clone(),
    };
    // Settlement needs the owner for balances; delivery, to let the salesperson run
    // their own node.
    shared::outbox::send(conn, ServiceName::Broker, ServiceName::Delivery, registered.clone())?;
    shared::outbox::send(conn, ServiceName::Broker, ServiceName::Settlement, registered)?;
    Ok(())
}

pub fn union_region(conn: &mut AnyConnection, id: &UnionId) -> QueryResult<Option<String>> {
    unions::table.filter(unions::id.eq(&id)).select(unions::region).first(conn).optional()
}

pub use client::broker::catalog::PublicStore;

/// A store's public face as its columns hold it.
type PublicColumns = (StoreId, String, String, Option<UnionId>, String);

fn public_of((id, name, category, union_id, region): PublicColumns) -> PublicStore {
    PublicStore { id, name, category, union_id, region }
}

macro_rules! public_columns {
    () => {
        (stores::id, stores::name, stores::category, stores::union_id, stores::region)
    };
}

pub fn public_store(conn: &mut AnyConnection, id: &StoreId) -> QueryResult<Option<PublicStore>> {
    let row: Option<PublicColumns> =
        stores::table.filter(stores::id.eq(&id)).select(public_columns!()).first(conn).optional()?;
    Ok(row.map(public_of))
}

pub fn stores_of_union(
    conn: &mut AnyConnection,
    union: &UnionId,
    category: Option<&str>,
) -> QueryResult<Vec<PublicStore>> {
    let mut q = stores::table.filter(stores::union_id.eq(&union)).into_boxed();
    if let Some(c) = category {
        q = q.filter(stores::category.eq(c));
    }
    let rows: Vec<PublicColumns> =
        q.order((stores::category.asc(), stores::name.asc(), stores::id.asc())).select(public_columns!()).load(conn)?;
    Ok(rows.into_iter().map(public_of).collect())
}

pub fn stores_of_seller(conn: &mut AnyConnection, seller: &SellerId) -> QueryResult<Vec<PublicStore>> {
    stores::table
        .filter(stores::seller_id.eq(&seller))
        .order(stores::created_at.asc())
        .select(public_columns!())
        .load::<PublicColumns>(conn)
        .map(|rows| rows.into_iter().map(public_of).collect())
}

/// Unmet demand of one product and outcome: (product, name, outcome, count, last time).
pub type UnmetRow = (ProductId, String, String, i64, Timestamp);

pub fn unmet_demand(conn: &mut AnyConnection, store: &StoreId) -> QueryResult<Vec<UnmetRow>> {
    let rows: Vec<(ProductId, String, i64, Option<Timestamp>)> = selection_events::table
        .filter(selection_events::store_id.eq(&store))
        .group_by((selection_events::product_id, selection_events::outcome))
        .select((
            selection_events::product_id,
            selection_events::outcome,
            diesel::dsl::count_star(),
            diesel::dsl::max(selection_events::created_at),
        ))
        .load(conn)?;
    let ids: Vec<&ProductId> = rows.iter().map(|r| &r.0).collect();
    let names: std::collections::HashMap<ProductId, String> = products::table
        .filter(products::id.eq_any(&ids))
        .select((products::id, products::name))
        .load(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(p, o, c, t)| {
            let name = names.get(&p).cloned().unwrap_or_default();
            (p, name, o, c, t.unwrap_or_else(now))
        })
        .collect())
}

pub fn record_selection(
    conn: &mut AnyConnection,
    store: &StoreId,
    product: &ProductId,
    quantity: i64,
    outcome: &str,
) -> QueryResult<()> {
    diesel::insert_into(selection_events::table)
        .values((
            selection_events::store_id.eq(&store),
            selection_events::product_id.eq(&product),
            selection_events::quantity.eq(quantity),
            selection_events::outcome.eq(outcome),
            selection_events::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct MovementView {
    pub seq: i64,
    pub product_id: ProductId,
    pub delta: i64,
    pub stock_after: i64,
    #[schema(value_type = String)]
    pub kind: crate::catalog::stock::Movement,
    #[schema(value_type = Option<String>)]
    pub supplier_id: Option<SupplierId>,
    pub note: Option<String>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

pub fn movements(
    conn: &mut AnyConnection,
    store: &StoreId,
    product: Option<&ProductId>,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<MovementView>> {
    let mut q = stock_movements::table.filter(stock_movements::store_id.eq(&store)).into_boxed();
    if let Some(p) = product {
        q = q.filter(stock_movements::product_id.eq(p));
    }
    q.order(stock_movements::seq.desc())
        .limit(limit)
        .offset(offset)
        .select((
            stock_movements::seq,
            stock_movements::product_id,
            stock_movements::delta,
            stock_movements::stock_after,
            stock_movements::kind,
            stock_movements::supplier_id,
            stock_movements::note,
            stock_movements::created_at,
        ))
        .load(conn)
}

#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct SupplierView {
    pub id: SupplierId,
    pub name: String,
    pub contact: Option<String>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

pub fn insert_supplier(
    conn: &mut AnyConnection,
    id: &SupplierId,
    store: &StoreId,
    name: &str,
    contact: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(suppliers::table)
        .values((
            suppliers::id.eq(&id),
            suppliers::store_id.eq(&store),
            suppliers::name.eq(name),
            suppliers::contact.eq(contact),
            suppliers::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn suppliers_of(conn: &mut AnyConnection, store: &StoreId) -> QueryResult<Vec<SupplierView>> {
    suppliers::table
        .filter(suppliers::store_id.eq(&store))
        .order((suppliers::name.asc(), suppliers::id.asc()))
        .select((suppliers::id, suppliers::name, suppliers::contact, suppliers::created_at))
        .load(conn)
}

pub fn supplier_of_store(conn: &mut AnyConnection, store: &StoreId, supplier: &SupplierId) -> QueryResult<bool> {
    let n: i64 = suppliers::table
        .filter(suppliers::id.eq(&supplier))
        .filter(suppliers::store_id.eq(&store))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
