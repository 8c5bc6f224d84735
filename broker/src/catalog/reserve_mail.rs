//! The mail a store gets when an offer's stock falls to its reserve.

use super::products::product;
use super::stores::store;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::{ProductId, StoreId};

pub(crate) fn mail_reserve(
    conn: &mut AnyConnection,
    store_id: &StoreId,
    product_id: &ProductId,
    stock: i64,
) -> QueryResult<()> {
    let Some(s) = store(conn, store_id)? else { return Ok(()) };
    if s.contact_email.is_empty() {
        return Ok(());
    }
    let product_name = product(conn, product_id)?.map(|p| p.name).unwrap_or_default();
    let mail = shared::mail::Mail {
        to: shared::mail::Recipient::Address { address: s.contact_email.clone() },
        subject: format!("Reserve reached: {product_name}"),
        body: format!(
            "Store {} has {stock} unit(s) left of {product_name} ({product_id}), at or below its reserve.\n",
            s.name
        ),
    };
    shared::mail::queue(conn, store_id.as_str(), &mail)
}
