//! Bearer tokens as any caller may present them (capabilities, access and service
//! tokens): the verifier refuses everything it did not sign, and never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shared::auth::{Claims, Role, TokenSigner, TokenVerifier};
use shared::config::ServiceName;
use std::sync::OnceLock;

struct Fixture {
    _dir: tempfile::TempDir,
    verifier: TokenVerifier,
    genuine: String,
    runtime: tokio::runtime::Runtime,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let ring = shared::crypto::KeyRing::load_or_create(dir.path(), "broker").unwrap();
        let claims = Claims::new(ServiceName::Broker, "broker", Role::Service, &[ServiceName::Broker], 600);
        let genuine = TokenSigner::new(ServiceName::Broker, &ring).sign(&claims).unwrap();
        let verifier = TokenVerifier::new(ServiceName::Broker, &ring, vec![]);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // The one token the verifier takes, so that every refusal below is of a change to it.
        assert!(runtime.block_on(verifier.verify(&genuine)).is_ok());
        Fixture { _dir: dir, verifier, genuine, runtime }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = serde_json::from_str::<Claims>(text);
    // Whatever the input, a token that is not byte-for-byte one we signed is refused.
    if text != f.genuine {
        assert!(f.runtime.block_on(f.verifier.verify(text)).is_err(), "accepted {text:?}");
    }
    // Splicing fuzz bytes into a genuine token's parts never yields a valid one.
    let parts: Vec<&str> = f.genuine.split('.').collect();
    for i in 0..3 {
        let mut spliced: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        spliced[i] = text.to_string();
        let token = spliced.join(".");
        if token != f.genuine {
            assert!(f.runtime.block_on(f.verifier.verify(&token)).is_err(), "accepted {token:?}");
        }
    }
});
