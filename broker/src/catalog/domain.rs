//! The catalog's plain types and input rules: products, offers, stores as the rest of the
//! broker sees them.

use crate::error::{BrokerError, Code};
use shared::ids::{ManufacturerId, ProductId, SellerId, StoreId, UnionId};
use shared::money::{Ceiling, Money};
use shared::rules::OfferRule;
use shared::time::Timestamp;
use std::collections::BTreeMap;

/// Bounds on free-form characteristics, so one product cannot bloat the attribute index.
pub const MAX_ATTRIBUTES: usize = 32;
pub const MAX_ATTRIBUTE_NAME: usize = 64;
pub const MAX_ATTRIBUTE_VALUE: usize = 256;
pub const MAX_NAME: usize = 200;
/// Bound on stock and quantities: far above any real shelf, far below overflow.
pub const MAX_STOCK: i64 = 1_000_000_000;

/// A store as it is registered: what it is created with and its row holds. Its owner is
/// for the broker's own use (ownership checks), never shown to buyers.
#[derive(Debug, Clone, PartialEq, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::schema::stores)]
pub struct Registration {
    pub id: StoreId,
    /// The public display name: all a buyer ever learns about the seller.
    pub name: String,
    pub union_id: Option<UnionId>,
    pub category: String,
    pub region: String,
    pub seller_id: Option<SellerId>,
    pub manufacturer_id: Option<ManufacturerId>,
}

/// A store as the broker's other modules need it: its registration and its owner's
/// business address, for the store's mail (never shown to buyers).
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    pub registration: Registration,
    pub contact_email: String,
    /// An admin suspended it: it sells nothing until the suspension is lifted.
    pub suspended: bool,
}

/// A store reads as its registration: `store.name`, `store.seller_id`.
impl std::ops::Deref for Store {
    type Target = Registration;

    fn deref(&self) -> &Registration {
        &self.registration
    }
}

impl Registration {
    /// A manufacturer's own store: the seller of back-orders, made to order.
    pub fn is_manufacturer_store(&self) -> bool {
        self.manufacturer_id.is_some()
    }
}

pub const MANUFACTURER_CATEGORY: &str = "manufacturer";

pub use client::broker::catalog::Product;

/// One store's offer of one product.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub kind: String,
    /// The regular price.
    pub price: Money,
    pub stock: i64,
    pub sellable: bool,
    pub reason: Option<String>,
    pub union_fulfilment: bool,
    pub requires_price_confirmation: bool,
    pub reserve_threshold: Option<i64>,
    /// A time-limited price: honoured while `urgent_until` lies ahead.
    pub urgent_price: Option<Money>,
    pub urgent_until: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl Offer {
    /// What a buyer pays at `now`: the urgent price while it runs, else the regular one.
    pub fn price_at(&self, now: Timestamp) -> Money {
        match (self.urgent_price, self.urgent_until) {
            (Some(p), Some(until)) if until > now => p,
            _ => self.price,
        }
    }

    pub fn current_price(&self) -> Money {
        self.price_at(shared::time::now())
    }

    pub fn rule(&self) -> OfferRule {
        OfferRule { sellable: self.sellable, stock: self.stock, union_fulfilment: self.union_fulfilment }
    }
}

pub use client::broker::catalog::{Alternative, Backorder};

/// A display name, category or region: trimmed, not empty, bounded.
pub fn parse_name(field: &'static str, value: &str) -> Result<String, BrokerError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(BrokerError::refused(Code::EmptyName, format!("`{field}` must not be empty")));
    }
    if v.chars().count() > MAX_NAME || v.chars().any(char::is_control) {
        return Err(BrokerError::refused(
            Code::InvalidName,
            format!("`{field}` is too long or has control characters"),
        ));
    }
    Ok(v.to_string())
}

/// A kind, category or region used as a search key: lower-case, so "Drill" finds "drill".
pub fn parse_key(field: &'static str, value: &str) -> Result<String, BrokerError> {
    Ok(parse_name(field, value)?.to_lowercase())
}

/// An equipment kind a product fits: plain characters only, since search matches it
/// inside the product's stored list.
pub fn parse_equipment(value: &str) -> Result<String, BrokerError> {
    let v = parse_key("compatible", value)?;
    if v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b' ' | b'.')) {
        Ok(v)
    } else {
        Err(BrokerError::refused(Code::InvalidParameter, "equipment kinds are letters, digits, `-`, `.` and spaces"))
    }
}

/// Characteristics: a flat JSON object of strings, numbers or booleans, bounded in count
/// and length. Names are lower-cased; values kept as text (search compares text).
pub fn parse_attributes(value: &serde_json::Value) -> Result<BTreeMap<String, String>, BrokerError> {
    let obj = value
        .as_object()
        .ok_or_else(|| BrokerError::refused(Code::InvalidAttributes, "`attributes` must be an object"))?;
    if obj.len() > MAX_ATTRIBUTES {
        return Err(BrokerError::refused(
            Code::TooManyAttributes,
            format!("at most {MAX_ATTRIBUTES} attributes, got {}", obj.len()),
        ));
    }
    let mut out = BTreeMap::new();
    for (name, v) in obj {
        let name = parse_attribute_name(name)?;
        let text = match v {
            serde_json::Value::String(s) => s.trim().to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => {
                return Err(BrokerError::refused(
                    Code::InvalidAttributes,
                    format!("attribute `{name}` must be a string, number or boolean"),
                ))
            }
        };
        out.insert(name, parse_attribute_value(&text)?);
    }
    Ok(out)
}

pub fn parse_attribute_name(name: &str) -> Result<String, BrokerError> {
    let n = name.trim().to_lowercase();
    let ok = !n.is_empty()
        && n.len() <= MAX_ATTRIBUTE_NAME
        && n.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(n)
    } else {
        Err(BrokerError::refused(
            Code::InvalidAttributes,
            format!("attribute names are 1–{MAX_ATTRIBUTE_NAME} characters of a-z, 0-9, `_`, `-`, `.`"),
        ))
    }
}

pub fn parse_attribute_value(value: &str) -> Result<String, BrokerError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > MAX_ATTRIBUTE_VALUE || v.chars().any(char::is_control) {
        return Err(BrokerError::refused(
            Code::InvalidAttributes,
            format!("attribute values are 1–{MAX_ATTRIBUTE_VALUE} printable characters"),
        ));
    }
    Ok(v.to_string())
}

pub fn parse_stock(field: &'static str, value: i64) -> Result<i64, BrokerError> {
    if (0..=MAX_STOCK).contains(&value) {
        Ok(value)
    } else {
        Err(BrokerError::refused(Code::InvalidQuantity, format!("`{field}` must be between 0 and {MAX_STOCK}")))
    }
}

pub fn parse_quantity(value: i64) -> Result<i64, BrokerError> {
    if (1..=MAX_STOCK).contains(&value) {
        Ok(value)
    } else {
        Err(BrokerError::refused(Code::InvalidQuantity, format!("`quantity` must be between 1 and {MAX_STOCK}")))
    }
}

/// A price must be at least one minor unit and at most the money ceiling
/// (`amount_too_large` above it).
pub fn parse_price(price: Money, ceiling: Ceiling) -> Result<Money, BrokerError> {
    Ok(ceiling.admit(price)?)
}

/// How near `region` lies to `from`: 0 the same region, 1 the same parent region (regions
/// are hierarchical codes such as `north-hamburg`: the part before the first `-` is the
/// parent), 2 elsewhere.
pub fn nearness(from: &str, region: &str) -> u8 {
    if from == region {
        0
    } else if !from.is_empty() && parent_region(from) == parent_region(region) {
        1
    } else {
        2
    }
}

pub fn parent_region(region: &str) -> &str {
    region.split('-').next().unwrap_or(region)
}

/// The reserve threshold is crossed when stock falls from above it to at or below it.
pub fn crosses_reserve(threshold: Option<i64>, before: i64, after: i64) -> bool {
    matches!(threshold, Some(t) if before > t && after <= t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::money::Currency;

    fn eur(a: i64) -> Money {
        Money::new(a, Currency::EUR)
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("name", "  Shop ").unwrap(), "Shop");
        assert_eq!(parse_name("name", "   ").unwrap_err().to_string(), "`name` must not be empty");
        assert!(parse_name("name", &"x".repeat(MAX_NAME + 1)).is_err());
        assert!(parse_name("name", "a\u{0}b").is_err());
        assert_eq!(parse_key("kind", "Drill").unwrap(), "drill");
    }

    #[test]
    fn attributes_are_flat_and_bounded() {
        let a = parse_attributes(&serde_json::json!({"Colour": "red", "watts": 800, "cordless": true})).unwrap();
        assert_eq!(a["colour"], "red");
        assert_eq!(a["watts"], "800");
        assert_eq!(a["cordless"], "true");
        assert!(parse_attributes(&serde_json::json!([1])).is_err());
        assert!(parse_attributes(&serde_json::json!({"a": {"b": 1}})).is_err());
        assert!(parse_attributes(&serde_json::json!({"a b": "x"})).is_err());
        assert!(parse_attributes(&serde_json::json!({"a": ""})).is_err());
        assert!(parse_attributes(&serde_json::json!({"a": "x".repeat(MAX_ATTRIBUTE_VALUE + 1)})).is_err());
        let many: serde_json::Map<_, _> =
            (0..=MAX_ATTRIBUTES).map(|i| (format!("k{i}"), serde_json::json!("v"))).collect();
        let e = parse_attributes(&serde_json::Value::Object(many)).unwrap_err();
        assert!(matches!(e, BrokerError::Refused { code: Code::TooManyAttributes, .. }));
    }

    #[test]
    fn stock_price_and_quantity_bounds() {
        assert!(parse_stock("stock", -1).is_err());
        assert_eq!(parse_stock("stock", 0).unwrap(), 0);
        assert!(parse_quantity(0).is_err());
        assert!(parse_price(eur(0), Ceiling::MAX).is_err());
        assert!(parse_price(eur(-5), Ceiling::MAX).is_err());
        assert_eq!(parse_price(eur(5), Ceiling::MAX).unwrap(), eur(5));
        let code = |m: Money, c: Ceiling| shared::error::ApiError::code(&parse_price(m, c).unwrap_err());
        assert_eq!(code(eur(i64::MAX), Ceiling::MAX), "amount_too_large");
        assert_eq!(code(eur(1_000_000_000_001), Ceiling::MAX), "amount_too_large");
        assert_eq!(code(eur(501), Ceiling::new(500).unwrap()), "amount_too_large");
        assert_eq!(code(eur(0), Ceiling::MAX), "invalid_amount");
    }

    #[test]
    fn urgent_price_runs_until_its_end() {
        let now = shared::time::now();
        let mut offer = Offer {
            store_id: StoreId::generate(),
            product_id: ProductId::generate(),
            kind: "drill".into(),
            price: eur(1000),
            stock: 1,
            sellable: true,
            reason: None,
            union_fulfilment: false,
            requires_price_confirmation: false,
            reserve_threshold: None,
            urgent_price: Some(eur(700)),
            urgent_until: Some(now + chrono::Duration::hours(1)),
            updated_at: now,
        };
        assert_eq!(offer.price_at(now), eur(700));
        assert_eq!(offer.price_at(now + chrono::Duration::hours(2)), eur(1000));
        offer.urgent_until = None;
        assert_eq!(offer.price_at(now), eur(1000));
    }

    #[test]
    fn nearness_follows_the_region_hierarchy() {
        assert_eq!(nearness("north-hamburg", "north-hamburg"), 0);
        assert_eq!(nearness("north-hamburg", "north-kiel"), 1);
        assert_eq!(nearness("north-hamburg", "north"), 1);
        assert_eq!(nearness("north", "north-kiel"), 1);
        assert_eq!(nearness("north", "south"), 2);
        assert_eq!(nearness("", "south"), 2);
    }

    #[test]
    fn reserve_is_crossed_once_on_the_way_down() {
        assert!(crosses_reserve(Some(5), 6, 5));
        assert!(crosses_reserve(Some(5), 10, 0));
        assert!(!crosses_reserve(Some(5), 5, 4));
        assert!(!crosses_reserve(Some(5), 4, 6));
        assert!(!crosses_reserve(None, 10, 0));
    }
}
