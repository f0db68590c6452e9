//! Every route the router serves is described in one of the documents served at `/api-docs`,
//! and every operation they describe is routed.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use serde_json::Value;
use sqlx::PgPool;

use crate::api_docs::{METHODS, document};
use crate::helpers::TestApp;

/// A route as `(METHOD, /path/{})`: parameter names differ between specs and router.
type Operation = (String, String);

/// The routes of the real router, read from its `Debug` output: axum has no other way to list
/// them. `Router`'s debug form is `PathRouter { routes: {RouteId(n): MethodRouter(MethodRouter
/// { get: .., post: None, .. }), ..}, node: Node { paths: {RouteId(n): "/path", ..} } }`; if a
/// new axum prints it differently, this panics rather than finding nothing.
fn served_routes(router: &Router) -> BTreeSet<Operation> {
    let debug = format!("{router:?}");
    let (own, _) = debug
        .split_once("fallback_router:")
        .expect("axum's Router debug output lists its path router first");
    let (routes, node) = own
        .split_once("node: Node { paths: {")
        .expect("axum's PathRouter debug output has its node's paths");
    let mut paths = BTreeMap::new();
    for entry in node.split("RouteId(").skip(1) {
        let (id, rest) = entry.split_once("): \"").expect("RouteId(n): \"/path\"");
        let (path, _) = rest.split_once('"').expect("a quoted path");
        paths.insert(id.to_owned(), path.to_owned());
    }
    let mut served = BTreeSet::new();
    for entry in routes.split("RouteId(").skip(1) {
        let (id, rest) = entry.split_once("): ").expect("RouteId(n): endpoint");
        let methods = rest
            .strip_prefix("MethodRouter(MethodRouter { ")
            .and_then(|rest| rest.split_once(", fallback:"))
            .map(|(methods, _)| methods)
            .unwrap_or_else(|| panic!("route {id} is not a method router: {rest:.80}"));
        let path = &paths[id];
        for pair in methods.split(", ") {
            let (method, endpoint) = pair.split_once(": ").expect("method: endpoint");
            if endpoint != "None" {
                served.insert((method.to_uppercase(), template(path)));
            }
        }
    }
    assert!(
        served.len() > 100,
        "read only {} routes from the router's debug output: has its format changed?",
        served.len()
    );
    served
}

fn template(path: &str) -> String {
    let mut out = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_parameter = true;
                out.push_str("{}");
            }
            '}' => in_parameter = false,
            c if !in_parameter => out.push(c),
            _ => {}
        }
    }
    out
}

fn described(document: &Value) -> BTreeSet<Operation> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), template(path)));
            }
        }
    }
    operations
}

fn list(operations: &BTreeSet<Operation>) -> String {
    operations
        .iter()
        .map(|(method, path)| format!("  {method} {path}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[sqlx::test]
async fn every_served_route_is_described_and_every_described_operation_is_served(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let served = served_routes(&app.router());
    let internal = described(&document(&app, "/api-docs/internal/openapi.json").await);
    let mut all = internal.clone();
    for version in ["v1", "v2", "v3"] {
        let spec = document(&app, &format!("/api-docs/{version}/api_spec.json")).await;
        let provider = described(&spec);
        assert!(
            provider
                .iter()
                .all(|(_, path)| path.starts_with(&format!("/api/{version}/"))),
            "the {version} spec describes another version's paths"
        );
        all.extend(provider);
    }

    let undescribed: BTreeSet<_> = served.difference(&all).cloned().collect();
    let unserved: BTreeSet<_> = all.difference(&served).cloned().collect();

    assert!(
        undescribed.is_empty(),
        "these routes are served but described in no document at /api-docs:\n{}\n\
         Describe each: annotate its handler with #[utoipa::path] and list the handler in its \
         module's #[openapi(paths(..))] (merged in src/http/api_docs/internal.rs), or, for a \
         provider route the real spec lacks, add it to docs/api/differences.json.",
        list(&undescribed)
    );
    assert!(
        unserved.is_empty(),
        "these operations are described at /api-docs but no route serves them:\n{}",
        list(&unserved)
    );
    for surface in [
        "/admin/",
        "/finance/",
        "/audit/",
        "/healthz",
        "/readyz",
        "/api-docs",
    ] {
        assert!(
            internal.iter().any(|(_, path)| path.starts_with(surface)),
            "the internal document describes nothing under {surface}"
        );
    }
}
