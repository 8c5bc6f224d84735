//! Buyer accounts, their equipment and points, collection codes and group prices.

use super::domain::Group;
use crate::schema::{buyer_equipment, buyers, collection_codes, group_prices, order_points};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{BuyerId, OrderId, ProductId, StoreId};
use shared::money::{Currency, Money};
use shared::time::now;

pub fn insert(conn: &mut AnyConnection, id: &BuyerId, handle: &str, hash: &str) -> QueryResult<()> {
    diesel::insert_into(buyers::table)
        .values((
            buyers::id.eq(&id),
            buyers::handle.eq(handle),
            buyers::password_hash.eq(hash),
            buyers::points.eq(0i64),
            buyers::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn handle_taken(conn: &mut AnyConnection, handle: &str) -> QueryResult<bool> {
    let n: i64 = buyers::table.filter(buyers::handle.eq(handle)).count().get_result(conn)?;
    Ok(n > 0)
}

/// The account's id and password hash, by handle.
pub fn credentials(conn: &mut AnyConnection, handle: &str) -> QueryResult<Option<(BuyerId, String)>> {
    buyers::table
        .filter(buyers::handle.eq(handle))
        .select((buyers::id, buyers::password_hash))
        .first::<(BuyerId, String)>(conn)
        .optional()
}

/// What an account holds: handle, points, equipment.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub id: BuyerId,
    pub handle: String,
    pub points: i64,
    pub equipment: Vec<String>,
}

pub fn profile(conn: &mut AnyConnection, id: &BuyerId) -> QueryResult<Option<Profile>> {
    let row: Option<(String, i64)> =
        buyers::table.filter(buyers::id.eq(&id)).select((buyers::handle, buyers::points)).first(conn).optional()?;
    let Some((handle, points)) = row else { return Ok(None) };
    Ok(Some(Profile { id: id.clone(), handle, points, equipment: equipment(conn, id)? }))
}

pub fn equipment(conn: &mut AnyConnection, id: &BuyerId) -> QueryResult<Vec<String>> {
    buyer_equipment::table
        .filter(buyer_equipment::buyer_id.eq(&id))
        .select(buyer_equipment::equipment)
        .order(buyer_equipment::equipment.asc())
        .load(conn)
}

pub fn set_equipment(conn: &mut AnyConnection, id: &BuyerId, items: &[String]) -> QueryResult<()> {
    diesel::delete(buyer_equipment::table.filter(buyer_equipment::buyer_id.eq(&id))).execute(conn)?;
    // One row at a time: batch inserts do not work across both backends.
    for e in items {
        diesel::insert_into(buyer_equipment::table)
            .values((buyer_equipment::buyer_id.eq(&id), buyer_equipment::equipment.eq(e)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn add_points(conn: &mut AnyConnection, id: &BuyerId, points: i64) -> QueryResult<()> {
    diesel::update(buyers::table.filter(buyers::id.eq(&id)))
        .set(buyers::points.eq(buyers::points + points))
        .execute(conn)?;
    Ok(())
}

/// Spends points on an order; `false` when the balance is short. The hold lets a
/// cancellation give them back and is deleted when the order closes.
pub fn spend_points(conn: &mut AnyConnection, id: &BuyerId, order: &OrderId, points: i64) -> QueryResult<bool> {
    let n = diesel::update(buyers::table.filter(buyers::id.eq(&id)).filter(buyers::points.ge(points)))
        .set(buyers::points.eq(buyers::points - points))
        .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    diesel::insert_into(order_points::table)
        .values((order_points::order_id.eq(&order), order_points::buyer_id.eq(&id), order_points::points.eq(points)))
        .execute(conn)?;
    Ok(true)
}

/// Ends an order's points hold; with `refund`, the points go back to the account.
pub fn settle_points(conn: &mut AnyConnection, order: &OrderId, refund: bool) -> QueryResult<()> {
    let hold: Option<(BuyerId, i64)> = order_points::table
        .filter(order_points::order_id.eq(&order))
        .select((order_points::buyer_id, order_points::points))
        .first(conn)
        .optional()?;
    if let Some((buyer, points)) = hold {
        if refund {
            add_points(conn, &buyer, points)?;
        }
        diesel::delete(order_points::table.filter(order_points::order_id.eq(&order))).execute(conn)?;
    }
    Ok(())
}

pub fn insert_collection_code(conn: &mut AnyConnection, id: &BuyerId, code_hash: &str) -> QueryResult<()> {
    diesel::insert_into(collection_codes::table)
        .values((
            collection_codes::code_hash.eq(code_hash),
            collection_codes::buyer_id.eq(&id),
            collection_codes::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Redeems a code once: the account it belongs to, or `None` for an unknown or used code.
pub fn redeem_collection_code(conn: &mut AnyConnection, code_hash: &str, items: i64) -> QueryResult<Option<BuyerId>> {
    let n = diesel::update(
        collection_codes::table
            .filter(collection_codes::code_hash.eq(code_hash))
            .filter(collection_codes::redeemed_at.is_null()),
    )
    .set((collection_codes::redeemed_at.eq(now()), collection_codes::items.eq(items)))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    collection_codes::table
        .filter(collection_codes::code_hash.eq(code_hash))
        .select(collection_codes::buyer_id)
        .first(conn)
        .map(Some)
}

pub fn put_group_price(
    conn: &mut AnyConnection,
    store: &StoreId,
    product: &ProductId,
    group: &Group,
    price: Money,
) -> QueryResult<()> {
    let key = group.key();
    diesel::delete(
        group_prices::table
            .filter(group_prices::store_id.eq(&store))
            .filter(group_prices::product_id.eq(&product))
            .filter(group_prices::group_key.eq(&key)),
    )
    .execute(conn)?;
    let (equipment, min_points) = match group {
        Group::Equipment(e) => (Some(e.as_str()), None),
        Group::MinPoints(p) => (None, Some(*p)),
    };
    diesel::insert_into(group_prices::table)
        .values((
            group_prices::store_id.eq(&store),
            group_prices::product_id.eq(&product),
            group_prices::group_key.eq(key),
            group_prices::equipment.eq(equipment),
            group_prices::min_points.eq(min_points),
            group_prices::amount.eq(price.amount),
            group_prices::currency.eq(&price.currency),
            group_prices::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn group_prices(
    conn: &mut AnyConnection,
    store: &StoreId,
    product: &ProductId,
) -> QueryResult<Vec<(Group, Money)>> {
    let rows: Vec<(Option<String>, Option<i64>, i64, Currency)> = group_prices::table
        .filter(group_prices::store_id.eq(&store))
        .filter(group_prices::product_id.eq(&product))
        .select((group_prices::equipment, group_prices::min_points, group_prices::amount, group_prices::currency))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(e, p, amount, cur)| {
            let group = match (e, p) {
                (Some(e), _) => Group::Equipment(e),
                (None, Some(p)) => Group::MinPoints(p),
                (None, None) => return None,
            };
            Some((group, Money::new(amount, cur)))
        })
        .collect())
}

/// A stored group price: product, equipment, minimum points, amount, currency.
type GroupPriceRow = (ProductId, Option<String>, Option<i64>, i64, Currency);

/// Every group price of a store, by product then group.
pub fn store_group_prices(conn: &mut AnyConnection, store: &StoreId) -> QueryResult<Vec<(ProductId, Group, Money)>> {
    let rows: Vec<GroupPriceRow> = group_prices::table
        .filter(group_prices::store_id.eq(&store))
        .order((group_prices::product_id.asc(), group_prices::group_key.asc()))
        .limit(10_000)
        .select((
            group_prices::product_id,
            group_prices::equipment,
            group_prices::min_points,
            group_prices::amount,
            group_prices::currency,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(product, e, p, amount, cur)| {
            let group = match (e, p) {
                (Some(e), _) => Group::Equipment(e),
                (None, Some(p)) => Group::MinPoints(p),
                (None, None) => return None,
            };
            Some((product, group, Money::new(amount, cur)))
        })
        .collect())
}

/// Products that fit any of the equipment, optionally of one kind. The text match only
/// narrows the scan; the caller checks the parsed list.
pub fn compatible_candidates(
    conn: &mut AnyConnection,
    equipment: &[String],
    kind: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ProductId>> {
    use crate::schema::products;
    let mut ids = Vec::new();
    for e in equipment {
        let needle = format!("%{}%", serde_json::to_string(e).expect("a string serializes"));
        let mut q = products::table
            .filter(products::compatible_with.like(needle))
            .select(products::id)
            .order(products::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(k) = kind {
            q = q.filter(products::kind.eq(k));
        }
        for id in q.load::<ProductId>(conn)? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids.truncate(limit as usize);
    Ok(ids)
}
