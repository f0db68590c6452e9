//! The real service's provider specs (`docs/api/lead-provider-api-v*.json`, July 2023), served
//! with our differences (`docs/api/differences.json`) applied where they change what a client
//! sees: the media type, the error bodies the specs leave out, the servers, and v1's alias.

use std::sync::LazyLock;

use serde_json::Value;

use crate::http::ApiVersion;

/// The overlay: what cpd-ledger does that the real specs do not say.
const DIFFERENCES: &str = include_str!("../../../docs/api/differences.json");

/// The operations of a path item; other keys (`parameters`, `summary`) are not operations.
pub const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// A provider spec as served, rendered once.
pub struct ServedSpec {
    /// The version it describes.
    pub version: ApiVersion,
    /// The document, differences applied.
    pub document: Value,
    /// As JSON.
    pub json: String,
    /// As YAML.
    pub yaml: String,
}

static SPECS: LazyLock<[ServedSpec; 3]> = LazyLock::new(|| {
    [
        build(
            ApiVersion::V1,
            include_str!("../../../docs/api/lead-provider-api-v1.json"),
        ),
        build(
            ApiVersion::V2,
            include_str!("../../../docs/api/lead-provider-api-v2.json"),
        ),
        build(
            ApiVersion::V3,
            include_str!("../../../docs/api/lead-provider-api-v3.json"),
        ),
    ]
});

/// The served spec of `version` (`v1`, `v2`, `v3`).
pub fn served(version: &str) -> Option<&'static ServedSpec> {
    SPECS.iter().find(|spec| spec.version.as_str() == version)
}

/// Every served spec, newest first.
pub fn all() -> impl Iterator<Item = &'static ServedSpec> {
    SPECS.iter().rev()
}

fn build(version: ApiVersion, original: &str) -> ServedSpec {
    let mut document: Value = serde_json::from_str(original).expect("a provider spec is JSON");
    let differences: Value =
        serde_json::from_str(DIFFERENCES).expect("docs/api/differences.json is JSON");
    apply(&mut document, &differences, version.as_str());
    let json = serde_json::to_string_pretty(&document).expect("a JSON value serializes");
    let yaml = serde_norway::to_string(&document).expect("a JSON value serializes as YAML");
    ServedSpec {
        version,
        document,
        json,
        yaml,
    }
}

/// Applies `differences` to the spec of `version`.
pub fn apply(spec: &mut Value, differences: &Value, version: &str) {
    if let Some(description) = spec.pointer_mut("/info/description") {
        let added = differences["description"].as_str().unwrap_or_default();
        *description = format!("{}{added}", description.as_str().unwrap_or_default()).into();
    }
    spec["servers"] = differences["servers"].clone();
    if let (Some(schemas), Some(added)) = (
        spec.pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut),
        differences["schemas"].as_object(),
    ) {
        schemas.extend(added.clone());
    }
    for alias in differences["aliases"][version]
        .as_array()
        .into_iter()
        .flatten()
    {
        add_alias(spec, alias);
    }
    if differences["repair"] == true {
        repair_property_required(spec);
        deduplicate_operation_ids(spec);
    }
    let media = differences["json_media_type"]
        .as_str()
        .unwrap_or("application/json");
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item {
            if METHODS.contains(&method.as_str()) {
                amend(operation, path, differences, media);
            }
        }
    }
}

/// Drops `required: true|false` written on a property (OpenAPI 3.0 wants a list of names on the
/// object), which makes validators and client generators refuse the v1 and v2 specs.
fn repair_property_required(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get_mut("properties") {
                for property in properties.values_mut() {
                    if let Some(property) = property.as_object_mut()
                        && property.get("required").is_some_and(Value::is_boolean)
                    {
                        property.remove("required");
                    }
                }
            }
            map.values_mut().for_each(repair_property_required);
        }
        Value::Array(items) => items.iter_mut().for_each(repair_property_required),
        _ => {}
    }
}

/// Numbers the repeats of an `operationId` (`participant_declarations_2`): OpenAPI wants them
/// unique, and the v3 spec reuses several.
fn deduplicate_operation_ids(spec: &mut Value) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let items = spec.get_mut("paths").and_then(Value::as_object_mut);
    for item in items.into_iter().flat_map(|paths| paths.values_mut()) {
        for method in METHODS {
            let Some(id) = item
                .get_mut(method)
                .and_then(|op| op.get_mut("operationId"))
            else {
                continue;
            };
            let Some(name) = id.as_str().map(str::to_owned) else {
                continue;
            };
            let count = seen.entry(name.clone()).or_default();
            *count += 1;
            if *count > 1 {
                *id = format!("{name}_{count}").into();
            }
        }
    }
}

/// Describes a route we serve under another path, as the operation it repeats.
fn add_alias(spec: &mut Value, alias: &Value) {
    let (Some(path), Some(method), Some(same_as)) = (
        alias["path"].as_str(),
        alias["method"].as_str(),
        alias["same_as"].as_str(),
    ) else {
        return;
    };
    let mut operation = spec["paths"][same_as][method].clone();
    if !operation.is_object() {
        return;
    }
    operation["deprecated"] = true.into();
    operation["summary"] =
        format!("Deprecated alias of {} {same_as}", method.to_uppercase()).into();
    let id = operation["operationId"]
        .as_str()
        .unwrap_or(method)
        .to_owned();
    operation["operationId"] = format!("{id}_alias").into();
    spec["paths"][path][method] = operation;
}

/// Our media type on JSON bodies, and the error responses the spec leaves out.
fn amend(operation: &mut Value, path: &str, differences: &Value, media: &str) {
    if let Some(content) = operation
        .pointer_mut("/requestBody/content")
        .and_then(Value::as_object_mut)
        && let Some(json) = content.get("application/json").cloned()
    {
        content.entry(media).or_insert(json);
    }
    let has_body = operation.get("requestBody").is_some();
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for response in responses.values_mut() {
        if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
            && let Some(json) = content.remove("application/json")
        {
            content.insert(media.to_owned(), json);
        }
    }
    for (status, rule) in differences["responses"].as_object().into_iter().flatten() {
        let applies = match rule["when"].as_str() {
            Some("always") => true,
            Some("path_parameters") => path.contains('{'),
            Some("request_body") => has_body,
            _ => false,
        };
        if applies && !responses.contains_key(status) {
            responses.insert(status.clone(), rule["response"].clone());
        }
    }
}
