//! The analyses a salesperson buys (`sales_history` and `preferences` at the broker,
//! `finances` at settlement), as the desk reads them: what the catalogue offers and a
//! bought report's figures. The privacy crate defines the full answers; these types read
//! the fields a page shows and ignore the rest.

use crate::{enc, Answer, Api};
use serde::{Deserialize, Serialize};
use shared::money::Money;
use std::collections::BTreeMap;

/// One report the catalogue offers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CatalogueEntry {
    pub kind: String,
    pub group_by: String,
    pub price: Money,
}

/// `GET /v1/seller/reports/catalogue`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Catalogue {
    pub reports: Vec<CatalogueEntry>,
}

/// `POST /v1/seller/reports`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuyBody {
    pub kind: String,
    pub group_by: String,
    /// First month, `YYYY-MM`.
    pub from: String,
    /// Last month, inclusive.
    pub to: String,
}

/// One figure or label of a report's row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Number(f64),
    Text(String),
    Flag(bool),
    /// A suppressed figure.
    Empty,
}

impl Cell {
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Number(n) => Some(*n),
            _ => None,
        }
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Number(n) => write!(f, "{n}"),
            Cell::Text(t) => f.write_str(t),
            Cell::Flag(b) => write!(f, "{b}"),
            Cell::Empty => f.write_str("null"),
        }
    }
}

/// A bought report: its figures once computed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Report {
    pub kind: String,
    pub group_by: String,
    pub price: Money,
    pub epsilon_spent: f64,
    #[serde(default)]
    pub budget_left: Option<f64>,
    /// One map per cell of the public grid: its labels, `suppressed`, then the figures.
    #[serde(default)]
    pub rows: Vec<BTreeMap<String, Cell>>,
}

/// The reports of one service (the broker's or settlement's).
pub struct Reports {
    api: Api,
}

impl Reports {
    pub fn new(api: Api) -> Reports {
        Reports { api }
    }

    /// `GET /v1/seller/reports/catalogue`.
    pub async fn catalogue(&self) -> Answer<Catalogue> {
        self.api.get("/v1/seller/reports/catalogue").await?.into_answer()
    }

    /// `POST /v1/seller/reports[?store_id=]`: buys a report, charged to the store.
    pub async fn buy(&self, body: &BuyBody, store: Option<&str>) -> Answer<Report> {
        let query = store.map(|s| format!("?store_id={}", enc(s))).unwrap_or_default();
        self.api.post_json(&format!("/v1/seller/reports{query}"), body).await?.into_answer()
    }
}
