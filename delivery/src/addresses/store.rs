use crate::routing::domain::Destination;
use crate::schema::addresses;
use diesel::prelude::*;
use shared::crypto::Sealed;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::{NodeId, OrderId};
use shared::time::now;

/// Stores or replaces the sealed address of an order.
pub fn upsert(conn: &mut AnyConnection, order: &OrderId, sealed: &Sealed, dest: &Destination) -> QueryResult<()> {
    let branch_order = dest.branch_order.iter().map(NodeId::as_str).collect::<Vec<_>>().join(",");
    loop {
        let n = diesel::update(addresses::table.filter(addresses::order_id.eq(order)))
            .set((
                addresses::key_id.eq(&sealed.key_id),
                addresses::sealed.eq(&sealed.bytes),
                addresses::region.eq(&dest.region),
                addresses::branch_order.eq(&branch_order),
                addresses::updated_at.eq(now()),
            ))
            .execute(conn)?;
        if n == 1 {
            return Ok(());
        }
        let inserted = conn.transaction(|c| {
            diesel::insert_into(addresses::table)
                .values((
                    addresses::order_id.eq(order),
                    addresses::key_id.eq(&sealed.key_id),
                    addresses::sealed.eq(&sealed.bytes),
                    addresses::region.eq(&dest.region),
                    addresses::branch_order.eq(&branch_order),
                    addresses::updated_at.eq(now()),
                ))
                .execute(c)
        });
        match inserted {
            Ok(_) => return Ok(()),
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Where the order goes, as routing needs it; `None` until the address arrives.
pub fn destination(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<Option<Destination>> {
    let row: Option<(String, String)> = addresses::table
        .filter(addresses::order_id.eq(order))
        .select((addresses::region, addresses::branch_order))
        .first(conn)
        .optional()?;
    let Some((region, order)) = row else { return Ok(None) };
    let branch_order = order
        .split(',')
        .filter(|s| !s.is_empty())
        .map(NodeId::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    Ok(Some(Destination { region, branch_order }))
}

pub fn sealed(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<Option<Sealed>> {
    let row: Option<(String, Vec<u8>)> = addresses::table
        .filter(addresses::order_id.eq(order))
        .select((addresses::key_id, addresses::sealed))
        .first(conn)
        .optional()?;
    Ok(row.map(|(key_id, bytes)| Sealed { key_id, bytes }))
}

/// Crypto-shredding: the ciphertext goes; without it the key opens nothing.
pub fn delete(conn: &mut AnyConnection, order: &OrderId) -> QueryResult<usize> {
    diesel::delete(addresses::table.filter(addresses::order_id.eq(order))).execute(conn)
}

/// Deletes addresses older than `before` whose order never became a shipment.
pub fn delete_orphans(conn: &mut AnyConnection, before: shared::time::Timestamp) -> QueryResult<usize> {
    use crate::schema::shipments;
    diesel::delete(
        addresses::table
            .filter(addresses::updated_at.lt(before))
            .filter(diesel::dsl::not(addresses::order_id.eq_any(shipments::table.select(shipments::order_id)))),
    )
    .execute(conn)
}
