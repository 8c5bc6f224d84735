//! Money as partners and sellers send it: parsing never panics, and what parses
//! round-trips and prices a fee within its bounds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shared::money::{BasisPoints, Money};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<Money>(data) {
        let back = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Money>(&back).unwrap(), m);
        for rate in [0, 1, 200, 300, 10_000, u32::MAX] {
            let fee = m.fee(BasisPoints(rate));
            assert!(fee.amount >= 0 && (m.amount <= 0 || fee.amount <= m.amount));
        }
        let _ = m.checked_add(m).and_then(|s| s.checked_sub(m));
    }
});
