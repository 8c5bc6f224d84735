//! JSON bodies of the public routes, through the same parsing the handlers do: an order,
//! a payment, a refund, an address. Never panics; what is accepted is within bounds.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let _ = serde_json::from_value::<broker::orders::placement::PlaceOrder>(value.clone());
    let _ = serde_json::from_value::<settlement::refunds::routes::RefundBody>(value.clone());
    let ceiling = shared::money::Ceiling::MAX;
    if let Ok(p) = settlement::payments::workflow::PaymentRequest::parse(value.clone(), ceiling) {
        assert!(p.amount.amount > 0, "a payment of {:?} was accepted", p.amount);
        assert!(p.amount.amount <= shared::money::MAX_AMOUNT, "a payment above the ceiling was accepted");
    }
    if let Ok(input) = serde_json::from_value::<delivery::addresses::domain::AddressInput>(value) {
        if let Ok((address, _)) = delivery::addresses::domain::Address::parse(&input) {
            assert!(!address.label().is_empty());
        }
    }
});
