//! What the report routes share, and how the privacy engine's refusals become problems.

use crate::error::SettlementError;
use privacy::analyses::{RequestError, Settings, SettingsError};
use privacy::budget::Exhausted;
use privacy::store::ReleaseError;
use shared::money::Currency;

/// The analyses' settings (`[settings.privacy]`, shared with the broker) and the currency
/// prices and values are in.
#[derive(Debug, Clone)]
pub struct Reports {
    pub settings: Settings,
    pub currency: Currency,
}

impl Reports {
    /// Reads and checks the settings: a wrong privacy setting stops the service.
    pub fn from_config(config: &shared::config::Config) -> Result<Reports, SettingsError> {
        let settings = Settings::from_table(config.settings.get("privacy"))?;
        settings.prices_within(config.money.ceiling().get())?;
        let currency = Currency::parse(&settings.currency)
            .map_err(|_| SettingsError::Invalid(format!("unknown currency {}", settings.currency)))?;
        Ok(Reports { settings, currency })
    }
}

pub fn request_error(e: RequestError) -> SettlementError {
    SettlementError::invalid(e.code(), e.to_string())
}

pub fn exhausted(e: Exhausted) -> SettlementError {
    shared::Error::Conflict {
        code: "privacy_budget_exhausted",
        detail: format!("{e}; nothing was charged. A copy someone already bought costs no budget."),
    }
    .into()
}

pub fn release_error(e: ReleaseError) -> SettlementError {
    match e {
        ReleaseError::Exhausted(x) => exhausted(x),
        ReleaseError::Db(x) => x.into(),
        ReleaseError::Analysis(x) => SettlementError::invalid("report_too_large", x.to_string()),
        ReleaseError::Report(x) => shared::Error::Internal(x.to_string()).into(),
        ReleaseError::Settings(x) => shared::Error::Internal(x.to_string()).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::error::ApiError;

    #[test]
    fn refusals_carry_stable_codes() {
        let e = privacy::analyses::Request::parse(
            privacy::budget::Analyst::Settlement,
            &Settings::default(),
            privacy::analyses::Asked { kind: "sales_history", group_by: "month", from: "2026-11", to: "2026-11" },
            privacy::Month::parse("2026-01").unwrap(),
            privacy::Month::parse("2026-11").unwrap(),
        )
        .unwrap_err();
        let e = request_error(e);
        assert_eq!((e.status().as_u16(), e.code()), (422, "unknown_kind"));
        let x = Exhausted {
            month: privacy::Month::parse("2026-11").unwrap(),
            limit: privacy::budget::Limit::Seller,
            left: privacy::Epsilon::ZERO,
            needed: privacy::Epsilon::from_micros(200_000),
        };
        let e = release_error(ReleaseError::Exhausted(x));
        assert_eq!((e.status().as_u16(), e.code()), (409, "privacy_budget_exhausted"));
    }

    #[test]
    fn default_settings_load() {
        let r = Reports::from_config(&shared::config::Config::default()).unwrap();
        assert_eq!(r.currency, Currency::EUR);
    }
}
