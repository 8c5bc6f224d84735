//! End-to-end tests: catalog.
