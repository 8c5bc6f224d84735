//! The public grid of cells a report is released over.
//!
//! Every cell of the grid is released (noised, then kept or suppressed), whether or not
//! any data falls in it, and the grid is built only from public facts (the catalogue's
//! kinds, the stores' categories and regions, the months of the window, fixed price
//! bands). A grid derived from the data would reveal, by the mere presence of a cell,
//! that someone bought or searched for something rare; that is why nothing here looks at
//! the contributions.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The label used for values outside a dimension's public list, so that rare values
/// (a kind no store sells, an attribute value nobody stocks) are counted together
/// instead of getting a cell of their own.
pub const OTHER: &str = "(other)";

/// One cell: a label per dimension, in the grid's dimension order.
pub type CellKey = Vec<String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    dimensions: Vec<String>,
    cells: Vec<CellKey>,
    #[serde(skip)]
    index: HashMap<CellKey, usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    #[error("a cell has {got} labels, the grid has {want} dimensions")]
    Arity { want: usize, got: usize },
    #[error("cell {0:?} appears twice")]
    Duplicate(CellKey),
    #[error("the grid would have more than {0} cells")]
    TooLarge(usize),
}

/// A limit that keeps one report's computation and its stored copy small.
pub const MAX_CELLS: usize = 100_000;

impl Grid {
    /// Every combination of the given public labels, in order.
    pub fn product(dimensions: &[(&str, Vec<String>)]) -> Result<Grid, GridError> {
        let total = dimensions.iter().try_fold(1usize, |n, (_, labels)| n.checked_mul(labels.len().max(1)));
        if total.is_none_or(|n| n > MAX_CELLS) {
            return Err(GridError::TooLarge(MAX_CELLS));
        }
        let mut cells: Vec<CellKey> = vec![vec![]];
        for (_, labels) in dimensions {
            let mut next = Vec::with_capacity(cells.len() * labels.len());
            for prefix in &cells {
                for label in labels {
                    let mut cell = prefix.clone();
                    cell.push(label.clone());
                    next.push(cell);
                }
            }
            cells = next;
        }
        Grid::from_cells(dimensions.iter().map(|(d, _)| d.to_string()).collect(), cells)
    }

    /// An explicit list of cells, for grids that are not a full product (an attribute
    /// belongs to one kind).
    pub fn from_cells(dimensions: Vec<String>, cells: Vec<CellKey>) -> Result<Grid, GridError> {
        if cells.len() > MAX_CELLS {
            return Err(GridError::TooLarge(MAX_CELLS));
        }
        let mut index = HashMap::with_capacity(cells.len());
        for (i, cell) in cells.iter().enumerate() {
            if cell.len() != dimensions.len() {
                return Err(GridError::Arity { want: dimensions.len(), got: cell.len() });
            }
            if index.insert(cell.clone(), i).is_some() {
                return Err(GridError::Duplicate(cell.clone()));
            }
        }
        Ok(Grid { dimensions, cells, index })
    }

    pub fn dimensions(&self) -> &[String] {
        &self.dimensions
    }

    pub fn cells(&self) -> &[CellKey] {
        &self.cells
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Where a cell sits in the grid; `None` for a key outside it (such a contribution is
    /// dropped, which only ever lowers what a unit contributes).
    pub fn locate(&self, key: &[String]) -> Option<usize> {
        self.index.get(key).copied()
    }
}

/// A public list of labels plus [`OTHER`], sorted and without duplicates.
pub fn labels_with_other<I, S>(public: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut labels: Vec<String> = public.into_iter().map(Into::into).filter(|l| l != OTHER).collect();
    labels.sort();
    labels.dedup();
    labels.push(OTHER.to_string());
    labels
}

/// `label` if it is in the public list, [`OTHER`] otherwise.
pub fn public_or_other(label: &str, public: &[String]) -> String {
    if public.iter().any(|p| p == label) {
        label.to_string()
    } else {
        OTHER.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn product_enumerates_every_combination_in_order() {
        let g = Grid::product(&[("category", s(&["food", "tools"])), ("month", s(&["2026-10", "2026-11"]))]).unwrap();
        assert_eq!(g.len(), 4);
        assert_eq!(g.cells()[1], s(&["food", "2026-11"]));
        assert_eq!(g.locate(&s(&["tools", "2026-10"])), Some(2));
        assert_eq!(g.locate(&s(&["toys", "2026-10"])), None);
    }

    #[test]
    fn explicit_cells_are_checked() {
        let dims = s(&["kind", "attribute"]);
        assert!(matches!(
            Grid::from_cells(dims.clone(), vec![s(&["a", "b"]), s(&["a", "b"])]),
            Err(GridError::Duplicate(_))
        ));
        assert!(matches!(Grid::from_cells(dims, vec![s(&["a"])]), Err(GridError::Arity { .. })));
    }

    #[test]
    fn oversized_grids_are_refused() {
        let many: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        assert!(matches!(Grid::product(&[("a", many.clone()), ("b", many)]), Err(GridError::TooLarge(_))));
    }

    #[test]
    fn rare_labels_fold_into_other() {
        let public = labels_with_other(["tools", "food", "tools"]);
        assert_eq!(public, s(&["food", "tools", OTHER]));
        assert_eq!(public_or_other("food", &public), "food");
        assert_eq!(public_or_other("unobtainium", &public), OTHER);
    }
}
