//! Keys and primitives: Ed25519 signing keys in the data dir (with key ids, so keys can
//! rotate), argon2id passwords, AEAD sealing for data only one service may read, HMAC for
//! webhook signatures, hashing of API keys, and constant-time comparison of secrets.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes).expect("system random source failed");
    bytes
}

/// A random secret for humans to copy: 32 bytes, base64url, with a prefix naming its use.
pub fn random_token(prefix: &str) -> String {
    format!("{prefix}_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

pub fn sha256_hex(data: &[u8]) -> String {
    crate::ids::hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    crate::ids::hex(ring::hmac::sign(&key, data).as_ref())
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

// ---------------------------------------------------------------------------------------
// Passwords

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

/// Only through [`crate::hashing::HashPool`], which bounds how many run at once.
pub(crate) fn hash_password(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|_| PasswordError)?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| PasswordError)
}

/// Verifies against the stored hash, or against a dummy hash when the account does not
/// exist, so that timing does not tell which accounts exist. Slow by design: only through
/// [`crate::hashing::HashPool`].
pub(crate) fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default());
    let (hash, exists) = match stored {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    ok && exists
}

// ---------------------------------------------------------------------------------------
// Signing keys

/// An Ed25519 key pair with its key id (the first 16 hex digits of the SHA-256 of the
/// public key).
pub struct SigningKey {
    pub kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("key file {0} is not an Ed25519 PKCS#8 key")]
    Invalid(PathBuf),
}

impl SigningKey {
    pub fn generate() -> SigningKey {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key generation failed");
        Self::from_pkcs8(doc.as_ref().to_vec()).expect("freshly generated key is valid")
    }

    fn from_pkcs8(pkcs8: Vec<u8>) -> Option<SigningKey> {
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).ok()?;
        let public = pair.public_key().as_ref().to_vec();
        let kid = sha256_hex(&public)[..16].to_string();
        Some(SigningKey { kid, pkcs8, public })
    }

    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.kid,
            "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.public),
        })
    }
}

/// A service's key ring: `<data dir>/keys/<service>/<n>-<kid>.pk8`. The highest `n` signs;
/// all are published, so tokens signed before a rotation stay valid until they expire.
#[derive(Debug)]
pub struct KeyRing {
    pub keys: Vec<SigningKey>,
}

impl KeyRing {
    pub fn dir(data_dir: &Path, service: &str) -> PathBuf {
        data_dir.join("keys").join(service)
    }

    /// Loads the ring, creating a first key if there is none.
    pub fn load_or_create(data_dir: &Path, service: &str) -> Result<KeyRing, KeyError> {
        let dir = Self::dir(data_dir, service);
        let mut ring = Self::load(&dir)?;
        if ring.keys.is_empty() {
            Self::rotate(data_dir, service)?;
            ring = Self::load(&dir)?;
        }
        Ok(ring)
    }

    fn load(dir: &Path) -> Result<KeyRing, KeyError> {
        let io = |source| KeyError::Io { path: dir.to_path_buf(), source };
        let mut files: Vec<(u64, PathBuf)> = Vec::new();
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries {
                    let path = entry.map_err(io)?.path();
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                    if let Some(stem) = name.strip_suffix(".pk8") {
                        if let Some(n) = stem.split('-').next().and_then(|n| n.parse().ok()) {
                            files.push((n, path));
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        let keys = files
            .into_iter()
            .map(|(_, path)| {
                let bytes = std::fs::read(&path).map_err(|source| KeyError::Io { path: path.clone(), source })?;
                SigningKey::from_pkcs8(bytes).ok_or(KeyError::Invalid(path))
            })
            .collect::<Result<_, _>>()?;
        Ok(KeyRing { keys })
    }

    /// Adds a new signing key; the old ones stay published.
    pub fn rotate(data_dir: &Path, service: &str) -> Result<String, KeyError> {
        let dir = Self::dir(data_dir, service);
        let existing = Self::load(&dir)?.keys.len() as u64;
        let key = SigningKey::generate();
        let path = dir.join(format!("{:04}-{}.pk8", existing + 1, key.kid));
        write_secret(&path, key.pkcs8())?;
        Ok(key.kid)
    }

    pub fn signing(&self) -> &SigningKey {
        &self.keys[0]
    }

    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.keys.iter().map(SigningKey::jwk).collect::<Vec<_>>() })
    }
}

/// Writes a secret file readable by its owner only (0600), creating its folder (0700).
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    let io = |source| KeyError::Io { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        crate::files::create_own_dir(parent).map_err(io)?;
    }
    let mut file = crate::files::create_new(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads a secret file, creating it with `make()` the first time.
pub fn read_or_create_secret(path: &Path, make: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = make();
            match write_secret(path, &bytes) {
                Ok(()) => Ok(bytes),
                // Another process created it first: use theirs.
                Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::fs::read(path).map_err(|source| KeyError::Io { path: path.into(), source })
                }
                Err(e) => Err(e),
            }
        }
        Err(source) => Err(KeyError::Io { path: path.into(), source }),
    }
}

// ---------------------------------------------------------------------------------------
// Sealing (AEAD)

/// ChaCha20-Poly1305 keys held by one service, each with an id stored beside every
/// ciphertext, so the key can rotate while old records stay readable until shredded.
pub struct Sealer {
    keys: Vec<(String, LessSafeKey)>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("keys", &self.keys.iter().map(|(k, _)| k).collect::<Vec<_>>()).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    /// nonce (12 bytes) followed by ciphertext and tag.
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("no key {0}")]
    UnknownKey(String),
    #[error("ciphertext does not open")]
    Open,
}

impl Sealer {
    /// Loads `<dir>/<n>-<id>.key` files (32 bytes each), creating one if there is none.
    pub fn load_or_create(dir: &Path) -> Result<Sealer, KeyError> {
        let mut sealer = Self::load(dir)?;
        if sealer.keys.is_empty() {
            Self::rotate(dir)?;
            sealer = Self::load(dir)?;
        }
        Ok(sealer)
    }

    fn load(dir: &Path) -> Result<Sealer, KeyError> {
        let io = |source| KeyError::Io { path: dir.to_path_buf(), source };
        let mut files = Vec::new();
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries {
                    let path = entry.map_err(io)?.path();
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                    if let Some((n, id)) = name.strip_suffix(".key").and_then(|s| s.split_once('-')) {
                        if let Ok(n) = n.parse::<u64>() {
                            files.push((n, id.to_string(), path));
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        let mut keys = Vec::new();
        for (_, id, path) in files {
            let bytes = std::fs::read(&path).map_err(|source| KeyError::Io { path: path.clone(), source })?;
            let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| KeyError::Invalid(path))?;
            keys.push((id, LessSafeKey::new(key)));
        }
        Ok(Sealer { keys })
    }

    pub fn rotate(dir: &Path) -> Result<String, KeyError> {
        let n = Self::load(dir)?.keys.len() + 1;
        let id = crate::ids::hex(&random_bytes::<4>());
        write_secret(&dir.join(format!("{n:04}-{id}.key")), &random_bytes::<32>())?;
        Ok(id)
    }

    /// A sealer with one random key, for tests.
    pub fn ephemeral() -> Sealer {
        let key = UnboundKey::new(&CHACHA20_POLY1305, &random_bytes::<32>()).expect("32-byte key");
        Sealer { keys: vec![("test".into(), LessSafeKey::new(key))] }
    }

    /// Seals with the newest key; `context` is bound as associated data (e.g. the order
    /// id), so a ciphertext cannot be moved to another record.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Sealed {
        let (id, key) = &self.keys[0];
        let nonce_bytes = random_bytes::<12>();
        let mut buf = plaintext.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(context), &mut buf)
            .expect("sealing cannot fail for in-memory buffers");
        let mut bytes = nonce_bytes.to_vec();
        bytes.extend_from_slice(&buf);
        Sealed { key_id: id.clone(), bytes }
    }

    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, SealError> {
        let key = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .map(|(_, k)| k)
            .ok_or_else(|| SealError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.bytes.len() < 12 + aead::CHACHA20_POLY1305.tag_len() {
            return Err(SealError::Open);
        }
        let (nonce, ct) = sealed.bytes.split_at(12);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut buf = ct.to_vec();
        let plain = key.open_in_place(nonce, Aad::from(context), &mut buf).map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_unknown_accounts_fail() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", Some(&h)));
        assert!(!verify_password("wrong", Some(&h)));
        assert!(!verify_password("correct horse", None));
    }

    #[test]
    fn key_ring_creates_rotates_and_keeps_old_keys() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeyRing::load_or_create(dir.path(), "broker").unwrap();
        assert_eq!(first.keys.len(), 1);
        let again = KeyRing::load_or_create(dir.path(), "broker").unwrap();
        assert_eq!(again.signing().kid, first.signing().kid);
        let new_kid = KeyRing::rotate(dir.path(), "broker").unwrap();
        let rotated = KeyRing::load_or_create(dir.path(), "broker").unwrap();
        assert_eq!(rotated.signing().kid, new_kid);
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = std::fs::read_dir(KeyRing::dir(dir.path(), "broker")).unwrap().next().unwrap().unwrap();
            assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("keys")), 0o700);
            assert_eq!(mode(&KeyRing::dir(dir.path(), "broker")), 0o700);
        }
    }

    #[test]
    fn sealing_round_trips_and_binds_context() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Sealer::load_or_create(dir.path()).unwrap();
        let sealed = sealer.seal(b"1 Main St", b"ord_1");
        assert!(!sealed.bytes.windows(4).any(|w| w == b"Main"));
        assert_eq!(sealer.open(&sealed, b"ord_1").unwrap(), b"1 Main St");
        assert!(sealer.open(&sealed, b"ord_2").is_err());
        Sealer::rotate(dir.path()).unwrap();
        let rotated = Sealer::load_or_create(dir.path()).unwrap();
        assert_eq!(rotated.open(&sealed, b"ord_1").unwrap(), b"1 Main St");
    }

    #[test]
    fn hmac_and_constant_time() {
        assert_eq!(
            hmac_sha256_hex(b"key", b"The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
