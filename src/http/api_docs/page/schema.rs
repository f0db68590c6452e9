//! Schemas on the page: a named schema's attributes, a short label for any schema, and an
//! example made from a schema for bodies that give none.

use maud::{Markup, html};
use serde_json::Value;

use super::{Doc, compact, plain, resolve};

/// Schemas nest at most this deep on the page; deeper ones are named, not expanded.
const MAX_DEPTH: usize = 4;

/// A schema's properties, or what it is made of.
pub(super) fn schema_view(doc: &Doc, schema: &Value, depth: usize) -> Markup {
    let properties = schema["properties"].as_object().into_iter().flatten();
    let required = |name: &str| {
        schema["required"]
            .as_array()
            .is_some_and(|names| names.iter().any(|n| n == name))
    };
    html! {
        @if let Some(description) = schema["description"].as_str() { p { (plain(description)) } }
        @if schema["properties"].is_object() {
            table {
                tr { th { "Attribute" } th { "Type" } th { "Required" } th { "Description" } }
                @for (name, property) in properties {
                    tr {
                        td { code { (name) } }
                        td { (type_label(doc, property, depth)) }
                        td { @if required(name) { "yes" } }
                        td {
                            (plain(property["description"].as_str().unwrap_or_default()))
                            @if depth < MAX_DEPTH && property.get("$ref").is_none() && nested(property) {
                                (schema_view(doc, nested_schema(property), depth + 1))
                            }
                        }
                    }
                }
            }
        } @else if !schema.is_object() || schema.get("$ref").is_some() || depth == 0 {
            p { (type_label(doc, schema, depth)) }
        }
    }
}

fn nested(property: &Value) -> bool {
    nested_schema(property)["properties"].is_object()
}

fn nested_schema(property: &Value) -> &Value {
    if property["items"].is_object() {
        &property["items"]
    } else {
        property
    }
}

/// A short name for a schema: a link to a named one, `array of …`, a type with its format.
pub(super) fn type_label(doc: &Doc, schema: &Value, depth: usize) -> Markup {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return html! { a href={ "#" (schema_anchor(&doc.anchor, name)) } { (name) } };
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[key].as_array() {
            let joiner = if key == "allOf" { " and " } else { " or " };
            return html! {
                @for (n, option) in options.iter().enumerate() {
                    @if n > 0 { (joiner) }
                    (type_label(doc, option, depth + 1))
                }
            };
        }
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        Value::String(kind) => kind.clone(),
        _ => "any".to_owned(),
    };
    html! {
        @if kind.contains("array") && depth < MAX_DEPTH {
            (kind.replace("array", "array of ")) (type_label(doc, &schema["items"], depth + 1))
        } @else {
            (kind)
        }
        @if let Some(format) = schema["format"].as_str() { " (" (format) ")" }
        @if schema["nullable"] == true { ", nullable" }
        @if let Some(values) = schema["enum"].as_array() {
            ": one of "
            @for (n, value) in values.iter().enumerate() { @if n > 0 { ", " } code { (compact(value)) } }
        }
    }
}

pub(super) fn schema_anchor(document: &str, name: &str) -> String {
    format!("{document}-schema-{name}")
}

/// An example made from a schema, for bodies that give none.
pub(super) fn example_of(spec: &Value, schema: &Value, depth: usize) -> Value {
    let schema = resolve(spec, schema);
    if depth > 2 * MAX_DEPTH {
        return Value::Null;
    }
    if let Some(example) = schema
        .get("example")
        .or(schema["examples"].get(0))
        .or(schema["enum"].get(0))
    {
        return example.clone();
    }
    if let Some(first) = schema["oneOf"].get(0).or(schema["anyOf"].get(0)) {
        return example_of(spec, first, depth + 1);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = serde_json::Map::new();
        for part in parts {
            if let Value::Object(fields) = example_of(spec, part, depth + 1) {
                merged.extend(fields);
            }
        }
        return Value::Object(merged);
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null"),
        other => other.as_str(),
    };
    match (kind, schema["format"].as_str()) {
        (Some("array"), _) => Value::Array(vec![example_of(spec, &schema["items"], depth + 1)]),
        (Some("string"), Some("date-time")) => "2023-05-01T09:00:00Z".into(),
        (Some("string"), Some("date")) => "2023-05-01".into(),
        (Some("string"), Some("uuid")) => "db3a7848-7308-4879-942a-c4a70ced400a".into(),
        (Some("string"), _) => "string".into(),
        (Some("integer" | "number"), _) => 0.into(),
        (Some("boolean"), _) => true.into(),
        _ => match schema["properties"].as_object() {
            Some(properties) => properties
                .iter()
                .map(|(name, property)| (name.clone(), example_of(spec, property, depth + 1)))
                .collect(),
            None => Value::Null,
        },
    }
}
