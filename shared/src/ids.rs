//! Public ids: random 128-bit values from the system CSPRNG, hex-encoded behind a type
//! prefix (`ord_…`, `pay_…`). Never sequential and never derived from a person. A typed id
//! per resource means an order id cannot be passed where a store id belongs.

use ring::rand::{SecureRandom, SystemRandom};

/// 16 random bytes, hex-encoded.
pub fn random_hex128() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).expect("system random source failed");
    hex(&bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
}

/// Declares a typed id with its prefix.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String, example = json!(concat!($prefix, "_0123456789abcdef0123456789abcdef")))]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, $crate::ids::random_hex128()))
            }

            pub fn parse(value: &str) -> Result<Self, $crate::ids::InvalidId> {
                let valid = value
                    .strip_prefix(concat!($prefix, "_"))
                    .map(|rest| rest.len() == 32 && rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                    .unwrap_or(false);
                if valid {
                    Ok(Self(value.to_string()))
                } else {
                    Err($crate::ids::InvalidId { kind: $prefix, value: value.chars().take(80).collect() })
                }
            }

            /// For values read back from our own database, which only ever holds valid ids.
            pub fn from_db(value: String) -> Self {
                Self(value)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        $crate::sql_text!($name);

        impl TryFrom<String> for $name {
            type Error = $crate::ids::InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ids::InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

typed_id!(OrderId, "ord");
typed_id!(StoreId, "sto");
typed_id!(UnionId, "uni");
typed_id!(ProductId, "prd");
typed_id!(SellerId, "sel");
typed_id!(ManufacturerId, "mfr");
typed_id!(BuyerId, "buy");
typed_id!(PaymentId, "pay");
typed_id!(RefundId, "ref");
typed_id!(PartnerId, "ptn");
typed_id!(ShipmentId, "shp");
typed_id!(NodeId, "nod");
typed_id!(CourierId, "cou");
typed_id!(MessageId, "msg");
typed_id!(ReportId, "rep");
typed_id!(EventId, "evt");
typed_id!(RemittanceId, "rem");
typed_id!(
    /// A buyer's dispute over one order.
    DisputeId,
    "dsp"
);
typed_id!(
    /// A person who runs the marketplace, with roles.
    OperatorId,
    "opr"
);
typed_id!(
    /// A browsing session pseudonym.
    SessionId,
    "ses"
);

/// A route's `{store_id}` and `{product_id}` (an offer's path), each checked.
pub fn store_and_product((store, product): (String, String)) -> Result<(StoreId, ProductId), InvalidId> {
    Ok((StoreId::parse(&store)?, ProductId::parse(&product)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_prefixed_and_parse_back() {
        let a = OrderId::generate();
        let b = OrderId::generate();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("ord_"));
        assert_eq!(a.as_str().len(), 4 + 32);
        assert_eq!(OrderId::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn wrong_prefix_or_shape_is_refused() {
        let store = StoreId::generate();
        assert!(OrderId::parse(store.as_str()).is_err());
        assert!(OrderId::parse("ord_123").is_err());
        assert!(OrderId::parse("ord_0123456789ABCDEF0123456789abcdef").is_err());
        assert!(serde_json::from_str::<OrderId>("\"ord_x\"").is_err());
    }
}
