use crate::schema::couriers;
use diesel::prelude::*;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::CourierId;
use shared::time::now;

/// Inserts the account; `None` when the e-mail is taken.
pub fn insert(
    conn: &mut AnyConnection,
    name: &str,
    email: &str,
    password_hash: &str,
    region: Option<&str>,
) -> QueryResult<Option<CourierId>> {
    let id = CourierId::generate();
    let inserted = conn.transaction(|c| {
        diesel::insert_into(couriers::table)
            .values((
                couriers::id.eq(&id),
                couriers::name.eq(name),
                couriers::email.eq(email),
                couriers::password_hash.eq(password_hash),
                couriers::region.eq(region),
                couriers::created_at.eq(now()),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(Some(id)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `(id, password hash)` of the account with this e-mail.
pub fn credentials(conn: &mut AnyConnection, email: &str) -> QueryResult<Option<(CourierId, String)>> {
    couriers::table
        .filter(couriers::email.eq(email))
        .select((couriers::id, couriers::password_hash))
        .first(conn)
        .optional()
}

/// The courier's region; `Err(NotFound)` for an account that no longer exists.
pub fn region(conn: &mut AnyConnection, id: &CourierId) -> QueryResult<Option<String>> {
    couriers::table.filter(couriers::id.eq(id)).select(couriers::region).first(conn)
}
