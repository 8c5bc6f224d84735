//! The sellability rules, shared so that the broker (when a buyer selects or orders) and
//! settlement (before it captures a payment) decide alike.

use serde::{Deserialize, Serialize};

/// What a store says about one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRule {
    /// The store may sell the product at all (licence, region, recall, the store's choice).
    pub sellable: bool,
    /// Units the store offers for sale.
    pub stock: i64,
    /// The store opted in to having another store of its union ship for it.
    pub union_fulfilment: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unsellable {
    /// The store cannot sell this product at all.
    NonSellable,
    /// The store could sell it but has fewer units than asked for.
    OutOfStock,
    /// An admin suspended the store: it sells nothing until the suspension is lifted.
    StoreSuspended,
}

impl Unsellable {
    pub fn code(&self) -> &'static str {
        match self {
            Unsellable::NonSellable => "non_sellable",
            Unsellable::OutOfStock => "out_of_stock",
            Unsellable::StoreSuspended => "store_suspended",
        }
    }
}

/// Can this store sell `quantity` units on its own?
pub fn check(offer: Option<&OfferRule>, quantity: i64) -> Result<(), Unsellable> {
    match offer {
        None => Err(Unsellable::NonSellable),
        Some(o) if !o.sellable => Err(Unsellable::NonSellable),
        Some(o) if o.stock < quantity => Err(Unsellable::OutOfStock),
        Some(_) => Ok(()),
    }
}

/// Settlement's re-check at capture time: the product must still be sellable at the
/// payee store. Stock is not re-checked there: it was reserved when the order was placed.
pub fn still_sellable(sellable_snapshot: Option<bool>) -> Result<(), Unsellable> {
    match sellable_snapshot {
        Some(false) => Err(Unsellable::NonSellable),
        // No snapshot yet means no rule was ever published against the offer the order used.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(sellable: bool, stock: i64) -> OfferRule {
        OfferRule { sellable, stock, union_fulfilment: false }
    }

    #[test]
    fn rules() {
        assert_eq!(check(None, 1), Err(Unsellable::NonSellable));
        assert_eq!(check(Some(&offer(false, 10)), 1), Err(Unsellable::NonSellable));
        assert_eq!(check(Some(&offer(true, 0)), 1), Err(Unsellable::OutOfStock));
        assert_eq!(check(Some(&offer(true, 2)), 3), Err(Unsellable::OutOfStock));
        assert_eq!(check(Some(&offer(true, 3)), 3), Ok(()));
        assert_eq!(still_sellable(Some(false)), Err(Unsellable::NonSellable));
        assert_eq!(still_sellable(Some(true)), Ok(()));
    }
}
