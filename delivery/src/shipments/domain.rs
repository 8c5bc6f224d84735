use crate::error::DeliveryError;
use shared::ids::CourierId;

/// After this many failed delivery attempts a shipment goes back.
pub const MAX_FAILED_ATTEMPTS: i32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipmentStatus {
    AwaitingAddress,
    Routed,
    InTransit,
    Delivered,
    Unroutable,
    Returned,
    Cancelled,
}

impl ShipmentStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ShipmentStatus::AwaitingAddress => "awaiting_address",
            ShipmentStatus::Routed => "routed",
            ShipmentStatus::InTransit => "in_transit",
            ShipmentStatus::Delivered => "delivered",
            ShipmentStatus::Unroutable => "unroutable",
            ShipmentStatus::Returned => "returned",
            ShipmentStatus::Cancelled => "cancelled",
        }
    }

    pub fn from_db(s: &str) -> ShipmentStatus {
        match s {
            "awaiting_address" => ShipmentStatus::AwaitingAddress,
            "routed" => ShipmentStatus::Routed,
            "in_transit" => ShipmentStatus::InTransit,
            "delivered" => ShipmentStatus::Delivered,
            "unroutable" => ShipmentStatus::Unroutable,
            "returned" => ShipmentStatus::Returned,
            _ => ShipmentStatus::Cancelled,
        }
    }

    /// No courier will touch it again.
    pub fn is_final(&self) -> bool {
        matches!(self, ShipmentStatus::Delivered | ShipmentStatus::Returned | ShipmentStatus::Cancelled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegStatus {
    /// Waits for the legs before it.
    Pending,
    /// The first leg from a seller's node: the salesperson issues the goods (hands them to
    /// the courier) before any courier can claim it (seed 001: delivery entrusted to the
    /// seller).
    AwaitingGoodsIssue,
    /// The current leg, free for any courier to claim.
    Open,
    PickedUp,
    InTransit,
    Delivered,
    /// The shipment ended before this leg was done.
    Cancelled,
}

impl LegStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            LegStatus::Pending => "pending",
            LegStatus::AwaitingGoodsIssue => "awaiting_goods_issue",
            LegStatus::Open => "open",
            LegStatus::PickedUp => "picked_up",
            LegStatus::InTransit => "in_transit",
            LegStatus::Delivered => "delivered",
            LegStatus::Cancelled => "cancelled",
        }
    }

    pub fn from_db(s: &str) -> LegStatus {
        match s {
            "pending" => LegStatus::Pending,
            "awaiting_goods_issue" => LegStatus::AwaitingGoodsIssue,
            "open" => LegStatus::Open,
            "picked_up" => LegStatus::PickedUp,
            "in_transit" => LegStatus::InTransit,
            "delivered" => LegStatus::Delivered,
            _ => LegStatus::Cancelled,
        }
    }

    pub fn is_claimed(&self) -> bool {
        matches!(self, LegStatus::PickedUp | LegStatus::InTransit)
    }

    /// Nobody has taken the goods on this leg yet.
    pub fn not_started(&self) -> bool {
        matches!(self, LegStatus::Pending | LegStatus::AwaitingGoodsIssue | LegStatus::Open)
    }
}

/// What a courier reports about the current leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourierEvent {
    PickedUp,
    InTransit,
    Delivered,
    Failed { reason: String },
}

impl CourierEvent {
    pub fn parse(kind: &str, reason: Option<&str>) -> Result<CourierEvent, DeliveryError> {
        match kind {
            "picked_up" => Ok(CourierEvent::PickedUp),
            "in_transit" => Ok(CourierEvent::InTransit),
            "delivered" => Ok(CourierEvent::Delivered),
            "failed" => {
                let reason = reason.map(str::trim).unwrap_or_default();
                if reason.is_empty() || reason.chars().count() > 500 {
                    return Err(DeliveryError::InvalidEvent("`failed` needs a reason of 1 to 500 characters".into()));
                }
                Ok(CourierEvent::Failed { reason: reason.to_string() })
            }
            _ => Err(DeliveryError::InvalidEvent("type must be picked_up, in_transit, delivered or failed".into())),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            CourierEvent::PickedUp => "picked_up",
            CourierEvent::InTransit => "in_transit",
            CourierEvent::Delivered => "delivered",
            CourierEvent::Failed { .. } => "failed",
        }
    }
}

/// What an event does to the leg it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The courier takes the leg.
    Claim,
    /// The goods are on their way.
    Move,
    /// The leg is done.
    Complete,
    /// The attempt failed; the leg is free again.
    Reopen,
}

/// The leg's next status, or why the event does not apply. A leg another courier holds
/// is theirs alone (403); an event out of order is a conflict (409).
pub fn transition(
    leg: LegStatus,
    holder: Option<&CourierId>,
    me: &CourierId,
    event: &CourierEvent,
) -> Result<(LegStatus, Effect), DeliveryError> {
    if leg.is_claimed() && holder != Some(me) {
        return Err(DeliveryError::LegClaimed);
    }
    let out_of_order = || DeliveryError::InvalidTransition { event: event.as_str(), state: leg.as_str().to_string() };
    match (event, leg) {
        (CourierEvent::PickedUp, LegStatus::Open) => Ok((LegStatus::PickedUp, Effect::Claim)),
        (CourierEvent::InTransit, LegStatus::PickedUp) => Ok((LegStatus::InTransit, Effect::Move)),
        (CourierEvent::Delivered, LegStatus::PickedUp | LegStatus::InTransit) => {
            Ok((LegStatus::Delivered, Effect::Complete))
        }
        (CourierEvent::Failed { .. }, LegStatus::PickedUp | LegStatus::InTransit) => {
            Ok((LegStatus::Open, Effect::Reopen))
        }
        _ => Err(out_of_order()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leg_goes_open_picked_up_in_transit_delivered() {
        let me = CourierId::generate();
        assert_eq!(transition(LegStatus::Open, None, &me, &CourierEvent::PickedUp).unwrap().1, Effect::Claim);
        let t = transition(LegStatus::PickedUp, Some(&me), &me, &CourierEvent::InTransit).unwrap();
        assert_eq!(t, (LegStatus::InTransit, Effect::Move));
        let t = transition(LegStatus::InTransit, Some(&me), &me, &CourierEvent::Delivered).unwrap();
        assert_eq!(t, (LegStatus::Delivered, Effect::Complete));
        let failed = CourierEvent::Failed { reason: "nobody home".into() };
        assert_eq!(
            transition(LegStatus::InTransit, Some(&me), &me, &failed).unwrap(),
            (LegStatus::Open, Effect::Reopen)
        );
    }

    #[test]
    fn out_of_order_and_foreign_events_are_refused() {
        let me = CourierId::generate();
        let other = CourierId::generate();
        assert!(matches!(
            transition(LegStatus::Open, None, &me, &CourierEvent::Delivered),
            Err(DeliveryError::InvalidTransition { .. })
        ));
        assert!(matches!(
            transition(LegStatus::PickedUp, Some(&me), &me, &CourierEvent::PickedUp),
            Err(DeliveryError::InvalidTransition { .. })
        ));
        for event in [CourierEvent::PickedUp, CourierEvent::InTransit, CourierEvent::Delivered] {
            assert!(matches!(
                transition(LegStatus::PickedUp, Some(&other), &me, &event),
                Err(DeliveryError::LegClaimed)
            ));
        }
        assert!(matches!(
            transition(LegStatus::Pending, None, &me, &CourierEvent::PickedUp),
            Err(DeliveryError::InvalidTransition { .. })
        ));
    }

    #[test]
    fn events_parse_and_failures_need_a_reason() {
        assert_eq!(CourierEvent::parse("picked_up", None).unwrap(), CourierEvent::PickedUp);
        assert!(CourierEvent::parse("failed", None).is_err());
        assert!(CourierEvent::parse("failed", Some("  ")).is_err());
        assert!(CourierEvent::parse("failed", Some("closed")).is_ok());
        assert!(CourierEvent::parse("teleported", None).is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            ShipmentStatus::AwaitingAddress,
            ShipmentStatus::Routed,
            ShipmentStatus::InTransit,
            ShipmentStatus::Delivered,
            ShipmentStatus::Unroutable,
            ShipmentStatus::Returned,
            ShipmentStatus::Cancelled,
        ] {
            assert_eq!(ShipmentStatus::from_db(s.as_str()), s);
        }
    }
}
