//! The page at `/api-docs`, rendered on the server from the internal document and the three
//! provider specs: every operation with its parameters, bodies, responses and examples, and
//! every named schema. Plain HTML and inline CSS: nothing is fetched from elsewhere.

use std::sync::LazyLock;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use self::schema::{example_of, schema_anchor, schema_view, type_label};
use super::{internal, provider};

mod schema;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:70em;padding:1em 2em;line-height:1.4}\
code,pre{font-family:ui-monospace,monospace}pre{background:#f4f4f4;padding:.6em;overflow-x:auto;max-height:30em}\
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#eee}article{border-top:1px solid #999;margin-top:1.5em}\
.method{display:inline-block;min-width:4em;font-weight:bold;text-transform:uppercase}\
.get{color:#05a}.post{color:#080}.put{color:#a50}.delete{color:#a00}.patch{color:#707}\
.deprecated{color:#a00}.description{white-space:pre-wrap;background:none;padding:0;max-height:none}";

static PAGE: LazyLock<String> = LazyLock::new(|| render().into_string());

/// The page, rendered once.
pub fn html() -> &'static str {
    &PAGE
}

/// One document on the page.
struct Doc<'a> {
    anchor: String,
    json: String,
    yaml: Option<String>,
    spec: &'a Value,
}

fn render() -> Markup {
    let internal = serde_json::to_value(internal::document()).expect("the document serializes");
    let mut docs = vec![Doc {
        anchor: "internal".to_owned(),
        json: "/api-docs/internal/openapi.json".to_owned(),
        yaml: None,
        spec: &internal,
    }];
    for served in provider::all() {
        let version = served.version.as_str();
        docs.push(Doc {
            anchor: version.to_owned(),
            json: format!("/api-docs/{version}/api_spec.json"),
            yaml: Some(format!("/api-docs/{version}/api_spec.yml")),
            spec: &served.document,
        });
    }
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "cpd-ledger API documentation" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "cpd-ledger API documentation" }
                p { "Rendered from the documents this service serves:" }
                ul {
                    @for doc in &docs {
                        li {
                            a href={ "#" (doc.anchor) } { (text(&doc.spec["info"]["title"])) }
                            " (" a href=(doc.json) { "JSON" }
                            @if let Some(yaml) = &doc.yaml { ", " a href=(yaml) { "YAML" } }
                            ")"
                        }
                    }
                }
                @for doc in &docs { (document(doc)) }
            }
        }
    }
}

fn document(doc: &Doc) -> Markup {
    let spec = doc.spec;
    let paths = spec["paths"].as_object().into_iter().flatten();
    let schemas = spec["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten();
    html! {
        section id=(doc.anchor) {
            h2 { (text(&spec["info"]["title"])) }
            p { "OpenAPI " (text(&spec["openapi"])) ", version " (text(&spec["info"]["version"])) }
            pre.description { (text(&spec["info"]["description"])) }
            @for (path, item) in paths {
                @for method in provider::METHODS {
                    @if let Some(operation) = item.get(method) {
                        (operation_view(doc, path, method, item, operation))
                    }
                }
            }
            h3 { "Schemas" }
            @for (name, schema) in schemas {
                div id=(schema_anchor(&doc.anchor, name)) {
                    h4 { (name) }
                    (schema_view(doc, schema, 0))
                }
            }
        }
    }
}

fn operation_view(doc: &Doc, path: &str, method: &str, item: &Value, operation: &Value) -> Markup {
    let spec = doc.spec;
    let parameters: Vec<&Value> = [&item["parameters"], &operation["parameters"]]
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .map(|parameter| resolve(spec, parameter))
        .collect();
    let responses = operation["responses"].as_object().into_iter().flatten();
    html! {
        article id={ (doc.anchor) "-" (method) "-" (path) } {
            h3 { span class={ "method " (method) } { (method) } " " code { (path) } }
            @if operation["deprecated"] == true { p.deprecated { "Deprecated." } }
            @if let Some(summary) = operation["summary"].as_str() { p { (plain(summary)) } }
            @if let Some(description) = operation["description"].as_str() {
                pre.description { (plain(description)) }
            }
            @if !parameters.is_empty() {
                h4 { "Parameters" }
                table {
                    tr { th { "Name" } th { "In" } th { "Required" } th { "Type" } th { "Description" } th { "Example" } }
                    @for parameter in &parameters {
                        tr {
                            td { code { (text(&parameter["name"])) } }
                            td { (text(&parameter["in"])) }
                            td { @if parameter["required"] == true { "yes" } @else { "no" } }
                            td { (type_label(doc, &parameter["schema"], 0)) }
                            td { (plain(parameter["description"].as_str().unwrap_or_default())) }
                            td { @if let Some(example) = parameter.get("example").or(parameter["schema"].get("example")) { code { (compact(example)) } } }
                        }
                    }
                }
            }
            @if let Some(body) = operation.get("requestBody").map(|body| resolve(spec, body)) {
                h4 { "Request body" @if body["required"] == true { " (required)" } }
                @if let Some(description) = body["description"].as_str() { p { (plain(description)) } }
                (content_view(doc, &body["content"]))
            }
            h4 { "Responses" }
            @for (status, response) in responses {
                @let response = resolve(spec, response);
                h5 { (status) " " (plain(response["description"].as_str().unwrap_or_default())) }
                @if let Some(headers) = response["headers"].as_object() {
                    p { "Headers: " @for (name, _) in headers { code { (name) } " " } }
                }
                (content_view(doc, &response["content"]))
            }
        }
    }
}

/// Each media type of a body: its schema and its examples, or one made from the schema.
fn content_view(doc: &Doc, content: &Value) -> Markup {
    let media = content.as_object().into_iter().flatten();
    html! {
        @for (media_type, body) in media {
            p { code { (media_type) } ": " (type_label(doc, &body["schema"], 0)) }
            @if let Some(schema) = body.get("schema").filter(|s| s.get("$ref").is_none()) {
                (schema_view(doc, schema, 1))
            }
            @let examples = examples(body);
            @if examples.is_empty() {
                p { "Example (made from the schema):" }
                pre { (pretty(&example_of(doc.spec, &body["schema"], 0))) }
            }
            @for (name, example) in examples {
                p { "Example" @if let Some(name) = name { " " code { (name) } } ":" }
                pre { (pretty(example)) }
            }
        }
    }
}

fn examples(body: &Value) -> Vec<(Option<&str>, &Value)> {
    let mut found: Vec<(Option<&str>, &Value)> =
        body.get("example").map(|e| (None, e)).into_iter().collect();
    for (name, example) in body["examples"].as_object().into_iter().flatten() {
        found.push((Some(name), example.get("value").unwrap_or(example)));
    }
    found
}

/// A `$ref` followed within the document, or the value itself.
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    value["$ref"]
        .as_str()
        .and_then(|reference| reference.strip_prefix('#'))
        .and_then(|pointer| spec.pointer(pointer))
        .map_or(value, |found| resolve(spec, found))
}

fn text(value: &Value) -> String {
    value.as_str().map_or_else(|| compact(value), str::to_owned)
}

fn compact(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn pretty(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// The specs' summaries carry bits of HTML (`<b>`, `<br/>`); the page shows their text, and
/// leaves anything else in angle brackets (`<token>`) as written.
fn plain(text: &str) -> String {
    const TAGS: [&str; 8] = ["b", "br", "i", "em", "strong", "p", "code", "a"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let tag = after.find('>').map(|end| (&after[..end], end));
        let name = tag.map(|(inner, _)| {
            let inner = inner.trim_start_matches('/').trim_end_matches('/');
            inner.split_whitespace().next().unwrap_or_default()
        });
        match (tag, name) {
            (Some((_, end)), Some(name)) if TAGS.contains(&name) => {
                out.push(' ');
                rest = &after[end + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
