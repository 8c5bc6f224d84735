//! The finishing touches every service's OpenAPI document gets before it is served: one
//! tag per resource and operation ids unique across the document (`orders_cancel`,
//! `payments_create`), which client generators need; the routes every service shares
//! (health, readiness, metrics, this document, the JWK Set); the security schemes the
//! operations name; id patterns on path parameters; and every error an operation can
//! answer, as `application/problem+json` with its codes. The errors are derived from what
//! the document already knows (security, request body, path and query parameters), so a
//! new route gets them without writing them out; codes a route documents itself stay.
//!
//! utoipa names an operation after its handler function and tags it with the handler's
//! module path, so two `create` handlers in two modules would share an id.

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use utoipa::openapi::OpenApi;

const PROBLEM_REF: &str = "#/components/schemas/Problem";
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Path parameters naming a typed id, with the id's prefix (see `ids.rs`).
const ID_PREFIXES: &[(&str, &str)] = &[
    ("order_id", "ord"),
    ("store_id", "sto"),
    ("union_id", "uni"),
    ("product_id", "prd"),
    ("seller_id", "sel"),
    ("manufacturer_id", "mfr"),
    ("buyer_id", "buy"),
    ("payment_id", "pay"),
    ("refund_id", "ref"),
    ("partner_id", "ptn"),
    ("shipment_id", "shp"),
    ("node_id", "nod"),
    ("courier_id", "cou"),
    ("message_id", "msg"),
    ("report_id", "rep"),
    ("event_id", "evt"),
    ("remittance_id", "rem"),
    ("supplier_id", "sup"),
];

/// The bearer credentials operations name in their `security`, and what each one is.
const SCHEMES: &[(&str, &str)] = &[
    ("operator", "the operator token"),
    ("partner", "a payment partner's API key, sent as a bearer token"),
    ("seller", "a seller's access token issued by the broker"),
    ("manufacturer", "a manufacturer's access token issued by the broker"),
    ("buyer", "a buyer's session token issued by the broker"),
    ("courier", "a courier's session token issued by delivery"),
    ("capability", "an order capability issued by the broker"),
    ("shipment_view", "a seller's shipment view token issued by the broker"),
    ("dispute_file", "an arbiter's dispute-file token the broker issues with the file"),
    ("service", "a service token another service of the marketplace signs"),
];

/// Routes behind a rate limit (`shared::ratelimit`) and routes that hash a password (and
/// so answer 503 `busy` when the hashing pool is full): (method, path, limited, hashes).
const LIMITED: &[(&str, &str, bool, bool)] = &[
    ("post", "/v1/orders", true, false),
    ("post", "/v1/sellers", true, true),
    ("post", "/v1/buyers", true, true),
    ("post", "/v1/buyer-sessions", true, true),
    ("post", "/v1/manufacturers", false, true),
    ("post", "/v1/sessions", true, true),
    ("post", "/v1/operators", false, true),
    ("post", "/v1/operator-sessions", true, true),
    ("post", "/v1/couriers", false, true),
    ("post", "/v1/payments", true, false),
    ("post", "/v1/refunds", true, false),
];

/// The resource a handler's module path names: `orders::routes` → `orders`.
fn resource(tag: &str) -> &str {
    tag.split("::").filter(|p| !p.is_empty() && *p != "crate" && *p != "routes").last().unwrap_or(tag)
}

/// Everything above, applied to a service's document. `codes` is the service's own
/// catalogue (`shared::error::Catalogue::all`): with the shared codes it becomes the enum
/// of `Problem.code`, so a client can match on every code the service can answer.
pub fn finish(doc: OpenApi, codes: &[&'static str]) -> OpenApi {
    let mut value = match serde_json::to_value(&doc) {
        Ok(v) => v,
        Err(_) => return doc,
    };
    finish_value(&mut value);
    // Until a service lists its catalogue, `code` keeps its pattern only.
    if !codes.is_empty() {
        value["components"]["schemas"]["Problem"]["properties"]["code"] = code_schema(codes);
    }
    serde_json::from_value(value).unwrap_or(doc)
}

fn code_schema(codes: &[&'static str]) -> Value {
    use strum::IntoEnumIterator;
    let mut all: Vec<&str> =
        crate::error::Code::iter().map(crate::error::Code::as_str).chain(codes.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    json!({ "type": "string", "enum": all })
}

fn finish_value(doc: &mut Value) {
    doc["openapi"] = json!("3.1.0");
    let paths = doc["paths"].as_object_mut().map(std::mem::take).unwrap_or_default();
    let mut paths: BTreeMap<String, Value> = paths.into_iter().collect();
    for (path, item) in shared_routes() {
        paths.entry(path.to_string()).or_insert(item);
    }
    let mut used_schemes = Vec::new();
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else { continue };
            retag(op);
            path_parameters(path, op);
            default_security(path, op);
            for name in security_names(op) {
                if !used_schemes.contains(&name) {
                    used_schemes.push(name);
                }
            }
            let (limited, hashes) = LIMITED
                .iter()
                .find(|(m, p, _, _)| *m == method && p == path)
                .map_or((false, false), |(_, _, l, h)| (*l, *h));
            errors(op, path, limited, hashes);
        }
    }
    doc["paths"] = Value::Object(paths.into_iter().collect());
    let components = doc.as_object_mut().map(|d| d.entry("components").or_insert_with(|| json!({})));
    let Some(components) = components.and_then(Value::as_object_mut) else { return };
    let schemas = components.entry("schemas").or_insert_with(|| json!({}));
    schemas["Problem"] = problem_schema();
    let schemes = components.entry("securitySchemes").or_insert_with(|| json!({}));
    for name in used_schemes {
        if schemes.get(&name).is_none() {
            let what = SCHEMES.iter().find(|(n, _)| *n == name).map_or("a bearer token", |(_, w)| w);
            schemes[&name] = json!({ "type": "http", "scheme": "bearer", "description": what });
        }
    }
}

fn retag(op: &mut Map<String, Value>) {
    let tag = op.get("tags").and_then(|t| t.get(0)).and_then(Value::as_str).map(|t| resource(t).to_string());
    let Some(tag) = tag else { return };
    if let Some(Value::String(id)) = op.get_mut("operationId") {
        if !id.starts_with(&format!("{tag}_")) {
            *id = format!("{tag}_{id}");
        }
    }
    op.insert("tags".into(), json!([tag]));
}

/// The credential a route's place in the URL space implies, for operations that do not
/// name one: the caller's own resources live under the caller's role.
fn implied_security(path: &str) -> &'static [&'static str] {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if under("/internal") {
        &["service"]
    } else if under("/v1/seller") {
        &["seller"]
    } else if under("/v1/buyer") {
        &["buyer"]
    } else if under("/v1/manufacturer") {
        &["manufacturer"]
    } else if under("/v1/courier") {
        &["courier"]
    } else if path.starts_with("/v1/orders/{order_id}") {
        // The order's parties: the buyer's capability, its seller, its manufacturer.
        &["capability", "seller", "manufacturer"]
    } else {
        &[]
    }
}

fn default_security(path: &str, op: &mut Map<String, Value>) {
    if op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty()) {
        return;
    }
    let implied = implied_security(path);
    if !implied.is_empty() {
        let alternatives: Vec<Value> = implied.iter().map(|name| json!({ *name: [] })).collect();
        op.insert("security".into(), Value::Array(alternatives));
    }
}

fn security_names(op: &Map<String, Value>) -> Vec<String> {
    op.get("security")
        .and_then(Value::as_array)
        .map(|reqs| reqs.iter().filter_map(Value::as_object).flat_map(|r| r.keys().cloned()).collect())
        .unwrap_or_default()
}

/// The names of a path template's parameters: `/v1/orders/{order_id}` → `order_id`.
pub fn template_names(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

/// Every template name declared as a required path parameter; typed ids with their pattern.
fn path_parameters(path: &str, op: &mut Map<String, Value>) {
    let params = op.entry("parameters").or_insert_with(|| json!([]));
    let Some(params) = params.as_array_mut() else { return };
    for name in template_names(path) {
        let existing = params.iter_mut().find(|p| p["in"] == "path" && p["name"] == name);
        let param = match existing {
            Some(p) => p,
            None => {
                params.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
                params.last_mut().expect("just pushed")
            }
        };
        param["required"] = json!(true);
        if let Some((_, prefix)) = ID_PREFIXES.iter().find(|(n, _)| *n == name) {
            param["schema"] = json!({
                "type": "string",
                "pattern": format!("^{prefix}_[0-9a-f]{{32}}$"),
                "example": format!("{prefix}_0123456789abcdef0123456789abcdef"),
            });
        }
    }
    if params.is_empty() {
        op.remove("parameters");
    }
}

/// The errors an operation can answer, by what it takes.
fn errors(op: &mut Map<String, Value>, path: &str, limited: bool, hashes: bool) {
    let secured = !security_names(op).is_empty();
    let has_body = op.contains_key("requestBody");
    let params = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    let has_path = params.iter().any(|p| p["in"] == "path");
    let has_query = params.iter().any(|p| p["in"] == "query");
    let mut add: Vec<(&str, &str)> = Vec::new();
    if has_path {
        add.push(("400", "invalid_path, invalid_id: a path parameter is malformed"));
        add.push(("404", "not_found: no such resource (or not one the caller may see)"));
    }
    if has_query {
        add.push(("400", "invalid_query: a query parameter is malformed"));
        add.push(("422", "invalid_request: a query parameter is well-formed but refused"));
    }
    if has_body {
        add.push(("400", "malformed_json: the body is not JSON"));
        add.push(("413", "payload_too_large: the body exceeds 64 KiB"));
        add.push(("415", "unsupported_media_type: send the body as application/json"));
        add.push(("422", "invalid_body, invalid_request, amount_too_large: the body is well-formed but refused"));
    }
    if secured {
        add.push(("401", "unauthorized, token_expired: missing, malformed or expired credentials"));
        add.push(("403", "forbidden: the credentials do not cover this resource"));
    }
    if limited {
        add.push(("429", "rate_limited: too many requests from this client; see Retry-After"));
    }
    if hashes {
        add.push(("503", "busy: password hashing is at its bound; see Retry-After"));
    }
    if !matches!(path, "/healthz" | "/metrics" | "/openapi.json" | "/.well-known/jwks.json") {
        add.push(("503", "unavailable: storage or a dependency is busy or down; see Retry-After"));
    }
    add.push(("431", "headers_too_large: the request headers exceed 32 KiB"));
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    // A catch-all hides which statuses exist; every one is named instead.
    responses.remove("default");
    for (status, description) in add {
        match responses.get_mut(status) {
            Some(resp) => {
                let old = resp["description"].as_str().unwrap_or("").to_string();
                if !old.contains(description.split(':').next().unwrap_or(description)) {
                    resp["description"] =
                        json!(if old.is_empty() { description.to_string() } else { format!("{old}; {description}") });
                }
            }
            None => {
                responses.insert(status.into(), json!({ "description": description }));
            }
        }
    }
    for (status, resp) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if is_error && resp.get("content").is_none() && resp.get("$ref").is_none() {
            resp["content"] = json!({ crate::error::PROBLEM_JSON: { "schema": { "$ref": PROBLEM_REF } } });
        }
    }
}

/// RFC 9457 as `crate::error::Problem` writes it.
fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "An error (RFC 9457). `code` is stable and machine-readable; clients branch on it.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": { "type": "string", "format": "uri" },
            "title": { "type": "string" },
            "status": { "type": "integer", "minimum": 400, "maximum": 599 },
            "detail": { "type": "string" },
            "code": { "type": "string", "pattern": "^[a-z][a-z0-9_]*$" }
        },
        "additionalProperties": true
    })
}

/// The routes `crate::server::start` adds to every service, and the inbox every service
/// registers.
fn shared_routes() -> Vec<(&'static str, Value)> {
    let status = |what: &str| {
        json!({ "description": what, "content": { "application/json": { "schema": {
            "type": "object", "required": ["status"], "properties": { "status": { "type": "string" } } } } } })
    };
    let op = |id: &str, summary: &str, ok: Value| json!({ "get": { "tags": ["service"], "operationId": id, "summary": summary, "responses": { "200": ok } } });
    let mut readyz = op("service_readyz", "Whether the service can serve: its storage answers", status("ready"));
    readyz["get"]["responses"]["503"] = json!({ "description": "not_ready: storage does not answer" });
    let inbox = json!({ "post": {
        "tags": ["inbox"], "operationId": "inbox_receive",
        "summary": "Another service of the marketplace delivers one message (at least once; deduplicated here)",
        "security": [{ "service": [] }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object" } } } },
        "responses": {
            "204": { "description": "applied, or already applied before" },
            "409": { "description": "the message does not fit this service's state" }
        } } });
    vec![
        (crate::messages::INBOX_PATH, inbox),
        ("/healthz", op("service_healthz", "Whether the process is up", status("ok"))),
        ("/readyz", readyz),
        (
            "/metrics",
            op(
                "service_metrics",
                "Prometheus metrics",
                json!({ "description": "the text exposition format",
                    "content": { "text/plain": { "schema": { "type": "string" } } } }),
            ),
        ),
        (
            "/openapi.json",
            op(
                "service_openapi",
                "This document",
                json!({ "description": "OpenAPI 3.1", "content": { "application/json": { "schema": { "type": "object" } } } }),
            ),
        ),
        (
            "/.well-known/jwks.json",
            op(
                "service_jwks",
                "The service's public signing keys as a JWK Set",
                json!({ "description": "RFC 7517 JWK Set", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["keys"],
                    "properties": { "keys": { "type": "array", "items": { "type": "object" } } } } } } }),
            ),
        ),
    ]
}

/// The documented paths and their methods, for telling 405 from 404.
#[derive(Debug, Clone, Default)]
pub struct KnownPaths(Vec<(Vec<String>, Vec<String>)>);

impl KnownPaths {
    pub fn of(doc: &OpenApi) -> KnownPaths {
        let mut known: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for (path, method, _) in operations(doc) {
            let segments: Vec<String> = path.split('/').map(str::to_string).collect();
            let method = method.to_uppercase();
            match known.iter_mut().find(|(s, _)| *s == segments) {
                Some((_, methods)) => methods.push(method),
                None => known.push((segments, vec![method])),
            }
        }
        KnownPaths(known)
    }

    /// The methods a concrete path takes, if a documented template matches it.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let asked: Vec<&str> = path.split('/').collect();
        let matches = |template: &[String]| {
            template.len() == asked.len()
                && template.iter().zip(&asked).all(|(t, a)| (t.starts_with('{') && !a.is_empty()) || t == a)
        };
        let mut methods: Vec<String> =
            self.0.iter().filter(|(t, _)| matches(t)).flat_map(|(_, m)| m.iter().cloned()).collect();
        if methods.is_empty() {
            return None;
        }
        methods.sort();
        methods.dedup();
        Some(methods)
    }
}

/// Everything wrong with a service's document once finished: an operation id used twice,
/// an operation that breaks a rule of [`check`], a fault of the service's catalogue `C`.
/// Each service's tests assert there is none.
pub fn faults<C: crate::error::Catalogue>(doc: OpenApi, codes: &[&'static str]) -> Vec<String> {
    let doc = finish(doc, codes);
    let mut faults: Vec<String> =
        duplicate_operation_ids(doc.clone()).into_iter().map(|id| format!("operation id {id} used twice")).collect();
    faults.extend(check(&doc));
    faults.extend(crate::error::catalogue_faults::<C>(&doc));
    faults
}

/// Operation ids used more than once, for the services' tests.
pub fn duplicate_operation_ids(doc: OpenApi) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (_, method, op) in operations(&doc) {
        let _ = method;
        *seen.entry(op["operationId"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    let mut dupes: Vec<String> = seen.into_iter().filter(|(_, n)| *n > 1).map(|(id, _)| id).collect();
    dupes.sort();
    dupes
}

/// Every (path, method, operation) of a document, as JSON.
pub fn operations(doc: &OpenApi) -> Vec<(String, &'static str, Value)> {
    let value = serde_json::to_value(doc).unwrap_or_default();
    let mut out = Vec::new();
    if let Some(paths) = value["paths"].as_object() {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    out.push((path.clone(), method, op.clone()));
                }
            }
        }
    }
    out
}

/// What a finished document must hold for every operation; the services' tests call it.
/// Each entry says which operation breaks which rule.
pub fn check(doc: &OpenApi) -> Vec<String> {
    let mut faults = Vec::new();
    for (path, method, op) in operations(doc) {
        let at = format!("{} {path}", method.to_uppercase());
        if op["operationId"].as_str().is_none_or(|id| !id.contains('_')) {
            faults.push(format!("{at}: no resource-prefixed operation id"));
        }
        if op["tags"].as_array().is_none_or(|t| t.len() != 1) {
            faults.push(format!("{at}: not exactly one tag"));
        }
        let responses = op["responses"].as_object().cloned().unwrap_or_default();
        if responses.contains_key("default") {
            faults.push(format!("{at}: a catch-all default response"));
        }
        for (status, resp) in &responses {
            if (status.starts_with('4') || status.starts_with('5'))
                && resp["content"][crate::error::PROBLEM_JSON].is_null()
            {
                faults.push(format!("{at}: {status} without a problem+json body"));
            }
        }
        if !security_names(op.as_object().expect("operations are objects")).is_empty() && !responses.contains_key("401")
        {
            faults.push(format!("{at}: secured but no 401"));
        }
        for name in template_names(&path) {
            let declared =
                op["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["in"] == "path" && p["name"] == name));
            if !declared {
                faults.push(format!("{at}: path parameter {name} undeclared"));
            }
            if name.ends_with("_id") && ID_PREFIXES.iter().any(|(n, _)| *n == name) {
                let pattern = op["parameters"]
                    .as_array()
                    .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                    .map(|p| p["schema"]["pattern"].clone());
                if pattern.is_none_or(|p| p.is_null()) {
                    faults.push(format!("{at}: {name} without a pattern"));
                }
            }
        }
    }
    let value = serde_json::to_value(doc).unwrap_or_default();
    for (path, method, op) in operations(doc) {
        for name in security_names(op.as_object().expect("operations are objects")) {
            if value["components"]["securitySchemes"][&name].is_null() {
                faults.push(format!("{} {path}: security scheme {name} undeclared", method.to_uppercase()));
            }
        }
    }
    faults
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

    fn sample() -> OpenApi {
        serde_json::from_value(json!({
            "openapi": "3.1.0",
            "info": { "title": "t", "version": "1" },
            "paths": {
                "/v1/orders/{order_id}/cancel": { "post": {
                    "tags": ["orders::routes"], "operationId": "cancel",
                    "requestBody": { "content": { "application/json": { "schema": { "type": "object" } } } },
                    "security": [{ "capability": [] }],
                    "responses": { "200": { "description": "cancelled" },
                        "409": { "description": "not_cancellable" },
                        "default": { "description": "anything" } } } },
                "/v1/orders": { "post": {
                    "tags": ["orders::routes"], "operationId": "place",
                    "responses": { "201": { "description": "placed" } } } }
            }
        }))
        .expect("a valid sample")
    }

    #[test]
    fn a_finished_document_passes_its_own_checks() {
        assert!(!check(&sample()).is_empty(), "the raw sample breaks the rules");
        let doc = finish(sample(), &[]);
        assert_eq!(check(&doc), Vec::<String>::new());
    }

    #[test]
    fn errors_follow_from_what_an_operation_takes() {
        let doc = serde_json::to_value(finish(sample(), &[])).unwrap();
        let cancel = &doc["paths"]["/v1/orders/{order_id}/cancel"]["post"];
        for status in ["400", "401", "403", "404", "409", "413", "415", "422", "503"] {
            assert_eq!(
                cancel["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"], PROBLEM_REF,
                "{status}"
            );
        }
        assert!(cancel["responses"]["default"].is_null());
        assert_eq!(cancel["responses"]["409"]["description"], "not_cancellable", "a route's own codes stay");
        assert_eq!(cancel["parameters"][0]["schema"]["pattern"], "^ord_[0-9a-f]{32}$");
        assert_eq!(cancel["operationId"], "orders_cancel");
        assert_eq!(cancel["security"], json!([{ "capability": [] }]), "a route's own security stays");
        let place = &doc["paths"]["/v1/orders"]["post"];
        assert_eq!(place["responses"]["429"]["content"]["application/problem+json"]["schema"]["$ref"], PROBLEM_REF);
        assert!(place["responses"]["401"].is_null(), "no credentials, no 401");
        assert_eq!(doc["components"]["securitySchemes"]["capability"]["scheme"], "bearer");
        assert_eq!(doc["components"]["schemas"]["Problem"]["required"][4], "code");
        for shared in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/.well-known/jwks.json"] {
            assert!(doc["paths"][shared]["get"].is_object(), "{shared}");
        }
        let inbox = &doc["paths"][crate::messages::INBOX_PATH]["post"];
        assert_eq!(inbox["responses"]["401"]["content"]["application/problem+json"]["schema"]["$ref"], PROBLEM_REF);
        assert_eq!(doc["components"]["securitySchemes"]["service"]["scheme"], "bearer");
    }

    #[test]
    fn a_route_under_a_role_needs_that_role() {
        assert_eq!(implied_security("/v1/seller/stores"), ["seller"]);
        assert_eq!(implied_security("/v1/buyer"), ["buyer"]);
        assert!(implied_security("/v1/buyer-sessions").is_empty(), "signing in needs no session");
        assert_eq!(implied_security("/internal/v1/charges"), ["service"]);
        assert_eq!(implied_security("/v1/orders/{order_id}/cancel").len(), 3);
        assert!(implied_security("/v1/search").is_empty());
    }

    #[test]
    fn known_paths_match_templates_segment_by_segment() {
        let known = KnownPaths::of(&finish(sample(), &[]));
        assert_eq!(known.allowed("/v1/orders/ord_1/cancel"), Some(vec!["POST".to_string()]));
        assert_eq!(known.allowed("/healthz"), Some(vec!["GET".to_string()]));
        assert_eq!(known.allowed("/v1/orders//cancel"), None, "an empty segment is no id");
        assert_eq!(known.allowed("/v1/orders/ord_1"), None);
        assert_eq!(known.allowed("/v1/nowhere"), None);
    }

    #[test]
    fn the_problem_code_lists_the_shared_codes_and_the_services() {
        let doc = serde_json::to_value(finish(sample(), &["out_of_stock"])).unwrap();
        let codes = doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"].as_array().unwrap().clone();
        for code in ["out_of_stock", "malformed_json", "rate_limited", "unauthorized"] {
            assert!(codes.contains(&json!(code)), "{code}");
        }
    }

    #[test]
    fn the_problem_schema_matches_what_problems_serialize() {
        let problem = crate::error::Problem::new(actix_web::http::StatusCode::CONFLICT, "x_y", "d");
        let value = serde_json::to_value(&problem).unwrap();
        for field in problem_schema()["required"].as_array().unwrap() {
            assert!(!value[field.as_str().unwrap()].is_null(), "{field}");
        }
    }
}
