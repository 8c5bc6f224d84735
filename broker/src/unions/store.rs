//! Union queries.

use crate::schema::{stores, unions};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::UnionId;
use shared::time::now;

pub use client::broker::catalog::Union;

/// A union as its columns hold it.
type UnionColumns = (UnionId, String, String);

fn union_of((id, name, region): UnionColumns) -> Union {
    Union { id, name, region }
}

pub fn insert_union(conn: &mut AnyConnection, id: &UnionId, name: &str, region: &str) -> QueryResult<()> {
    diesel::insert_into(unions::table)
        .values((unions::id.eq(id), unions::name.eq(name), unions::region.eq(region), unions::created_at.eq(now())))
        .execute(conn)
        .map(|_| ())
}

pub fn union(conn: &mut AnyConnection, id: &UnionId) -> QueryResult<Option<Union>> {
    let row: Option<UnionColumns> = unions::table
        .filter(unions::id.eq(id))
        .select((unions::id, unions::name, unions::region))
        .first(conn)
        .optional()?;
    Ok(row.map(union_of))
}

pub fn unions_in(conn: &mut AnyConnection, region: Option<&str>, limit: i64, offset: i64) -> QueryResult<Vec<Union>> {
    let mut q = unions::table.into_boxed();
    if let Some(r) = region {
        q = q.filter(unions::region.eq(r));
    }
    q.order((unions::region.asc(), unions::name.asc(), unions::id.asc()))
        .limit(limit)
        .offset(offset)
        .select((unions::id, unions::name, unions::region))
        .load::<UnionColumns>(conn)
        .map(|rows| rows.into_iter().map(union_of).collect())
}

/// The union of `region` with the most stores of `category`: where the service centre
/// sends a customer.
pub fn best_fit(conn: &mut AnyConnection, region: &str, category: Option<&str>) -> QueryResult<Option<UnionId>> {
    let mut q = stores::table
        .inner_join(unions::table)
        .filter(unions::region.eq(region))
        .group_by(stores::union_id)
        .select((stores::union_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(c) = category {
        q = q.filter(stores::category.eq(c));
    }
    let mut counts: Vec<(Option<UnionId>, i64)> = q.load(conn)?;
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if let Some(id) = counts.into_iter().find_map(|(u, _)| u) {
        return Ok(Some(id));
    }
    if category.is_some() {
        return Ok(None);
    }
    // A region whose unions have no stores yet: still send the customer to one.
    Ok(unions_in(conn, Some(region), 1, 0)?.into_iter().next().map(|u| u.id))
}
