//! The finishing touches every service's OpenAPI document gets before it is served: one
//! tag per resource and operation ids unique across the document (`orders_cancel`,
//! `payments_create`), which client generators need. utoipa names an operation after its
//! handler function and tags it with the handler's module path, so two `create` handlers
//! in two modules would share an id.

use std::collections::HashMap;
use utoipa::openapi::OpenApi;

/// The resource a handler's module path names: `orders::routes` → `orders`.
fn resource(tag: &str) -> &str {
    tag.split("::").filter(|p| !p.is_empty() && *p != "crate" && *p != "routes").last().unwrap_or(tag)
}

/// Retags each operation by resource and prefixes its id with it, unless the handler's
/// name already starts with it.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            let tag = op.tags.as_ref().and_then(|t| t.first()).map(|t| resource(t).to_string());
            let Some(tag) = tag else { continue };
            if let Some(id) = op.operation_id.as_mut() {
                if !id.starts_with(&format!("{tag}_")) {
                    *id = format!("{tag}_{id}");
                }
            }
            op.tags = Some(vec![tag]);
        }
    }
    doc
}

/// Operation ids used more than once, for the services' tests.
pub fn duplicate_operation_ids(mut doc: OpenApi) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            *seen.entry(op.operation_id.clone().unwrap_or_default()).or_default() += 1;
        }
    }
    let mut dupes: Vec<String> = seen.into_iter().filter(|(_, n)| *n > 1).map(|(id, _)| id).collect();
    dupes.sort();
    dupes
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_come_from_the_module_path() {
        assert_eq!(resource("orders::routes"), "orders");
        assert_eq!(resource("crate::payments::routes"), "payments");
        assert_eq!(resource("inbox"), "inbox");
    }
}
