//! Browser sessions for the finance pages: a finance token, entered once, is exchanged for a
//! signed, expiring cookie naming the token (never holding it), and every form carries a CSRF
//! token derived from that cookie. The signing key is random per process unless one is given.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// How long a session lasts from sign-in.
pub const SESSION_LIFETIME: Duration = Duration::hours(8);
/// How long a login form may wait before it is submitted.
const LOGIN_FORM_LIFETIME: Duration = Duration::hours(1);

/// The key that signs session cookies and CSRF tokens.
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

impl SessionKey {
    /// A fresh random key: sessions end when the process does.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Self(key))
    }

    fn mac(&self, purpose: &str, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(payload.as_bytes());
        mac
    }

    fn sign(&self, purpose: &str, payload: &str) -> String {
        hex(&self.mac(purpose, payload).finalize().into_bytes())
    }

    fn verify(&self, purpose: &str, payload: &str, signature: &str) -> bool {
        let Some(bytes) = unhex(signature) else {
            return false;
        };
        self.mac(purpose, payload).verify_slice(&bytes).is_ok()
    }

    /// A session cookie's value for a finance token, valid until `expires`.
    pub fn issue(&self, token_id: Uuid, expires: DateTime<Utc>) -> String {
        let payload = format!("{token_id}.{}", expires.timestamp());
        let signature = self.sign("session", &payload);
        format!("{payload}.{signature}")
    }

    /// The token a session cookie names, if we signed it and it has not expired at `now`.
    pub fn open(&self, cookie: &str, now: DateTime<Utc>) -> Option<Uuid> {
        let (payload, signature) = cookie.rsplit_once('.')?;
        if !self.verify("session", payload, signature) {
            return None;
        }
        let (token_id, expires) = payload.split_once('.')?;
        let expires = DateTime::from_timestamp(expires.parse().ok()?, 0)?;
        (now < expires).then_some(())?;
        token_id.parse().ok()
    }

    /// The CSRF token the forms of a session carry.
    pub fn csrf(&self, cookie: &str) -> String {
        self.sign("csrf", cookie)
    }

    /// Whether `presented` is the CSRF token of the session `cookie`.
    pub fn check_csrf(&self, cookie: &str, presented: &str) -> bool {
        self.verify("csrf", cookie, presented)
    }

    /// The CSRF token of a login form shown at `now` (there is no session to bind it to yet).
    pub fn login_csrf(&self, now: DateTime<Utc>) -> String {
        let issued = now.timestamp().to_string();
        let signature = self.sign("login", &issued);
        format!("{issued}.{signature}")
    }

    /// Whether `presented` is a login form's CSRF token, shown within the last hour.
    pub fn check_login_csrf(&self, presented: &str, now: DateTime<Utc>) -> bool {
        let Some((issued, signature)) = presented.split_once('.') else {
            return false;
        };
        let Some(at) = issued
            .parse()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
        else {
            return false;
        };
        self.verify("login", issued, signature) && at <= now && now - at < LOGIN_FORM_LIFETIME
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::random().unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_session_opens_until_it_expires() {
        let key = key();
        let token = Uuid::new_v4();
        let cookie = key.issue(token, at("2026-12-02T18:00:00Z"));
        assert_eq!(key.open(&cookie, at("2026-12-02T17:59:59Z")), Some(token));
        assert_eq!(key.open(&cookie, at("2026-12-02T18:00:00Z")), None);
    }

    #[test]
    fn a_session_altered_or_signed_by_another_key_does_not_open() {
        let (key, other) = (key(), key());
        let now = at("2026-12-02T12:00:00Z");
        let cookie = key.issue(Uuid::new_v4(), at("2026-12-02T18:00:00Z"));
        let later = cookie.replacen(".1", ".2", 1);
        assert_eq!(key.open(&later, now), None);
        assert_eq!(other.open(&cookie, now), None);
        assert_eq!(key.open("", now), None);
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let key = key();
        let (one, two) = (
            key.issue(Uuid::new_v4(), at("2026-12-02T18:00:00Z")),
            key.issue(Uuid::new_v4(), at("2026-12-02T18:00:00Z")),
        );
        assert!(key.check_csrf(&one, &key.csrf(&one)));
        assert!(!key.check_csrf(&two, &key.csrf(&one)));
        assert!(!key.check_csrf(&one, ""));
    }

    #[test]
    fn a_login_form_token_lasts_an_hour() {
        let key = key();
        let token = key.login_csrf(at("2026-12-02T12:00:00Z"));
        assert!(key.check_login_csrf(&token, at("2026-12-02T12:59:59Z")));
        assert!(!key.check_login_csrf(&token, at("2026-12-02T13:00:00Z")));
        assert!(!key.check_login_csrf("1.00", at("2026-12-02T12:00:00Z")));
    }
}
