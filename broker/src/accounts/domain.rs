//! Credentials as they arrive: parsed before anything is stored.

use crate::error::{BrokerError, Code};

pub const MIN_PASSWORD: usize = 10;
pub const MAX_PASSWORD: usize = 256;

/// A business contact address, lower-cased so that one address is one account.
pub fn parse_email(value: &str) -> Result<String, BrokerError> {
    let v = value.trim().to_lowercase();
    if shared::mail::valid_address(&v) {
        Ok(v)
    } else {
        Err(BrokerError::refused(Code::InvalidEmail, "`email` is not a valid address"))
    }
}

/// Long enough to resist guessing, short enough that hashing it costs nothing extra.
pub fn parse_password(value: &str) -> Result<&str, BrokerError> {
    let n = value.chars().count();
    if (MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        Ok(value)
    } else {
        Err(BrokerError::refused(
            Code::WeakPassword,
            format!("`password` must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_passwords() {
        assert_eq!(parse_email(" Shop@Example.COM ").unwrap(), "shop@example.com");
        assert!(parse_email("not an address").is_err());
        assert!(parse_password("short").is_err());
        assert!(parse_password(&"x".repeat(MAX_PASSWORD + 1)).is_err());
        assert!(parse_password("long enough pass").is_ok());
    }
}
