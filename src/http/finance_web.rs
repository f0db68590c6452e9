//! `/finance` in a browser: finance staff sign in once with their token, choose a provider,
//! programme and cohort, read each statement's breakdown as it stands or stood, download its
//! assurance report, and mark payable statements paid. Server-rendered HTML, no scripts.

mod assurance;
mod pages;
mod payment;
mod sign_in;
mod statement;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};
use utoipa::OpenApi;

use crate::AppState;

pub use sign_in::FinanceSession;

/// The finance pages' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/finance", get(pages::providers))
        .route("/finance/style.css", get(style))
        .route("/finance/login", get(sign_in::form).post(sign_in::sign_in))
        .route("/finance/logout", axum::routing::post(sign_in::sign_out))
        .route("/finance/providers/{provider}", get(pages::statements))
        .route(
            "/finance/providers/{provider}/statements/{statement}",
            get(statement::show),
        )
        .route(
            "/finance/providers/{provider}/statements/{statement}/assurance.csv",
            get(assurance::report),
        )
        .route(
            "/finance/providers/{provider}/statements/{statement}/pay",
            get(payment::confirm).post(payment::pay),
        )
}

/// The finance pages' description.
#[derive(OpenApi)]
#[openapi(paths(
    pages::providers,
    style,
    sign_in::form,
    sign_in::sign_in,
    sign_in::sign_out,
    pages::statements,
    statement::show,
    assurance::report,
    payment::confirm,
    payment::pay
))]
pub(super) struct FinanceWebApi;

const STYLE: &str = include_str!("finance_web/style.css");

/// The finance pages' stylesheet.
#[utoipa::path(
    get,
    path = "/finance/style.css",
    tag = "finance",
    operation_id = "finance_page_style",
    description = "For browsers: the stylesheet every finance page links to. Needs no session.",
    responses(
        (status = 200, description = "The stylesheet, cacheable for five minutes", content_type = "text/css", body = String),
    ),
)]
async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLE,
    )
        .into_response()
}

/// A whole page: the layout around `body`, with headers that keep it to its own origin.
fn page(
    status: StatusCode,
    title: &str,
    session: Option<&FinanceSession>,
    body: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – cpd-ledger finance" }
                link rel="stylesheet" href="/finance/style.css";
            }
            body {
                header.site {
                    a.home href="/finance" { "cpd-ledger finance" }
                    @if let Some(session) = session {
                        form.logout method="post" action="/finance/logout" {
                            input type="hidden" name="csrf" value=(session.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A page saying what went wrong, in words the reader can act on.
fn problem(status: StatusCode, session: Option<&FinanceSession>, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        status,
        title,
        session,
        html! {
            h1 { (title) }
            p.problem { (message) }
            p { a href="/finance" { "Back to the lead providers" } }
        },
    )
}
