//! `/api-docs`: the provider specs are served as the real service served them, with our
//! differences; the documents are valid OpenAPI; the page shows every operation.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::TestApp;

pub const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// A served JSON document.
pub async fn document(app: &TestApp, path: &str) -> Value {
    let response = app.get(path, None).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    assert_eq!(response.header("content-type"), Some("application/json"));
    response.json()
}

#[sqlx::test]
async fn provider_specs_are_served_as_json_and_yaml_with_our_differences(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let original: Value =
        serde_json::from_str(include_str!("../../docs/api/lead-provider-api-v3.json")).unwrap();

    let v3 = document(&app, "/api-docs/v3/api_spec.json").await;
    let yaml = app.get("/api-docs/v3/api_spec.yml", None).await;

    assert_eq!(v3["openapi"], "3.0.1");
    assert_eq!(
        v3["components"]["schemas"]["ECFParticipant"],
        original["components"]["schemas"]["ECFParticipant"]
    );
    assert_eq!(
        v3["servers"],
        serde_json::json!([{ "url": "/", "description": "This service" }])
    );
    let void = &v3["paths"]["/api/v3/participant-declarations/{id}/void"]["put"]["responses"];
    assert!(void["200"]["content"]["application/vnd.api+json"]["schema"].is_object());
    assert!(void["200"]["content"]["application/json"].is_null());
    assert_eq!(
        void["404"]["content"]["application/vnd.api+json"]["example"],
        serde_json::json!({ "error": "Resource not Found" })
    );
    assert!(void["429"]["headers"]["Retry-After"].is_object());
    let statements = &v3["paths"]["/api/v3/statements"]["get"]["responses"];
    assert!(statements["404"].is_null(), "a list has no record to miss");
    assert!(statements["422"].is_null(), "a read has no body to reject");
    let declare = &v3["paths"]["/api/v3/participant-declarations"]["post"];
    assert!(declare["requestBody"]["content"]["application/json"].is_object());
    assert!(declare["requestBody"]["content"]["application/vnd.api+json"].is_object());
    assert!(declare["responses"]["422"].is_object());
    assert!(
        v3["info"]["description"]
            .as_str()
            .unwrap()
            .contains("How cpd-ledger differs")
    );

    assert_eq!(yaml.status, 200);
    assert_eq!(yaml.header("content-type"), Some("application/yaml"));
    let from_yaml: Value = serde_norway::from_str(&yaml.text).expect("the .yml is YAML");
    assert_eq!(from_yaml, v3, "the YAML and JSON documents differ");
}

#[sqlx::test]
async fn v1_describes_the_deprecated_participant_list_alias(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let v1 = document(&app, "/api-docs/v1/api_spec.json").await;

    let alias = &v1["paths"]["/api/v1/participants"]["get"];
    assert_eq!(alias["deprecated"], true);
    assert_eq!(
        alias["responses"]["200"],
        v1["paths"]["/api/v1/participants/ecf"]["get"]["responses"]["200"]
    );
}

#[sqlx::test]
async fn an_unknown_version_has_no_spec(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let json = app.get("/api-docs/v4/api_spec.json", None).await;
    let yaml = app.get("/api-docs/internal/api_spec.yml", None).await;

    assert_eq!(json.status, 404);
    assert_eq!(yaml.status, 404);
}

/// Every `$ref` in `value` names something in `document`.
fn dangling_refs(document: &Value, value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let pointer = reference.strip_prefix('#').unwrap_or(reference);
                if document.pointer(pointer).is_none() {
                    found.push(reference.clone());
                }
            }
            map.values().for_each(|v| dangling_refs(document, v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| dangling_refs(document, v, found)),
        _ => {}
    }
}

#[sqlx::test]
async fn the_internal_document_is_valid_openapi_3_1(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let internal = document(&app, "/api-docs/internal/openapi.json").await;

    assert_eq!(internal["openapi"], "3.1.0");
    let mut dangling = Vec::new();
    dangling_refs(&internal, &internal, &mut dangling);
    assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
    let mut operation_ids = BTreeSet::new();
    for (path, item) in internal["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let id = operation["operationId"].as_str().expect("an operationId");
            assert!(operation_ids.insert(id.to_owned()), "{id} is used twice");
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty())
            );
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            let templated: BTreeSet<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|part| part.split_once('}').map(|(name, _)| name))
                .collect();
            assert_eq!(declared, templated, "{method} {path}: path parameters");
        }
    }

    assert_valid(&internal, "3.1");
}

#[sqlx::test]
async fn the_served_provider_specs_are_valid_openapi_3_0(pool: PgPool) {
    let app = TestApp::new(pool).await;

    for version in ["v1", "v2", "v3"] {
        let spec = document(&app, &format!("/api-docs/{version}/api_spec.json")).await;

        assert_valid(&spec, "3.0");
    }
}

/// Checks a document with openapi-spec-validator (a Python package on the machine image).
fn assert_valid(document: &Value, schema: &str) {
    let file = std::env::temp_dir().join(format!(
        "cpd-ledger-{}-{}.json",
        std::process::id(),
        document["info"]["title"]
            .as_str()
            .unwrap_or_default()
            .replace(' ', "-")
    ));
    std::fs::write(&file, document.to_string()).unwrap();
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", schema])
        .arg(&file)
        .output()
        .expect("python3 runs (install openapi-spec-validator with pip)");
    std::fs::remove_file(&file).ok();
    assert!(
        output.status.success(),
        "openapi-spec-validator rejects {}:\n{}{}",
        document["info"]["title"],
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[sqlx::test]
async fn the_page_shows_every_operation_with_examples_and_fetches_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let internal = document(&app, "/api-docs/internal/openapi.json").await;
    let v2 = document(&app, "/api-docs/v2/api_spec.json").await;

    let page = app.get("/api-docs", None).await;

    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = &page.text;
    for (anchor, spec) in [("internal", &internal), ("v2", &v2)] {
        for (path, item) in spec["paths"].as_object().unwrap() {
            for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                let id = format!("id=\"{anchor}-{method}-{path}\"");
                assert!(
                    html.contains(&id),
                    "the page lacks {method} {path} of {anchor}"
                );
            }
        }
    }
    assert!(
        html.contains("<code>filter[participant_id]</code>"),
        "audit parameters"
    );
    assert!(
        html.contains("&quot;error&quot;: &quot;Resource not Found&quot;"),
        "error examples"
    );
    assert!(html.contains("Example (made from the schema)"));
    assert!(
        html.contains("Bearer &lt;token&gt;"),
        "text is escaped, not markup"
    );
    assert!(
        !html.contains("<b>Note"),
        "the specs' HTML fragments are shown as text"
    );
    for fetch in ["<script", "<link", "src=", "@import", "url("] {
        assert!(
            !html.contains(fetch),
            "the page would fetch something: {fetch}"
        );
    }
}
