//! The stores the catalog sells through, as the orders and the offers read them: a store
//! with its owner and the owner's contact address, and a manufacturer's own store.

use super::domain::{Registration, Store};
use crate::schema::{manufacturers, sellers, stores};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ManufacturerId, StoreId};

/// A store with its owner and the owner's contact address, or `None`.
pub fn store(conn: &mut AnyConnection, id: &StoreId) -> QueryResult<Option<Store>> {
    let row: Option<(Registration, Option<shared::time::Timestamp>)> = stores::table
        .filter(stores::id.eq(id))
        .select((Registration::as_select(), stores::suspended_at))
        .first(conn)
        .optional()?;
    let Some((r, suspended_at)) = row else { return Ok(None) };
    let contact_email = match (&r.seller_id, &r.manufacturer_id) {
        (Some(s), _) => sellers::table.filter(sellers::id.eq(s)).select(sellers::email).first(conn)?,
        (None, Some(m)) => {
            manufacturers::table.filter(manufacturers::id.eq(m)).select(manufacturers::email).first(conn)?
        }
        (None, None) => String::new(),
    };
    Ok(Some(Store { registration: r, contact_email, suspended: suspended_at.is_some() }))
}

/// Whether an admin suspended the store.
pub fn is_suspended(conn: &mut AnyConnection, id: &StoreId) -> QueryResult<bool> {
    let at: Option<Option<shared::time::Timestamp>> =
        stores::table.filter(stores::id.eq(id)).select(stores::suspended_at).first(conn).optional()?;
    Ok(at.flatten().is_some())
}

/// The manufacturer's own store (the seller of its back-orders).
pub fn manufacturer_store(conn: &mut AnyConnection, manufacturer: &ManufacturerId) -> QueryResult<Option<StoreId>> {
    stores::table.filter(stores::manufacturer_id.eq(manufacturer)).select(stores::id).first::<StoreId>(conn).optional()
}

#[cfg(test)]
mod tests {
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
}
