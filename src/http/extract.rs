//! Extractors: who is calling, the list parameters (`filter`, `page`, `sort`), and JSON:API
//! request bodies, each failing with the real API's error.

use std::borrow::Cow;
use std::collections::HashMap;

use aggregates::LeadProviderId;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use projections::Page;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::AppState;
use crate::auth::{Principal, Role};
use crate::clock::SERVER_DATE_HEADER;
use crate::http::ApiError;
use crate::http::version::ApiVersion;
use crate::ledger::{Actor, CommandContext};

/// Items per page unless `page[per_page]` says otherwise.
const DEFAULT_PER_PAGE: i64 = 100;
/// The most items a page may hold; larger requests are clamped.
const MAX_PER_PAGE: i64 = 3000;

const BAD_PAGE: &str = "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid number (equal and more than 1)";
const BAD_BODY: &str = "correct json data structure required. See API docs for reference";
/// What the real service answers when a NUL reaches PostgreSQL (Ruby's `ArgumentError`).
const NUL_BYTE: &str = "string contains null byte";

/// Whether a raw path or query carries a percent-encoded NUL, which no column can hold.
fn encodes_nul(raw: &str) -> bool {
    raw.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// Whether any string of a JSON value, or any key, holds a NUL.
fn holds_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Path parameters. A segment that is not UTF-8 or not of the expected shape names no record
/// (404, as the API answers); one holding NUL is the real service's 400.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if encodes_nul(parts.uri.path()) {
            return Err(ApiError::bad_request(NUL_BYTE));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(ApiError::NotFound),
            Err(other) => Err(ApiError::Internal(other.body_text().into())),
        }
    }
}

/// A query string read as `T`; one that does not read (a repeated key, a wrong type) is a
/// 400 in the API's shape, and one holding NUL the real service's 400.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if encodes_nul(parts.uri.query().unwrap_or_default()) {
            return Err(ApiError::bad_request(NUL_BYTE));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        Ok(state.auth.authenticate(header).await?)
    }
}

/// A lead provider calling the Lead Provider API.
#[derive(Clone, Debug)]
pub struct Provider {
    /// The provider.
    pub id: LeadProviderId,
    /// The circumstances to record on its commands.
    pub context: CommandContext,
}

impl FromRequestParts<AppState> for Provider {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let provider = Declarant::from_request_parts(parts, state).await?.0;
        state.ledger.read_barrier(&[]).await?;
        Ok(provider)
    }
}

/// A lead provider submitting a declaration: a [`Provider`] whose request has not passed the
/// read barrier, because a submission waits only for the read models it reads (see
/// [`crate::flows::declaring::submit_declaration`]), never for other declarations.
#[derive(Clone, Debug)]
pub struct Declarant(pub Provider);

impl FromRequestParts<AppState> for Declarant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let id = principal
            .lead_provider_id
            .filter(|_| principal.role == Role::LeadProvider);
        let id = id.ok_or(ApiError::Forbidden)?;
        let context = context(parts, Actor::LeadProvider(id));
        Ok(Self(Provider { id, context }))
    }
}

/// An administrator.
#[derive(Clone, Debug)]
pub struct Admin {
    /// The circumstances to record on its commands.
    pub context: CommandContext,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.role != Role::Admin {
            return Err(ApiError::Forbidden);
        }
        Ok(Self {
            context: acting(parts, state, Actor::Admin(Some(principal.token_id))).await?,
        })
    }
}

/// A finance user.
#[derive(Clone, Debug)]
pub struct Finance {
    /// The circumstances to record on its commands.
    pub context: CommandContext,
}

impl FromRequestParts<AppState> for Finance {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.role != Role::Finance {
            return Err(ApiError::Forbidden);
        }
        Ok(Self {
            context: acting(parts, state, Actor::Finance(principal.token_id)).await?,
        })
    }
}

/// An auditor (read only).
#[derive(Clone, Debug)]
pub struct Auditor;

impl FromRequestParts<AppState> for Auditor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.role != Role::Auditor {
            return Err(ApiError::Forbidden);
        }
        state.ledger.read_barrier(&[]).await?;
        Ok(Self)
    }
}

/// The circumstances of a request by `actor`, once it has passed the read barrier: the read
/// models show every write answered before the request began (waiting, bounded, for them).
async fn acting(parts: &Parts, state: &AppState, actor: Actor) -> Result<CommandContext, ApiError> {
    state.ledger.read_barrier(&[]).await?;
    Ok(context(parts, actor))
}

/// The circumstances of a request by `actor`: the API version and request id it came with.
fn context(parts: &Parts, actor: Actor) -> CommandContext {
    let api_version = ApiVersion::of_path(parts.uri.path()).map(ApiVersion::as_str);
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    CommandContext {
        actor,
        api_version,
        request_id,
    }
}

/// The instant a request runs at: now, or in the sandbox the `X-With-Server-Date` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now(pub DateTime<Utc>);

impl FromRequestParts<AppState> for Now {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(SERVER_DATE_HEADER)
            .and_then(|value| value.to_str().ok());
        state
            .clock
            .now(header)
            .map(Now)
            .map_err(ApiError::bad_request)
    }
}

/// The query of a list endpoint: `filter[...]`, `page[...]` and `sort`.
#[derive(Clone, Debug)]
pub struct ListParams {
    filters: HashMap<String, String>,
    /// The page asked for.
    pub page: Page,
    /// The raw `sort` parameter.
    pub sort: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state).await?;
        let mut filters = HashMap::new();
        let (mut page, mut per_page, mut sort) = (None, None, None);
        for (key, value) in pairs {
            match key.as_str() {
                "filter" => return Err(ApiError::bad_parameter("Filter must be a hash")),
                "page[page]" => page = Some(page_number(&value)?),
                "page[per_page]" => per_page = Some(page_number(&value)?),
                "sort" => sort = Some(value),
                _ => {
                    if let Some(name) = key
                        .strip_prefix("filter[")
                        .and_then(|k| k.strip_suffix(']'))
                    {
                        filters.insert(name.to_owned(), value);
                    }
                }
            }
        }
        let size = per_page.unwrap_or(DEFAULT_PER_PAGE).min(MAX_PER_PAGE);
        Ok(Self {
            filters,
            page: Page {
                number: page.unwrap_or(1),
                size,
            },
            sort,
        })
    }
}

fn page_number(value: &str) -> Result<i64, ApiError> {
    match value.trim().parse::<i64>() {
        Ok(number) if number >= 1 => Ok(number),
        _ => Err(ApiError::bad_request(BAD_PAGE)),
    }
}

impl ListParams {
    /// A filter's raw value, if given and not blank.
    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A comma-separated list filter.
    pub fn filter_list(&self, name: &str) -> Option<Vec<&str>> {
        self.filter(name).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
    }

    /// The `training_status` filter: `active`, `deferred` or `withdrawn`.
    pub fn training_status(&self) -> Result<Option<String>, ApiError> {
        match self.filter("training_status") {
            None => Ok(None),
            Some(status @ ("active" | "deferred" | "withdrawn")) => Ok(Some(status.to_owned())),
            Some(_) => Err(ApiError::bad_request(
                r#"The filter '#/training_status' must be ["active", "deferred", "withdrawn"]"#,
            )),
        }
    }

    /// A comma-separated list of cohort years; entries that are not years match nothing.
    pub fn cohorts(&self) -> Option<Vec<i32>> {
        self.filter_list("cohort")
            .map(|years| years.iter().filter_map(|y| y.parse().ok()).collect())
    }

    /// Reorders a page by `sort`: `created_at` or `updated_at` (given by `stamps`), `-` for
    /// descending, comma-separated; other names are ignored, as the API ignores them.
    pub fn sort_page<T>(
        &self,
        rows: &mut [T],
        stamps: impl Fn(&T) -> (DateTime<Utc>, DateTime<Utc>),
    ) {
        let Some(sort) = self.sort.as_deref() else {
            return;
        };
        for key in sort.split(',').rev().map(str::trim) {
            let (descending, name) = key
                .strip_prefix('-')
                .map_or((false, key), |name| (true, name));
            let updated = match name {
                "created_at" => false,
                "updated_at" => true,
                _ => continue,
            };
            let stamp = |row: &T| {
                if updated {
                    stamps(row).1
                } else {
                    stamps(row).0
                }
            };
            rows.sort_by(|a, b| {
                let order = stamp(a).cmp(&stamp(b));
                if descending { order.reverse() } else { order }
            });
        }
    }

    /// A date filter such as `updated_since`, which must be ISO 8601.
    pub fn date_filter(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        let Some(raw) = self.filter(name) else {
            return Ok(None);
        };
        parse_filter_instant(raw)
            .map(Some)
            .ok_or_else(|| bad_date(name))
    }
}

/// The real service's 400 for a date filter it cannot read (its typo included).
pub(crate) fn bad_date(name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "The filter '#/{name}' must be a valid RCF3339 date"
    ))
}

/// Parses a date filter as the real service does: a date-time (a date alone is refused), tried
/// again once URL-decoded when the value still holds escapes (`%253A` sent for `:`).
fn parse_filter_instant(raw: &str) -> Option<DateTime<Utc>> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    [raw, decoded.as_ref()]
        .into_iter()
        .filter(|text| text.contains(['T', 't']))
        .find_map(parse_instant)
}

/// Parses an ISO 8601 instant as providers send it: with or without a zone (UTC if none), a
/// date alone, and a `+` offset that URL decoding turned into a space. Only the four-digit
/// years RFC 3339 can write (1 to 9999) are read, whatever the form: a filter may look far
/// ahead, but a negative year is a bad request, not a query PostgreSQL refuses.
pub(crate) fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    let candidates = [raw.to_owned(), raw.replace(' ', "+")];
    let parsed = candidates.iter().find_map(|text| {
        DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
                    .ok()
                    .map(|at| at.with_timezone(&Utc))
            })
            .or_else(|| {
                NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(|at| at.and_utc())
            })
            .or_else(|| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .map(|day| day.and_time(Default::default()).and_utc())
            })
    });
    parsed.filter(|at| (1..=9999).contains(&at.year()))
}

/// A JSON:API request body: `{"data": {"type": ..., "attributes": {...}}}`, with `attributes`
/// deserialized as `T`. Anything else is a 400 in the real shape.
#[derive(Debug)]
pub struct JsonApiBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonApiBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad_request(BAD_BODY)
                }
            })?;
        let body: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| ApiError::bad_request(BAD_BODY))?;
        if holds_nul(&body) {
            return Err(ApiError::bad_request(NUL_BYTE));
        }
        let data = body.get("data").filter(|data| data.is_object());
        let attributes = data
            .and_then(|data| data.get("attributes"))
            .ok_or_else(|| ApiError::bad_request(BAD_BODY))?;
        // Attributes that are not an object (`""`) are dropped, as the real service's
        // parameter filter drops them, and the rules then report what is missing.
        let empty = serde_json::Value::Object(Default::default());
        let attributes = Some(attributes).filter(|a| a.is_object()).unwrap_or(&empty);
        T::deserialize(attributes)
            .map(Self)
            .map_err(|error| ApiError::bad_request(error.to_string()))
    }
}

/// The envelope in the API description: `data.type` and `data.attributes`, the latter `T`.
fn envelope(attributes: RefOr<Schema>) -> RefOr<Schema> {
    let data = ObjectBuilder::new()
        .property("type", ObjectBuilder::new().schema_type(Type::String))
        .property("attributes", attributes)
        .required("attributes");
    ObjectBuilder::new()
        .property("data", data)
        .required("data")
        .into()
}

impl<T: ToSchema> ToSchema for JsonApiBody<T> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("JsonApiBody")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        T::schemas(schemas);
    }
}

/// How `#[utoipa::path]` builds the schema of a generic body such as `JsonApiBody<Registration>`
/// (utoipa's derive writes the same for generic structs; its `PartialSchema` follows from this).
impl<T: ToSchema> utoipa::__dev::ComposeSchema for JsonApiBody<T> {
    fn compose(generics: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        envelope(generics.into_iter().next().unwrap_or_else(T::schema))
    }
}

/// Reads a body attribute as text the way providers send it: a string, or a number or boolean
/// written as text. Other JSON (arrays, objects) reads as empty text, which the rules reject.
pub fn lenient_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => Some(text),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
        Some(_) => Some(String::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_read_with_and_without_zones() {
        let expected = "2021-05-13T10:21:55Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(parse_instant("2021-05-13T10:21:55Z"), Some(expected));
        assert_eq!(parse_instant("2021-05-13T11:21:55+01:00"), Some(expected));
        assert_eq!(parse_instant("2021-05-13T11:21:55 01:00"), Some(expected));
        assert_eq!(parse_instant("2021-05-13T10:21:55"), Some(expected));
        assert!(parse_instant("2021-05-13").is_some());
        assert_eq!(parse_instant("yesterday"), None);
        assert_eq!(parse_instant("2021-13-45T00:00:00Z"), None);
        assert!(
            parse_instant("1999-12-31T23:59:59Z").is_some(),
            "a filter may look at any four-digit year"
        );
        for out_of_range in [
            "-9999-01-01",
            "-9999-01-01T00:00:00",
            "0000-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_instant(out_of_range), None, "{out_of_range}");
        }
    }
}
