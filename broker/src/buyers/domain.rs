//! Pseudonymous buyer accounts (seed `004_…`): a handle and a password, registered
//! equipment, collection points, and the prices a group of buyers gets. Nothing here
//! knows an e-mail address, a name or an order.

use crate::error::{BrokerError, Code};
use shared::money::Money;

pub const MAX_EQUIPMENT: usize = 20;

/// A handle: 3 to 32 characters of `a-z 0-9 _ . -`, lower-cased. It is the account's only
/// name, so it must not look like an address.
pub fn parse_handle(value: &str) -> Result<String, BrokerError> {
    let v = value.trim().to_lowercase();
    let ok = (3..=32).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(v)
    } else {
        Err(BrokerError::refused(Code::InvalidHandle, "`handle` must be 3 to 32 characters of a-z, 0-9, `_`, `.`, `-`"))
    }
}

/// Equipment names as products list them in `compatible_with`: trimmed, lower-cased,
/// deduplicated.
pub fn parse_equipment(values: &[String]) -> Result<Vec<String>, BrokerError> {
    if values.len() > MAX_EQUIPMENT {
        return Err(BrokerError::refused(
            Code::TooMuchEquipment,
            format!("at most {MAX_EQUIPMENT} items of equipment"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let v = v.trim().to_lowercase();
        if v.is_empty() || v.chars().count() > 100 || v.chars().any(char::is_control) {
            return Err(BrokerError::refused(
                Code::InvalidEquipment,
                "equipment names are 1 to 100 printable characters",
            ));
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

pub use client::broker::buyers::Group;

/// A group as given, checked: a known equipment name, or at least one point.
pub fn parse_group(group: Group) -> Result<Group, BrokerError> {
    match group {
        Group::Equipment(e) => {
            let mut v = parse_equipment(&[e])?;
            Ok(Group::Equipment(v.remove(0)))
        }
        Group::MinPoints(p) if p >= 1 => Ok(Group::MinPoints(p)),
        Group::MinPoints(_) => Err(BrokerError::refused(Code::InvalidGroup, "`min_points` must be at least 1")),
    }
}

/// The buyer's price: the lowest of the offer's price and the prices of the groups the
/// buyer belongs to, in the offer's currency.
pub fn user_price(offer_price: Money, groups: &[(Group, Money)], equipment: &[String], points: i64) -> Money {
    groups
        .iter()
        .filter(|(g, p)| p.currency == offer_price.currency && g.includes(equipment, points))
        .map(|(_, p)| *p)
        .fold(offer_price, |best, p| if p.amount < best.amount { p } else { best })
}

/// Points for items handed in at a collection point.
pub fn collection_points(items: i64, per_item: i64) -> Result<i64, BrokerError> {
    if !(1..=1_000).contains(&items) {
        return Err(BrokerError::refused(Code::InvalidItems, "`items` must be 1 to 1000"));
    }
    items.checked_mul(per_item.max(0)).ok_or_else(|| BrokerError::refused(Code::InvalidItems, "too many points"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::money::Currency;

    #[test]
    fn handles() {
        assert_eq!(parse_handle(" Toner.Fan_7 ").unwrap(), "toner.fan_7");
        assert!(parse_handle("ab").is_err());
        assert!(parse_handle("me@example.org").is_err());
        assert!(parse_handle(&"x".repeat(33)).is_err());
    }

    #[test]
    fn equipment_is_deduplicated_and_bounded() {
        let e = parse_equipment(&["LaserJet 4".into(), " LaserJet 4 ".into(), "X-100".into()]).unwrap();
        assert_eq!(e, vec!["laserjet 4".to_string(), "x-100".to_string()]);
        assert!(parse_equipment(&[" ".into()]).is_err());
        assert!(parse_equipment(&vec!["a".to_string(); MAX_EQUIPMENT + 1]).is_err());
    }

    #[test]
    fn group_prices_apply_to_members_only_and_never_raise_the_price() {
        let eur = |a| Money::new(a, Currency::EUR);
        let groups = vec![
            (Group::Equipment("X-100".into()), eur(900)),
            (Group::MinPoints(500), eur(800)),
            (Group::MinPoints(10), eur(1_200)),
        ];
        assert_eq!(user_price(eur(1_000), &groups, &[], 0), eur(1_000));
        assert_eq!(user_price(eur(1_000), &groups, &["X-100".into()], 0), eur(900));
        assert_eq!(user_price(eur(1_000), &groups, &["X-100".into()], 500), eur(800));
        assert_eq!(user_price(eur(1_000), &groups, &[], 20), eur(1_000));
        let usd = vec![(Group::MinPoints(1), Money::new(1, Currency::parse("USD").unwrap()))];
        assert_eq!(user_price(eur(1_000), &usd, &[], 5), eur(1_000));
    }

    #[test]
    fn group_wire_format_and_keys() {
        let g: Group = serde_json::from_str(r#"{"equipment":"X-100"}"#).unwrap();
        assert_eq!(parse_group(g).unwrap().key(), "equipment:x-100");
        let g: Group = serde_json::from_str(r#"{"min_points":100}"#).unwrap();
        assert_eq!(g.key(), "points:100");
        assert!(parse_group(Group::MinPoints(0)).is_err());
    }

    #[test]
    fn points_for_returned_items() {
        assert_eq!(collection_points(3, 50).unwrap(), 150);
        assert!(collection_points(0, 50).is_err());
    }
}
