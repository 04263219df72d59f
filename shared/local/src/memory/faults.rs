//! What a test makes go wrong in a twin: the next calls of a method fail
//! with the errors given, in order, or every call fails while the port is
//! down.

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

    /// The outcome the twin's `method` must give before doing its work.
    pub fn check(&self, method: &str) -> PortResult<()> {
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
}
