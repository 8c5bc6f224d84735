use super::domain::{NewNode, Node, NodeKind, Owner, Position};
use crate::schema::nodes;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::NodeId;

/// A node as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = nodes)]
struct NodeRow {
    id: NodeId,
    kind: NodeKind,
    name: String,
    region: String,
    lat: f64,
    lon: f64,
    rank: Option<i32>,
    owner: Option<Owner>,
}

impl From<NodeRow> for Node {
    fn from(r: NodeRow) -> Node {
        let NodeRow { id, kind, name, region, lat, lon, rank, owner } = r;
        Node { id, kind, name, region, position: Position { lat, lon }, rank, owner }
    }
}

pub fn insert(conn: &mut AnyConnection, node: &NewNode) -> QueryResult<NodeId> {
    let id = NodeId::generate();
    diesel::insert_into(nodes::table)
        .values((
            nodes::id.eq(&id),
            nodes::kind.eq(node.kind),
            nodes::name.eq(&node.name),
            nodes::region.eq(&node.region),
            nodes::lat.eq(node.position.lat),
            nodes::lon.eq(node.position.lon),
            nodes::rank.eq(node.rank),
            nodes::owner.eq(&node.owner),
            nodes::created_at.eq(shared::time::now()),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn exists(conn: &mut AnyConnection, id: &NodeId) -> QueryResult<bool> {
    nodes::table.filter(nodes::id.eq(id)).count().get_result::<i64>(conn).map(|n| n > 0)
}

/// The nodes routing may consider for one shipment: the destination region's branches,
/// every master warehouse, and the order's own source nodes.
pub fn for_routing(conn: &mut AnyConnection, region: &str, owned: &[NodeId]) -> QueryResult<Vec<Node>> {
    let rows: Vec<NodeRow> = nodes::table
        .filter(
            nodes::kind
                .eq(NodeKind::Branch)
                .and(nodes::region.eq(region))
                .or(nodes::kind.eq(NodeKind::Master))
                .or(nodes::id.eq_any(owned)),
        )
        .order(nodes::id)
        .select(NodeRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Node::from).collect())
}

/// The first node (by id) of `kind` that `owner` (a store or manufacturer) owns.
pub fn first_owned(conn: &mut AnyConnection, kind: NodeKind, owner: &Owner) -> QueryResult<Option<NodeId>> {
    nodes::table
        .filter(nodes::kind.eq(kind))
        .filter(nodes::owner.eq(owner))
        .order(nodes::id)
        .select(nodes::id)
        .first(conn)
        .optional()
}

pub fn branches_of(conn: &mut AnyConnection, region: &str) -> QueryResult<Vec<Node>> {
    let rows: Vec<NodeRow> = nodes::table
        .filter(nodes::kind.eq(NodeKind::Branch))
        .filter(nodes::region.eq(region))
        .order(nodes::id)
        .select(NodeRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Node::from).collect())
}
