use crate::error::DeliveryError;
use shared::ids::{ManufacturerId, NodeId, StoreId};

pub use client::delivery::{NodeKind, Position};

/// Who a node belongs to: a seller's node is a store's, a manufacturer's node a
/// manufacturer's; warehouses belong to the network. Stored as the owner's id.
#[derive(Debug, Clone, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Owner {
    Store(StoreId),
    Manufacturer(ManufacturerId),
}

impl Owner {
    pub fn parse(s: &str) -> Option<Owner> {
        StoreId::parse(s).map(Owner::Store).ok().or_else(|| ManufacturerId::parse(s).map(Owner::Manufacturer).ok())
    }
}

impl AsRef<str> for Owner {
    fn as_ref(&self) -> &str {
        match self {
            Owner::Store(s) => s.as_str(),
            Owner::Manufacturer(m) => m.as_str(),
        }
    }
}

impl From<&StoreId> for Owner {
    fn from(store: &StoreId) -> Owner {
        Owner::Store(store.clone())
    }
}

impl From<&ManufacturerId> for Owner {
    fn from(manufacturer: &ManufacturerId) -> Owner {
        Owner::Manufacturer(manufacturer.clone())
    }
}

impl std::str::FromStr for Owner {
    type Err = shared::ids::InvalidId;

    fn from_str(s: &str) -> Result<Owner, Self::Err> {
        Owner::parse(s).ok_or_else(|| shared::ids::InvalidId { kind: "owner", value: s.chars().take(80).collect() })
    }
}

shared::sql_text!(Owner);

/// A node as routing sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: NodeId,
    pub kind: NodeKind,
    pub name: String,
    pub region: String,
    pub position: Position,
    pub rank: Option<i32>,
    pub owner: Option<Owner>,
}

/// A node to create, valid by construction.
#[derive(Debug, Clone)]
pub struct NewNode {
    pub kind: NodeKind,
    pub name: String,
    pub region: String,
    pub position: Position,
    pub rank: Option<i32>,
    pub owner: Option<Owner>,
}

impl NewNode {
    pub fn parse(
        kind: NodeKind,
        name: &str,
        region: &str,
        position: Position,
        rank: Option<i32>,
        owner: Option<&str>,
    ) -> Result<NewNode, DeliveryError> {
        let invalid = |m: &str| DeliveryError::InvalidNode(m.to_string());
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(invalid("name must have 1 to 100 printable characters"));
        }
        let region = region.trim();
        if region.is_empty() || region.chars().count() > 64 || region.chars().any(char::is_control) {
            return Err(invalid("region must have 1 to 64 printable characters"));
        }
        let position = Position::parse(position.lat, position.lon)
            .ok_or_else(|| invalid("position must be a latitude in [-90, 90] and a longitude in [-180, 180]"))?;
        if rank.is_some_and(|r| r < 1) {
            return Err(invalid("rank starts at 1"));
        }
        let owner = owner.map(|o| Owner::parse(o).ok_or_else(|| invalid("owner must be a store or manufacturer id")));
        let owner = owner.transpose()?;
        match (kind, &owner) {
            (NodeKind::Seller, Some(Owner::Store(_))) | (NodeKind::Manufacturer, Some(Owner::Manufacturer(_))) => {}
            (NodeKind::Seller, _) => return Err(invalid("a seller node is owned by a store")),
            (NodeKind::Manufacturer, _) => return Err(invalid("a manufacturer node is owned by a manufacturer")),
            (NodeKind::Branch | NodeKind::Master, Some(Owner::Manufacturer(_))) => {
                return Err(invalid("a warehouse may be owned by a store, not a manufacturer"))
            }
            (NodeKind::Branch | NodeKind::Master, _) => {}
        }
        Ok(NewNode { kind, name: name.to_string(), region: region.to_string(), position, rank, owner })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos() -> Position {
        Position { lat: 48.85, lon: 2.35 }
    }

    #[test]
    fn distance_between_paris_and_lyon() {
        let lyon = Position { lat: 45.76, lon: 4.84 };
        let d = pos().distance_km(&lyon);
        assert!((380.0..400.0).contains(&d), "{d}");
        assert_eq!(pos().distance_km(&pos()), 0.0);
    }

    #[test]
    fn nodes_need_the_right_owner() {
        let store = StoreId::generate();
        let mfr = ManufacturerId::generate();
        assert!(NewNode::parse(NodeKind::Seller, "S", "north", pos(), None, Some(store.as_ref())).is_ok());
        assert!(NewNode::parse(NodeKind::Seller, "S", "north", pos(), None, Some(mfr.as_ref())).is_err());
        assert!(NewNode::parse(NodeKind::Seller, "S", "north", pos(), None, None).is_err());
        assert!(NewNode::parse(NodeKind::Manufacturer, "M", "north", pos(), None, Some(mfr.as_ref())).is_ok());
        assert!(NewNode::parse(NodeKind::Branch, "B", "north", pos(), Some(1), None).is_ok());
        assert!(NewNode::parse(NodeKind::Branch, "B", "north", pos(), Some(0), None).is_err());
        assert!(NewNode::parse(NodeKind::Branch, "B", "north", pos(), None, Some("x")).is_err());
        assert!(NewNode::parse(NodeKind::Branch, " ", "north", pos(), None, None).is_err());
        assert!(NewNode::parse(NodeKind::Branch, "B", "", pos(), None, None).is_err());
        let off = Position { lat: 91.0, lon: 0.0 };
        assert!(NewNode::parse(NodeKind::Branch, "B", "north", off, None, None).is_err());
    }
}
