//! Signing in and out of the finance pages, and the extractor that lets a request through
//! only with a live finance session.

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::html;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{page, problem};
use crate::AppState;
use crate::auth::session::SESSION_LIFETIME;
use crate::auth::{Refusal, Role};
use crate::http::ApiError;
use crate::ledger::{Actor, CommandContext};

const COOKIE: &str = "cpd_finance_session";
const LOGIN: &str = "/finance/login";

/// A finance user signed in through the browser.
#[derive(Clone, Debug)]
pub struct FinanceSession {
    /// The circumstances to record on its commands: the finance token as actor.
    pub context: CommandContext,
    /// The CSRF token its forms carry.
    pub csrf: String,
    cookie: String,
}

impl FinanceSession {
    /// The page refusing a form whose CSRF token is not this session's, if it is not.
    pub fn refuse_forged(&self, state: &AppState, presented: &str) -> Option<Response> {
        if state.auth.sessions().check_csrf(&self.cookie, presented) {
            return None;
        }
        Some(problem(
            StatusCode::FORBIDDEN,
            Some(self),
            "This form has expired. Go back, reload the page and try again.",
        ))
    }
}

impl FromRequestParts<AppState> for FinanceSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to(LOGIN).into_response();
        let cookie = session_cookie(&parts.headers).ok_or_else(to_login)?;
        let token_id = state
            .auth
            .sessions()
            .open(cookie, Utc::now())
            .ok_or_else(to_login)?;
        let principal = match state.auth.session_principal(token_id).await {
            Ok(principal) => principal,
            Err(Refusal::Unauthenticated) => return Err(to_login()),
            Err(other) => return Err(ApiError::from(other).into_response()),
        };
        if principal.role != Role::Finance {
            return Err(to_login());
        }
        // A page shows every write answered before it was asked for, as an API read does.
        if let Err(error) = state.ledger.read_barrier(&[]).await {
            return Err(ApiError::from(error).into_response());
        }
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Self {
            context: CommandContext {
                actor: Actor::Finance(principal.token_id),
                api_version: None,
                request_id,
            },
            csrf: state.auth.sessions().csrf(cookie),
            cookie: cookie.to_owned(),
        })
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .filter(|value| !value.is_empty())
}

/// The cookie header that sets (or, with an empty value and no lifetime, clears) the session.
fn set_cookie(value: &str, max_age: i64) -> HeaderValue {
    let cookie = format!(
        "{COOKIE}={value}; Path=/finance; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"
    );
    HeaderValue::from_str(&cookie).expect("session cookies are ASCII")
}

/// The login form.
#[utoipa::path(
    get,
    path = "/finance/login",
    tag = "finance",
    operation_id = "finance_page_login_form",
    description = "For browsers: the HTML sign-in form, where finance staff exchange a finance \
        token for the `cpd_finance_session` cookie. Needs no session.",
    responses(
        (status = 200, description = "The sign-in form", content_type = "text/html", body = String),
    ),
)]
pub async fn form(State(app): State<AppState>) -> Response {
    login_page(&app, StatusCode::OK, None)
}

fn login_page(app: &AppState, status: StatusCode, message: Option<&str>) -> Response {
    let csrf = app.auth.sessions().login_csrf(Utc::now());
    page(
        status,
        "Sign in",
        None,
        html! {
            h1 { "Sign in to finance" }
            @if let Some(message) = message {
                p.problem role="alert" { (message) }
            }
            form.login method="post" action=(LOGIN) {
                input type="hidden" name="csrf" value=(csrf);
                label for="token" { "Finance token" }
                input #token type="password" name="token" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
            p.hint { "Ask an administrator for a finance token: cpd-ledger token create --role finance" }
        },
    )
}

/// The sign-in form.
#[derive(Deserialize, ToSchema)]
pub struct LoginForm {
    /// A finance token.
    token: String,
    /// The CSRF token of the sign-in page's form.
    csrf: String,
}

/// Exchanges a finance token for a session cookie.
#[utoipa::path(
    post,
    path = "/finance/login",
    tag = "finance",
    operation_id = "finance_page_sign_in",
    description = "For browsers: the sign-in form. A finance token opens a session: the \
        `cpd_finance_session` cookie (HttpOnly, Secure, SameSite=Strict, eight hours).",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: to the lead providers", headers(
            ("Location" = String, description = "`/finance`"),
            ("Set-Cookie" = String, description = "The `cpd_finance_session` cookie"),
        )),
        (status = 401, description = "Not a finance token: the form again, saying so", content_type = "text/html", body = String),
        (status = 403, description = "The form expired: the form again, saying so", content_type = "text/html", body = String),
        (status = 422, description = "The form lacks a field", content_type = "text/plain", body = String),
    ),
)]
pub async fn sign_in(State(app): State<AppState>, Form(login): Form<LoginForm>) -> Response {
    let now = Utc::now();
    if !app.auth.sessions().check_login_csrf(&login.csrf, now) {
        let message = "The sign-in form expired. Please try again.";
        return login_page(&app, StatusCode::FORBIDDEN, Some(message));
    }
    let authorization = format!("Bearer {}", login.token.trim());
    let principal = match app.auth.authenticate(Some(&authorization)).await {
        Ok(principal) if principal.role == Role::Finance => principal,
        Ok(_) | Err(Refusal::Unauthenticated) => {
            let message = "That is not a finance token.";
            return login_page(&app, StatusCode::UNAUTHORIZED, Some(message));
        }
        Err(other) => return ApiError::from(other).into_response(),
    };
    let cookie = app
        .auth
        .sessions()
        .issue(principal.token_id, now + SESSION_LIFETIME);
    let mut response = Redirect::to("/finance").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&cookie, SESSION_LIFETIME.num_seconds()),
    );
    response
}

/// A form that carries only its CSRF token.
#[derive(Deserialize, ToSchema)]
pub struct CsrfForm {
    /// The CSRF token of the page's form.
    csrf: String,
}

/// Clears the session cookie.
#[utoipa::path(
    post,
    path = "/finance/logout",
    tag = "finance",
    operation_id = "finance_page_sign_out",
    description = "For browsers: the sign-out button every finance page shows, behind the \
        `cpd_finance_session` cookie. Clears the cookie.",
    security(("financeSession" = [])),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed out (or no live session): to the sign-in page", headers(
            ("Location" = String, description = "`/finance/login`"),
            ("Set-Cookie" = String, description = "The `cpd_finance_session` cookie, cleared (when signed out)"),
        )),
        (status = 403, description = "The form's CSRF token is not the session's", content_type = "text/html", body = String),
        (status = 422, description = "The form lacks its CSRF token", content_type = "text/plain", body = String),
    ),
)]
pub async fn sign_out(
    State(app): State<AppState>,
    session: FinanceSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = session.refuse_forged(&app, &form.csrf) {
        return refused;
    }
    let mut response = Redirect::to(LOGIN).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie("", 0));
    response
}
