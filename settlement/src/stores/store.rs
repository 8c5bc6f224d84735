//! Store and sellability rows.

use crate::error::Result;
use crate::schema::{sellability, stores};
use diesel::prelude::*;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::{ManufacturerId, ProductId, SellerId, StoreId, UnionId};
use shared::time::now;

use shared::owner::StoreOwner;

pub struct NewStore<'a> {
    pub store_id: &'a StoreId,
    pub seller_id: Option<&'a SellerId>,
    pub manufacturer_id: Option<&'a ManufacturerId>,
    pub union_id: Option<&'a UnionId>,
    pub name: &'a str,
    pub category: &'a str,
    pub region: &'a str,
}

/// Records a store, or updates it when the broker registers it again.
pub fn upsert_store(conn: &mut AnyConnection, s: &NewStore) -> Result<()> {
    let fields = (
        stores::seller_id.eq(s.seller_id),
        stores::manufacturer_id.eq(s.manufacturer_id),
        stores::union_id.eq(s.union_id),
        stores::name.eq(s.name),
        stores::category.eq(s.category),
        stores::region.eq(s.region),
    );
    let updated = diesel::update(stores::table.find(s.store_id)).set(fields).execute(conn)?;
    if updated == 0 {
        diesel::insert_into(stores::table)
            .values((stores::store_id.eq(s.store_id), fields, stores::created_at.eq(now())))
            .execute(conn)?;
    }
    Ok(())
}

/// The stores of a salesperson, or a manufacturer's own store, in a stable order.
pub fn stores_of(conn: &mut AnyConnection, owner: &StoreOwner) -> Result<Vec<StoreId>> {
    let query = stores::table.order(stores::store_id).select(stores::store_id).into_boxed();
    Ok(match owner {
        StoreOwner::Seller(s) => query.filter(stores::seller_id.eq(s)).load(conn)?,
        StoreOwner::Manufacturer(m) => {
            query.filter(stores::seller_id.is_null()).filter(stores::manufacturer_id.eq(m)).load(conn)?
        }
    })
}

/// The store's owner: `None` for an unknown store.
pub fn owner_of(conn: &mut AnyConnection, store: &StoreId) -> Result<Option<StoreOwner>> {
    let row: Option<(Option<SellerId>, Option<ManufacturerId>)> =
        stores::table.find(store).select((stores::seller_id, stores::manufacturer_id)).first(conn).optional()?;
    Ok(row.and_then(|(seller, manufacturer)| match (seller, manufacturer) {
        (Some(s), _) => Some(StoreOwner::Seller(s)),
        (None, Some(m)) => Some(StoreOwner::Manufacturer(m)),
        (None, None) => None,
    }))
}

/// Records the broker's word that an admin suspended the store (or lifted it). A store
/// not known yet is early: its registration travels ahead of this on the same key.
pub fn set_suspended(conn: &mut AnyConnection, store: &StoreId, suspended: bool) -> Result<()> {
    let at = suspended.then(now);
    let n = diesel::update(stores::table.filter(stores::store_id.eq(store)))
        .set(stores::suspended_at.eq(at))
        .execute(conn)?;
    if n == 0 {
        return Err(shared::Error::NotYet(format!("store_suspended for a store not known yet: {store}")).into());
    }
    Ok(())
}

/// Whether the store is suspended: its remittances wait.
pub fn is_suspended(conn: &mut AnyConnection, store: &StoreId) -> Result<bool> {
    let at: Option<Option<shared::time::Timestamp>> =
        stores::table.filter(stores::store_id.eq(store)).select(stores::suspended_at).first(conn).optional()?;
    Ok(at.flatten().is_some())
}

pub fn set_sellability(
    conn: &mut AnyConnection,
    store: &StoreId,
    product: &ProductId,
    sellable: bool,
    reason: Option<&str>,
) -> Result<()> {
    let t = now();
    let updated = diesel::update(sellability::table.find((store, product)))
        .set((sellability::sellable.eq(sellable), sellability::reason.eq(reason), sellability::updated_at.eq(t)))
        .execute(conn)?;
    if updated == 0 {
        let inserted = conn.transaction(|c| {
            diesel::insert_into(sellability::table)
                .values((
                    sellability::store_id.eq(store),
                    sellability::product_id.eq(product),
                    sellability::sellable.eq(sellable),
                    sellability::reason.eq(reason),
                    sellability::updated_at.eq(t),
                ))
                .execute(c)
        });
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                diesel::update(sellability::table.find((store, product)))
                    .set((sellability::sellable.eq(sellable), sellability::reason.eq(reason)))
                    .execute(conn)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The last published rule for the offer, if any was published.
pub fn sellable(conn: &mut AnyConnection, store: &StoreId, product: &ProductId) -> Result<Option<bool>> {
    Ok(sellability::table.find((store, product)).select(sellability::sellable).first(conn).optional()?)
}
