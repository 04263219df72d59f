//! What a test makes go wrong in a twin: the next calls of a method fail
//! with the errors given, in order, or every call fails while the port is
//! down, or the next call panics (a bug in the adapter or its caller, for the
//! tests that prove a panic fails only its own message or request).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use skiff_core::ports::{PortError, PortResult};

use super::lock;

/// Scripted failures of one twin, by method name (`"update"`, `"send"`,
/// `"create_status"` — the port method's own name).
#[derive(Debug, Default)]
pub struct Faults {
    next: Mutex<HashMap<String, VecDeque<PortError>>>,
    down: Mutex<Option<PortError>>,
    panics: Mutex<HashMap<String, usize>>,
    lost: Mutex<HashMap<String, VecDeque<PortError>>>,
}

impl Faults {
    /// The next call of `method` fails with `error` (after any failures
    /// already scripted for it).
    pub fn next(&self, method: &str, error: PortError) {
        lock(&self.next)
            .entry(method.to_string())
            .or_default()
            .push_back(error);
    }

    /// Every call of every method fails with `error` until
    /// [`Faults::recover`]: the service is down.
    pub fn down(&self, error: PortError) {
        *lock(&self.down) = Some(error);
    }

    pub fn recover(&self) {
        *lock(&self.down) = None;
    }

    /// The next `times` calls of `method` panic (before any scripted error).
    pub fn panic_next(&self, method: &str, times: usize) {
        *lock(&self.panics).entry(method.to_string()).or_default() += times;
    }

    /// The next call of `method` does its work, then fails with `error`: the
    /// answer to a write that succeeded is lost (a timeout, a 500 sent after
    /// the write). Only where a lost answer matters do twins honour it: the
    /// store's `claim`, `claim_as` and `update`.
    pub fn lose_answer(&self, method: &str, error: PortError) {
        lock(&self.lost)
            .entry(method.to_string())
            .or_default()
            .push_back(error);
    }

    /// The outcome the twin's `method` must give after doing its work.
    pub fn check_answer(&self, method: &str) -> PortResult<()> {
        match lock(&self.lost)
            .get_mut(method)
            .and_then(VecDeque::pop_front)
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The outcome the twin's `method` must give before doing its work.
    pub fn check(&self, method: &str) -> PortResult<()> {
        let panics = {
            let mut panics = lock(&self.panics);
            match panics.get_mut(method) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    true
                }
                _ => false,
            }
        };
        // Outside the lock: the twin stays usable after the panic.
        if panics {
            panic!("injected panic in {method}");
        }
        if let Some(e) = lock(&self.down).clone() {
            return Err(e);
        }
        match lock(&self.next)
            .get_mut(method)
            .and_then(VecDeque::pop_front)
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_failures_are_used_up_in_order_and_down_beats_them() {
        let f = Faults::default();
        f.next("send", PortError::Unavailable("a".into()));
        f.next("send", PortError::Rejected("b".into()));
        assert_eq!(f.check("ack"), Ok(()));
        assert_eq!(f.check("send"), Err(PortError::Unavailable("a".into())));
        assert_eq!(f.check("send"), Err(PortError::Rejected("b".into())));
        assert_eq!(f.check("send"), Ok(()));
        f.down(PortError::Unavailable("down".into()));
        assert_eq!(f.check("ack"), Err(PortError::Unavailable("down".into())));
        f.recover();
        assert_eq!(f.check("ack"), Ok(()));
    }

    #[test]
    fn a_lost_answer_fails_after_the_work_once_and_only_for_its_method() {
        let f = Faults::default();
        f.lose_answer("claim_as", PortError::Unavailable("timeout".into()));
        assert_eq!(f.check("claim_as"), Ok(()), "the work is done");
        assert_eq!(f.check_answer("claim"), Ok(()));
        assert_eq!(
            f.check_answer("claim_as"),
            Err(PortError::Unavailable("timeout".into()))
        );
        assert_eq!(f.check_answer("claim_as"), Ok(()));
    }

    #[test]
    fn a_scripted_panic_happens_as_often_as_asked_then_calls_go_through() {
        let f = Faults::default();
        f.panic_next("send", 1);
        assert_eq!(f.check("ack"), Ok(()));
        let caught = std::panic::catch_unwind(|| f.check("send"));
        assert!(caught.is_err(), "the first send panics");
        assert_eq!(f.check("send"), Ok(()), "the second goes through");
    }
}
