//! The service's idea of now. The sandbox lets a request run as if it were another instant
//! (`X-With-Server-Date`) and `serve --now` moves the default, so the 2021 to 2023 milestone
//! windows can be exercised whatever today's date is. Outside the sandbox, now is now.

use chrono::{DateTime, Utc};

/// The header that moves a sandbox request's now.
pub const SERVER_DATE_HEADER: &str = "x-with-server-date";

/// Where now comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system clock; the header is ignored.
    #[default]
    System,
    /// The sandbox: the header wins, then the fixed default, then the system clock.
    Sandbox(Option<DateTime<Utc>>),
}

impl Clock {
    /// Now, for a request that carried `header` (the value of `X-With-Server-Date`, if any).
    /// `Err` when the sandbox gets a header that is not an RFC 3339 date-time from 2000 to
    /// 2100, the years every command accepts.
    pub fn now(self, header: Option<&str>) -> Result<DateTime<Utc>, String> {
        match (self, header) {
            (Self::System, _) => Ok(Utc::now()),
            (Self::Sandbox(_), Some(value)) => DateTime::parse_from_rfc3339(value.trim())
                .map(|at| at.with_timezone(&Utc))
                .ok()
                .filter(|at| aggregates::bounds::instant_in_range(*at))
                .ok_or_else(|| {
                    format!(
                        "The '{SERVER_DATE_HEADER}' header must be an RFC 3339 date-time from 2000 to 2100"
                    )
                }),
            (Self::Sandbox(fixed), None) => Ok(fixed.unwrap_or_else(Utc::now)),
        }
    }

    /// Whether this is the sandbox.
    pub fn is_sandbox(self) -> bool {
        matches!(self, Self::Sandbox(_))
    }
}

/// The cohort whose academic year (starting 1 September) is under way at `now`.
pub fn current_cohort(now: DateTime<Utc>) -> i32 {
    use chrono::Datelike;
    if now.month() >= 9 {
        now.year()
    } else {
        now.year() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_header_moves_now_and_is_ignored_elsewhere() {
        let header = Some("2022-10-01T10:00:00+01:00");
        let expected: DateTime<Utc> = "2022-10-01T09:00:00Z".parse().unwrap();
        assert_eq!(Clock::Sandbox(None).now(header), Ok(expected));
        assert_ne!(Clock::System.now(header), Ok(expected));
        assert!(Clock::Sandbox(None).now(Some("tomorrow")).is_err());
        assert!(
            Clock::Sandbox(None)
                .now(Some("1999-12-31T23:59:59Z"))
                .is_err()
        );
    }

    #[test]
    fn the_fixed_default_applies_without_a_header() {
        let fixed: DateTime<Utc> = "2023-07-12T12:00:00Z".parse().unwrap();
        assert_eq!(Clock::Sandbox(Some(fixed)).now(None), Ok(fixed));
    }

    #[test]
    fn the_current_cohort_turns_over_in_september() {
        assert_eq!(
            current_cohort("2023-07-12T12:00:00Z".parse().unwrap()),
            2022
        );
        assert_eq!(
            current_cohort("2023-09-01T00:00:00Z".parse().unwrap()),
            2023
        );
    }
}
