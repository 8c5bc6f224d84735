//! Browsing and preference records.

use super::SessionId;
use crate::schema::{browsing_events, preference_events};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ProductId, StoreId, UnionId};
use shared::time::{now, Timestamp};
use std::collections::BTreeMap;

/// One step of a browsing sequence: a union, a store or a product viewed.
#[derive(Debug, Default, Clone)]
pub struct Viewed {
    pub union_id: Option<UnionId>,
    pub store_id: Option<StoreId>,
    pub product_id: Option<ProductId>,
}

pub fn record_view(conn: &mut AnyConnection, session: &SessionId, viewed: &Viewed) -> QueryResult<()> {
    diesel::insert_into(browsing_events::table)
        .values((
            browsing_events::session_id.eq(&session),
            browsing_events::union_id.eq(viewed.union_id.as_ref()),
            browsing_events::store_id.eq(viewed.store_id.as_ref()),
            browsing_events::product_id.eq(viewed.product_id.as_ref()),
            browsing_events::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Where a preference came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Search,
    Selection,
}

/// Records what was asked for (kind and characteristics), never who asked. The pseudonym,
/// where there is one, only bounds one browser's weight in the analyses.
pub fn record_preference(
    conn: &mut AnyConnection,
    source: Source,
    session: Option<&SessionId>,
    kind: &str,
    attributes: &BTreeMap<String, String>,
    product: Option<&ProductId>,
) -> QueryResult<()> {
    diesel::insert_into(preference_events::table)
        .values((
            preference_events::source.eq(match source {
                Source::Search => "search",
                Source::Selection => "selection",
            }),
            preference_events::session_id.eq(session),
            preference_events::kind.eq(kind),
            preference_events::attributes.eq(serde_json::to_string(attributes).expect("attributes serialize")),
            preference_events::product_id.eq(product),
            preference_events::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub use client::broker::buyers::ViewRow;

pub fn sequence(conn: &mut AnyConnection, session: &SessionId, limit: i64) -> QueryResult<Vec<ViewRow>> {
    browsing_events::table
        .filter(browsing_events::session_id.eq(&session))
        .order(browsing_events::seq.asc())
        .limit(limit)
        .select((
            browsing_events::union_id,
            browsing_events::store_id,
            browsing_events::product_id,
            browsing_events::created_at,
        ))
        .load::<(Option<UnionId>, Option<StoreId>, Option<ProductId>, Timestamp)>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(|(union_id, store_id, product_id, at)| ViewRow { union_id, store_id, product_id, at })
                .collect()
        })
}

/// Deletes everything kept under the pseudonym: its browsing and its preferences.
pub fn forget(conn: &mut AnyConnection, session: &SessionId) -> QueryResult<usize> {
    let a = diesel::delete(browsing_events::table.filter(browsing_events::session_id.eq(&session))).execute(conn)?;
    let b =
        diesel::delete(preference_events::table.filter(preference_events::session_id.eq(&session))).execute(conn)?;
    Ok(a + b)
}

pub fn preference_count(conn: &mut AnyConnection, session: &SessionId) -> QueryResult<i64> {
    preference_events::table.filter(preference_events::session_id.eq(&session)).count().get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::sqlite;

    #[test]
    fn forgetting_a_session_removes_its_browsing_and_preferences_only() {
        let (_d, mut conn) = sqlite();
        let (mine, theirs) = (SessionId::generate(), SessionId::generate());
        let store = StoreId::generate();
        let attrs = BTreeMap::from([("colour".to_string(), "red".to_string())]);
        for s in [&mine, &theirs] {
            record_view(&mut conn, s, &Viewed { store_id: Some(store.clone()), ..Default::default() }).unwrap();
            record_preference(&mut conn, Source::Search, Some(s), "drill", &attrs, None).unwrap();
        }
        record_preference(&mut conn, Source::Search, None, "drill", &attrs, None).unwrap();
        assert_eq!(sequence(&mut conn, &mine, 10).unwrap().len(), 1);
        assert_eq!(forget(&mut conn, &mine).unwrap(), 2);
        assert!(sequence(&mut conn, &mine, 10).unwrap().is_empty());
        assert_eq!(preference_count(&mut conn, &mine).unwrap(), 0);
        assert_eq!(sequence(&mut conn, &theirs, 10).unwrap().len(), 1);
        assert_eq!(preference_count(&mut conn, &theirs).unwrap(), 1);
        let total: i64 = preference_events::table.count().get_result(&mut conn).unwrap();
        assert_eq!(total, 2, "anonymous preferences stay");
    }
}
