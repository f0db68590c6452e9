//! `/api-docs`: the API described where it is served. The real service's provider specs with
//! our differences applied (`/api-docs/{version}/api_spec.json` and `.yml`), the OpenAPI 3.1
//! description of our own surfaces generated from the handlers (`/api-docs/internal/openapi.json`),
//! and a page rendered on the server from all four.

pub(crate) mod internal;
mod page;
pub(crate) mod provider;

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

use crate::AppState;
use crate::http::ApiError;
use crate::http::error::ErrorBody;

/// The documentation routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api-docs", get(show_page))
        .route("/api-docs/internal/openapi.json", get(internal_json))
        .route("/api-docs/{version}/api_spec.json", get(provider_json))
        .route("/api-docs/{version}/api_spec.yml", get(provider_yaml))
}

/// The documentation routes' description.
#[derive(OpenApi)]
#[openapi(paths(show_page, internal_json, provider_json, provider_yaml))]
pub(super) struct ApiDocsApi;

/// Every operation of every document, with its parameters, bodies, responses and examples.
#[utoipa::path(
    get,
    path = "/api-docs",
    tag = "documentation",
    responses((status = 200, description = "The documentation page", content_type = "text/html", body = String)),
)]
async fn show_page() -> Html<&'static str> {
    Html(page::html())
}

/// This document.
#[utoipa::path(
    get,
    path = "/api-docs/internal/openapi.json",
    tag = "documentation",
    responses((status = 200, description = "The OpenAPI 3.1 description of the admin, finance, audit, health and documentation routes", body = Object)),
)]
async fn internal_json() -> Response {
    json(internal::json())
}

/// The real service's provider spec of a version, with our differences, as JSON.
#[utoipa::path(
    get,
    path = "/api-docs/{version}/api_spec.json",
    tag = "documentation",
    params(("version" = String, Path, description = "The API version", example = "v3", pattern = "^v[123]$")),
    responses(
        (status = 200, description = "The OpenAPI 3.0 provider spec", body = Object),
        (status = 404, description = "No such version", content_type = "application/vnd.api+json", body = ErrorBody),
    ),
)]
async fn provider_json(Path(version): Path<String>) -> Result<Response, ApiError> {
    let spec = provider::served(&version).ok_or(ApiError::NotFound)?;
    Ok(json(&spec.json))
}

/// The same spec as YAML.
#[utoipa::path(
    get,
    path = "/api-docs/{version}/api_spec.yml",
    tag = "documentation",
    params(("version" = String, Path, description = "The API version", example = "v3", pattern = "^v[123]$")),
    responses(
        (status = 200, description = "The OpenAPI 3.0 provider spec", content_type = "application/yaml", body = Object),
        (status = 404, description = "No such version", content_type = "application/vnd.api+json", body = ErrorBody),
    ),
)]
async fn provider_yaml(Path(version): Path<String>) -> Result<Response, ApiError> {
    let spec = provider::served(&version).ok_or(ApiError::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml")],
        spec.yaml.as_str(),
    )
        .into_response())
}

fn json(text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}
