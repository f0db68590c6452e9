//! The one place that turns failures into statuses and the real API's error bodies.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Refusal;
use crate::http::json_api::JSON_API;
use crate::ledger::LedgerError;

/// One `{"title","detail"}` entry of a 400 or 422 body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorEntry {
    /// The attribute at fault, or a short category such as `Bad request`.
    pub title: String,
    /// The message for the user.
    pub detail: String,
}

impl ErrorEntry {
    /// An entry from a title and a message.
    pub fn new(title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            detail: detail.into(),
        }
    }
}

/// The body of a 400, 413 or 422: `{"errors": [{"title","detail"}]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorsBody {
    /// One entry per attribute at fault.
    pub errors: Vec<ErrorEntry>,
}

/// The body of a 401, 404 or 500: `{"error": "Resource not Found"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in the real API's words.
    #[schema(value_type = String)]
    pub error: &'static str,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with one entry, e.g. `Bad request` and what was wrong.
    #[error("bad request: {0:?}")]
    BadRequest(ErrorEntry),
    /// 401: no valid token.
    #[error("unauthenticated")]
    Unauthorized,
    /// 403: a valid token without the capability.
    #[error("forbidden")]
    Forbidden,
    /// 404: no such route or record (or not the caller's).
    #[error("not found")]
    NotFound,
    /// 413: the body is over the size limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 422: validation errors, one entry per attribute.
    #[error("unprocessable: {0:?}")]
    Unprocessable(Vec<ErrorEntry>),
    /// 429: over the rate limit; retry after this many seconds.
    #[error("rate limited")]
    TooManyRequests(u64),
    /// 503: the database cannot be reached or the read models are behind.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a fault of ours. The cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// A 503 for a database that is down or saturated; the cause is logged.
    fn database_unavailable(cause: &sqlx::Error) -> Self {
        tracing::warn!(error = %cause, "database unavailable");
        crate::metrics::request_failed_on(cause);
        Self::Unavailable("database unavailable; retry shortly".to_owned())
    }

    /// A 400 titled `Bad request`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest(ErrorEntry::new("Bad request", detail))
    }

    /// A 400 titled `Bad parameter`.
    pub fn bad_parameter(detail: impl Into<String>) -> Self {
        Self::BadRequest(ErrorEntry::new("Bad parameter", detail))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::BadRequest(entry) => (
                StatusCode::BAD_REQUEST,
                json!(ErrorsBody {
                    errors: vec![entry]
                }),
            ),
            Self::Unauthorized => {
                let body = json!(ErrorBody {
                    error: "HTTP Token: Access denied"
                });
                let mut response = json_response(StatusCode::UNAUTHORIZED, &body);
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Token realm=\"Application\""),
                );
                return response;
            }
            Self::Forbidden => return StatusCode::FORBIDDEN.into_response(),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                json!(ErrorBody {
                    error: "Resource not Found"
                }),
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!(ErrorsBody {
                    errors: vec![ErrorEntry::new(
                        "Bad request",
                        "The request body is too large"
                    )]
                }),
            ),
            Self::Unprocessable(entries) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!(ErrorsBody { errors: entries }),
            ),
            Self::TooManyRequests(retry_after) => {
                let mut response = (StatusCode::TOO_MANY_REQUESTS, "Retry later\n").into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, retry_after.into());
                return response;
            }
            Self::Unavailable(reason) => {
                let body = json!({ "error": "Service unavailable", "reason": reason });
                let mut response = json_response(StatusCode::SERVICE_UNAVAILABLE, &body);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return response;
            }
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!(ErrorBody {
                        error: "Internal server error"
                    }),
                )
            }
        };
        json_response(status, &body)
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
    response
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match unavailable(&error) {
            true => Self::database_unavailable(&error),
            false => Self::Internal(Box::new(error)),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unauthenticated => Self::Unauthorized,
            Refusal::RateLimited(seconds) => Self::TooManyRequests(seconds),
            Refusal::Database(error) => error.into(),
        }
    }
}

/// Domain errors say which attribute they concern; their message is the API's detail.
pub trait ApiRejection: std::error::Error {
    /// The 422 entries for this rejection.
    fn entries(&self) -> Vec<ErrorEntry>;

    /// Whether the rejection means the record is not the caller's (a 404, not a 422).
    fn is_not_found(&self) -> bool {
        false
    }
}

/// One entry per attribute, its messages joined with ", ", attributes in first-seen order.
pub fn grouped(violations: impl IntoIterator<Item = (&'static str, String)>) -> Vec<ErrorEntry> {
    let mut entries: Vec<ErrorEntry> = Vec::new();
    for (title, message) in violations {
        match entries.iter_mut().find(|e| e.title == title) {
            Some(entry) => {
                entry.detail.push_str(", ");
                entry.detail.push_str(&message);
            }
            None => entries.push(ErrorEntry::new(title, message)),
        }
    }
    entries
}

impl ApiRejection for aggregates::declaration::DeclarationRejection {
    fn entries(&self) -> Vec<ErrorEntry> {
        grouped(self.0.iter().map(|e| (e.attribute(), e.to_string())))
    }

    fn is_not_found(&self) -> bool {
        self.0
            .contains(&aggregates::declaration::DeclarationError::NotFound)
    }
}

impl ApiRejection for aggregates::training_record::TrainingRecordError {
    fn entries(&self) -> Vec<ErrorEntry> {
        vec![ErrorEntry::new(self.attribute(), self.to_string())]
    }
}

impl ApiRejection for aggregates::api_token::ApiTokenError {
    fn entries(&self) -> Vec<ErrorEntry> {
        match *self {}
    }
}

impl ApiRejection for aggregates::StatementError {
    fn entries(&self) -> Vec<ErrorEntry> {
        vec![ErrorEntry::new(self.attribute(), self.to_string())]
    }
}

impl ApiRejection for aggregates::retirement::RetirementError {
    fn entries(&self) -> Vec<ErrorEntry> {
        vec![ErrorEntry::new(self.attribute(), self.to_string())]
    }
}

impl From<crate::flows::retirement::RetireError> for ApiError {
    fn from(error: crate::flows::retirement::RetireError) -> Self {
        use crate::flows::retirement::RetireError;
        match error {
            RetireError::Refused(refused) => refused.into(),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl ApiRejection for aggregates::npq::NpqError {
    fn entries(&self) -> Vec<ErrorEntry> {
        vec![ErrorEntry::new(self.attribute(), self.to_string())]
    }

    fn is_not_found(&self) -> bool {
        *self == aggregates::npq::NpqError::NotFound
    }
}

impl<E> From<LedgerError<E>> for ApiError
where
    E: ApiRejection + Send + Sync + 'static,
{
    fn from(error: LedgerError<E>) -> Self {
        match error {
            LedgerError::Rejected(rejection) if rejection.is_not_found() => Self::NotFound,
            LedgerError::Rejected(rejection) => Self::Unprocessable(rejection.entries()),
            LedgerError::Conflict => Self::Unprocessable(vec![ErrorEntry::new(
                "base",
                "The record was changed by another request at the same time. Try again.",
            )]),
            LedgerError::Store(cause) => {
                let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&*cause);
                while let Some(error) = source {
                    if let Some(sqlx) = error.downcast_ref::<sqlx::Error>()
                        && unavailable(sqlx)
                    {
                        // The command may or may not have committed; an exact resend is safe.
                        return Self::database_unavailable(sqlx);
                    }
                    source = error.source();
                }
                Self::Internal(cause)
            }
        }
    }
}

/// Whether a database error means the server is down, unreachable or saturated (503), rather
/// than a fault of ours (500).
fn unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error
            .code()
            .is_some_and(|code| ["08", "53", "57"].contains(&&code[..2])),
        _ => false,
    }
}

impl From<crate::flows::declaring::DeclareError> for ApiError {
    fn from(error: crate::flows::declaring::DeclareError) -> Self {
        use crate::flows::declaring::DeclareError;
        match error {
            DeclareError::Rejected(rejection) => rejection.into(),
            DeclareError::Database(error) => error.into(),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl ApiRejection for aggregates::school_cohort::PartnershipRejection {
    fn entries(&self) -> Vec<ErrorEntry> {
        grouped(self.0.iter().map(|e| (e.attribute(), e.to_string())))
    }

    fn is_not_found(&self) -> bool {
        self.0
            .contains(&aggregates::school_cohort::PartnershipError::NotFound)
    }
}

impl From<crate::http::csv_export::ExportError> for ApiError {
    fn from(error: crate::http::csv_export::ExportError) -> Self {
        Self::Internal(Box::new(error))
    }
}

impl From<crate::flows::school::SchoolError> for ApiError {
    fn from(error: crate::flows::school::SchoolError) -> Self {
        use crate::flows::school::SchoolError;
        let detail = error.to_string();
        let invalid =
            |title: &str| Self::Unprocessable(vec![ErrorEntry::new(title, detail.clone())]);
        match error {
            SchoolError::UnknownSchool(_) => invalid("school_urn"),
            SchoolError::NoPartnership { .. } => invalid("cohort"),
            SchoolError::UnknownSchedule { .. } => invalid("schedule_identifier"),
            SchoolError::UnknownRecord(_) => Self::NotFound,
            SchoolError::UnknownMentor(_) => invalid("mentor_id"),
            SchoolError::Rejected(rejection) => rejection.into(),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<crate::finance::FinanceError> for ApiError {
    fn from(error: crate::finance::FinanceError) -> Self {
        use crate::finance::FinanceError;
        match error {
            FinanceError::UnknownStatement(_) => Self::NotFound,
            FinanceError::Statement(e) => e.into(),
            FinanceError::UnknownLeadProvider => {
                Self::Unprocessable(vec![ErrorEntry::new("lead_provider_id", error.to_string())])
            }
            FinanceError::UnknownCohort | FinanceError::WithoutContract => {
                Self::Unprocessable(vec![ErrorEntry::new("cohort", error.to_string())])
            }
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<crate::flows::npq::NpqFlowError> for ApiError {
    fn from(error: crate::flows::npq::NpqFlowError) -> Self {
        use crate::flows::npq::NpqFlowError;
        match error {
            NpqFlowError::Rejected(rejection) => rejection.into(),
            NpqFlowError::Outcome(rejection) => rejection.into(),
            NpqFlowError::NotFound => Self::NotFound,
            NpqFlowError::NotEnrolled => Self::Unprocessable(vec![ErrorEntry::new(
                "participant_id",
                aggregates::PARTICIPANT_NOT_RECOGNISED,
            )]),
            NpqFlowError::Database(error) => error.into(),
            other @ NpqFlowError::NotProjected => Self::Internal(Box::new(other)),
        }
    }
}

impl From<crate::flows::training::TrainingFlowError> for ApiError {
    fn from(error: crate::flows::training::TrainingFlowError) -> Self {
        use crate::flows::training::TrainingFlowError;
        match error {
            TrainingFlowError::Rejected(rejection) => rejection.into(),
            TrainingFlowError::Database(error) => error.into(),
            TrainingFlowError::NotRecognised => Self::Unprocessable(vec![ErrorEntry::new(
                "participant_id",
                aggregates::PARTICIPANT_NOT_RECOGNISED,
            )]),
        }
    }
}
