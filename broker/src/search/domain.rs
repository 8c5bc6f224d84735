//! A search request, parsed from the query string before any query runs.

use crate::catalog::domain::{parse_attribute_name, parse_attribute_value, parse_equipment, parse_key};
use crate::error::{BrokerError, Code};
use shared::money::Currency;
use std::collections::BTreeMap;

/// At most this many `attr.` filters: each is one indexed sub-select.
pub const MAX_FILTERS: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub kind: String,
    /// Lower-cased names and values, matched exactly.
    pub attributes: BTreeMap<String, String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub currency: Option<Currency>,
    pub region: Option<String>,
    pub category: Option<String>,
    /// The buyer's region: offers there rank first among equal prices.
    pub near: Option<String>,
    /// Only products that fit this kind of equipment.
    pub compatible: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

fn bad(code: Code, detail: impl Into<String>) -> BrokerError {
    BrokerError::refused(code, detail)
}

fn integer(name: &str, value: &str) -> Result<i64, BrokerError> {
    value.trim().parse::<i64>().map_err(|_| bad(Code::InvalidParameter, format!("`{name}` must be an integer")))
}

/// Parses `kind=K&attr.NAME=VALUE…&min_price=&max_price=&currency=&region=&category=&near=&limit=&offset=`.
pub fn parse(pairs: &[(String, String)]) -> Result<SearchQuery, BrokerError> {
    let mut q = SearchQuery {
        kind: String::new(),
        attributes: BTreeMap::new(),
        min_price: None,
        max_price: None,
        currency: None,
        region: None,
        category: None,
        near: None,
        compatible: None,
        limit: 20,
        offset: 0,
    };
    let mut kind = None;
    for (key, value) in pairs {
        if let Some(name) = key.strip_prefix("attr.") {
            let name = parse_attribute_name(name)?;
            let value = parse_attribute_value(value)?.to_lowercase();
            if q.attributes.insert(name.clone(), value).is_some() {
                return Err(bad(Code::DuplicateParameter, format!("`attr.{name}` given twice")));
            }
            if q.attributes.len() > MAX_FILTERS {
                return Err(bad(Code::TooManyAttributes, format!("at most {MAX_FILTERS} attribute filters")));
            }
            continue;
        }
        match key.as_str() {
            "kind" => kind = Some(parse_key("kind", value)?),
            "min_price" => q.min_price = Some(integer(key, value)?),
            "max_price" => q.max_price = Some(integer(key, value)?),
            "currency" => q.currency = Some(Currency::parse(value.trim())?),
            "region" => q.region = Some(parse_key("region", value)?),
            "category" => q.category = Some(parse_key("category", value)?),
            "near" => q.near = Some(parse_key("near", value)?),
            "compatible" => q.compatible = Some(parse_equipment(value)?),
            "limit" => q.limit = integer(key, value)?,
            "offset" => q.offset = integer(key, value)?,
            other => {
                return Err(bad(
                    Code::UnknownParameter,
                    format!("unknown parameter `{}`", other.chars().take(40).collect::<String>()),
                ))
            }
        }
    }
    q.kind = kind.ok_or_else(|| bad(Code::KindRequired, "`kind` is required"))?;
    if q.min_price.is_some_and(|p| p < 0) || q.max_price.is_some_and(|p| p < 0) {
        return Err(bad(Code::InvalidPriceRange, "prices must not be negative"));
    }
    if let (Some(lo), Some(hi)) = (q.min_price, q.max_price) {
        if lo > hi {
            return Err(bad(Code::InvalidPriceRange, "`min_price` is above `max_price`"));
        }
    }
    if (q.min_price.is_some() || q.max_price.is_some()) && q.currency.is_none() {
        return Err(bad(Code::CurrencyRequired, "a price range needs `currency`"));
    }
    if !(1..=100).contains(&q.limit) {
        return Err(bad(Code::InvalidParameter, "`limit` must be 1 to 100"));
    }
    if !(0..=10_000).contains(&q.offset) {
        return Err(bad(Code::InvalidParameter, "`offset` must be 0 to 10000"));
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    #[test]
    fn a_full_query() {
        let q = parse(&pairs(
            "kind=Drill&attr.Colour=Red&attr.watts=800&min_price=100&max_price=900&currency=EUR&region=north&near=north&limit=5&offset=5",
        ))
        .unwrap();
        assert_eq!(q.kind, "drill");
        assert_eq!(q.attributes["colour"], "red");
        assert_eq!(q.attributes["watts"], "800");
        assert_eq!((q.min_price, q.max_price, q.limit, q.offset), (Some(100), Some(900), 5, 5));
        assert_eq!(q.currency, Some(Currency::EUR));
    }

    #[test]
    fn bad_queries_are_refused() {
        let code = |s: &str| match parse(&pairs(s)) {
            Err(BrokerError::Refused { code, .. }) => code.as_str(),
            Err(e) => panic!("{s}: {e}"),
            Ok(_) => "ok",
        };
        assert_eq!(code("attr.colour=red"), "kind_required");
        assert_eq!(code("kind=drill&min_price=5"), "currency_required");
        assert_eq!(code("kind=drill&min_price=9&max_price=5&currency=EUR"), "invalid_price_range");
        assert_eq!(code("kind=drill&min_price=-1&currency=EUR"), "invalid_price_range");
        assert_eq!(code("kind=drill&min_price=1.5&currency=EUR"), "invalid_parameter");
        assert_eq!(code("kind=drill&attr.a=1&attr.a=2"), "duplicate_parameter");
        assert_eq!(code("kind=drill&colour=red"), "unknown_parameter");
        assert_eq!(code("kind=drill&limit=0"), "invalid_parameter");
        assert_eq!(code("kind=drill&compatible=a%25"), "invalid_parameter");
        assert_eq!(code("kind=drill&attr.bad name=1"), "invalid_attributes");
        let many: String = (0..=MAX_FILTERS).map(|i| format!("&attr.k{i}=v")).collect();
        assert_eq!(code(&format!("kind=drill{many}")), "too_many_attributes");
        assert!(matches!(parse(&pairs("kind=drill&currency=XYZ")), Err(BrokerError::Shared(_))));
    }
}
