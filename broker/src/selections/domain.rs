//! What a selection answers.

use shared::rules::Unsellable;

pub use client::broker::catalog::Selection;

/// The outcome recorded for the store's unmet demand: only selections it could not serve
/// itself (a shortage counts even where its union ships for it).
pub fn outcome(reason: Option<Unsellable>) -> Option<&'static str> {
    reason.map(|r| r.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_serialize_as_their_codes() {
        let s = Selection {
            sellable: false,
            reason: Some(Unsellable::NonSellable),
            price: None,
            union_fulfilment: false,
            alternatives: vec![],
            backorder: None,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["reason"], "non_sellable");
        assert!(v["backorder"].is_null());
        assert_eq!(outcome(Some(Unsellable::OutOfStock)), Some("out_of_stock"));
        assert_eq!(outcome(None), None);
    }
}
