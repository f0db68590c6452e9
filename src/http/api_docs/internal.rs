//! The OpenAPI 3.1 description of cpd-ledger's own surfaces (admin, finance, audit, health and
//! these documents), generated from the `#[utoipa::path]` annotations on the handlers.

use std::sync::LazyLock;

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::http::{admin, audit, finance, finance_web, health};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cpd-ledger internal API",
        description = "cpd-ledger's own routes, beside the provider API (`/api/v1`, `/api/v2`, \
            `/api/v3`, described at `/api-docs/{version}/api_spec.json`). Send a token as \
            `Authorization: Bearer <token>`: admin tokens for `/admin`, finance tokens for \
            `/finance`, auditor tokens for `/audit`. JSON:API documents are sent as \
            `application/vnd.api+json`; request bodies are read whatever their content type. \
            The finance pages (`/finance`, `/finance/login`, `/finance/providers/...`) are for \
            browsers: HTML behind the `cpd_finance_session` cookie that signing in with a \
            finance token sets, with forms that carry a CSRF token."
    ),
    tags(
        (name = "admin", description = "Tokens, and what schools, the DfE and the NPQ registration side do"),
        (name = "finance", description = "Statements priced in full, paid and added; and the pages finance staff use in a browser"),
        (name = "audit", description = "The event history, one subject's history and the hash chain's head"),
        (name = "health", description = "Liveness and readiness for load balancers"),
        (name = "documentation", description = "These documents and the page rendered from them"),
    )
)]
struct InternalApi;

static DOCUMENT: LazyLock<(utoipa::openapi::OpenApi, String)> = LazyLock::new(|| {
    let api = build();
    let json = api
        .to_pretty_json()
        .expect("an OpenAPI document serializes");
    (api, json)
});

/// The document.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    &DOCUMENT.0
}

/// The document as JSON.
pub fn json() -> &'static str {
    &DOCUMENT.1
}

fn build() -> utoipa::openapi::OpenApi {
    let mut api = InternalApi::openapi();
    api.merge(admin::openapi());
    api.merge(finance::FinanceApi::openapi());
    api.merge(finance_web::FinanceWebApi::openapi());
    api.merge(audit::AuditApi::openapi());
    api.merge(health::HealthApi::openapi());
    api.merge(super::ApiDocsApi::openapi());
    let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
    let session = ApiKeyValue::with_description(
        "cpd_finance_session",
        "The finance pages' session, set by signing in at `/finance/login`",
    );
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme("bearerAuth", SecurityScheme::Http(bearer));
    components.add_security_scheme(
        "financeSession",
        SecurityScheme::ApiKey(ApiKey::Cookie(session)),
    );
    api
}
