//! The API version a request came through (`/api/v1`, `/api/v2`, `/api/v3`): one set of
//! handlers serves all three, and the version picks only the response shape and filters.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::http::ApiError;

/// An API version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    /// The first, flat version.
    V1,
    /// v1 with NPQ enrolments.
    V2,
    /// The nested version, with sorting and list filters.
    V3,
}

impl ApiVersion {
    /// Every version, oldest first.
    pub const ALL: [Self; 3] = [Self::V1, Self::V2, Self::V3];

    /// The version a request path starts with (`/api/v2/...`), if any.
    pub fn of_path(path: &str) -> Option<Self> {
        match path.split('/').nth(2) {
            Some("v1") => Some(Self::V1),
            Some("v2") => Some(Self::V2),
            Some("v3") => Some(Self::V3),
            _ => None,
        }
    }

    /// As it appears in paths and event metadata: `v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
            Self::V3 => "v3",
        }
    }

    /// `/api/{version}{rest}`.
    pub fn path(self, rest: &str) -> String {
        format!("/api/{}{rest}", self.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiVersion {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Self::of_path(parts.uri.path()).ok_or(ApiError::NotFound)
    }
}
