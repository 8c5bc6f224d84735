//! `GET /v1/search?kind=…&attr.NAME=VALUE…`: the query string as the route decodes it,
//! then the search parser; never panics, and what it accepts stays within its bounds.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data) else { return };
    if let Ok(q) = broker::search::domain::parse(&pairs) {
        assert!(!q.kind.is_empty());
        assert!(q.limit >= 1 && q.offset >= 0, "limit {} offset {}", q.limit, q.offset);
        assert!(q.attributes.len() <= pairs.len());
    }
});
