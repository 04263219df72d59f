//! The ProwJob state machine.
//!
//! ```text
//! scheduling → triggered → pending → success | failure | error | aborted
//!                        ↘ aborted | error
//! ```
//!
//! Prow spreads these moves over plank, the scheduler, trigger and sinker and
//! never writes them down; Skiff keeps them in one place so a record is changed
//! only by a legal move and a store can compare-and-set on the state it read.
//! A job is complete exactly when `completionTime` is set (Prow's
//! `ProwJob.Complete`): success, failure and error set it on entry, while
//! `aborted` is entered first and completed once the agent has cleaned up.

use jiff::Timestamp;

use super::{ProwJob, ProwJobState};

/// Why a state change was refused. Nothing on the job changes when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The job is already in the target state. Callers redelivering the same
    /// event treat this as success.
    #[error("job is already {}", .0.as_str())]
    AlreadyInState(ProwJobState),
    /// `complete_abort` on an aborted job that is already complete.
    #[error("aborted job is already complete")]
    AlreadyComplete,
    /// The state machine has no edge from `from` to `to`.
    #[error("illegal transition from {} to {}", .from.as_str(), .to.as_str())]
    Illegal {
        from: ProwJobState,
        to: ProwJobState,
    },
    /// The job has no state at all, so no move can start from it.
    #[error("job has no state; cannot move it to {}", .to.as_str())]
    NoState { to: ProwJobState },
    /// `complete_abort` on a job that is not aborted.
    #[error("only an aborted job can complete its abort (job is {})", state_name(*.state))]
    NotAborted { state: Option<ProwJobState> },
}

fn state_name(state: Option<ProwJobState>) -> &'static str {
    state.map_or("without state", ProwJobState::as_str)
}

impl TransitionError {
    /// The change had already happened: a retry or duplicate delivery, not a fault.
    pub fn is_idempotent(&self) -> bool {
        matches!(self, Self::AlreadyInState(_) | Self::AlreadyComplete)
    }
}

impl ProwJobState {
    /// Whether the state machine has an edge `self → to`.
    pub fn can_become(self, to: ProwJobState) -> bool {
        use ProwJobState::*;
        matches!(
            (self, to),
            (Scheduling, Triggered)
                | (Triggered, Pending | Aborted | Error)
                | (Pending, Success | Failure | Error | Aborted)
        )
    }

    /// Entering this state completes the job. `aborted` is not one: its
    /// completion waits for cleanup.
    pub fn completes_on_entry(self) -> bool {
        matches!(
            self,
            ProwJobState::Success | ProwJobState::Failure | ProwJobState::Error
        )
    }
}

impl ProwJob {
    /// Moves the job to `to` at `now` with the given status description.
    ///
    /// Entering `pending` records `pendingTime`; entering success, failure or
    /// error records `completionTime`.
    pub fn transition(
        &mut self,
        to: ProwJobState,
        now: Timestamp,
        description: &str,
    ) -> Result<(), TransitionError> {
        let from = self.status.state.ok_or(TransitionError::NoState { to })?;
        if from == to {
            return Err(TransitionError::AlreadyInState(to));
        }
        if !from.can_become(to) {
            return Err(TransitionError::Illegal { from, to });
        }
        let status = &mut self.status;
        status.state = Some(to);
        status.description = description.to_string();
        if to == ProwJobState::Pending {
            status.pending_time = Some(now);
        }
        if to.completes_on_entry() {
            status.completion_time = Some(now);
        }
        Ok(())
    }

    /// Prow's `ProwJob.Complete`: the job has finished, including any cleanup.
    pub fn is_complete(&self) -> bool {
        self.status.completion_time.is_some()
    }

    /// Marks an aborted job complete once its pod or run has been cleaned up.
    pub fn complete_abort(&mut self, now: Timestamp) -> Result<(), TransitionError> {
        match self.status.state {
            Some(ProwJobState::Aborted) if self.is_complete() => {
                Err(TransitionError::AlreadyComplete)
            }
            Some(ProwJobState::Aborted) => {
                self.status.completion_time = Some(now);
                Ok(())
            }
            state => Err(TransitionError::NotAborted { state }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProwJobState::*;

    const ALL: [ProwJobState; 7] = [
        Scheduling, Triggered, Pending, Success, Failure, Aborted, Error,
    ];

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    fn job_in(state: ProwJobState) -> ProwJob {
        let mut pj = ProwJob::default();
        pj.status.state = Some(state);
        pj.status.description = "before".into();
        pj
    }

    #[test]
    fn only_the_documented_edges_are_legal() {
        let legal = [
            (Scheduling, Triggered),
            (Triggered, Pending),
            (Triggered, Aborted),
            (Triggered, Error),
            (Pending, Success),
            (Pending, Failure),
            (Pending, Error),
            (Pending, Aborted),
        ];
        for from in ALL {
            for to in ALL {
                let mut pj = job_in(from);
                let got = pj.transition(to, t(100), "after");
                if from == to {
                    assert_eq!(
                        got,
                        Err(TransitionError::AlreadyInState(to)),
                        "{from:?}→{to:?}"
                    );
                } else if legal.contains(&(from, to)) {
                    assert_eq!(got, Ok(()), "{from:?}→{to:?}");
                    assert_eq!(pj.status.state, Some(to));
                    assert_eq!(pj.status.description, "after");
                } else {
                    assert_eq!(
                        got,
                        Err(TransitionError::Illegal { from, to }),
                        "{from:?}→{to:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn refused_transitions_change_nothing() {
        for (from, to) in [(Success, Pending), (Pending, Pending), (Aborted, Failure)] {
            let mut pj = job_in(from);
            let before = pj.clone();
            assert!(pj.transition(to, t(100), "after").is_err());
            assert_eq!(pj, before, "{from:?}→{to:?}");
        }
    }

    #[test]
    fn final_states_are_complete_on_entry() {
        for to in [Success, Failure, Error] {
            let mut pj = job_in(Pending);
            pj.transition(to, t(200), "done").unwrap();
            assert!(pj.is_complete(), "{to:?}");
            assert_eq!(pj.status.completion_time, Some(t(200)));
        }
        let mut pj = job_in(Triggered);
        pj.transition(Error, t(300), "bad pod").unwrap();
        assert_eq!(pj.status.completion_time, Some(t(300)));
        assert_eq!(pj.status.pending_time, None);
    }

    #[test]
    fn pending_records_pending_time_and_is_not_complete() {
        let mut pj = job_in(Triggered);
        pj.transition(Pending, t(150), "Job triggered.").unwrap();
        assert_eq!(pj.status.pending_time, Some(t(150)));
        assert!(!pj.is_complete());
    }

    #[test]
    fn abort_is_complete_only_after_complete_abort() {
        for from in [Triggered, Pending] {
            let mut pj = job_in(from);
            pj.transition(Aborted, t(10), "aborted").unwrap();
            assert!(!pj.is_complete(), "{from:?}");
            assert_eq!(pj.complete_abort(t(20)), Ok(()));
            assert_eq!(pj.status.completion_time, Some(t(20)));
            assert_eq!(
                pj.complete_abort(t(30)),
                Err(TransitionError::AlreadyComplete)
            );
            assert_eq!(pj.status.completion_time, Some(t(20)));
        }
    }

    #[test]
    fn complete_abort_refuses_jobs_that_are_not_aborted() {
        for state in [Some(Pending), Some(Success), None] {
            let mut pj = ProwJob::default();
            pj.status.state = state;
            assert_eq!(
                pj.complete_abort(t(1)),
                Err(TransitionError::NotAborted { state })
            );
            assert!(!pj.is_complete());
        }
    }

    #[test]
    fn a_job_without_state_cannot_move() {
        let mut pj = ProwJob::default();
        assert_eq!(
            pj.transition(Pending, t(1), "x"),
            Err(TransitionError::NoState { to: Pending })
        );
    }

    #[test]
    fn re_entry_and_repeat_completion_are_idempotent_errors() {
        assert!(TransitionError::AlreadyInState(Pending).is_idempotent());
        assert!(TransitionError::AlreadyComplete.is_idempotent());
        assert!(
            !TransitionError::Illegal {
                from: Success,
                to: Pending
            }
            .is_idempotent()
        );
        assert!(!TransitionError::NoState { to: Pending }.is_idempotent());
        assert!(!TransitionError::NotAborted { state: None }.is_idempotent());
    }

    #[test]
    fn errors_name_the_states() {
        let cases = [
            (
                TransitionError::AlreadyInState(Pending),
                "job is already pending",
            ),
            (
                TransitionError::Illegal {
                    from: Success,
                    to: Pending,
                },
                "illegal transition from success to pending",
            ),
            (
                TransitionError::NoState { to: Triggered },
                "job has no state; cannot move it to triggered",
            ),
            (
                TransitionError::NotAborted {
                    state: Some(Failure),
                },
                "only an aborted job can complete its abort (job is failure)",
            ),
            (
                TransitionError::NotAborted { state: None },
                "only an aborted job can complete its abort (job is without state)",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }
}
