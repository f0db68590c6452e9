//! Token lookups remembered for a few seconds: a revocation or expiry made on another instance
//! reaches this one within the cache's lifetime; one made here is applied at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Principal;
use super::tokens::Found;

/// The most tokens remembered; past that, old lookups are dropped.
const CAPACITY: usize = 10_000;
/// How often a token's use is recorded.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A token as the cache answers it.
pub(super) struct Lookup {
    pub(super) principal: Principal,
    pub(super) expires_at: Option<DateTime<Utc>>,
    /// Its use should be recorded now.
    pub(super) touch: bool,
}

struct Entry {
    principal: Principal,
    expires_at: Option<DateTime<Utc>>,
    fetched: Instant,
    touched: Instant,
}

/// Lookups by token digest.
pub(super) struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl TokenCache {
    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    /// The remembered lookup of a digest, if still fresh.
    pub(super) fn get(&self, digest: &[u8; 32]) -> Option<Lookup> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get_mut(digest)?;
        if entry.fetched.elapsed() >= self.ttl {
            return None;
        }
        let touch = entry.touched.elapsed() >= TOUCH_EVERY;
        if touch {
            entry.touched = Instant::now();
        }
        Some(Lookup {
            principal: entry.principal.clone(),
            expires_at: entry.expires_at,
            touch,
        })
    }

    /// Remembers a lookup from the database.
    pub(super) fn put(&self, digest: [u8; 32], found: Found) -> Lookup {
        let lookup = Lookup {
            principal: found.principal,
            expires_at: found.expires_at,
            touch: found.stale,
        };
        if self.ttl.is_zero() {
            return lookup;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, entry| entry.fetched.elapsed() < self.ttl);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        let now = Instant::now();
        entries.insert(
            digest,
            Entry {
                principal: lookup.principal.clone(),
                expires_at: lookup.expires_at,
                fetched: now,
                touched: now,
            },
        );
        lookup
    }

    /// Forgets every lookup of a token.
    pub(super) fn forget(&self, token_id: Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, entry| entry.principal.token_id != token_id);
    }
}
