//! An address becomes an [`Address`] only through [`Address::parse`], so a stored one is
//! always valid. `name` is what the courier asks for at the door: a person's name or a
//! collection code the buyer chose; delivery does not care which.

use crate::error::DeliveryError;
use crate::nodes::domain::Position;
use serde::{Deserialize, Serialize};

/// ISO 3166-1 alpha-2 codes officially assigned.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ \
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET \
FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR \
IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN \
MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR \
TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code)
}

/// A valid shipping address. Its `Debug` hides every field, so it cannot reach a log.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub region: String,
    pub country: String,
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Address(sealed)")
    }
}

pub use client::delivery::AddressInput;

fn text(field: &'static str, value: &str, max: usize, required: bool) -> Result<Option<String>, DeliveryError> {
    let invalid = |reason| DeliveryError::InvalidAddress { field, reason };
    let v = value.trim();
    if v.is_empty() {
        return if required { Err(invalid("is required")) } else { Ok(None) };
    }
    if v.chars().count() > max {
        return Err(invalid("is too long"));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid("contains control characters"));
    }
    Ok(Some(v.to_string()))
}

fn required(field: &'static str, value: &str, max: usize) -> Result<String, DeliveryError> {
    Ok(text(field, value, max, true)?.unwrap_or_default())
}

impl Address {
    pub fn parse(input: &AddressInput) -> Result<(Address, Option<Position>), DeliveryError> {
        let name = required("name", &input.name, 100)?;
        let line1 = required("line1", &input.line1, 200)?;
        let line2 = match &input.line2 {
            Some(l) => text("line2", l, 200, false)?,
            None => None,
        };
        let city = required("city", &input.city, 100)?;
        let postal_code = required("postal_code", &input.postal_code, 16)?;
        if !postal_code.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') {
            return Err(DeliveryError::InvalidAddress {
                field: "postal_code",
                reason: "may hold letters, digits, spaces and hyphens only",
            });
        }
        let region = required("region", &input.region, 64)?;
        let country = input.country.trim().to_ascii_uppercase();
        if !is_country(&country) {
            return Err(DeliveryError::InvalidAddress {
                field: "country",
                reason: "must be an ISO 3166-1 alpha-2 code",
            });
        }
        let position = match input.position {
            Some(p) => Some(Position::parse(p.lat, p.lon).ok_or(DeliveryError::InvalidAddress {
                field: "position",
                reason: "must be a latitude in [-90, 90] and a longitude in [-180, 180]",
            })?),
            None => None,
        };
        Ok((Address { name, line1, line2, city, postal_code, region, country }, position))
    }

    /// The text printed on the parcel.
    pub fn label(&self) -> String {
        let mut lines = vec![self.name.clone(), self.line1.clone()];
        lines.extend(self.line2.clone());
        lines.push(format!("{} {}", self.postal_code, self.city));
        lines.push(self.region.clone());
        lines.push(self.country.clone());
        lines.join("\n")
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an address serializes")
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Address> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AddressInput {
        AddressInput {
            name: " Ada ".into(),
            line1: "1 Main St".into(),
            line2: Some("".into()),
            city: "Lyon".into(),
            postal_code: "69001".into(),
            region: "south".into(),
            country: "fr".into(),
            position: None,
        }
    }

    #[test]
    fn a_valid_address_is_trimmed_and_normalised() {
        let (a, p) = Address::parse(&input()).unwrap();
        assert_eq!((a.name.as_str(), a.country.as_str(), a.line2.clone()), ("Ada", "FR", None));
        assert!(p.is_none());
        assert_eq!(a.label(), "Ada\n1 Main St\n69001 Lyon\nsouth\nFR");
        assert_eq!(Address::from_bytes(&a.to_bytes()).unwrap(), a);
        assert_eq!(format!("{a:?}"), "Address(sealed)");
    }

    #[test]
    fn each_rule_names_its_field() {
        type Change = Box<dyn Fn(&mut AddressInput)>;
        let cases: Vec<(&str, Change)> = vec![
            ("name", Box::new(|i| i.name = "  ".into())),
            ("line1", Box::new(|i| i.line1 = "x".repeat(201))),
            ("line2", Box::new(|i| i.line2 = Some("a\nb".into()))),
            ("city", Box::new(|i| i.city = String::new())),
            ("postal_code", Box::new(|i| i.postal_code = "69<01".into())),
            ("region", Box::new(|i| i.region = String::new())),
            ("country", Box::new(|i| i.country = "XX".into())),
            ("country", Box::new(|i| i.country = "FRA".into())),
            ("position", Box::new(|i| i.position = Some(Position { lat: 0.0, lon: 200.0 }))),
        ];
        for (field, change) in cases {
            let mut i = input();
            change(&mut i);
            match Address::parse(&i) {
                Err(DeliveryError::InvalidAddress { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_country_list_is_alpha_2() {
        assert_eq!(COUNTRIES.split(' ').count(), 249);
        assert!(COUNTRIES.split(' ').all(|c| c.len() == 2));
        assert!(is_country("DE") && is_country("ZW") && !is_country("UK") && !is_country("de"));
    }
}
