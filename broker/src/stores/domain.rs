//! Who may manage a store, and the dashboard's shapes.

use crate::catalog::Store;
use crate::error::BrokerError;
use shared::ids::ProductId;
use shared::time::Timestamp;

pub use shared::owner::StoreOwner;

/// Whether `owner` holds `store`.
pub fn owns(owner: &StoreOwner, store: &Store) -> bool {
    owner.owns(store.seller_id.as_ref(), store.manufacturer_id.as_ref())
}

/// Another owner's store is 403; it exists publicly, so hiding it behind a 404 gains nothing.
pub fn check_owner(owner: &StoreOwner, store: Option<Store>) -> Result<Store, BrokerError> {
    let store = store.ok_or(BrokerError::NotFound("store"))?;
    if owns(owner, &store) {
        Ok(store)
    } else {
        Err(BrokerError::Forbidden("this store belongs to another account".into()))
    }
}

pub use client::broker::stores::UnmetDemand;

/// Folds per-outcome counts into one line per product, most asked first.
pub fn fold_unmet(rows: Vec<(ProductId, String, String, i64, Timestamp)>) -> Vec<UnmetDemand> {
    let mut out: Vec<UnmetDemand> = Vec::new();
    for (product_id, product_name, outcome, n, last) in rows {
        let line = match out.iter_mut().position(|l| l.product_id == product_id) {
            Some(i) => &mut out[i],
            None => {
                out.push(UnmetDemand {
                    product_id,
                    product_name,
                    non_sellable: 0,
                    out_of_stock: 0,
                    total: 0,
                    last_asked: last,
                });
                out.last_mut().expect("just pushed")
            }
        };
        match outcome.as_str() {
            "non_sellable" => line.non_sellable += n,
            _ => line.out_of_stock += n,
        }
        line.total += n;
        line.last_asked = line.last_asked.max(last);
    }
    out.sort_by(|a, b| b.total.cmp(&a.total).then(a.product_id.cmp(&b.product_id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::domain::Registration;
    use shared::ids::{ManufacturerId, SellerId, StoreId};

    fn store(seller: Option<SellerId>, manufacturer: Option<ManufacturerId>) -> Store {
        let registration = Registration {
            id: StoreId::generate(),
            name: "s".into(),
            union_id: None,
            category: "c".into(),
            region: "r".into(),
            seller_id: seller,
            manufacturer_id: manufacturer,
        };
        Store { registration, contact_email: "a@b.c".into(), suspended: false }
    }

    #[test]
    fn only_the_owner_manages_a_store() {
        let me = SellerId::generate();
        let mine = store(Some(me.clone()), None);
        assert!(check_owner(&StoreOwner::Seller(me.clone()), Some(mine.clone())).is_ok());
        let other = StoreOwner::Seller(SellerId::generate());
        assert!(matches!(check_owner(&other, Some(mine)), Err(BrokerError::Forbidden(_))));
        assert!(matches!(check_owner(&StoreOwner::Seller(me), None), Err(BrokerError::NotFound(_))));
        let m = ManufacturerId::generate();
        assert!(owns(&StoreOwner::Manufacturer(m.clone()), &store(None, Some(m))));
    }

    #[test]
    fn unmet_demand_folds_per_product() {
        let t = shared::time::now();
        let (a, b) = (ProductId::generate(), ProductId::generate());
        let lines = fold_unmet(vec![
            (a.clone(), "A".into(), "non_sellable".into(), 2, t),
            (b.clone(), "B".into(), "out_of_stock".into(), 5, t),
            (a.clone(), "A".into(), "out_of_stock".into(), 1, t),
        ]);
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].product_id.clone(), lines[0].total), (b, 5));
        assert_eq!((lines[1].non_sellable, lines[1].out_of_stock, lines[1].total), (2, 1, 3));
    }
}
