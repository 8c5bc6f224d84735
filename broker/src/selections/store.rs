//! A selection's effects, in one transaction: the answer, the unmet-demand record, the
//! redirects and the preference record.

use super::domain::{outcome, Selection};
use crate::browsing::store::{record_preference, record_view, Source, Viewed};
use crate::browsing::SessionId;
use crate::catalog;
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
    let store = catalog::stores::store(conn, store_id)?.ok_or(BrokerError::NotFound("store"))?;
    let product = catalog::products::product(conn, product_id)?.ok_or(BrokerError::NotFound("product"))?;
    let verdict = catalog::offers::sellability(conn, &store, product_id, quantity)?;
    let offer = catalog::offers::find_offer(conn, store_id, product_id)?;
    let shipper = match (&verdict, &offer) {
        (Err(Unsellable::OutOfStock), Some(o)) if o.union_fulfilment && o.sellable => {
            catalog::redirects::union_shipper(conn, store_id, product_id, quantity)?
        }
        _ => None,
    };
    let reason = verdict.err();
    let covered = shipper.is_some();
    if let Some(o) = outcome(reason) {
        record_selection(conn, store_id, product_id, quantity, o)?;
    }
    let (alternatives, backorder) = if reason.is_some() && !covered {
        let alternatives = catalog::redirects::alternatives(conn, store_id, product_id, quantity)?;
        let ids: Vec<StoreId> = alternatives.iter().map(|a| a.store_id.clone()).collect();
        catalog::redirects::record_redirects(conn, store_id, product_id, &ids)?;
        // The manufacturer's own store is an alternative only for the other stores.
        let backorder = catalog::redirects::backorder_offer(conn, product_id)?.filter(|b| &b.store_id != store_id);
        (alternatives, backorder)
    } else {
        (Vec::new(), None)
    };
    record_preference(conn, Source::Selection, session, &product.kind, &product.attributes, Some(product_id))?;
    if let Some(s) = session {
        let viewed =
            Viewed { store_id: Some(store_id.clone()), product_id: Some(product_id.clone()), ..Default::default() };
        record_view(conn, s, &viewed)?;
    }
    let price = if reason.is_none() || covered { catalog::offers::quote(conn, &store, product_id)? } else { None };
    Ok(Selection {
        sellable: reason.is_none() || covered,
        reason: if covered { None } else { reason },
        price,
        union_fulfilment: covered,
        alternatives,
        backorder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::*;
    use crate::schema::preference_events;
    use diesel::prelude::*;

    #[test]
    fn an_unmet_selection_is_recorded_redirected_and_remembered_as_a_preference() {
        let (_d, mut conn) = sqlite();
        let w = world(&mut conn);
        let origin = shop(&mut conn, &w, Some(&w.union_a), "north");
        let able = shop(&mut conn, &w, Some(&w.union_a), "north");
        offer(&mut conn, &origin, &w.product, 900, 5, false);
        offer(&mut conn, &able, &w.product, 950, 5, true);
        let session = SessionId::generate();

        let s = select(&mut conn, &origin, &w.product, 1, Some(&session)).unwrap();
        assert_eq!((s.sellable, s.reason), (false, Some(Unsellable::NonSellable)));
        assert_eq!(s.alternatives[0].store_id, able);
        assert_eq!(s.backorder.as_ref().unwrap().store_id, w.maker_store);
        let redirects: i64 = crate::schema::redirects::table.count().get_result(&mut conn).unwrap();
        assert_eq!(redirects, 1);
        let unmet = crate::stores::store::unmet_demand(&mut conn, &origin).unwrap();
        assert_eq!(unmet.len(), 1);
        assert_eq!((unmet[0].2.as_str(), unmet[0].3), ("non_sellable", 1));

        // A selection the store can serve is not unmet demand, but is a preference.
        let ok = select(&mut conn, &able, &w.product, 5, None).unwrap();
        assert!(ok.sellable && ok.alternatives.is_empty() && ok.backorder.is_none());
        assert_eq!(ok.price, Some(eur(950)));
        assert!(crate::stores::store::unmet_demand(&mut conn, &able).unwrap().is_empty());

        // Preferences hold the kind and characteristics asked for; the pseudonym only where
        // the buyer sent one.
        let prefs: Vec<(String, Option<String>, String, String)> = preference_events::table
            .order(preference_events::seq.asc())
            .select((
                preference_events::source,
                preference_events::session_id,
                preference_events::kind,
                preference_events::attributes,
            ))
            .load(&mut conn)
            .unwrap();
        assert_eq!(prefs.len(), 2);
        assert_eq!(
            prefs[0],
            ("selection".into(), Some(session.to_string()), "drill".into(), r#"{"colour":"Red"}"#.into())
        );
        assert_eq!(prefs[1].1, None);

        // Unknown store or product: nothing is recorded.
        assert!(matches!(
            select(&mut conn, &StoreId::generate(), &w.product, 1, None),
            Err(BrokerError::NotFound("store"))
        ));
        assert!(matches!(
            select(&mut conn, &origin, &ProductId::generate(), 1, None),
            Err(BrokerError::NotFound("product"))
        ));
        assert_eq!(crate::stores::store::unmet_demand(&mut conn, &origin).unwrap()[0].3, 1);
    }
}
