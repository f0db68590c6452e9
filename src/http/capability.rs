//! What a provider delivers decides which endpoints it may use: ECF-only endpoints refuse
//! NPQ-only providers and NPQ endpoints refuse ECF-only ones, with `403` and an empty body,
//! before the request body is read.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use projections::lead_providers;

use crate::AppState;
use crate::http::{ApiError, Provider};

/// A lead provider that delivers ECF.
#[derive(Clone, Debug)]
pub struct EcfProvider(pub Provider);

/// A lead provider that delivers NPQ.
#[derive(Clone, Debug)]
pub struct NpqProvider(pub Provider);

/// The programmes a provider delivers: `(ecf, npq)`.
async fn programmes(app: &AppState, provider: &Provider) -> Result<(bool, bool), ApiError> {
    let row = lead_providers::find(&app.pool, provider.id).await?;
    Ok(row.map_or((false, false), |row| (row.ecf, row.npq)))
}

impl EcfProvider {
    /// The provider, if it delivers ECF.
    pub async fn check(app: &AppState, provider: Provider) -> Result<Self, ApiError> {
        match programmes(app, &provider).await? {
            (true, _) => Ok(Self(provider)),
            _ => Err(ApiError::Forbidden),
        }
    }
}

impl NpqProvider {
    /// The provider, if it delivers NPQ.
    pub async fn check(app: &AppState, provider: Provider) -> Result<Self, ApiError> {
        match programmes(app, &provider).await? {
            (_, true) => Ok(Self(provider)),
            _ => Err(ApiError::Forbidden),
        }
    }
}

impl FromRequestParts<AppState> for EcfProvider {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let provider = Provider::from_request_parts(parts, state).await?;
        Self::check(state, provider).await
    }
}

impl FromRequestParts<AppState> for NpqProvider {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let provider = Provider::from_request_parts(parts, state).await?;
        Self::check(state, provider).await
    }
}
