//! The bounds every value a command carries must meet, so that every read model can store it
//! and every view can render it: instants and days from 2000 to 2100, cohorts in those years,
//! and text of at most 255 characters with no control characters.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// The first year a date or cohort may fall in (the service started in 2021; older records of
/// the real service go back to 2020).
pub const FIRST_YEAR: i32 = 2000;
/// The last year a date or cohort may fall in.
pub const LAST_YEAR: i32 = 2100;
/// The most characters a text attribute may hold.
pub const MAX_TEXT_CHARS: usize = 255;

/// A value outside the bounds; the message is the API's, the attribute its error title.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// A date or time before 2000 or after 2100.
    #[error("The '#/{0}' must be a date from 2000-01-01 to 2100-12-31")]
    DateOutOfRange(&'static str),
    /// A cohort year before 2000 or after 2100.
    #[error("The '#/{0}' must be a year from 2000 to 2100")]
    CohortOutOfRange(&'static str),
    /// Text longer than the bound.
    #[error("The '#/{0}' must be 255 characters or fewer")]
    TooLong(&'static str),
    /// Text holding NUL or another control character (tab and line breaks are allowed).
    #[error("The '#/{0}' must not contain control characters")]
    ControlCharacter(&'static str),
}

impl Invalid {
    /// The attribute at fault.
    pub fn attribute(&self) -> &'static str {
        match *self {
            Self::DateOutOfRange(name)
            | Self::CohortOutOfRange(name)
            | Self::TooLong(name)
            | Self::ControlCharacter(name) => name,
        }
    }
}

fn year_in_range(year: i32) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&year)
}

/// Whether an instant falls from 2000 to 2100 (UTC).
pub fn instant_in_range(at: DateTime<Utc>) -> bool {
    year_in_range(at.year())
}

/// Whether a day falls from 2000 to 2100.
pub fn day_in_range(day: NaiveDate) -> bool {
    year_in_range(day.year())
}

/// An instant attribute within the bounds.
pub fn instant(attribute: &'static str, at: DateTime<Utc>) -> Result<(), Invalid> {
    instant_in_range(at)
        .then_some(())
        .ok_or(Invalid::DateOutOfRange(attribute))
}

/// A day attribute within the bounds.
pub fn day(attribute: &'static str, day: NaiveDate) -> Result<(), Invalid> {
    day_in_range(day)
        .then_some(())
        .ok_or(Invalid::DateOutOfRange(attribute))
}

/// A cohort year within the bounds.
pub fn cohort(attribute: &'static str, year: i32) -> Result<(), Invalid> {
    year_in_range(year)
        .then_some(())
        .ok_or(Invalid::CohortOutOfRange(attribute))
}

/// A text attribute within the bounds.
pub fn text(attribute: &'static str, value: &str) -> Result<(), Invalid> {
    if value.chars().any(is_forbidden) {
        return Err(Invalid::ControlCharacter(attribute));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(Invalid::TooLong(attribute));
    }
    Ok(())
}

/// An optional text attribute within the bounds.
pub fn optional_text(attribute: &'static str, value: Option<&str>) -> Result<(), Invalid> {
    value.map_or(Ok(()), |value| text(attribute, value))
}

/// Control characters other than tab and line breaks: NUL cannot be stored by PostgreSQL at
/// all, and the others have no place in an attribute a person reads.
fn is_forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_outside_2000_to_2100_are_refused() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(instant("end_date", at("2000-01-01T00:00:00Z")), Ok(()));
        assert_eq!(instant("end_date", at("2100-12-31T23:59:59Z")), Ok(()));
        let refused = Err(Invalid::DateOutOfRange("end_date"));
        assert_eq!(instant("end_date", at("1999-12-31T23:59:59Z")), refused);
        assert_eq!(instant("end_date", at("2101-01-01T00:00:00Z")), refused);
        assert_eq!(instant("end_date", DateTime::<Utc>::MIN_UTC), refused);
    }

    #[test]
    fn text_with_nul_or_over_255_characters_is_refused() {
        assert_eq!(text("evidence_held", "other\tnote\n"), Ok(()));
        assert_eq!(text("evidence_held", &"é".repeat(255)), Ok(()));
        assert_eq!(
            text("evidence_held", &"é".repeat(256)),
            Err(Invalid::TooLong("evidence_held"))
        );
        assert_eq!(
            text("evidence_held", "a\0b"),
            Err(Invalid::ControlCharacter("evidence_held"))
        );
        assert_eq!(
            text("evidence_held", "a\u{1b}[2J"),
            Err(Invalid::ControlCharacter("evidence_held"))
        );
    }
}
