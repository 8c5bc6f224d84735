use crate::error::DeliveryError;
use shared::ids::{CourierId, NodeId};

/// After this many failed delivery attempts a shipment goes back.
pub const MAX_FAILED_ATTEMPTS: i32 = 3;

pub use client::delivery::{LegStatus, ShipmentStatus};

/// Where a leg goes, as the tracking and courier views name it: the next node's id, or
/// `buyer` for the final leg.
pub fn leg_destination(to_node: Option<NodeId>) -> String {
    to_node.map(NodeId::into_string).unwrap_or_else(|| "buyer".into())
}

shared::text_enum! {
    /// The kinds of event a courier reports, by the names the API takes.
    pub enum EventKind {
        PickedUp,
        InTransit,
        Delivered,
        Failed,
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
        let kind = kind.parse::<EventKind>().map_err(|_| {
            DeliveryError::InvalidEvent("type must be picked_up, in_transit, delivered or failed".into())
        })?;
        match kind {
            EventKind::PickedUp => Ok(CourierEvent::PickedUp),
            EventKind::InTransit => Ok(CourierEvent::InTransit),
            EventKind::Delivered => Ok(CourierEvent::Delivered),
            EventKind::Failed => {
                let reason = reason.map(str::trim).unwrap_or_default();
                if reason.is_empty() || reason.chars().count() > 500 {
                    return Err(DeliveryError::InvalidEvent("`failed` needs a reason of 1 to 500 characters".into()));
                }
                Ok(CourierEvent::Failed { reason: reason.to_string() })
            }
        }
    }

    pub fn kind(&self) -> EventKind {
        match self {
            CourierEvent::PickedUp => EventKind::PickedUp,
            CourierEvent::InTransit => EventKind::InTransit,
            CourierEvent::Delivered => EventKind::Delivered,
            CourierEvent::Failed { .. } => EventKind::Failed,
        }
    }

    pub fn as_str(&self) -> &'static str {
        self.kind().into()
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
    let out_of_order = || DeliveryError::InvalidTransition { event: event.as_str(), state: leg.to_string() };
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
    fn statuses_round_trip_as_their_stored_text() {
        use strum::IntoEnumIterator;
        for s in ShipmentStatus::iter() {
            assert_eq!(s.as_ref().parse::<ShipmentStatus>().unwrap(), s);
        }
        for s in LegStatus::iter() {
            assert_eq!(s.as_ref().parse::<LegStatus>().unwrap(), s);
        }
        assert_eq!(ShipmentStatus::AwaitingAddress.as_ref(), "awaiting_address");
        assert_eq!(LegStatus::AwaitingGoodsIssue.as_ref(), "awaiting_goods_issue");
        assert!("lost".parse::<ShipmentStatus>().is_err(), "an unknown status is no default");
    }
}
