//! A salesperson's reports at one service, the same at the broker and at settlement: the
//! settings and currency, the request body and query, the catalogue, the salesperson's own
//! purchases (another's are not found), their CSV, and the refusals with their codes. How a
//! report is paid stays the service's own: the broker asks settlement to charge the store,
//! settlement charges the store's balance in the purchase's transaction.

use crate::analyses::{AnalysisError, Asked, Request, RequestError, Settings, SettingsError};
use crate::budget::{Analyst, BudgetView, Exhausted};
use crate::period::{Month, PeriodError, Window};
use crate::store::{self, CatalogueEntry, Purchase, PurchaseStatus, ReleaseError, ReportView, StoredRelease};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use shared::db::{AnyConnection, Db, DbError};
use shared::error::ApiError;
use shared::ids::{ReportId, SellerId};
use shared::money::Currency;
use shared::time::now;
use utoipa::{IntoParams, ToSchema};

/// The analyses' settings (`[settings.privacy]`, one table for both services, which check
/// the same split) and the currency prices and values are in.
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

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyBody {
    /// One of the catalogue's kinds: `sales_history` or `preferences` at the broker,
    /// `finances` at settlement.
    pub kind: String,
    /// One of the catalogue's groupings, e.g. `category,region,month`.
    pub group_by: String,
    /// First month (`YYYY-MM`, or a date: the window is widened to whole months).
    pub from: String,
    /// Last month, inclusive.
    pub to: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StoreQuery {
    /// The store to charge; required when the seller has several.
    pub store_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Catalogue {
    pub reports: Vec<CatalogueEntry>,
    /// ε per calendar month of data for everything both services release, this service's
    /// part of it, and what one salesperson may spend of that part.
    #[schema(value_type = Object)]
    pub budget: BudgetView,
}

/// The codes a report request is refused with (the services' error catalogues list them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Code {
    UnknownKind,
    UnknownGrouping,
    InvalidPeriod,
    PeriodReversed,
    PeriodTooLong,
    PeriodOutsideData,
    ReportTooLarge,
    PrivacyBudgetExhausted,
    ReportNotReady,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// What cannot be had now is 409, a request that makes no sense 422.
    pub fn status(self) -> StatusCode {
        match self {
            Code::PrivacyBudgetExhausted | Code::ReportNotReady => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn of_request(e: &RequestError) -> Code {
        match e {
            RequestError::Analysis(AnalysisError::UnknownKind(_)) => Code::UnknownKind,
            RequestError::Analysis(AnalysisError::UnknownGrouping { .. }) => Code::UnknownGrouping,
            RequestError::Analysis(AnalysisError::Grid(_)) => Code::ReportTooLarge,
            RequestError::Period(PeriodError::Malformed(_)) => Code::InvalidPeriod,
            RequestError::Period(PeriodError::Reversed { .. }) => Code::PeriodReversed,
            RequestError::Period(PeriodError::TooLong { .. }) => Code::PeriodTooLong,
            RequestError::Period(PeriodError::OutsideData { .. }) => Code::PeriodOutsideData,
        }
    }
}

/// A refused report request, or a failure underneath.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("{detail}")]
    Refused { code: Code, detail: String },
    #[error(transparent)]
    Shared(#[from] shared::Error),
}

impl ScopeError {
    fn refused(code: Code, detail: impl Into<String>) -> ScopeError {
        ScopeError::Refused { code, detail: detail.into() }
    }
}

impl ApiError for ScopeError {
    fn status(&self) -> StatusCode {
        match self {
            ScopeError::Refused { code, .. } => code.status(),
            ScopeError::Shared(e) => e.status(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ScopeError::Refused { code, .. } => code.as_str(),
            ScopeError::Shared(e) => e.code(),
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ScopeError::Refused { .. } => Vec::new(),
            ScopeError::Shared(e) => e.headers(),
        }
    }
}

impl From<RequestError> for ScopeError {
    fn from(e: RequestError) -> Self {
        ScopeError::refused(Code::of_request(&e), e.to_string())
    }
}

impl From<Exhausted> for ScopeError {
    fn from(e: Exhausted) -> Self {
        ScopeError::refused(
            Code::PrivacyBudgetExhausted,
            format!("{e}; nothing was charged. A copy someone already bought costs no budget."),
        )
    }
}

impl From<ReleaseError> for ScopeError {
    fn from(e: ReleaseError) -> Self {
        match e {
            ReleaseError::Exhausted(x) => x.into(),
            ReleaseError::Db(x) => shared::Error::from(x).into(),
            ReleaseError::Analysis(x) => ScopeError::refused(Code::ReportTooLarge, x.to_string()),
            ReleaseError::Report(x) => shared::Error::Internal(x.to_string()).into(),
            ReleaseError::Settings(x) => shared::Error::Internal(x.to_string()).into(),
        }
    }
}

impl From<diesel::result::Error> for ScopeError {
    fn from(e: diesel::result::Error) -> Self {
        shared::Error::from(e).into()
    }
}

impl From<DbError> for ScopeError {
    fn from(e: DbError) -> Self {
        shared::Error::from(e).into()
    }
}

fn internal(e: impl std::fmt::Display) -> ScopeError {
    shared::Error::Internal(e.to_string()).into()
}

/// What a salesperson asked this analyst for, checked against the months of data held.
pub fn request(c: &mut AnyConnection, r: &Reports, analyst: Analyst, body: &BuyBody) -> Result<Request, ScopeError> {
    let first = store::first_month(c, &r.settings)?;
    let asked = Asked { kind: &body.kind, group_by: &body.group_by, from: &body.from, to: &body.to };
    Ok(Request::parse(analyst, &r.settings, asked, first, Month::of(now()))?)
}

/// The analyst's reports on offer, with what `seller` can still spend this month.
pub async fn catalogue(db: &Db, r: &Reports, analyst: Analyst, seller: SellerId) -> Result<Catalogue, ScopeError> {
    let budget = r.settings.budget().map_err(internal)?;
    let this_month = Month::of(now());
    let settings = r.settings.clone();
    let (first, left) = db
        .read(move |c| {
            let first = store::first_month(c, &settings)?;
            let window = Window { from: this_month, to: this_month };
            let left = store::left(c, &budget, analyst, &seller, window)?;
            Ok::<_, ScopeError>((first, left))
        })
        .await?;
    Ok(Catalogue {
        reports: store::catalogue(&r.settings, analyst, r.currency, first, this_month),
        budget: BudgetView::new(&budget, analyst, left),
    })
}

/// A purchase of `seller`, with its release once completed. Another seller's report is
/// not found.
pub fn mine(
    c: &mut AnyConnection,
    seller: &SellerId,
    id: &ReportId,
) -> Result<(Purchase, Option<StoredRelease>), ScopeError> {
    let p = store::get_purchase(c, id)?
        .filter(|p| &p.seller_id == seller)
        .ok_or_else(|| shared::Error::NotFound("report".into()))?;
    let release = match &p.release_id {
        Some(r) if p.status == PurchaseStatus::Completed => store::release_by_id(c, r)?,
        _ => None,
    };
    Ok((p, release))
}

/// A purchase of `seller` as shown, rows included once completed; with what `seller` can
/// still spend over its window if `with_budget`.
pub async fn view(
    db: &Db,
    r: &Reports,
    analyst: Analyst,
    seller: SellerId,
    id: ReportId,
    with_budget: bool,
) -> Result<ReportView, ScopeError> {
    let r = r.clone();
    db.read(move |c| {
        let (p, release) = mine(c, &seller, &id)?;
        let left = if with_budget {
            let budget = r.settings.budget().map_err(internal)?;
            Some(store::left(c, &budget, analyst, &seller, p.window)?)
        } else {
            None
        };
        Ok(ReportView::of(&p, release.as_ref(), left, r.currency.as_str()))
    })
    .await
}

/// `seller`'s purchases, newest first, without rows: the `{"reports": [...]}` answer.
pub async fn list(
    db: &Db,
    currency: Currency,
    seller: SellerId,
    limit: i64,
    offset: i64,
) -> Result<serde_json::Value, ScopeError> {
    let views = db
        .read(move |c| {
            let ps = store::list_purchases(c, &seller, limit, offset)?;
            Ok::<_, ScopeError>(ps.iter().map(|p| ReportView::of(p, None, None, currency.as_str())).collect::<Vec<_>>())
        })
        .await?;
    Ok(serde_json::json!({ "reports": views }))
}

/// A completed purchase's rows as a CSV attachment; 409 `report_not_ready` before.
pub async fn csv(db: &Db, seller: SellerId, id: ReportId) -> Result<HttpResponse, ScopeError> {
    let name = id.to_string();
    let body = db
        .read(move |c| {
            let (_, release) = mine(c, &seller, &id)?;
            let release =
                release.ok_or_else(|| ScopeError::refused(Code::ReportNotReady, "the report is not charged yet"))?;
            Ok::<_, ScopeError>(release.release.to_csv())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("content-disposition", format!("attachment; filename=\"{name}.csv\"")))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let r = Reports::from_config(&shared::config::Config::default()).unwrap();
        assert_eq!(r.currency, Currency::EUR);
    }

    #[test]
    fn refusals_carry_stable_codes() {
        let first = Month::parse("2026-01").unwrap();
        let last = Month::parse("2026-11").unwrap();
        let code = |analyst: Analyst, kind: &str, group_by: &str, from: &str, to: &str| {
            let asked = Asked { kind, group_by, from, to };
            let e = Request::parse(analyst, &Settings::default(), asked, first, last).unwrap_err();
            let engine = e.code();
            let e = ScopeError::from(e);
            assert_eq!(e.code(), engine, "the engine names the same code");
            (e.status().as_u16(), e.code())
        };
        assert_eq!(code(Analyst::Broker, "finances", "month", "2026-11", "2026-11"), (422, "unknown_kind"));
        assert_eq!(code(Analyst::Settlement, "sales_history", "month", "2026-11", "2026-11"), (422, "unknown_kind"));
        assert_eq!(code(Analyst::Broker, "sales_history", "buyer", "2026-11", "2026-11"), (422, "unknown_grouping"));
        assert_eq!(code(Analyst::Broker, "sales_history", "month", "last week", "2026-11"), (422, "invalid_period"));
        assert_eq!(code(Analyst::Broker, "sales_history", "month", "2026-11", "2026-10"), (422, "period_reversed"));
        assert_eq!(code(Analyst::Broker, "preferences", "kind", "2020-01", "2020-02"), (422, "period_outside_data"));
        let x = Exhausted {
            month: last,
            limit: crate::budget::Limit::Service,
            left: crate::Epsilon::ZERO,
            needed: crate::Epsilon::from_micros(200_000),
        };
        let e = ScopeError::from(ReleaseError::Exhausted(x));
        assert_eq!((e.status().as_u16(), e.code()), (409, "privacy_budget_exhausted"));
        let e = ScopeError::from(ReleaseError::Db(diesel::result::Error::NotFound));
        assert_eq!((e.status().as_u16(), e.code()), (404, "not_found"));
        let codes: Vec<(&str, u16)> =
            <Code as strum::IntoEnumIterator>::iter().map(|c| (c.as_str(), c.status().as_u16())).collect();
        assert!(codes.contains(&("report_not_ready", 409)) && codes.contains(&("report_too_large", 422)), "{codes:?}");
    }
}
