//! The [`Clock`] twin: a clock that moves only when told, so tests let
//! visibility timeouts and key expiries pass without sleeping. (The wall
//! clock is [`skiff_core::ports::SystemClock`].)

use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use skiff_core::ports::Clock;

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    pub fn set(&self, now: Timestamp) {
        *super::lock(&self.now) = now;
    }

    /// Moves the clock forward; it stops at the end of representable time
    /// rather than wrapping round.
    pub fn advance(&self, by: Duration) {
        let mut now = super::lock(&self.now);
        *now = now.saturating_add(by).unwrap_or(Timestamp::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *super::lock(&self.now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now().as_millisecond(), start.as_millisecond() + 1500);
        clock.set(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), Timestamp::MAX);
    }
}
