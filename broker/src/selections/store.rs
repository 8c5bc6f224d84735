//! A selection's effects, in one transaction: the answer, the unmet-demand record, the
//! redirects and the preference record.

use super::domain::{outcome, Selection};
use crate::browsing::store::{record_preference, record_view, Source, Viewed};
use crate::browsing::SessionId;
use crate::catalog::store as catalog;
use crate::error::BrokerError;
use crate::stores::store::record_selection;
use shared::db::AnyConnection;
use shared::ids::{ProductId, StoreId};
use shared::rules::Unsellable;

pub fn select(
    conn: &mut AnyConnection,
    store_id: &StoreId,
    product_id: &ProductId,
    quantity: i64,
    session: Option<&SessionId>,
) -> Result<Selection, BrokerError> {
    let store = catalog::store(conn, store_id)?.ok_or(BrokerError::NotFound("store"))?;
    let product = catalog::product(conn, product_id)?.ok_or(BrokerError::NotFound("product"))?;
    let verdict = catalog::sellability(conn, &store, product_id, quantity)?;
    let offer = catalog::find_offer(conn, store_id, product_id)?;
    let shipper = match (&verdict, &offer) {
        (Err(Unsellable::OutOfStock), Some(o)) if o.union_fulfilment && o.sellable => {
            catalog::union_shipper(conn, store_id, product_id, quantity)?
        }
        _ => None,
    };
    let reason = verdict.err();
    let covered = shipper.is_some();
    if let Some(o) = outcome(reason) {
        record_selection(conn, store_id, product_id, quantity, o)?;
    }
    let (alternatives, backorder) = if reason.is_some() && !covered {
        let alternatives = catalog::alternatives(conn, store_id, product_id, quantity)?;
        let ids: Vec<StoreId> = alternatives.iter().map(|a| a.store_id.clone()).collect();
        catalog::record_redirects(conn, store_id, product_id, &ids)?;
        // The manufacturer's own store is an alternative only for the other stores.
        let backorder = catalog::backorder_offer(conn, product_id)?.filter(|b| &b.store_id != store_id);
        (alternatives, backorder)
    } else {
        (Vec::new(), None)
    };
    record_preference(conn, Source::Selection, session, &product.kind, &product.attributes, Some(product_id))?;
    if let Some(s) = session {
        record_view(conn, s, Viewed { store_id: Some(store_id), product_id: Some(product_id), ..Default::default() })?;
    }
    let price = if reason.is_none() || covered { catalog::quote(conn, &store, product_id)? } else { None };
    Ok(Selection {
        sellable: reason.is_none() || covered,
        reason: if covered { None } else { reason },
        price,
        union_fulfilment: covered,
        alternatives,
        backorder,
    })
}
