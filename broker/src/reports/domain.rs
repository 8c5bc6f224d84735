//! What the report routes share, and how the privacy engine's refusals become problems.

use crate::error::BrokerError;
use privacy::analyses::{RequestError, Settings, SettingsError};
use privacy::budget::Exhausted;
use privacy::store::ReleaseError;
use serde::Deserialize;
use shared::money::Currency;
use utoipa::ToSchema;

/// The analyses' settings (`[settings.privacy]`, shared with settlement, which checks the
/// same split) and the currency prices and values are in.
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyBody {
    /// `sales_history` or `preferences`.
    pub kind: String,
    /// One of the catalogue's groupings, e.g. `category,region,month`.
    pub group_by: String,
    /// First month (`YYYY-MM`, or a date: the window is widened to whole months).
    pub from: String,
    /// Last month, inclusive.
    pub to: String,
}

pub fn request_error(e: RequestError) -> BrokerError {
    BrokerError::invalid(e.code(), e.to_string())
}

pub fn exhausted(e: Exhausted) -> BrokerError {
    BrokerError::conflict(
        "privacy_budget_exhausted",
        format!("{e}; nothing was charged. A copy someone already bought costs no budget."),
    )
}

pub fn release_error(e: ReleaseError) -> BrokerError {
    match e {
        ReleaseError::Exhausted(x) => exhausted(x),
        ReleaseError::Db(x) => x.into(),
        ReleaseError::Analysis(x) => BrokerError::invalid("report_too_large", x.to_string()),
        ReleaseError::Report(x) => shared::Error::Internal(x.to_string()).into(),
        ReleaseError::Settings(x) => shared::Error::Internal(x.to_string()).into(),
    }
}

/// Whether a failure to complete a charged purchase is for good (refund it) or may pass
/// (retry): storage trouble passes, a report that cannot be computed does not.
pub fn is_permanent(e: &ReleaseError) -> bool {
    !matches!(e, ReleaseError::Db(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::error::ApiError;

    #[test]
    fn a_report_price_above_the_money_ceiling_stops_the_service() {
        let over = shared::money::MAX_AMOUNT + 1;
        let config =
            shared::config::Config::from_toml(&format!("[settings.privacy.sales_history]\nprice = {over}\n")).unwrap();
        let e = Reports::from_config(&config).unwrap_err();
        assert!(e.to_string().contains("money ceiling"), "{e}");
        // A lower ceiling lowers what a report may cost.
        let mut config = shared::config::Config::default();
        config.money.max_amount_minor = 2_000;
        assert!(Reports::from_config(&config).is_err());
        config.money.max_amount_minor = 2_500;
        assert!(Reports::from_config(&config).is_ok());
    }

    #[test]
    fn refusals_carry_stable_codes() {
        let first = privacy::Month::parse("2026-01").unwrap();
        let last = privacy::Month::parse("2026-11").unwrap();
        let code = |kind: &str, group_by: &str, from: &str, to: &str| {
            let asked = privacy::analyses::Asked { kind, group_by, from, to };
            let e = privacy::analyses::Request::parse(
                privacy::budget::Analyst::Broker,
                &Settings::default(),
                asked,
                first,
                last,
            )
            .unwrap_err();
            let e = request_error(e);
            (e.status().as_u16(), e.code())
        };
        assert_eq!(code("finances", "month", "2026-11", "2026-11"), (422, "unknown_kind"));
        assert_eq!(code("sales_history", "buyer", "2026-11", "2026-11"), (422, "unknown_grouping"));
        assert_eq!(code("sales_history", "month", "2026-11", "2026-10"), (422, "period_reversed"));
        assert_eq!(code("preferences", "kind", "2020-01", "2020-02"), (422, "period_outside_data"));
        let x = Exhausted {
            month: last,
            limit: privacy::budget::Limit::Service,
            left: privacy::Epsilon::ZERO,
            needed: privacy::Epsilon::from_micros(200_000),
        };
        let e = release_error(ReleaseError::Exhausted(x));
        assert_eq!((e.status().as_u16(), e.code()), (409, "privacy_budget_exhausted"));
        assert!(!is_permanent(&ReleaseError::Db(diesel::result::Error::NotFound)));
    }
}
