//! A payment's status.

/// Where a payment stands, stored as text; an unknown stored status is a read error.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    strum::EnumString,
    strum::AsRefStr,
    strum::IntoStaticStr,
    strum::Display,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PaymentStatus {
    /// Booked into escrow; the order is fully paid.
    Captured,
    /// Booked into escrow; the order still waits for the rest.
    Partial,
    /// Turned away whole: nothing booked, all of it returned.
    Rejected,
    /// Everything captured was refunded.
    Refunded,
}
shared::sql_text!(PaymentStatus);
