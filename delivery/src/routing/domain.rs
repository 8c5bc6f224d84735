//! Plain routing decisions over plain nodes; the queries and reservations live in
//! `shipments::workflow`.

use crate::nodes::domain::{Node, NodeKind, Position};
use crate::settings::DeliverySettings;
use shared::ids::{NodeId, StoreId};

/// The store whose own node ships as "the seller": the union store the broker named to
/// ship (seed 000, claims 7–8), else the selling store.
pub fn shipping_store<'a>(store: &'a StoreId, shipper: Option<&'a StoreId>) -> &'a StoreId {
    shipper.unwrap_or(store)
}

/// The nodes that may supply one order besides the network's warehouses, as resolved when
/// the broker's request came: delivery keeps these, never who sold the order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sources {
    /// The shipping store's own node, if it has one.
    pub seller_node: Option<NodeId>,
    /// The manufacturer's node: the last resort, or the only one for a back-order.
    pub manufacturer_node: Option<NodeId>,
    /// A back-order: the manufacturer ships from its own node.
    pub backorder: bool,
}

impl Sources {
    pub fn owned_nodes(&self) -> Vec<NodeId> {
        self.seller_node.iter().chain(&self.manufacturer_node).cloned().collect()
    }
}

/// Where the goods go: the address's region, and its branches nearest first when the
/// address came with a position.
#[derive(Debug, Clone)]
pub struct Destination {
    pub region: String,
    pub branch_order: Vec<NodeId>,
}

/// The nodes to try, nearest first, and the warehouses goods pass through on the way.
#[derive(Debug)]
pub struct Plan<'a> {
    pub candidates: Vec<&'a Node>,
    /// The branch that serves the destination (the nearest, or rank 1).
    pub serving_branch: Option<&'a Node>,
    pub master: Option<&'a Node>,
}

/// The region's branches in the order the address gives them (by distance), the others
/// after them by rank (unranked last).
pub fn order_branches<'a>(nodes: &'a [Node], dest: &Destination) -> Vec<&'a Node> {
    let mut branches: Vec<&Node> =
        nodes.iter().filter(|n| n.kind == NodeKind::Branch && n.region == dest.region).collect();
    branches.sort_by_key(|n| {
        let by_distance = dest.branch_order.iter().position(|id| *id == n.id).unwrap_or(usize::MAX);
        (by_distance, n.rank.unwrap_or(i32::MAX), n.id.clone())
    });
    branches
}

/// Branch ids of a region nearest first from `position`: what an address keeps instead of
/// its position.
pub fn branches_by_distance(branches: &[Node], position: &Position) -> Vec<NodeId> {
    let mut v: Vec<(f64, &Node)> = branches.iter().map(|n| (n.position.distance_km(position), n)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    v.into_iter().map(|(_, n)| n.id.clone()).collect()
}

pub fn plan<'a>(nodes: &'a [Node], req: &Sources, dest: &Destination) -> Plan<'a> {
    let branches = order_branches(nodes, dest);
    let mut masters: Vec<&Node> = nodes.iter().filter(|n| n.kind == NodeKind::Master).collect();
    masters.sort_by_key(|n| (n.region != dest.region, n.rank.unwrap_or(i32::MAX), n.id.clone()));
    let master = masters.first().copied();
    let owned =
        |kind: NodeKind, id: &Option<NodeId>| nodes.iter().find(|n| n.kind == kind && Some(&n.id) == id.as_ref());
    let seller = owned(NodeKind::Seller, &req.seller_node);
    let manufacturer = owned(NodeKind::Manufacturer, &req.manufacturer_node);
    let candidates = if req.backorder {
        manufacturer.into_iter().collect()
    } else {
        branches.iter().copied().chain(master).chain(seller).chain(manufacturer).collect()
    };
    Plan { candidates, serving_branch: branches.first().copied(), master }
}

/// One hop of a shipment: `to` is `None` for the buyer's address.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedLeg {
    pub from: NodeId,
    pub to: Option<NodeId>,
    /// The region of `from`, which decides which couriers see the leg.
    pub region: String,
    pub km: f64,
    /// The leg starts at a seller's node: its salesperson issues the goods first.
    pub seller_issues: bool,
}

/// The legs from the issuing node down to the buyer: a branch of the destination region
/// delivers itself; a master goes through the serving branch; a manufacturer through the
/// master and the serving branch; a seller's node delivers itself (seed 001: delivery is
/// entrusted to the seller).
pub fn legs(plan: &Plan, source: &Node) -> Vec<PlannedLeg> {
    let mut path: Vec<&Node> = vec![source];
    match source.kind {
        NodeKind::Branch | NodeKind::Seller => {}
        NodeKind::Master => path.extend(plan.serving_branch),
        NodeKind::Manufacturer => {
            path.extend(plan.master);
            path.extend(plan.serving_branch);
        }
    }
    let mut legs: Vec<PlannedLeg> = path
        .windows(2)
        .map(|w| PlannedLeg {
            from: w[0].id.clone(),
            to: Some(w[1].id.clone()),
            region: w[0].region.clone(),
            km: w[0].position.distance_km(&w[1].position),
            seller_issues: w[0].kind == NodeKind::Seller,
        })
        .collect();
    let last = path.last().expect("the path starts at the source");
    legs.push(PlannedLeg {
        from: last.id.clone(),
        to: None,
        region: last.region.clone(),
        km: 0.0,
        seller_issues: last.kind == NodeKind::Seller,
    });
    legs
}

/// Hours from routing to delivery: handling at each leg plus the travel between nodes.
/// The last leg's distance is unknown (the address has no stored position), so it counts
/// handling only.
pub fn estimated_hours(legs: &[PlannedLeg], settings: &DeliverySettings) -> i64 {
    let speed = if settings.transit_km_per_hour > 0.0 { settings.transit_km_per_hour } else { 50.0 };
    legs.iter().map(|l| settings.handling_hours.max(0) + (l.km / speed).ceil() as i64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::domain::Owner;

    fn node(kind: NodeKind, region: &str, lat: f64, rank: Option<i32>, owner: Option<Owner>) -> Node {
        Node {
            id: NodeId::generate(),
            kind,
            name: "n".into(),
            region: region.into(),
            position: Position { lat, lon: 0.0 },
            rank,
            owner,
        }
    }

    struct World {
        nodes: Vec<Node>,
        req: Sources,
    }

    fn world() -> World {
        let store = StoreId::generate();
        let mfr = shared::ids::ManufacturerId::generate();
        let nodes = vec![
            node(NodeKind::Branch, "north", 10.0, Some(2), None),
            node(NodeKind::Branch, "north", 11.0, Some(1), None),
            node(NodeKind::Branch, "south", 10.5, Some(1), None),
            node(NodeKind::Master, "south", 0.0, None, None),
            node(NodeKind::Master, "north", 5.0, None, None),
            node(NodeKind::Seller, "south", 1.0, None, Some(Owner::from(&store))),
            node(NodeKind::Manufacturer, "east", 2.0, None, Some(Owner::from(&mfr))),
        ];
        let req = Sources {
            seller_node: Some(nodes[5].id.clone()),
            manufacturer_node: Some(nodes[6].id.clone()),
            backorder: false,
        };
        World { nodes, req }
    }

    fn dest(branch_order: Vec<NodeId>) -> Destination {
        Destination { region: "north".into(), branch_order }
    }

    #[test]
    fn nearest_first_by_rank_without_position() {
        let w = world();
        let p = plan(&w.nodes, &w.req, &dest(vec![]));
        let ids: Vec<&NodeId> = p.candidates.iter().map(|n| &n.id).collect();
        // Branch rank 1, branch rank 2, the region's master, the seller, the manufacturer.
        assert_eq!(ids, vec![&w.nodes[1].id, &w.nodes[0].id, &w.nodes[4].id, &w.nodes[5].id, &w.nodes[6].id]);
        assert_eq!(p.serving_branch.unwrap().id, w.nodes[1].id);
    }

    #[test]
    fn nearest_first_by_distance_with_position() {
        let w = world();
        let north: Vec<Node> =
            w.nodes.iter().filter(|n| n.kind == NodeKind::Branch && n.region == "north").cloned().collect();
        let order = branches_by_distance(&north, &Position { lat: 9.0, lon: 0.0 });
        assert_eq!(order, vec![w.nodes[0].id.clone(), w.nodes[1].id.clone()]);
        let p = plan(&w.nodes, &w.req, &dest(order));
        assert_eq!(p.candidates[0].id, w.nodes[0].id);
        assert_eq!(p.serving_branch.unwrap().id, w.nodes[0].id);
    }

    #[test]
    fn a_branch_delivers_in_one_leg() {
        let w = world();
        let p = plan(&w.nodes, &w.req, &dest(vec![]));
        let legs = legs(&p, &w.nodes[0]);
        assert_eq!(legs.len(), 1);
        assert_eq!((legs[0].from.clone(), legs[0].to.clone()), (w.nodes[0].id.clone(), None));
    }

    #[test]
    fn the_manufacturer_ships_through_master_and_branch() {
        let w = world();
        let p = plan(&w.nodes, &w.req, &dest(vec![]));
        let legs = legs(&p, &w.nodes[6]);
        let hops: Vec<(NodeId, Option<NodeId>)> = legs.iter().map(|l| (l.from.clone(), l.to.clone())).collect();
        assert_eq!(
            hops,
            vec![
                (w.nodes[6].id.clone(), Some(w.nodes[4].id.clone())),
                (w.nodes[4].id.clone(), Some(w.nodes[1].id.clone())),
                (w.nodes[1].id.clone(), None),
            ]
        );
        assert_eq!(legs[0].region, "east");
        let s = DeliverySettings { handling_hours: 10, transit_km_per_hour: 100.0, ..DeliverySettings::default() };
        // 3 × handling, plus travel over ~334 km and ~667 km at 100 km/h.
        assert_eq!(estimated_hours(&legs, &s), 30 + 4 + 7);
    }

    #[test]
    fn the_master_ships_through_the_serving_branch_and_the_seller_itself() {
        let w = world();
        let p = plan(&w.nodes, &w.req, &dest(vec![]));
        let from_master = legs(&p, &w.nodes[4]);
        assert_eq!(from_master.len(), 2);
        assert!(from_master.iter().all(|l| !l.seller_issues));
        let from_seller = legs(&p, &w.nodes[5]);
        assert_eq!(from_seller.len(), 1);
        assert!(from_seller[0].seller_issues, "the salesperson issues the goods at their own node");
    }

    #[test]
    fn a_backorder_goes_straight_to_the_manufacturer() {
        let mut w = world();
        w.req.backorder = true;
        let p = plan(&w.nodes, &w.req, &dest(vec![]));
        assert_eq!(p.candidates.len(), 1);
        assert_eq!(p.candidates[0].kind, NodeKind::Manufacturer);
    }

    #[test]
    fn the_named_shipper_replaces_the_selling_store() {
        let (store, shipper) = (StoreId::generate(), StoreId::generate());
        assert_eq!(shipping_store(&store, Some(&shipper)), &shipper);
        assert_eq!(shipping_store(&store, None), &store);
        // Its node is the one routing tries as the seller's.
        let mut w = world();
        w.nodes.push(node(NodeKind::Seller, "north", 3.0, None, Some(Owner::from(&shipper))));
        w.req.seller_node = Some(w.nodes[7].id.clone());
        let p = plan(&w.nodes, &w.req, &dest(vec![]));
        let sellers: Vec<&NodeId> = p.candidates.iter().filter(|n| n.kind == NodeKind::Seller).map(|n| &n.id).collect();
        assert_eq!(sellers, vec![&w.nodes[7].id]);
    }

    #[test]
    fn only_the_recorded_nodes_supply_besides_the_warehouses() {
        let mut w = world();
        // A node of the right kind that the request did not name is no candidate, nor is a
        // recorded id that names a node of another kind.
        w.req.seller_node = None;
        w.req.manufacturer_node = Some(w.nodes[0].id.clone());
        let p = plan(&w.nodes, &w.req, &dest(vec![]));
        assert!(p.candidates.iter().all(|n| matches!(n.kind, NodeKind::Branch | NodeKind::Master)), "{p:?}");
        assert_eq!(Sources::default().owned_nodes(), Vec::<NodeId>::new());
        let w = world();
        assert_eq!(w.req.owned_nodes(), vec![w.nodes[5].id.clone(), w.nodes[6].id.clone()]);
    }
}
