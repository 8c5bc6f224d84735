use crate::error::DeliveryError;

/// A courier account to create, valid by construction.
#[derive(Clone)]
pub struct NewCourier {
    pub name: String,
    /// Lower-cased, so logins ignore case.
    pub email: String,
    pub password: String,
    pub region: Option<String>,
}

impl std::fmt::Debug for NewCourier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCourier").field("name", &self.name).field("region", &self.region).finish_non_exhaustive()
    }
}

pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl NewCourier {
    pub fn parse(name: &str, email: &str, password: &str, region: Option<&str>) -> Result<NewCourier, DeliveryError> {
        let invalid = |m: &str| DeliveryError::InvalidCourier(m.to_string());
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(invalid("name must have 1 to 100 printable characters"));
        }
        let email = normalise_email(email);
        let well_formed = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            })
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(invalid("email is not an e-mail address"));
        }
        let length = password.chars().count();
        if !(10..=128).contains(&length) {
            return Err(invalid("password must have 10 to 128 characters"));
        }
        let region = match region.map(str::trim) {
            None => None,
            Some(r) if !r.is_empty() && r.chars().count() <= 64 && !r.chars().any(char::is_control) => {
                Some(r.to_string())
            }
            Some(_) => return Err(invalid("region must have 1 to 64 printable characters")),
        };
        Ok(NewCourier { name: name.to_string(), email, password: password.to_string(), region })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn couriers_parse() {
        let c = NewCourier::parse(" Bo ", " Bo@Example.COM ", "long enough pw", Some("north")).unwrap();
        assert_eq!((c.name.as_str(), c.email.as_str(), c.region.as_deref()), ("Bo", "bo@example.com", Some("north")));
        assert!(!format!("{c:?}").contains("long enough"));
        assert!(NewCourier::parse("Bo", "bo.example.com", "long enough pw", None).is_err());
        assert!(NewCourier::parse("Bo", "bo@example", "long enough pw", None).is_err());
        assert!(NewCourier::parse("Bo", "bo@example.com", "short", None).is_err());
        assert!(NewCourier::parse("", "bo@example.com", "long enough pw", None).is_err());
        assert!(NewCourier::parse("Bo", "bo@example.com", "long enough pw", Some(" ")).is_err());
    }
}
