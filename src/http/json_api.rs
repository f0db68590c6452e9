//! The JSON:API envelope every response uses, and the API's date formats.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every JSON response.
pub const JSON_API: &str = "application/vnd.api+json";

/// A response document: `{"data": ...}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Document<T> {
    /// One resource or a list of them.
    pub data: T,
}

/// One resource: `{"id","type","attributes"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Resource<A> {
    /// Its id.
    pub id: String,
    /// Its JSON:API type, e.g. `statement`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// Its attributes.
    pub attributes: A,
}

impl<T: Serialize> IntoResponse for Document<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self) {
            Ok(body) => {
                let mut response = body.into_response();
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
                response
            }
            Err(error) => super::ApiError::Internal(Box::new(error)).into_response(),
        }
    }
}

/// A timestamp as the API writes it: UTC, whole seconds, `Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A date as the API writes it: `2022-04-30`.
pub fn date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}
