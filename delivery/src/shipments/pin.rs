//! The delivery PIN: six digits per shipment that only the buyer is shown (`GET
//! /v1/shipments/{order_id}` with the order's capability) and that the courier must be
//! given at the door on the final leg to the buyer's address. It is derived from the
//! shipment id under a key only delivery holds (`<data dir>/keys/delivery-pin`), so no PIN
//! is stored anywhere, not even sealed. Wrong ones are counted on the shipment; the
//! fifth locks the leg until an operator unlocks it, so a courier cannot try them all.

use shared::crypto::KeyError;
use shared::ids::ShipmentId;
use std::path::Path;

/// Wrong PINs a final leg takes before it locks.
pub const MAX_WRONG: i32 = 5;

/// Digits in a PIN.
const DIGITS: usize = 6;

/// The key the PINs are derived under.
pub struct Pins {
    key: Vec<u8>,
}

impl Pins {
    /// Reads the key, creating it (owner-only, 0600) the first time.
    pub fn load_or_create(path: &Path) -> Result<Pins, KeyError> {
        let bytes = shared::crypto::read_or_create_secret(path, || shared::crypto::random_bytes::<32>().to_vec())?;
        Ok(Pins { key: bytes })
    }

    /// The shipment's PIN.
    pub fn of(&self, shipment: &ShipmentId) -> String {
        let tag = shared::crypto::hmac_sha256_hex(&self.key, format!("delivery pin\n{shipment}").as_bytes());
        let n = u64::from_str_radix(&tag[..16], 16).expect("a SHA-256 tag is 64 hex digits");
        format!("{:0width$}", n % 10u64.pow(DIGITS as u32), width = DIGITS)
    }

    /// Whether `given` is the shipment's PIN (spaces around it forgiven), compared in
    /// constant time.
    pub fn matches(&self, shipment: &ShipmentId, given: &str) -> bool {
        shared::crypto::constant_time_eq(self.of(shipment).as_bytes(), given.trim().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_six_digits_fixed_per_shipment_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("delivery-pin");
        let pins = Pins::load_or_create(&path).unwrap();
        let (a, b) = (ShipmentId::generate(), ShipmentId::generate());
        let pin = pins.of(&a);
        assert!(pin.len() == 6 && pin.chars().all(|c| c.is_ascii_digit()), "{pin}");
        // The same key, read again, gives the same PIN; another shipment another one
        // (with 10^6 values two ids collide about once in a million: not here).
        assert_eq!(Pins::load_or_create(&path).unwrap().of(&a), pin);
        assert_ne!(pins.of(&b), pin);
        assert!(pins.matches(&a, &pin) && pins.matches(&a, &format!(" {pin} ")));
        assert!(!pins.matches(&b, &pin) && !pins.matches(&a, "") && !pins.matches(&a, &pin[..5]));
        // Another market's key, other PINs.
        let other = Pins::load_or_create(&dir.path().join("other")).unwrap();
        assert_ne!(other.of(&a), pin);
    }
}
