//! Nearest-first routing (seed 001): which node issues the goods and along which legs.

pub mod domain;
