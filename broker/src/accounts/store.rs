//! Account queries.

use crate::schema::{manufacturers, sellers};
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ManufacturerId, SellerId};
use shared::time::now;

/// Who an e-mail address belongs to, with the stored password hash.
pub enum Account {
    Seller(SellerId, String),
    Manufacturer(ManufacturerId, String),
}

pub fn email_taken(conn: &mut AnyConnection, email: &str) -> QueryResult<bool> {
    let s: i64 = sellers::table.filter(sellers::email.eq(email)).count().get_result(conn)?;
    let m: i64 = manufacturers::table.filter(manufacturers::email.eq(email)).count().get_result(conn)?;
    Ok(s + m > 0)
}

pub fn insert_seller(conn: &mut AnyConnection, id: &SellerId, name: &str, email: &str, hash: &str) -> QueryResult<()> {
    diesel::insert_into(sellers::table)
        .values((
            sellers::id.eq(&id),
            sellers::name.eq(name),
            sellers::email.eq(email),
            sellers::password_hash.eq(hash),
            sellers::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_manufacturer(
    conn: &mut AnyConnection,
    id: &ManufacturerId,
    name: &str,
    email: &str,
    hash: &str,
) -> QueryResult<()> {
    diesel::insert_into(manufacturers::table)
        .values((
            manufacturers::id.eq(&id),
            manufacturers::name.eq(name),
            manufacturers::email.eq(email),
            manufacturers::password_hash.eq(hash),
            manufacturers::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn by_email(conn: &mut AnyConnection, email: &str) -> QueryResult<Option<Account>> {
    let seller: Option<(SellerId, String)> = sellers::table
        .filter(sellers::email.eq(email))
        .select((sellers::id, sellers::password_hash))
        .first(conn)
        .optional()?;
    if let Some((id, hash)) = seller {
        return Ok(Some(Account::Seller(id, hash)));
    }
    let m: Option<(ManufacturerId, String)> = manufacturers::table
        .filter(manufacturers::email.eq(email))
        .select((manufacturers::id, manufacturers::password_hash))
        .first(conn)
        .optional()?;
    Ok(m.map(|(id, hash)| Account::Manufacturer(id, hash)))
}

pub fn manufacturer_exists(conn: &mut AnyConnection, id: &ManufacturerId) -> QueryResult<bool> {
    let n: i64 = manufacturers::table.filter(manufacturers::id.eq(&id)).count().get_result(conn)?;
    Ok(n > 0)
}

pub fn seller_exists(conn: &mut AnyConnection, id: &SellerId) -> QueryResult<bool> {
    let n: i64 = sellers::table.filter(sellers::id.eq(&id)).count().get_result(conn)?;
    Ok(n > 0)
}
