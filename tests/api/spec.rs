//! Checks response bodies against the OpenAPI specs of v1 and v2: every required attribute
//! present, no attribute the spec lacks, and each value of the declared type, enum and
//! nullability.

use std::sync::LazyLock;

use serde_json::Value;

static V1: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../docs/api/lead-provider-api-v1.json")).expect("v1 spec")
});
static V2: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../docs/api/lead-provider-api-v2.json")).expect("v2 spec")
});

/// The spec of `version` (`v1` or `v2`).
fn spec(version: &str) -> &'static Value {
    match version {
        "v1" => &V1,
        "v2" => &V2,
        other => panic!("no spec for {other}"),
    }
}

/// Panics unless `body` is what the spec's 200 response of `method path` describes; `path` is
/// the spec's template, e.g. `/api/v1/participants/ecf/{id}`.
pub fn assert_matches(path: &str, method: &str, body: &Value) {
    let version = path.split('/').nth(2).expect("a versioned path");
    let spec = spec(version);
    let operation = &spec["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is not in the spec");
    let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"];
    let mut errors = Vec::new();
    check(spec, schema, body, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{method} {path} does not match its spec:\n{}\n{body:#}",
        errors.join("\n")
    );
}

/// Panics unless `body` fits the spec's schema `name`, e.g. `ECFParticipantResponse`.
pub fn assert_fits(version: &str, name: &str, body: &Value) {
    let spec = spec(version);
    let schema = &spec["components"]["schemas"][name];
    assert!(schema.is_object(), "{version} has no schema {name}");
    let mut errors = Vec::new();
    check(spec, schema, body, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{version} {name} does not fit:\n{}\n{body:#}",
        errors.join("\n")
    );
}

/// The property names of a schema of the spec, e.g. `ParticipantDeclarationCsvRow`, sorted.
pub fn properties(version: &str, schema: &str) -> Vec<String> {
    let schema = &spec(version)["components"]["schemas"][schema]["properties"];
    schema
        .as_object()
        .unwrap_or_else(|| panic!("{version} has no schema {schema}"))
        .keys()
        .cloned()
        .collect()
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().expect("a reference");
            resolve(spec, &spec["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn check(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options.iter().any(|option| {
                let mut found = Vec::new();
                check(spec, option, value, at, &mut found);
                found.is_empty()
            });
            if !fits {
                errors.push(format!("{at}: fits none of {key}"));
            }
            return;
        }
    }
    if value.is_null() {
        if schema["nullable"] != Value::Bool(true) && schema.get("type").is_some() {
            errors.push(format!("{at}: null, but not nullable"));
        }
        return;
    }
    let fits = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        _ => true,
    };
    if !fits {
        errors.push(format!("{at}: {value} is not a {}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(items) = value.as_array() {
        for (n, item) in items.iter().enumerate() {
            check(spec, &schema["items"], item, &format!("{at}[{n}]"), errors);
        }
    }
    let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    else {
        return;
    };
    for required in schema["required"].as_array().into_iter().flatten() {
        let name = required.as_str().expect("a name");
        if !object.contains_key(name) {
            errors.push(format!("{at}.{name}: required, missing"));
        }
    }
    for (name, item) in object {
        match properties.get(name) {
            Some(property) => check(spec, property, item, &format!("{at}.{name}"), errors),
            None => errors.push(format!("{at}.{name}: not in the spec")),
        }
    }
}
