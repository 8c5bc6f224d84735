//! The privacy engine of the analyses sold to salespeople: a fixed public grid per report,
//! contribution bounding per privacy unit, exact discrete Laplace noise from OpenDP,
//! suppression of small cells, and the ε accounting and budget rules.
//!
//! Everything here is plain functions over plain values; the services store the budgets
//! and released copies in their own databases.

pub mod analyses;
pub mod budget;
pub mod epsilon;
pub mod grid;
pub mod noise;
pub mod period;
pub mod report;

pub use epsilon::Epsilon;
pub use grid::{CellKey, Grid, OTHER};
pub use period::{Month, Window};
#[cfg(feature = "store")]
pub mod routes;
#[cfg(feature = "store")]
pub mod schema;
#[cfg(feature = "store")]
pub mod scope;
#[cfg(feature = "store")]
pub mod store;
