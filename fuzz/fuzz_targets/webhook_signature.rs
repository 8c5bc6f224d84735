//! The `Settlement-Signature` header as a partner's receiver parses it: never panics,
//! accepts only a header made with the secret over this body, within the tolerance.
#![no_main]
use libfuzzer_sys::fuzz_target;
use settlement::events::domain::{signature, verify};

const SECRET: &str = "whsec_fuzz";
const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (header, body) = text.split_once('\n').unwrap_or((text, "{}"));
    let genuine = signature(SECRET, NOW, body);
    if verify(header, SECRET, body, NOW, 300) {
        // Only a header carrying the genuine MAC for a fresh timestamp passes.
        let mac = genuine.split_once(",v1=").unwrap().1;
        assert!(header.contains(mac), "accepted a forged header {header:?}");
    }
    assert!(verify(&genuine, SECRET, body, NOW, 300));
    assert!(!verify(&genuine, "another secret", body, NOW, 300));
    assert!(!verify(&genuine, SECRET, body, NOW + 301, 300));
});
