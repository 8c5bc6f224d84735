//! Operator account queries. Roles are stored as one space-separated text, in their order.

use crate::schema::operators;
use client::admin::OperatorView;
use diesel::prelude::*;
use shared::auth::OperatorRole;
use shared::db::AnyConnection;
use shared::ids::OperatorId;
use shared::time::{now, Timestamp};

pub fn roles_text(roles: &[OperatorRole]) -> String {
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    roles.iter().map(|r| r.as_ref()).collect::<Vec<_>>().join(" ")
}

/// The roles of a stored account; a role this build does not know grants nothing.
pub fn roles_of(text: &str) -> Vec<OperatorRole> {
    text.split(' ').filter_map(|r| r.parse().ok()).collect()
}

pub fn email_taken(conn: &mut AnyConnection, email: &str) -> QueryResult<bool> {
    let n: i64 = operators::table.filter(operators::email.eq(email)).count().get_result(conn)?;
    Ok(n > 0)
}

pub struct NewOperator<'a> {
    pub id: &'a OperatorId,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub roles: &'a [OperatorRole],
}

pub fn insert(conn: &mut AnyConnection, new: &NewOperator) -> QueryResult<()> {
    diesel::insert_into(operators::table)
        .values((
            operators::id.eq(new.id),
            operators::name.eq(new.name),
            operators::email.eq(new.email),
            operators::password_hash.eq(new.password_hash),
            operators::roles.eq(roles_text(new.roles)),
            operators::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// What signing in needs: the id, the password hash, the roles and whether it is disabled.
pub struct SignIn {
    pub id: OperatorId,
    pub password_hash: String,
    pub roles: Vec<OperatorRole>,
    pub disabled: bool,
}

pub fn by_email(conn: &mut AnyConnection, email: &str) -> QueryResult<Option<SignIn>> {
    let row: Option<(OperatorId, String, String, Option<Timestamp>)> = operators::table
        .filter(operators::email.eq(email))
        .select((operators::id, operators::password_hash, operators::roles, operators::disabled_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, password_hash, roles, disabled_at)| SignIn {
        id,
        password_hash,
        roles: roles_of(&roles),
        disabled: disabled_at.is_some(),
    }))
}

type Row = (OperatorId, String, String, String, Option<Timestamp>);

fn view((id, name, email, roles, disabled_at): Row) -> OperatorView {
    OperatorView { id, name, email, roles: roles_of(&roles), disabled: disabled_at.is_some() }
}

fn columns() -> (operators::id, operators::name, operators::email, operators::roles, operators::disabled_at) {
    (operators::id, operators::name, operators::email, operators::roles, operators::disabled_at)
}

pub fn get(conn: &mut AnyConnection, id: &OperatorId) -> QueryResult<Option<OperatorView>> {
    let row: Option<Row> = operators::table.filter(operators::id.eq(id)).select(columns()).first(conn).optional()?;
    Ok(row.map(view))
}

pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<OperatorView>> {
    let rows: Vec<Row> = operators::table.order(operators::created_at).select(columns()).limit(1000).load(conn)?;
    Ok(rows.into_iter().map(view).collect())
}

/// Disables or enables an account; `false` when there is no such account.
pub fn set_disabled(conn: &mut AnyConnection, id: &OperatorId, disabled: bool) -> QueryResult<bool> {
    let at = disabled.then(now);
    let n = diesel::update(operators::table.filter(operators::id.eq(id)))
        .set(operators::disabled_at.eq(at))
        .execute(conn)?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_stored_once_each_in_order_and_unknown_ones_grant_nothing() {
        let text = roles_text(&[OperatorRole::Finance, OperatorRole::Admin, OperatorRole::Finance]);
        assert_eq!(text, "admin finance");
        assert_eq!(roles_of(&text), vec![OperatorRole::Admin, OperatorRole::Finance]);
        assert_eq!(roles_of("root admin"), vec![OperatorRole::Admin]);
        assert!(roles_of("").is_empty());
    }
}
