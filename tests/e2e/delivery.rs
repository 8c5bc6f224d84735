//! End-to-end tests: delivery.
