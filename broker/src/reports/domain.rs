//! What of the report routes is the broker's own: which failures to complete a charged
//! purchase are for good. The settings, bodies and refusals are `privacy::scope`'s.

pub use privacy::scope::{BuyBody, Reports};
use privacy::store::ReleaseError;

/// Whether a failure to complete a charged purchase is for good (refund it) or may pass
/// (retry): storage trouble passes, a report that cannot be computed does not.
pub fn is_permanent(e: &ReleaseError) -> bool {
    !matches!(e, ReleaseError::Db(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_trouble_passes() {
        assert!(!is_permanent(&ReleaseError::Db(diesel::result::Error::NotFound)));
        let grid = privacy::analyses::AnalysisError::UnknownKind("x".into());
        assert!(is_permanent(&ReleaseError::Analysis(grid)));
    }
}
