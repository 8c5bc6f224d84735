use super::domain::{NewNode, Node, NodeKind, Position};
use crate::schema::nodes;
use diesel::prelude::*;
use shared::db::AnyConnection;
use shared::ids::NodeId;

type NodeRow = (String, String, String, String, f64, f64, Option<i32>, Option<String>);

fn to_node((id, kind, name, region, lat, lon, rank, owner): NodeRow) -> Node {
    Node {
        id: NodeId::from_db(id),
        kind: NodeKind::from_db(&kind),
        name,
        region,
        position: Position { lat, lon },
        rank,
        owner,
    }
}

pub fn insert(conn: &mut AnyConnection, node: &NewNode) -> QueryResult<NodeId> {
    let id = NodeId::generate();
    diesel::insert_into(nodes::table)
        .values((
            nodes::id.eq(id.as_str()),
            nodes::kind.eq(node.kind.as_str()),
            nodes::name.eq(&node.name),
            nodes::region.eq(&node.region),
            nodes::lat.eq(node.position.lat),
            nodes::lon.eq(node.position.lon),
            nodes::rank.eq(node.rank),
            nodes::owner.eq(node.owner.as_ref().map(|o| o.as_str())),
            nodes::created_at.eq(shared::time::now()),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn exists(conn: &mut AnyConnection, id: &NodeId) -> QueryResult<bool> {
    nodes::table.filter(nodes::id.eq(id.as_str())).count().get_result::<i64>(conn).map(|n| n > 0)
}

fn columns() -> (nodes::id, nodes::kind, nodes::name, nodes::region, nodes::lat, nodes::lon, nodes::rank, nodes::owner)
{
    (nodes::id, nodes::kind, nodes::name, nodes::region, nodes::lat, nodes::lon, nodes::rank, nodes::owner)
}

/// The nodes routing may consider for one shipment: the destination region's branches,
/// every master warehouse, and the order's own source nodes.
pub fn for_routing(conn: &mut AnyConnection, region: &str, owned: &[NodeId]) -> QueryResult<Vec<Node>> {
    let owned: Vec<&str> = owned.iter().map(NodeId::as_str).collect();
    let rows: Vec<NodeRow> = nodes::table
        .filter(
            nodes::kind
                .eq(NodeKind::Branch.as_str())
                .and(nodes::region.eq(region))
                .or(nodes::kind.eq(NodeKind::Master.as_str()))
                .or(nodes::id.eq_any(owned)),
        )
        .order(nodes::id)
        .select(columns())
        .load(conn)?;
    Ok(rows.into_iter().map(to_node).collect())
}

/// The first node (by id) of `kind` that `owner` (a store or manufacturer) owns.
pub fn first_owned(conn: &mut AnyConnection, kind: NodeKind, owner: &str) -> QueryResult<Option<NodeId>> {
    nodes::table
        .filter(nodes::kind.eq(kind.as_str()))
        .filter(nodes::owner.eq(owner))
        .order(nodes::id)
        .select(nodes::id)
        .first::<String>(conn)
        .optional()
        .map(|id| id.map(NodeId::from_db))
}

pub fn branches_of(conn: &mut AnyConnection, region: &str) -> QueryResult<Vec<Node>> {
    let rows: Vec<NodeRow> = nodes::table
        .filter(nodes::kind.eq(NodeKind::Branch.as_str()))
        .filter(nodes::region.eq(region))
        .order(nodes::id)
        .select(columns())
        .load(conn)?;
    Ok(rows.into_iter().map(to_node).collect())
}
