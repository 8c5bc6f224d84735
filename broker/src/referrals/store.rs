//! Used referral token ids, kept until the token expires: the primary key makes an id
//! count once across every copy of the broker on one database.

use crate::schema::referral_uses;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::time::Timestamp;

/// Claims a token id in the caller's transaction; false when it was used already (here
/// or by a concurrent order, which this insert waits for on PostgreSQL).
pub fn claim(conn: &mut AnyConnection, jti: &str, expires_at: Timestamp) -> QueryResult<bool> {
    // A savepoint, so that losing the race does not abort the order's transaction.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(referral_uses::table)
            .values((referral_uses::jti.eq(jti), referral_uses::expires_at.eq(expires_at)))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if shared::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Forgets token ids that expired before `cutoff`: such a token no longer verifies.
pub fn purge(conn: &mut AnyConnection, cutoff: Timestamp) -> QueryResult<usize> {
    diesel::delete(referral_uses::table.filter(referral_uses::expires_at.lt(cutoff))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::db::{Db, DbError};
    use shared::time::now;

    fn run<T>(db: &Db, f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>) -> T {
        db.write_blocking(|c| f(c).map_err(DbError::from)).unwrap()
    }

    #[test]
    fn a_token_id_is_claimed_once_and_forgotten_after_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("b.db").to_str().unwrap(), 2, crate::MIGRATIONS).unwrap();
        let exp = now() + chrono::Duration::hours(24);
        assert!(run(&db, |c| claim(c, "j1", exp)));
        assert!(!run(&db, |c| claim(c, "j1", exp)), "the second use earns nothing");
        assert!(run(&db, |c| claim(c, "j2", exp)));
        assert_eq!(run(&db, |c| purge(c, now())), 0, "unexpired ids stay");
        assert_eq!(run(&db, |c| purge(c, exp + chrono::Duration::seconds(1))), 2);
        assert!(run(&db, |c| claim(c, "j1", exp)));
    }
}
