//! End-to-end tests: settlement.
