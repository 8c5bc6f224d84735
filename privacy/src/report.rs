//! One report: contribution bounding, noise on every measure of every cell, suppression
//! of small cells, and what the report says about its own noise.
//!
//! A report releases, for every cell of its public grid, a count of distinct privacy
//! units (orders, or session pseudonyms) and some sums (units sold, value). Before any
//! noise each unit is bounded: it may touch at most `max_cells_per_unit` cells, and what
//! it adds to each sum in a cell is clamped to `[0, cap]`. So adding or removing one unit
//! changes the count vector by at most `max_cells_per_unit` in L1 and each sum vector by at
//! most `max_cells_per_unit · cap`: those are the sensitivities the noise is calibrated to.
//! The report's ε is split between its measures and composes by simple addition.
//!
//! A cell whose noisy unit count is below the threshold is suppressed: none of its
//! figures are shown. The decision looks only at a noisy figure over a fixed grid, so it
//! is post-processing and costs no δ: every report is pure ε-differentially private.

use crate::epsilon::Epsilon;
use crate::grid::{CellKey, Grid};
use crate::noise::{LaplaceVector, NoiseError, NoiseScale};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What one privacy unit said about one cell. A unit may send several contributions; they
/// are bounded together.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    /// The privacy unit: an order id, a session pseudonym. Only compared, never released.
    pub unit: String,
    pub cell: CellKey,
    /// One value per sum of the spec, in the spec's order.
    pub values: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SumSpec {
    pub name: String,
    /// The most one unit adds to this sum in one cell.
    pub cap: i64,
    /// Its part of the report's ε, in basis points.
    pub share_bps: u32,
}

/// A figure computed from released figures of the same cell (an average basket): free,
/// as post-processing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioSpec {
    pub name: String,
    pub numerator: String,
    pub denominator: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSpec {
    /// Name of the distinct-unit count (`orders`, `sessions`).
    pub count: String,
    pub count_share_bps: u32,
    pub sums: Vec<SumSpec>,
    pub ratios: Vec<RatioSpec>,
    pub max_cells_per_unit: u32,
    /// The report's total ε.
    pub epsilon: Epsilon,
    /// Cells whose noisy unit count is below this are suppressed.
    pub threshold: i64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Noise(#[from] NoiseError),
    #[error("the ε shares add up to {0} basis points, more than 10 000")]
    Shares(u32),
    #[error("caps and the per-unit cell limit must be positive")]
    Bounds,
    #[error("a contribution has {got} values, the spec has {want} sums")]
    Arity { want: usize, got: usize },
    #[error("ratio `{0}` names an unknown measure")]
    Ratio(String),
}

/// How much noise each measure gets, and what the whole report costs. Made before any
/// data is read, so the budget can be checked first.
pub struct Plan {
    spec: ReportSpec,
    count: LaplaceVector,
    sums: Vec<LaplaceVector>,
}

impl Plan {
    pub fn new(spec: ReportSpec) -> Result<Plan, ReportError> {
        let shares = spec.count_share_bps + spec.sums.iter().map(|s| s.share_bps).sum::<u32>();
        if shares > 10_000 {
            return Err(ReportError::Shares(shares));
        }
        if spec.max_cells_per_unit == 0 || spec.sums.iter().any(|s| s.cap <= 0) {
            return Err(ReportError::Bounds);
        }
        let cells = i64::from(spec.max_cells_per_unit);
        let count = LaplaceVector::calibrate(cells, spec.epsilon.share(spec.count_share_bps))?;
        let sums = spec
            .sums
            .iter()
            .map(|s| {
                let sensitivity = cells.checked_mul(s.cap).ok_or(ReportError::Bounds)?;
                Ok(LaplaceVector::calibrate(sensitivity, spec.epsilon.share(s.share_bps))?)
            })
            .collect::<Result<Vec<_>, ReportError>>()?;
        let names: Vec<&str> =
            std::iter::once(spec.count.as_str()).chain(spec.sums.iter().map(|s| s.name.as_str())).collect();
        for r in &spec.ratios {
            if !names.contains(&r.numerator.as_str()) || !names.contains(&r.denominator.as_str()) {
                return Err(ReportError::Ratio(r.name.clone()));
            }
        }
        Ok(Plan { spec, count, sums })
    }

    /// The report's privacy loss under basic composition of its measures, each as
    /// OpenDP's privacy map states it. Never more than the spec's ε.
    pub fn epsilon(&self) -> Epsilon {
        std::iter::once(&self.count).chain(&self.sums).map(|m| m.epsilon()).sum()
    }

    pub fn spec(&self) -> &ReportSpec {
        &self.spec
    }

    /// The noise of each measure, for the report's header.
    pub fn noise(&self) -> Vec<MeasureNoise> {
        std::iter::once((&self.spec.count, &self.count))
            .chain(self.spec.sums.iter().map(|s| &s.name).zip(&self.sums))
            .map(|(name, m)| MeasureNoise {
                measure: name.clone(),
                sensitivity: m.sensitivity(),
                epsilon: m.epsilon(),
                noise: m.scale(),
            })
            .collect()
    }

    /// Bounds the contributions, adds noise to every cell of `grid` and suppresses the
    /// small ones.
    pub fn release(&self, grid: &Grid, contributions: &[Contribution]) -> Result<Release, ReportError> {
        let exact = bound(grid, contributions, &self.spec)?;
        let noisy_count = self.count.release(&exact.count)?;
        let noisy_sums = self.sums.iter().zip(&exact.sums).map(|(m, v)| m.release(v)).collect::<Result<Vec<_>, _>>()?;
        let mut measures = vec![self.spec.count.clone()];
        measures.extend(self.spec.sums.iter().map(|s| s.name.clone()));
        measures.extend(self.spec.ratios.iter().map(|r| r.name.clone()));
        let mut rows = Vec::with_capacity(grid.len());
        let mut suppressed = 0;
        for (i, cell) in grid.cells().iter().enumerate() {
            if noisy_count[i] < self.spec.threshold {
                suppressed += 1;
                rows.push(Row { cell: cell.clone(), suppressed: true, values: vec![None; measures.len()] });
                continue;
            }
            // Negative noisy figures are clamped to zero: post-processing, and a negative
            // number of sales only confuses.
            let mut values: Vec<Option<i64>> = std::iter::once(noisy_count[i])
                .chain(noisy_sums.iter().map(|s| s[i]))
                .map(|v| Some(v.max(0)))
                .collect();
            for r in &self.spec.ratios {
                let get = |name: &str| measures.iter().position(|m| m == name).and_then(|p| values[p]);
                let ratio = match (get(&r.numerator), get(&r.denominator)) {
                    (Some(n), Some(d)) if d > 0 => Some(n / d),
                    _ => None,
                };
                values.push(ratio);
            }
            rows.push(Row { cell: cell.clone(), suppressed: false, values });
        }
        Ok(Release {
            dimensions: grid.dimensions().to_vec(),
            measures,
            rows,
            noise: self.noise(),
            threshold: self.spec.threshold,
            epsilon: self.epsilon(),
            suppressed_cells: suppressed,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureNoise {
    pub measure: String,
    /// L1 sensitivity after bounding.
    pub sensitivity: i64,
    pub epsilon: Epsilon,
    #[serde(flatten)]
    pub noise: NoiseScale,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub cell: CellKey,
    pub suppressed: bool,
    /// One per measure (count, sums, ratios); `None` where suppressed.
    pub values: Vec<Option<i64>>,
}

/// A released report: what is stored, resold and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub dimensions: Vec<String>,
    pub measures: Vec<String>,
    pub rows: Vec<Row>,
    pub noise: Vec<MeasureNoise>,
    pub threshold: i64,
    pub epsilon: Epsilon,
    pub suppressed_cells: usize,
}

impl Release {
    /// The value of `measure` in the cell `cell`, if released.
    pub fn value(&self, cell: &[String], measure: &str) -> Option<i64> {
        let m = self.measures.iter().position(|x| x == measure)?;
        self.rows.iter().find(|r| r.cell == cell).and_then(|r| r.values[m])
    }

    /// Each row as a JSON object: dimension labels, `suppressed`, then the measures.
    pub fn json_rows(&self) -> Vec<serde_json::Value> {
        self.rows
            .iter()
            .map(|r| {
                let mut o = serde_json::Map::new();
                for (d, label) in self.dimensions.iter().zip(&r.cell) {
                    o.insert(d.clone(), label.clone().into());
                }
                o.insert("suppressed".into(), r.suppressed.into());
                for (m, v) in self.measures.iter().zip(&r.values) {
                    o.insert(m.clone(), v.map(serde_json::Value::from).unwrap_or(serde_json::Value::Null));
                }
                serde_json::Value::Object(o)
            })
            .collect()
    }

    /// The rows as CSV (RFC 4180): a header, then one line per cell; suppressed figures
    /// are empty fields.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<&str> = self
            .dimensions
            .iter()
            .map(String::as_str)
            .chain(std::iter::once("suppressed"))
            .chain(self.measures.iter().map(String::as_str))
            .collect();
        push_csv_line(&mut out, header.iter().map(|h| h.to_string()));
        for r in &self.rows {
            let fields = r
                .cell
                .iter()
                .cloned()
                .chain(std::iter::once(r.suppressed.to_string()))
                .chain(r.values.iter().map(|v| v.map(|x| x.to_string()).unwrap_or_default()));
            push_csv_line(&mut out, fields);
        }
        out
    }
}

fn push_csv_line(out: &mut String, fields: impl Iterator<Item = String>) {
    let mut first = true;
    for f in fields {
        if !first {
            out.push(',');
        }
        first = false;
        // A leading formula character is neutralised so that a label cannot run as a
        // spreadsheet formula.
        let f = if f.starts_with(['=', '+', '-', '@']) && f.parse::<i64>().is_err() { format!("'{f}") } else { f };
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&f);
        }
    }
    out.push_str("\r\n");
}

/// Exact per-cell figures after contribution bounding.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounded {
    pub count: Vec<i64>,
    pub sums: Vec<Vec<i64>>,
}

/// Bounds each unit's contribution: its first `max_cells_per_unit` cells (in the order
/// given) are kept, the rest dropped; what it adds to each sum of a cell is clamped to
/// `[0, cap]`; cells outside the grid are dropped.
pub fn bound(grid: &Grid, contributions: &[Contribution], spec: &ReportSpec) -> Result<Bounded, ReportError> {
    let mut per_unit: HashMap<&str, Vec<(usize, Vec<i64>)>> = HashMap::new();
    for c in contributions {
        if c.values.len() != spec.sums.len() {
            return Err(ReportError::Arity { want: spec.sums.len(), got: c.values.len() });
        }
        let Some(cell) = grid.locate(&c.cell) else { continue };
        let cells = per_unit.entry(c.unit.as_str()).or_default();
        if let Some((_, acc)) = cells.iter_mut().find(|(i, _)| *i == cell) {
            for (a, v) in acc.iter_mut().zip(&c.values) {
                *a = a.saturating_add(*v);
            }
        } else if cells.len() < spec.max_cells_per_unit as usize {
            cells.push((cell, c.values.clone()));
        }
    }
    let mut out = Bounded { count: vec![0; grid.len()], sums: vec![vec![0; grid.len()]; spec.sums.len()] };
    for cells in per_unit.values() {
        for (cell, values) in cells {
            out.count[*cell] += 1;
            for ((sum, s), v) in out.sums.iter_mut().zip(&spec.sums).zip(values) {
                sum[*cell] = sum[*cell].saturating_add((*v).clamp(0, s.cap));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn spec(threshold: i64) -> ReportSpec {
        ReportSpec {
            count: "orders".into(),
            count_share_bps: 5_000,
            sums: vec![
                SumSpec { name: "units".into(), cap: 10, share_bps: 2_000 },
                SumSpec { name: "value".into(), cap: 50_000, share_bps: 3_000 },
            ],
            ratios: vec![RatioSpec { name: "average".into(), numerator: "value".into(), denominator: "orders".into() }],
            max_cells_per_unit: 1,
            epsilon: Epsilon::from_micros(200_000),
            threshold,
        }
    }

    fn grid() -> Grid {
        Grid::product(&[("category", s(&["food", "tools"])), ("month", s(&["2026-11"]))]).unwrap()
    }

    fn sale(unit: &str, category: &str, units: i64, value: i64) -> Contribution {
        Contribution { unit: unit.into(), cell: s(&[category, "2026-11"]), values: vec![units, value] }
    }

    #[test]
    fn each_unit_is_bounded_to_its_cells_and_caps() {
        let mut spec = spec(20);
        spec.max_cells_per_unit = 1;
        let data = vec![
            sale("o1", "food", 3, 1_000),
            sale("o1", "food", 20, 100_000), // same unit and cell: summed, then capped
            sale("o1", "tools", 1, 500),     // a second cell: over the limit, dropped
            sale("o2", "tools", -4, -9),     // negative: clamped to zero
            Contribution { unit: "o3".into(), cell: s(&["toys", "2026-11"]), values: vec![1, 1] }, // off-grid
        ];
        let b = bound(&grid(), &data, &spec).unwrap();
        assert_eq!(b.count, vec![1, 1]);
        assert_eq!(b.sums[0], vec![10, 0]);
        assert_eq!(b.sums[1], vec![50_000, 0]);
        spec.max_cells_per_unit = 2;
        let b = bound(&grid(), &data, &spec).unwrap();
        assert_eq!(b.count, vec![1, 2]);
        assert_eq!(b.sums[0], vec![10, 1]);
    }

    #[test]
    fn the_plan_spends_what_the_spec_allows_and_no_more() {
        let plan = Plan::new(spec(20)).unwrap();
        assert_eq!(plan.epsilon(), Epsilon::from_micros(200_000));
        let noise = plan.noise();
        assert_eq!(noise[0].sensitivity, 1);
        assert!((noise[0].noise.scale - 10.0).abs() < 1e-9); // 1 / 0.1
        assert_eq!(noise[2].sensitivity, 50_000);
        assert!((noise[2].noise.scale - 50_000.0 / 0.06).abs() < 1e-6);
        let mut bad = spec(20);
        bad.count_share_bps = 9_000;
        assert!(matches!(Plan::new(bad), Err(ReportError::Shares(_))));
    }

    #[test]
    fn small_cells_are_never_released_and_large_ones_are_close() {
        // 400 orders in food, 3 in tools; threshold 20 and count noise of scale 10: tools is
        // suppressed except with probability below e^-1.7 / 2 per draw; food always shows.
        let mut data: Vec<Contribution> = (0..400).map(|i| sale(&format!("f{i}"), "food", 1, 1_000)).collect();
        data.extend((0..3).map(|i| sale(&format!("t{i}"), "tools", 2, 2_000)));
        let plan = Plan::new(spec(20)).unwrap();
        let mut tools_shown = 0;
        for _ in 0..200 {
            let r = plan.release(&grid(), &data).unwrap();
            let food = r.value(&s(&["food", "2026-11"]), "orders").expect("food is released");
            assert!((food - 400).abs() < 150, "food orders {food}");
            let tools = &r.rows[1];
            if tools.suppressed {
                assert!(tools.values.iter().all(Option::is_none));
            } else {
                tools_shown += 1;
                // Shown only because the noise lifted it over the threshold: never exact.
                assert!(tools.values[0].unwrap() >= 20);
            }
        }
        assert!(tools_shown < 30, "a 3-order cell was released {tools_shown} times in 200");
    }

    #[test]
    fn the_report_states_its_noise_and_renders_as_json_and_csv() {
        let data: Vec<Contribution> = (0..500).map(|i| sale(&format!("f{i}"), "food", 1, 1_000)).collect();
        let plan = Plan::new(spec(20)).unwrap();
        let r = plan.release(&grid(), &data).unwrap();
        assert_eq!(r.measures, s(&["orders", "units", "value", "average"]));
        assert_eq!(r.noise.len(), 3);
        let rows = r.json_rows();
        assert_eq!(rows[0]["category"], "food");
        assert_eq!(rows[0]["suppressed"], false);
        assert!(rows[0]["average"].as_i64().is_some());
        let csv = r.to_csv();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("category,month,suppressed,orders,units,value,average"));
        assert!(lines.next().unwrap().starts_with("food,2026-11,false,"));
        assert_eq!(csv.lines().count(), 3);
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        let mut out = String::new();
        push_csv_line(
            &mut out,
            vec!["a,b".to_string(), "say \"hi\"".into(), "=SUM(A1)".into(), "-5".into()].into_iter(),
        );
        assert_eq!(out, "\"a,b\",\"say \"\"hi\"\"\",'=SUM(A1),-5\r\n");
    }
}
