//! Payout account rows: sealed, bound to their store.

use super::domain::PayoutAccount;
use crate::error::Result;
use crate::schema::payout_accounts as pa;
use diesel::prelude::*;
use shared::crypto::Sealer;
use shared::db::{is_unique_violation, AnyConnection};
use shared::ids::StoreId;
use shared::time::Timestamp;

/// What is shown of a store's account: never the account itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub last4: String,
    pub updated: Timestamp,
    /// Remittances wait until then (a change not long ago); `None` when not held.
    pub hold_until: Option<Timestamp>,
}

/// Sets the store's account as of `t`, holding its remittances until `hold_until`.
pub fn set(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    store: &StoreId,
    account: &PayoutAccount,
    t: Timestamp,
    hold_until: Option<Timestamp>,
) -> Result<()> {
    let plain = serde_json::to_vec(account).expect("accounts serialize");
    let sealed = sealer.seal(&plain, store.as_str().as_bytes());
    let last4 = account.last4();
    let fields = (
        pa::key_id.eq(&sealed.key_id),
        pa::sealed.eq(&sealed.bytes),
        pa::last4.eq(&last4),
        pa::updated_at.eq(t),
        pa::hold_until.eq(hold_until),
    );
    let updated = diesel::update(pa::table.find(store)).set(fields).execute(conn)?;
    if updated == 0 {
        let inserted =
            conn.transaction(|c| diesel::insert_into(pa::table).values((pa::store_id.eq(store), fields)).execute(c));
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                diesel::update(pa::table.find(store)).set(fields).execute(conn)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The store's account as shown, if it has one.
pub fn summary(conn: &mut AnyConnection, store: &StoreId) -> Result<Option<Summary>> {
    let row: Option<(String, Timestamp, Option<Timestamp>)> =
        pa::table.find(store).select((pa::last4, pa::updated_at, pa::hold_until)).first(conn).optional()?;
    Ok(row.map(|(last4, updated, hold_until)| Summary { last4, updated, hold_until }))
}

/// The account in clear, for the payout file only.
pub fn open(conn: &mut AnyConnection, sealer: &Sealer, store: &StoreId) -> Result<Option<PayoutAccount>> {
    let row: Option<(String, Vec<u8>)> =
        pa::table.find(store).select((pa::key_id, pa::sealed)).first(conn).optional()?;
    let Some((key_id, bytes)) = row else { return Ok(None) };
    let plain = sealer
        .open(&shared::crypto::Sealed { key_id, bytes }, store.as_str().as_bytes())
        .map_err(|e| shared::Error::Internal(format!("payout account of {store}: {e}")))?;
    Ok(Some(
        serde_json::from_slice(&plain)
            .map_err(|e| shared::Error::Internal(format!("payout account of {store}: {e}")))?,
    ))
}
