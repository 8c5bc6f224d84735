//! The seller's notice that the store's payout account changed. Settlement holds the
//! account and the broker holds the address, so settlement tells the broker and the broker
//! mails: a seller whose session was taken over learns of it while the hold still keeps
//! the money back.

use crate::catalog::stores::store;
use diesel::QueryResult;
use shared::db::AnyConnection;
use shared::ids::StoreId;
use shared::mail::{Mail, Recipient};
use shared::time::{to_rfc3339, Timestamp};

/// Queues the notice to the store's contact address, in the caller's transaction. A
/// store the broker does not know, or one without an address, gets none.
pub fn queue(
    conn: &mut AnyConnection,
    store_id: &StoreId,
    changed_at: Timestamp,
    hold_until: Option<Timestamp>,
) -> QueryResult<()> {
    let Some(s) = store(conn, store_id)? else {
        tracing::warn!(store = %store_id, "payout account notice for a store the broker does not know");
        return Ok(());
    };
    if s.contact_email.is_empty() {
        return Ok(());
    }
    let (subject, body) = compose(&s.name, changed_at, hold_until);
    let mail = Mail { to: Recipient::Address { address: s.contact_email }, subject, body };
    shared::mail::queue(conn, &format!("payout/{store_id}"), &mail)
}

/// Says what changed and when, and until when remittances wait; never the account itself.
pub fn compose(store_name: &str, changed_at: Timestamp, hold_until: Option<Timestamp>) -> (String, String) {
    let subject = format!("Payout account changed: {store_name}");
    // Short lines: the mail stays plain 7-bit text.
    let hold = match hold_until {
        Some(t) => format!("Remittances to this store are held until {}.\n", to_rfc3339(t)),
        None => String::new(),
    };
    let body = format!(
        "The payout account of store {store_name} was changed\nat {}.\n{hold}\
         If you did not make this change, change your password\nand tell the marketplace operator.\n",
        to_rfc3339(changed_at)
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_names_the_time_and_the_hold() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap().and_hms_opt(5, 0, 0).unwrap();
        let until = t + chrono::Duration::hours(72);
        let (subject, body) = compose("Corner B", t, Some(until));
        assert!(subject.contains("Corner B"));
        assert!(body.contains("2026-12-02T05:00:00.000Z"), "{body}");
        assert!(body.contains("held until 2026-12-05T05:00:00.000Z"), "{body}");
        let (_, no_hold) = compose("Corner B", t, None);
        assert!(!no_hold.contains("held"), "{no_hold}");
    }
}
