//! A refund's status.

/// Where a refund stands, stored as text; an unknown stored status is a read error.
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
pub enum RefundStatus {
    /// Booked: the money is on its way back through the partner.
    Succeeded,
}
shared::sql_text!(RefundStatus);
