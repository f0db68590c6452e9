//! Counters in this process's memory.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Window;

/// Hits per key in its current window.
#[derive(Default)]
pub(super) struct MemoryCounters {
    counters: Mutex<HashMap<String, (Window, i64)>>,
}

impl MemoryCounters {
    /// Counts a hit and returns the hits so far in `window`.
    pub(super) fn hit(&self, key: &str, window: Window) -> i64 {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        match counters.get_mut(key) {
            Some((current, hits)) if *current == window => {
                *hits += 1;
                *hits
            }
            Some(entry) => {
                *entry = (window, 1);
                1
            }
            None => {
                counters.insert(key.to_owned(), (window, 1));
                1
            }
        }
    }

    /// Drops the keys whose window ended before `now`.
    pub(super) fn sweep(&self, now: i64) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters.retain(|_, (window, _)| window.end > now);
    }
}
