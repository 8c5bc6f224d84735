//! The analyses sold to salespeople: their kinds, the groupings each offers, the public
//! grid each grouping is released over, how records become bounded contributions, and
//! the settings (with their defaults) that fix ε, caps, threshold and prices.

use crate::budget::{Analyst, Budget, BudgetError};
use crate::epsilon::{Epsilon, InvalidEpsilon};
use crate::grid::{labels_with_other, public_or_other, CellKey, Grid, GridError, OTHER};
use crate::period::{Month, PeriodError, Window};
use crate::report::{Contribution, RatioSpec, ReportSpec, SumSpec};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::AsRefStr,
    strum::IntoStaticStr,
    strum::Display,
)]
#[cfg_attr(feature = "store", derive(diesel::AsExpression, diesel::FromSqlRow))]
#[cfg_attr(feature = "store", diesel(sql_type = diesel::sql_types::Text))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReportKind {
    /// Broker: units and value sold. Privacy unit: the order.
    SalesHistory,
    /// Broker: what buyers searched for and selected, served or not. Privacy unit: the
    /// session pseudonym.
    Preferences,
    /// Settlement: paid value, refunds, average basket. Privacy unit: the order.
    Finances,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("unknown report kind `{0}`")]
    UnknownKind(String),
    #[error("`{grouping}` is not a grouping of {kind}; choose one of: {options}")]
    UnknownGrouping { kind: String, grouping: String, options: String },
    #[error(transparent)]
    Grid(#[from] GridError),
}

impl ReportKind {
    pub const ALL: [ReportKind; 3] = [ReportKind::SalesHistory, ReportKind::Preferences, ReportKind::Finances];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A kind this analyst sells; any other name is unknown there.
    pub fn parse(s: &str, analyst: Analyst) -> Result<ReportKind, AnalysisError> {
        ReportKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s && k.analyst() == analyst)
            .ok_or_else(|| AnalysisError::UnknownKind(s.chars().take(40).collect()))
    }

    pub fn analyst(self) -> Analyst {
        match self {
            ReportKind::SalesHistory | ReportKind::Preferences => Analyst::Broker,
            ReportKind::Finances => Analyst::Settlement,
        }
    }

    pub fn of(analyst: Analyst) -> Vec<ReportKind> {
        ReportKind::ALL.into_iter().filter(|k| k.analyst() == analyst).collect()
    }

    /// What one privacy unit is.
    pub fn unit(self) -> &'static str {
        match self {
            ReportKind::SalesHistory | ReportKind::Finances => "order",
            ReportKind::Preferences => "session",
        }
    }

    /// The groupings on offer, as dimension names joined by commas.
    pub fn groupings(self) -> &'static [&'static str] {
        match self {
            ReportKind::SalesHistory => &[
                "kind",
                "category",
                "region",
                "month",
                "price_band",
                "kind,month",
                "category,month",
                "region,month",
                "price_band,month",
                "category,region",
                "category,region,month",
                "kind,region",
            ],
            ReportKind::Preferences => &["kind", "kind,month", "kind,attribute", "kind,attribute,value"],
            ReportKind::Finances => &[
                "category",
                "region",
                "month",
                "category,month",
                "region,month",
                "category,region",
                "category,region,month",
            ],
        }
    }

    /// Parses a grouping; spaces around the commas are ignored.
    pub fn grouping(self, s: &str) -> Result<Grouping, AnalysisError> {
        let canonical: String = s.split(',').map(str::trim).collect::<Vec<_>>().join(",");
        match self.groupings().iter().find(|g| **g == canonical) {
            Some(g) => Ok(Grouping { kind: self, name: g }),
            None => Err(AnalysisError::UnknownGrouping {
                kind: self.as_str().into(),
                grouping: s.chars().take(60).collect(),
                options: self.groupings().join(" | "),
            }),
        }
    }

    /// The measures of a released row, in order.
    pub fn spec(self, settings: &Settings) -> ReportSpec {
        let threshold = settings.threshold;
        match self {
            ReportKind::SalesHistory => ReportSpec {
                count: "orders".into(),
                count_share_bps: 5_000,
                sums: vec![
                    SumSpec { name: "units".into(), cap: settings.sales_history.units_cap, share_bps: 2_000 },
                    SumSpec { name: "value".into(), cap: settings.sales_history.value_cap, share_bps: 3_000 },
                ],
                ratios: vec![],
                max_cells_per_unit: 1,
                epsilon: settings.sales_history.epsilon,
                threshold,
            },
            ReportKind::Preferences => ReportSpec {
                count: "sessions".into(),
                count_share_bps: 6_000,
                sums: vec![SumSpec { name: "unserved".into(), cap: 1, share_bps: 4_000 }],
                ratios: vec![],
                max_cells_per_unit: settings.preferences.max_cells_per_session,
                epsilon: settings.preferences.epsilon,
                threshold,
            },
            ReportKind::Finances => ReportSpec {
                count: "orders".into(),
                count_share_bps: 4_000,
                sums: vec![
                    SumSpec { name: "paid".into(), cap: settings.finances.value_cap, share_bps: 3_000 },
                    SumSpec { name: "refunded".into(), cap: settings.finances.value_cap, share_bps: 3_000 },
                ],
                ratios: vec![RatioSpec {
                    name: "average_basket".into(),
                    numerator: "paid".into(),
                    denominator: "orders".into(),
                }],
                max_cells_per_unit: 1,
                epsilon: settings.finances.epsilon,
                threshold,
            },
        }
    }

    pub fn price_minor(self, settings: &Settings) -> i64 {
        match self {
            ReportKind::SalesHistory => settings.sales_history.price,
            ReportKind::Preferences => settings.preferences.price,
            ReportKind::Finances => settings.finances.price,
        }
    }
}

/// A grouping of a kind, one of [`ReportKind::groupings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouping {
    kind: ReportKind,
    name: &'static str,
}

impl Grouping {
    pub fn as_str(&self) -> &'static str {
        self.name
    }

    pub fn dimensions(&self) -> Vec<&'static str> {
        self.name.split(',').collect()
    }

    fn has(&self, dim: &str) -> bool {
        self.dimensions().contains(&dim)
    }
}

/// A report asked for: kind, grouping and whole-month window, checked against the months
/// the service holds data for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub kind: ReportKind,
    pub grouping: Grouping,
    pub window: Window,
}

/// The fields of a purchase request, as given.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub kind: &'a str,
    pub group_by: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Period(#[from] PeriodError),
}

impl RequestError {
    /// The stable problem code.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::Analysis(AnalysisError::UnknownKind(_)) => "unknown_kind",
            RequestError::Analysis(AnalysisError::UnknownGrouping { .. }) => "unknown_grouping",
            RequestError::Analysis(AnalysisError::Grid(_)) => "report_too_large",
            RequestError::Period(PeriodError::Malformed(_)) => "invalid_period",
            RequestError::Period(PeriodError::Reversed { .. }) => "period_reversed",
            RequestError::Period(PeriodError::TooLong { .. }) => "period_too_long",
            RequestError::Period(PeriodError::OutsideData { .. }) => "period_outside_data",
        }
    }
}

impl Request {
    /// Parses what a salesperson asked this analyst for. `first` and `last` are the months
    /// of data the service holds (`last` is the current month).
    pub fn parse(
        analyst: Analyst,
        settings: &Settings,
        asked: Asked<'_>,
        first: Month,
        last: Month,
    ) -> Result<Request, RequestError> {
        let kind = ReportKind::parse(asked.kind, analyst)?;
        let grouping = kind.grouping(asked.group_by)?;
        let window = Window::parse(asked.from, asked.to)?;
        window.check(settings.max_window_months, first, last)?;
        Ok(Request { kind, grouping, window })
    }
}

/// Unit-price bands, in minor units: fixed, so that the grid never depends on the prices
/// that were actually paid.
pub const PRICE_BANDS: [(i64, &str); 5] =
    [(0, "0-10"), (1_000, "10-50"), (5_000, "50-100"), (10_000, "100-500"), (50_000, "500+")];

pub fn price_band(unit_price_minor: i64) -> &'static str {
    PRICE_BANDS.iter().rev().find(|(from, _)| unit_price_minor >= *from).map(|(_, l)| *l).unwrap_or(PRICE_BANDS[0].1)
}

/// The public facts a grid is built from: the catalogue's kinds and characteristics, the
/// stores' categories and regions. None of it comes from orders or searches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicLabels {
    pub kinds: BTreeSet<String>,
    pub categories: BTreeSet<String>,
    pub regions: BTreeSet<String>,
    /// kind → attribute name → the values the catalogue lists.
    pub attributes: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl PublicLabels {
    fn list(set: &BTreeSet<String>) -> Vec<String> {
        labels_with_other(set.iter().cloned())
    }
}

/// The grid of a grouping over a window: every combination of the public labels (each
/// dimension with an `(other)` bucket) and every month of the window.
pub fn grid(grouping: Grouping, labels: &PublicLabels, window: Window) -> Result<Grid, AnalysisError> {
    let months: Vec<String> = window.months().iter().map(Month::to_string).collect();
    if grouping.has("attribute") {
        // An attribute belongs to a kind and a value to an attribute: list the cells.
        let with_value = grouping.has("value");
        let mut cells: Vec<CellKey> = vec![];
        for kind in PublicLabels::list(&labels.kinds) {
            let attrs = labels.attributes.get(&kind).cloned().unwrap_or_default();
            for attr in labels_with_other(attrs.keys().cloned()) {
                if with_value {
                    let values = attrs.get(&attr).cloned().unwrap_or_default();
                    for value in labels_with_other(values) {
                        cells.push(vec![kind.clone(), attr.clone(), value]);
                    }
                } else {
                    cells.push(vec![kind.clone(), attr]);
                }
            }
        }
        let dims = grouping.dimensions().into_iter().map(String::from).collect();
        return Ok(Grid::from_cells(dims, cells)?);
    }
    let dims: Vec<(&str, Vec<String>)> = grouping
        .dimensions()
        .into_iter()
        .map(|d| {
            let labels = match d {
                "kind" => PublicLabels::list(&labels.kinds),
                "category" => PublicLabels::list(&labels.categories),
                "region" => PublicLabels::list(&labels.regions),
                "month" => months.clone(),
                "price_band" => PRICE_BANDS.iter().map(|(_, l)| l.to_string()).collect(),
                other => unreachable!("grouping dimension {other} is handled above"),
            };
            (d, labels)
        })
        .collect();
    Ok(Grid::product(&dims)?)
}

/// One sale as the broker records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sale {
    pub order: String,
    pub kind: String,
    pub category: String,
    pub region: String,
    pub at: NaiveDateTime,
    pub quantity: i64,
    /// Order value in minor units of the report currency.
    pub value: i64,
}

/// One search or selection as the broker's preference store records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Interest {
    /// The session pseudonym.
    pub session: String,
    pub kind: String,
    pub attributes: Vec<(String, String)>,
    /// False when no store could serve it (no result, not sellable, out of stock).
    pub served: bool,
    pub at: NaiveDateTime,
}

/// One order as settlement books it: what was paid for it and refunded of it, in minor
/// units of the report currency, and the payee store's public category and region.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub order: String,
    pub category: String,
    pub region: String,
    /// When it was paid: the month of data the order belongs to.
    pub at: NaiveDateTime,
    pub paid: i64,
    pub refunded: i64,
}

fn cell(grouping: Grouping, labels: &PublicLabels, pick: impl Fn(&str) -> String) -> CellKey {
    grouping
        .dimensions()
        .into_iter()
        .map(|d| {
            let raw = pick(d);
            match d {
                "kind" => public_or_other(&raw, &PublicLabels::list(&labels.kinds)),
                "category" => public_or_other(&raw, &PublicLabels::list(&labels.categories)),
                "region" => public_or_other(&raw, &PublicLabels::list(&labels.regions)),
                _ => raw,
            }
        })
        .collect()
}

pub fn sales_contributions(grouping: Grouping, labels: &PublicLabels, sales: &[Sale]) -> Vec<Contribution> {
    sales
        .iter()
        .map(|s| Contribution {
            unit: s.order.clone(),
            cell: cell(grouping, labels, |d| match d {
                "kind" => s.kind.clone(),
                "category" => s.category.clone(),
                "region" => s.region.clone(),
                "month" => Month::of(s.at).to_string(),
                "price_band" => price_band(if s.quantity > 0 { s.value / s.quantity } else { s.value }).to_string(),
                _ => String::new(),
            }),
            values: vec![s.quantity, s.value],
        })
        .collect()
}

/// One contribution per interest, or per characteristic asked for when the grouping is by
/// attribute; the per-session cell limit then keeps a session's first few.
pub fn interest_contributions(grouping: Grouping, labels: &PublicLabels, interests: &[Interest]) -> Vec<Contribution> {
    let kinds = PublicLabels::list(&labels.kinds);
    let mut out = vec![];
    for i in interests {
        let kind = public_or_other(&i.kind, &kinds);
        let unserved = i64::from(!i.served);
        if grouping.has("attribute") {
            let attrs = labels.attributes.get(&kind).cloned().unwrap_or_default();
            for (name, value) in &i.attributes {
                let attr = if attrs.contains_key(name) { name.clone() } else { OTHER.to_string() };
                let mut key = vec![kind.clone(), attr.clone()];
                if grouping.has("value") {
                    let known = attrs.get(&attr).is_some_and(|v| v.contains(value));
                    key.push(if known { value.clone() } else { OTHER.to_string() });
                }
                out.push(Contribution { unit: i.session.clone(), cell: key, values: vec![unserved] });
            }
        } else {
            out.push(Contribution {
                unit: i.session.clone(),
                cell: cell(grouping, labels, |d| match d {
                    "kind" => i.kind.clone(),
                    "month" => Month::of(i.at).to_string(),
                    _ => String::new(),
                }),
                values: vec![unserved],
            });
        }
    }
    out
}

pub fn settled_contributions(grouping: Grouping, labels: &PublicLabels, settled: &[Settled]) -> Vec<Contribution> {
    settled
        .iter()
        .map(|s| Contribution {
            unit: s.order.clone(),
            cell: cell(grouping, labels, |d| match d {
                "category" => s.category.clone(),
                "region" => s.region.clone(),
                "month" => Month::of(s.at).to_string(),
                _ => String::new(),
            }),
            values: vec![s.paid, s.refunded],
        })
        .collect()
}

/// The settings of the analyses, shared by broker and settlement (`[settings.privacy]` in
/// the configuration file). The defaults are argued in the README.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// ε per calendar month of buyer data, for everything both services ever release.
    pub monthly_epsilon: Epsilon,
    /// The broker's part (sales history and preferences).
    pub broker_epsilon: Epsilon,
    /// Settlement's part (finances).
    pub settlement_epsilon: Epsilon,
    /// What one salesperson may spend of a service's part, in basis points.
    pub seller_share_bps: u32,
    /// Cells with a noisy unit count below this are suppressed.
    pub threshold: i64,
    /// The longest window one report may cover.
    pub max_window_months: usize,
    /// The currency of reported values and of report prices.
    pub currency: String,
    /// The first month any report may cover (`YYYY-MM`); when absent, the month the
    /// service's report tables were created.
    pub first_month: Option<Month>,
    pub sales_history: SalesSettings,
    pub preferences: PreferenceSettings,
    pub finances: FinanceSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesSettings {
    pub epsilon: Epsilon,
    /// Price in minor units of `currency`.
    pub price: i64,
    /// Most units one order adds to a cell.
    pub units_cap: i64,
    /// Most value (minor units) one order adds to a cell.
    pub value_cap: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreferenceSettings {
    pub epsilon: Epsilon,
    pub price: i64,
    /// Most cells one session pseudonym contributes to.
    pub max_cells_per_session: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FinanceSettings {
    pub epsilon: Epsilon,
    pub price: i64,
    /// Most paid (and most refunded) value one order adds to a cell, in minor units.
    pub value_cap: i64,
}

fn eps(micros: u64) -> Epsilon {
    Epsilon::from_micros(micros)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            monthly_epsilon: eps(1_000_000),
            broker_epsilon: eps(600_000),
            settlement_epsilon: eps(400_000),
            seller_share_bps: 5_000,
            threshold: 20,
            max_window_months: 12,
            currency: "EUR".into(),
            first_month: None,
            sales_history: SalesSettings::default(),
            preferences: PreferenceSettings::default(),
            finances: FinanceSettings::default(),
        }
    }
}

impl Default for SalesSettings {
    fn default() -> Self {
        SalesSettings { epsilon: eps(200_000), price: 2_500, units_cap: 10, value_cap: 50_000 }
    }
}

impl Default for PreferenceSettings {
    fn default() -> Self {
        PreferenceSettings { epsilon: eps(200_000), price: 1_500, max_cells_per_session: 3 }
    }
}

impl Default for FinanceSettings {
    fn default() -> Self {
        FinanceSettings { epsilon: eps(200_000), price: 2_500, value_cap: 50_000 }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid [settings.privacy]: {0}")]
    Parse(String),
    #[error(transparent)]
    Budget(#[from] BudgetError),
    #[error(transparent)]
    Epsilon(#[from] InvalidEpsilon),
    #[error("invalid [settings.privacy]: {0}")]
    Invalid(String),
}

impl Settings {
    /// Reads `[settings.privacy]` from the service settings table (absent: defaults) and
    /// checks it. A wrong privacy setting stops the service rather than being ignored.
    pub fn from_table(settings: Option<&toml::Value>) -> Result<Settings, SettingsError> {
        let s: Settings = match settings {
            None => Settings::default(),
            Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| SettingsError::Parse(e.to_string()))?,
        };
        s.budget()?;
        if s.threshold < 0 || s.max_window_months == 0 {
            return Err(SettingsError::Invalid("threshold must be ≥ 0 and max_window_months ≥ 1".into()));
        }
        for kind in ReportKind::ALL {
            let spec = kind.spec(&s);
            if spec.epsilon == Epsilon::ZERO || kind.price_minor(&s) <= 0 {
                return Err(SettingsError::Invalid(format!("{kind}: ε and price must be positive")));
            }
            if spec.epsilon > s.budget()?.seller_cap(kind.analyst()) {
                return Err(SettingsError::Invalid(format!("{kind}: ε is more than a salesperson's share")));
            }
            crate::report::Plan::new(spec).map_err(|e| SettingsError::Invalid(format!("{kind}: {e}")))?;
        }
        Ok(s)
    }

    /// Refuses a report price above `max` minor units (the money ceiling): a price is
    /// money entering from configuration, bounded as any other.
    pub fn prices_within(&self, max: i64) -> Result<(), SettingsError> {
        for kind in ReportKind::ALL {
            let price = kind.price_minor(self);
            if price > max {
                return Err(SettingsError::Invalid(format!(
                    "{kind}: the price {price} is above the money ceiling of {max} minor units"
                )));
            }
        }
        Ok(())
    }

    pub fn budget(&self) -> Result<Budget, BudgetError> {
        Budget::new(self.monthly_epsilon, self.broker_epsilon, self.settlement_epsilon, self.seller_share_bps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Plan;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(12, 0, 0).unwrap()
    }

    fn labels() -> PublicLabels {
        let mut l = PublicLabels::default();
        l.kinds.extend(["drill".to_string(), "kettle".to_string()]);
        l.categories.extend(["tools".to_string(), "home".to_string()]);
        l.regions.extend(["north".to_string()]);
        l.attributes.entry("drill".into()).or_default().entry("volts".into()).or_default().extend(["18".to_string()]);
        l
    }

    #[test]
    fn kinds_and_groupings_parse_per_service() {
        assert_eq!(ReportKind::parse("sales_history", Analyst::Broker).unwrap(), ReportKind::SalesHistory);
        assert!(ReportKind::parse("finances", Analyst::Broker).is_err());
        assert!(ReportKind::parse("finances", Analyst::Settlement).is_ok());
        assert!(ReportKind::parse("everything", Analyst::Broker).is_err());
        let g = ReportKind::SalesHistory.grouping("category, region ,month").unwrap();
        assert_eq!(g.as_str(), "category,region,month");
        assert!(ReportKind::SalesHistory.grouping("buyer").is_err());
        assert!(ReportKind::Finances.grouping("kind").is_err());
    }

    #[test]
    fn kinds_are_stored_by_their_snake_case_name() {
        for kind in ReportKind::ALL {
            assert_eq!(kind.as_str().parse::<ReportKind>().unwrap(), kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(ReportKind::SalesHistory.as_str(), "sales_history");
        assert!("everything".parse::<ReportKind>().is_err());
    }

    #[test]
    fn grids_come_from_public_labels_only() {
        let w = Window::parse("2026-10", "2026-11").unwrap();
        let g = grid(ReportKind::SalesHistory.grouping("category,month").unwrap(), &labels(), w).unwrap();
        // (home, tools, other) × two months, whatever was sold.
        assert_eq!(g.len(), 6);
        let g = grid(ReportKind::Preferences.grouping("kind,attribute,value").unwrap(), &labels(), w).unwrap();
        assert!(g.locate(&["drill".into(), "volts".into(), "18".into()]).is_some());
        assert!(g.locate(&["drill".into(), "volts".into(), OTHER.into()]).is_some());
        assert!(g.locate(&[OTHER.into(), OTHER.into(), OTHER.into()]).is_some());
        assert!(g.locate(&["kettle".into(), "volts".into(), "18".into()]).is_none());
        assert_eq!(g.len(), 2 + 1 + 1 + 1);
    }

    #[test]
    fn records_map_to_cells_with_rare_labels_in_other() {
        let w = Window::parse("2026-11", "2026-11").unwrap();
        let grouping = ReportKind::SalesHistory.grouping("kind,month").unwrap();
        let sales = vec![
            Sale {
                order: "o1".into(),
                kind: "drill".into(),
                category: "tools".into(),
                region: "north".into(),
                at: at(2026, 11, 3),
                quantity: 2,
                value: 9_000,
            },
            Sale {
                order: "o2".into(),
                kind: "hovercraft".into(),
                category: "toys".into(),
                region: "south".into(),
                at: at(2026, 11, 4),
                quantity: 1,
                value: 100,
            },
        ];
        let c = sales_contributions(grouping, &labels(), &sales);
        assert_eq!(c[0].cell, vec!["drill".to_string(), "2026-11".into()]);
        assert_eq!(c[1].cell, vec![OTHER.to_string(), "2026-11".into()]);
        assert_eq!(c[0].values, vec![2, 9_000]);
        let g = grid(grouping, &labels(), w).unwrap();
        assert!(c.iter().all(|c| g.locate(&c.cell).is_some()));
        let band = ReportKind::SalesHistory.grouping("price_band").unwrap();
        assert_eq!(sales_contributions(band, &labels(), &sales)[0].cell, vec!["10-50".to_string()]);
    }

    #[test]
    fn interests_count_unserved_demand_per_characteristic() {
        let grouping = ReportKind::Preferences.grouping("kind,attribute,value").unwrap();
        let interests = vec![Interest {
            session: "s1".into(),
            kind: "drill".into(),
            attributes: vec![("volts".into(), "240".into()), ("colour".into(), "pink".into())],
            served: false,
            at: at(2026, 11, 1),
        }];
        let c = interest_contributions(grouping, &labels(), &interests);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].cell, vec!["drill".to_string(), "volts".into(), OTHER.into()]);
        assert_eq!(c[1].cell, vec!["drill".to_string(), OTHER.into(), OTHER.into()]);
        assert_eq!(c[0].values, vec![1]);
    }

    #[test]
    fn requests_are_parsed_into_codes() {
        let s = Settings::default();
        let (first, last) = (Month::parse("2026-01").unwrap(), Month::parse("2026-11").unwrap());
        let asked = Asked { kind: "sales_history", group_by: "kind,month", from: "2026-10", to: "2026-11-03" };
        let ok = Request::parse(Analyst::Broker, &s, asked, first, last).unwrap();
        assert_eq!(ok.window.months().len(), 2);
        let code = |kind: &str, group_by: &str, from: &str, to: &str| {
            let asked = Asked { kind, group_by, from, to };
            Request::parse(Analyst::Broker, &s, asked, first, last).unwrap_err().code()
        };
        assert_eq!(code("finances", "month", "2026-10", "2026-10"), "unknown_kind");
        assert_eq!(code("sales_history", "buyer", "2026-10", "2026-10"), "unknown_grouping");
        assert_eq!(code("sales_history", "month", "last week", "2026-10"), "invalid_period");
        assert_eq!(code("sales_history", "month", "2026-11", "2026-10"), "period_reversed");
        assert_eq!(code("sales_history", "month", "2025-12", "2026-10"), "period_outside_data");
        assert_eq!(code("sales_history", "month", "2026-11", "2026-12"), "period_outside_data");
    }

    #[test]
    fn price_bands_are_fixed() {
        assert_eq!(price_band(0), "0-10");
        assert_eq!(price_band(999), "0-10");
        assert_eq!(price_band(1_000), "10-50");
        assert_eq!(price_band(75_000), "500+");
    }

    #[test]
    fn default_settings_are_valid_and_each_report_fits_a_share() {
        let s = Settings::from_table(None).unwrap();
        let b = s.budget().unwrap();
        for kind in ReportKind::ALL {
            let plan = Plan::new(kind.spec(&s)).unwrap();
            assert!(plan.epsilon() <= kind.spec(&s).epsilon);
            assert!(plan.epsilon() <= b.seller_cap(kind.analyst()));
        }
        let over: toml::Value = toml::from_str("broker_epsilon = 0.7\nsettlement_epsilon = 0.4").unwrap();
        assert!(matches!(Settings::from_table(Some(&over)), Err(SettingsError::Budget(_))));
        let typo: toml::Value = toml::from_str("treshold = 5").unwrap();
        assert!(matches!(Settings::from_table(Some(&typo)), Err(SettingsError::Parse(_))));
        let custom: toml::Value = toml::from_str("threshold = 5\n[sales_history]\nprice = 100").unwrap();
        let s = Settings::from_table(Some(&custom)).unwrap();
        assert_eq!((s.threshold, s.sales_history.price, s.sales_history.units_cap), (5, 100, 10));
    }
}
