//! A payout account, parsed.

use crate::error::{Code, Result, SettlementError};
use serde::{Deserialize, Serialize};

/// An account holder and an IBAN that passed its check digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutAccount {
    pub holder: String,
    pub iban: String,
}

impl PayoutAccount {
    pub fn parse(holder: &str, iban: &str) -> Result<Self> {
        let holder = holder.trim();
        if holder.is_empty() || holder.chars().count() > 140 {
            return Err(SettlementError::refused(Code::InvalidHolder, "the holder must be 1 to 140 characters"));
        }
        Ok(PayoutAccount { holder: holder.to_string(), iban: parse_iban(iban)? })
    }

    pub fn last4(&self) -> String {
        self.iban[self.iban.len() - 4..].to_string()
    }
}

/// ISO 13616: two letters, two check digits, up to 30 letters or digits; the check digits
/// make the number, read as digits with letters as 10..35 and the first four moved to the
/// end, equal 1 modulo 97. Spaces are allowed and dropped.
pub fn parse_iban(raw: &str) -> Result<String> {
    let iban: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let bad = || SettlementError::refused(Code::InvalidIban, "not a valid IBAN");
    let b = iban.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b.iter().all(u8::is_ascii_alphanumeric)
    {
        return Err(bad());
    }
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = if c.is_ascii_digit() { (c - b'0') as u32 } else { (c - b'A') as u32 + 10 };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    if rem != 1 {
        return Err(bad());
    }
    Ok(iban)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_are_checked() {
        assert_eq!(parse_iban("DE89 3704 0044 0532 0130 00").unwrap(), "DE89370400440532013000");
        assert_eq!(parse_iban("gb82west12345698765432").unwrap(), "GB82WEST12345698765432");
        assert!(parse_iban("DE89 3704 0044 0532 0130 01").is_err());
        assert!(parse_iban("DE8937").is_err());
        assert!(parse_iban("1289370400440532013000").is_err());
        let a = PayoutAccount::parse("Corner Shop Ltd", "GB82WEST12345698765432").unwrap();
        assert_eq!(a.last4(), "5432");
        assert!(PayoutAccount::parse(" ", "GB82WEST12345698765432").is_err());
    }
}
