//! Which periodic runs are due at a scheduler tick: Prow's horologium
//! (`cmd/horologium/main.go:sync`, `shouldTriggerFailedRun`, `pkg/cron`) as a
//! pure function of the config, each job's latest run and two instants.
//!
//! Horologium keeps state between ticks: a cron goroutine raises a per-job flag
//! at each fire time and the next tick consumes the flags. Skiff's scheduler is
//! invoked every minute on a clock it does not control, and invocations may be
//! late or overlap, so the flag becomes a window: a cron job fired if one of its
//! instants lies in `(previous_tick, now]`. Everything else is read from the
//! latest run, as Prow does.
//!
//! # Rules
//!
//! - `interval`: due when there is no run yet, or the latest run is complete
//!   and strictly more than `interval` has passed since it **started**.
//! - `minimum_interval`: the same, measured from the latest run's
//!   **completion**.
//! - `cron` (UTC): due when an instant lies in `(previous_tick, now]` and the
//!   latest run is complete or absent. A fire while the last run is still
//!   running is dropped: no queue, no backfill. A job that never ran waits for
//!   its first instant, except `@every` schedules, which start at once.
//! - A periodic never overlaps itself: an incomplete latest run makes every
//!   kind not due, retries included.
//! - `retry`: see [Retries](#retries).
//!
//! # Differences from Prow, on purpose
//!
//! - **Retry interval.** Prow's config validation stores the parsed
//!   `retry.interval` into the periodic's own `interval` (so the retry interval
//!   is 0 and an interval job's interval is replaced). That is a bug; Skiff
//!   uses `retry.interval` for retries and `interval` for the schedule, as
//!   written. An empty `retry.interval` means 0.
//! - **Retries of cron jobs.** Horologium skips an unflagged cron job before
//!   looking at retries, and on a flagged tick the normal run wins, so a cron
//!   job's `retry` never fires. The config accepts it and documents it as
//!   retrying failed runs, so Skiff evaluates retries on every tick for every
//!   kind of periodic.
//! - **`retry.run_all` waits for completion.** Prow retries a `run_all` job
//!   even while its latest run is still going; Skiff never overlaps a periodic
//!   with itself, so a retry waits until the latest run is complete.
//! - **`@every` anchoring.** robfig's `@every d` fires every `d` counted from
//!   when horologium added the entry (its start or a config change). With no
//!   long-lived process, Skiff fires `@every d` at whole multiples of `d` since
//!   the Unix epoch (`@every 30m` → :00 and :30). Prow also flags `@every`
//!   jobs whenever horologium restarts; Skiff runs them at once only when they
//!   have no run at all.
//! - **Late ticks.** Prow loses fire times that pass while horologium is down.
//!   Skiff's window is whatever the caller passes: a late tick sees every
//!   instant since the previous tick and starts one run, keyed by the latest.
//!
//! # Retries
//!
//! As Prow's `shouldTriggerFailedRun`: the latest run is complete; it did not
//! succeed (or `run_all` is set); the attempt number — the latest run's
//! `prow.k8s.io/re-run` label (absent = 0) plus one — is at most
//! `min(attempts, 10)`; and strictly more than `retry.interval` has passed
//! since the latest run started. The retry carries `prow.k8s.io/re-run=<n>`.
//! A re-run label that is not a number blocks retries, as in Prow. When the
//! normal schedule is also due, only the normal run is created (Prow's
//! `shouldTrigger || shouldTriggerFailedRun` short-circuits the same way); it
//! has no re-run label, so the retry count starts over after it.
//!
//! # Run keys
//!
//! Every due run has a deterministic key; its id is [`job_id`] of the key. The
//! slot a run fills is "the run after the latest one", so the key names that
//! latest run:
//!
//! | run | key |
//! |---|---|
//! | no run yet (any schedule) | `{job}@first` |
//! | any run after an earlier one — interval, minimum_interval, cron, retry | `{job}@after-{latest run's id}` |
//!
//! However ticks race — overlapping, late, with windows holding different cron
//! instants, one deciding a retry while the other decides a normal run — every
//! tick that read the same latest run produces the same key, so at most one
//! successor is ever created and a periodic never overlaps itself. A tick that
//! reads the run another tick created sees it incomplete and plans nothing.
//! The reason says which instant or interval made it due.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};

use crate::config::{Periodic, Retry};
use crate::cron::CronSchedule;
use crate::duration::GoDuration;
use crate::prowjob::labels::RE_RUN;
use crate::prowjob::new::{job_id, new_periodic};
use crate::prowjob::{ProwJob, ProwJobState, ProwJobType};

/// Prow's `maxRetries`: `retry.attempts` above this is treated as this.
const MAX_RETRIES: u32 = 10;

/// Walking fire by fire is cheapest for the usual one-minute window; past
/// this many, the latest fire is found by bisection instead.
const WALK_FIRES: usize = 4;

/// A run to create now.
#[derive(Clone, Debug, PartialEq)]
pub struct DuePeriodic {
    /// The idempotency key; `job.metadata.name` is `job_id(key)`.
    pub key: String,
    pub job: ProwJob,
    /// Why it is due, for logs and the dashboard.
    pub reason: String,
}

/// A configured periodic that starts nothing at this tick, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotDue {
    pub job: String,
    pub reason: String,
}

/// The outcome of one tick, both lists in config order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tick {
    pub due: Vec<DuePeriodic>,
    pub not_due: Vec<NotDue>,
}

/// Prow's `GetLatestProwJobs` for periodics: per job name, the run with the
/// greatest start time. Runs without a start time are never picked (Prow
/// compares with the zero time); among equal start times the greatest id
/// wins, so the choice does not depend on listing order.
pub fn latest_runs<'a>(
    jobs: impl IntoIterator<Item = &'a ProwJob>,
) -> HashMap<&'a str, &'a ProwJob> {
    let mut latest: HashMap<&str, &ProwJob> = HashMap::new();
    for j in jobs {
        if j.spec.r#type != Some(ProwJobType::Periodic) {
            continue;
        }
        let Some(start) = j.status.start_time else {
            continue;
        };
        let newer = match latest.get(j.spec.job.as_str()) {
            None => true,
            Some(cur) => {
                (start, j.metadata.name.as_str())
                    > (
                        cur.status.start_time.unwrap_or(Timestamp::MIN),
                        cur.metadata.name.as_str(),
                    )
            }
        };
        if newer {
            latest.insert(j.spec.job.as_str(), j);
        }
    }
    latest
}

/// Decides, for every periodic, whether a run is due at `now`. `latest` gives
/// a job's latest run (see [`latest_runs`]); a run without a start time counts
/// as no run. `previous_tick` is the `now` of the previous tick: cron instants
/// in `(previous_tick, now]` fire at this tick.
pub fn due_periodics<'a>(
    periodics: &[Periodic],
    latest: &dyn Fn(&str) -> Option<&'a ProwJob>,
    previous_tick: Timestamp,
    now: Timestamp,
) -> Tick {
    let mut tick = Tick::default();
    for p in periodics {
        let name = p.base.name.as_str();
        let last = latest(name).and_then(|j| Some((j, j.status.start_time?)));
        match decide(p, last, previous_tick, now) {
            Decision::Due {
                key,
                labels,
                reason,
            } => {
                let job = new_periodic(p, &labels, job_id(&key), now);
                tick.due.push(DuePeriodic { key, job, reason });
            }
            Decision::NotDue(reason) => tick.not_due.push(NotDue {
                job: name.to_string(),
                reason,
            }),
        }
    }
    tick
}

enum Decision {
    Due {
        key: String,
        labels: BTreeMap<String, String>,
        reason: String,
    },
    NotDue(String),
}

enum Schedule {
    Cron(CronSchedule),
    Interval(GoDuration),
    MinimumInterval(GoDuration),
}

/// The latest run and its start time, which every rule needs.
type Last<'a> = Option<(&'a ProwJob, Timestamp)>;

fn decide(p: &Periodic, last: Last<'_>, previous_tick: Timestamp, now: Timestamp) -> Decision {
    let schedule = match schedule_of(p) {
        Ok(s) => s,
        Err(why) => return Decision::NotDue(format!("skipped: {why}")),
    };
    let name = p.base.name.as_str();
    let normal = match &schedule {
        Schedule::Cron(cron) => cron_rule(name, &p.fields.cron, cron, last, previous_tick, now),
        Schedule::Interval(d) => interval_rule(name, *d, last, now),
        Schedule::MinimumInterval(d) => minimum_interval_rule(name, *d, last, now),
    };
    // One successor per latest run, whatever made it due (see "Run keys").
    let successor = |job: &ProwJob| format!("{name}@after-{}", job.metadata.name);
    let not_due = match normal {
        Rule::Due { key, reason } => {
            return Decision::Due {
                key: last.map_or(key, |(job, _)| successor(job)),
                labels: BTreeMap::new(),
                reason,
            };
        }
        Rule::Running(reason) => return Decision::NotDue(reason),
        Rule::NotDue(reason) => reason,
    };
    let (Some(retry), Some((job, start))) = (&p.fields.retry, last) else {
        return Decision::NotDue(not_due);
    };
    match retry_rule(retry, job, start, now) {
        Ok((n, max)) => {
            let outcome = job
                .status
                .state
                .map_or("no recorded state", ProwJobState::as_str);
            Decision::Due {
                key: successor(job),
                labels: BTreeMap::from([(RE_RUN.to_string(), n.to_string())]),
                reason: format!(
                    "retry {n} of {max} after {outcome} of run {}",
                    job.metadata.name
                ),
            }
        }
        Err(why) => Decision::NotDue(format!("{not_due}; no retry: {why}")),
    }
}

/// Exactly one of `cron`, `interval`, `minimum_interval`, parsed. The config
/// was validated, but a bad value here must cost one job, not the tick.
fn schedule_of(p: &Periodic) -> Result<Schedule, String> {
    let f = &p.fields;
    match (
        !f.cron.is_empty(),
        !f.interval.is_empty(),
        !f.minimum_interval.is_empty(),
    ) {
        (true, false, false) => CronSchedule::parse(&f.cron)
            .map(Schedule::Cron)
            .map_err(|e| format!("cron {:?} cannot be parsed: {e}", f.cron)),
        (false, true, false) => positive("interval", &f.interval).map(Schedule::Interval),
        (false, false, true) => {
            positive("minimum_interval", &f.minimum_interval).map(Schedule::MinimumInterval)
        }
        (false, false, false) => Err("none of cron, interval, minimum_interval is set".into()),
        _ => Err("more than one of cron, interval, minimum_interval is set".into()),
    }
}

fn positive(field: &str, text: &str) -> Result<GoDuration, String> {
    match GoDuration::parse(text) {
        Ok(d) if d.as_nanos() > 0 => Ok(d),
        Ok(_) => Err(format!("{field} {text:?} must be positive")),
        Err(e) => Err(format!("{field} {text:?} cannot be parsed: {e}")),
    }
}

enum Rule {
    Due {
        key: String,
        reason: String,
    },
    /// The latest run is incomplete; retries are not considered either.
    Running(String),
    NotDue(String),
}

fn first_run(name: &str, reason: &str) -> Rule {
    Rule::Due {
        key: format!("{name}@first"),
        reason: reason.to_string(),
    }
}

fn running(job: &ProwJob, start: Timestamp) -> String {
    format!(
        "last run {} still {} (started at {})",
        job.metadata.name,
        job.status.state.map_or("running", ProwJobState::as_str),
        rfc3339(start)
    )
}

fn interval_rule(name: &str, interval: GoDuration, last: Last<'_>, now: Timestamp) -> Rule {
    let Some((job, start)) = last else {
        return first_run(name, "first run: no earlier run");
    };
    if job.status.completion_time.is_none() {
        return Rule::Running(running(job, start));
    }
    elapsed_rule(
        name,
        now,
        start,
        interval,
        &format!("interval {interval}"),
        "started",
    )
}

fn minimum_interval_rule(name: &str, min: GoDuration, last: Last<'_>, now: Timestamp) -> Rule {
    let Some((job, start)) = last else {
        return first_run(name, "first run: no earlier run");
    };
    let Some(done) = job.status.completion_time else {
        return Rule::Running(running(job, start));
    };
    elapsed_rule(
        name,
        now,
        done,
        min,
        &format!("minimum_interval {min}"),
        "completed",
    )
}

/// Due iff strictly more than `d` has passed since `since`.
fn elapsed_rule(
    name: &str,
    now: Timestamp,
    since: Timestamp,
    d: GoDuration,
    what: &str,
    event: &str,
) -> Rule {
    let slot = since.checked_add(SignedDuration::from_nanos(d.as_nanos()));
    if now.duration_since(since).as_nanos() > i128::from(d.as_nanos()) {
        // `since + d < now`, so the sum is in range; a failure is impossible
        // but must not panic.
        let slot = slot.map_or_else(|_| rfc3339(now), rfc3339);
        return Rule::Due {
            key: format!("{name}@{slot}"),
            reason: format!(
                "{what} elapsed since the last run {event} at {}",
                rfc3339(since)
            ),
        };
    }
    let next = slot.map_or_else(|_| "never".to_string(), rfc3339);
    Rule::NotDue(format!(
        "{what} not yet elapsed since the last run {event} at {}; due after {next}",
        rfc3339(since)
    ))
}

fn cron_rule(
    name: &str,
    spec: &str,
    cron: &CronSchedule,
    last: Last<'_>,
    previous_tick: Timestamp,
    now: Timestamp,
) -> Rule {
    let fired = latest_fire(cron, previous_tick, now);
    let Some((job, start)) = last else {
        if cron.is_every() {
            return first_run(
                name,
                &format!("first run: no earlier run (cron {spec:?} starts at once)"),
            );
        }
        return match fired {
            Some(at) => Rule::Due {
                key: format!("{name}@first"),
                reason: format!("cron {spec:?} fired at {} (first run)", rfc3339(at)),
            },
            None => Rule::NotDue(match next_fire(cron, now) {
                Some(next) => format!("cron waits for its first instant at {}", rfc3339(next)),
                None => format!("cron {spec:?} has no instant within five years"),
            }),
        };
    };
    let Some(at) = fired else {
        if job.status.completion_time.is_none() {
            return Rule::Running(running(job, start));
        }
        return Rule::NotDue(match next_fire(cron, now) {
            Some(next) => format!("cron {spec:?} next fires at {}", rfc3339(next)),
            None => format!("cron {spec:?} has no instant within five years"),
        });
    };
    // A run that started at or after the instant already served this fire
    // (another tick's window held it too).
    if start >= at {
        return Rule::Running(format!(
            "cron {spec:?} fired at {}; run {} (started at {}) already served it",
            rfc3339(at),
            job.metadata.name,
            rfc3339(start)
        ));
    }
    let key = format!("{name}@{}", rfc3339(at));
    if job.status.completion_time.is_none() {
        return Rule::Running(format!(
            "cron {spec:?} fired at {} while the last run {} is still {} (started at {}); \
             this fire is dropped",
            rfc3339(at),
            job.metadata.name,
            job.status.state.map_or("running", ProwJobState::as_str),
            rfc3339(start)
        ));
    }
    Rule::Due {
        key,
        reason: format!("cron {spec:?} fired at {}", rfc3339(at)),
    }
}

/// `Ok((attempt, max))` when a retry of the complete latest run is due.
fn retry_rule(
    retry: &Retry,
    job: &ProwJob,
    start: Timestamp,
    now: Timestamp,
) -> Result<(u32, u32), String> {
    if !retry.run_all && job.status.state == Some(ProwJobState::Success) {
        return Err("the last run succeeded".into());
    }
    let done = match job.metadata.labels.get(RE_RUN) {
        None => 0,
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| format!("the last run's {RE_RUN} label {v:?} is not a count"))?,
    };
    let n = done.saturating_add(1);
    let max = u32::try_from(retry.attempts.clamp(0, i64::from(MAX_RETRIES))).unwrap_or(0);
    if n > max {
        return Err(format!("{done} of {max} retries used"));
    }
    let wait = if retry.interval.is_empty() {
        GoDuration::default()
    } else {
        GoDuration::parse(&retry.interval)
            .map_err(|e| format!("retry.interval {:?} cannot be parsed: {e}", retry.interval))?
    };
    if now.duration_since(start).as_nanos() <= i128::from(wait.as_nanos()) {
        let at = start
            .checked_add(SignedDuration::from_nanos(wait.as_nanos()))
            .map_or_else(|_| "never".to_string(), rfc3339);
        return Err(format!("retry {n} of {max} is due after {at}"));
    }
    Ok((n, max))
}

/// The latest instant of `cron` in `(after, until]`.
fn latest_fire(cron: &CronSchedule, after: Timestamp, until: Timestamp) -> Option<Timestamp> {
    if until <= after {
        return None;
    }
    if cron.is_every() {
        let delay = every_delay(cron)?;
        let at = Timestamp::from_second(until.as_second().div_euclid(delay) * delay).ok()?;
        return (at > after).then_some(at);
    }
    let mut last = cron.next_after(after).filter(|t| *t <= until)?;
    for _ in 0..WALK_FIRES {
        match cron.next_after(last) {
            Some(t) if t <= until => last = t,
            _ => return Some(last),
        }
    }
    // A dense schedule over a long window (a tick hours late): bisect on whole
    // seconds, since fires are whole seconds. Invariant: lo < latest <= hi.
    let (mut lo, mut hi) = (last.as_second() - 1, until.as_second());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let fires_after_mid = Timestamp::from_second(mid)
            .ok()
            .and_then(|m| cron.next_after(m))
            .is_some_and(|t| t <= until);
        if fires_after_mid {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Timestamp::from_second(hi).ok()
}

/// The first instant of `cron` strictly after `after`, on the epoch grid for
/// `@every`.
fn next_fire(cron: &CronSchedule, after: Timestamp) -> Option<Timestamp> {
    if cron.is_every() {
        let delay = every_delay(cron)?;
        let slot = after.as_second().div_euclid(delay).checked_add(1)?;
        return Timestamp::from_second(slot.checked_mul(delay)?).ok();
    }
    cron.next_after(after)
}

/// `@every`'s delay in whole seconds; `next_after` adds exactly it.
fn every_delay(cron: &CronSchedule) -> Option<i64> {
    let delay = cron.next_after(Timestamp::UNIX_EPOCH)?.as_second();
    (delay > 0).then_some(delay)
}

fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileRole, JobBase, PeriodicFields, SourceFile, load};
    use crate::prowjob::{ObjectMeta, ProwJobSpec, ProwJobStatus};

    const SPEC: &str = "  spec: {containers: [{image: alpine, command: [/bin/true]}]}\n";
    /// A tick one minute long; 2026-11-23 is a Monday.
    const PREV: &str = "2026-11-23T09:59:30Z";
    const NOW: &str = "2026-11-23T10:00:30Z";

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Periodics from job-config YAML, which must load without errors.
    fn periodics(yaml: &str) -> Vec<Periodic> {
        let loaded = load(&[SourceFile {
            path: "jobs.yaml".into(),
            text: yaml.into(),
            role: FileRole::JobConfig,
        }]);
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        loaded.config.jobs.periodics
    }

    /// One periodic named `j` whose schedule is `schedule` (YAML lines).
    fn job(schedule: &str) -> Vec<Periodic> {
        periodics(&format!("periodics:\n- name: j\n{schedule}{SPEC}"))
    }

    /// A run of `j` that is still pending.
    fn running(id: &str, start: &str) -> ProwJob {
        ProwJob {
            metadata: ObjectMeta {
                name: id.into(),
                ..ObjectMeta::default()
            },
            spec: ProwJobSpec {
                r#type: Some(ProwJobType::Periodic),
                job: "j".into(),
                ..ProwJobSpec::default()
            },
            status: ProwJobStatus {
                start_time: Some(t(start)),
                state: Some(ProwJobState::Pending),
                ..ProwJobStatus::default()
            },
            ..ProwJob::default()
        }
    }

    fn ended(id: &str, start: &str, end: &str, state: ProwJobState) -> ProwJob {
        let mut j = running(id, start);
        j.status.completion_time = Some(t(end));
        j.status.state = Some(state);
        j
    }

    fn rerun(mut j: ProwJob, n: &str) -> ProwJob {
        j.metadata.labels.insert(RE_RUN.into(), n.into());
        j
    }

    fn run_tick(ps: &[Periodic], runs: &[ProwJob], prev: &str, now: &str) -> Tick {
        let latest = latest_runs(runs);
        due_periodics(ps, &|name| latest.get(name).copied(), t(prev), t(now))
    }

    /// The single periodic's outcome: `Ok((key, reason))` if due, else
    /// `Err(reason)`.
    fn outcome(
        ps: &[Periodic],
        runs: &[ProwJob],
        prev: &str,
        now: &str,
    ) -> Result<(String, String), String> {
        let tick = run_tick(ps, runs, prev, now);
        assert_eq!(tick.due.len() + tick.not_due.len(), 1, "{tick:#?}");
        match (tick.due.into_iter().next(), tick.not_due.into_iter().next()) {
            (Some(d), None) => Ok((d.key, d.reason)),
            (None, Some(n)) => Err(n.reason),
            other => unreachable!("{other:?}"),
        }
    }

    fn due_key(r: &Result<(String, String), String>) -> &str {
        match r {
            Ok((key, _)) => key,
            Err(why) => panic!("expected a due run, got: {why}"),
        }
    }

    fn not_due(r: &Result<(String, String), String>) -> &str {
        match r {
            Ok((key, why)) => panic!("expected not due, got {key}: {why}"),
            Err(why) => why,
        }
    }

    #[test]
    fn interval_is_due_only_when_strictly_more_than_interval_has_passed() {
        let ps = job("  interval: 1h\n");
        let runs = [ended(
            "r1",
            "2026-11-23T09:00:30Z",
            "2026-11-23T09:10:00Z",
            ProwJobState::Success,
        )];
        // (now, due key or None)
        let table = [
            ("2026-11-23T10:00:29Z", None),
            ("2026-11-23T10:00:30Z", None),
            ("2026-11-23T10:00:30.001Z", Some("j@after-r1")),
            ("2026-11-23T10:05:00Z", Some("j@after-r1")),
        ];
        for (now, want) in table {
            let got = outcome(&ps, &runs, "2026-11-23T09:59:00Z", now);
            match want {
                Some(key) => {
                    assert_eq!(due_key(&got), key, "at {now}");
                    assert_eq!(
                        got.unwrap().1,
                        "interval 1h0m0s elapsed since the last run started at 2026-11-23T09:00:30Z"
                    );
                }
                None => assert_eq!(
                    not_due(&got),
                    "interval 1h0m0s not yet elapsed since the last run started at \
                     2026-11-23T09:00:30Z; due after 2026-11-23T10:00:30Z",
                    "at {now}"
                ),
            }
        }
    }

    #[test]
    fn interval_is_measured_from_the_last_start() {
        // The run took 59 minutes and finished a minute ago: still due.
        let ps = job("  interval: 1h\n");
        let runs = [ended(
            "r1",
            "2026-11-23T09:00:00Z",
            "2026-11-23T09:59:00Z",
            ProwJobState::Failure,
        )];
        assert_eq!(due_key(&outcome(&ps, &runs, PREV, NOW)), "j@after-r1");
    }

    #[test]
    fn minimum_interval_is_measured_from_the_last_completion() {
        let ps = job("  minimum_interval: 1h\n");
        let runs = [ended(
            "r1",
            "2026-11-23T08:00:00Z",
            "2026-11-23T09:30:00Z",
            ProwJobState::Success,
        )];
        let table = [
            (NOW, None),
            ("2026-11-23T10:30:00Z", None),
            ("2026-11-23T10:30:01Z", Some("j@after-r1")),
        ];
        for (now, want) in table {
            let got = outcome(&ps, &runs, PREV, now);
            match want {
                Some(key) => {
                    assert_eq!(due_key(&got), key);
                    assert_eq!(
                        got.unwrap().1,
                        "minimum_interval 1h0m0s elapsed since the last run completed at \
                         2026-11-23T09:30:00Z"
                    );
                }
                None => assert!(
                    not_due(&got).starts_with("minimum_interval 1h0m0s not yet elapsed"),
                    "{got:?}"
                ),
            }
        }
    }

    #[test]
    fn a_periodic_never_overlaps_itself() {
        // Started long ago, still pending; the window holds a fire for every cron.
        let runs = [running("r1", "2026-11-20T00:00:00Z")];
        let table = [
            (
                "  interval: 1m\n",
                "last run r1 still pending (started at 2026-11-20T00:00:00Z)",
            ),
            (
                "  minimum_interval: 1m\n",
                "last run r1 still pending (started at 2026-11-20T00:00:00Z)",
            ),
            (
                "  interval: 1m\n  retry: {attempts: 3, run_all: true}\n",
                "last run r1 still pending (started at 2026-11-20T00:00:00Z)",
            ),
            ("  cron: '@every 1m'\n", "is still pending"),
            ("  cron: '0 10 * * *'\n", "is still pending"),
        ];
        for (schedule, want) in table {
            let got = outcome(&job(schedule), &runs, PREV, NOW);
            assert!(not_due(&got).contains(want), "{schedule}: {got:?}");
        }
    }

    #[test]
    fn first_run_is_immediate_for_interval_and_minimum_interval() {
        for schedule in ["  interval: 24h\n", "  minimum_interval: 24h\n"] {
            let got = outcome(&job(schedule), &[], PREV, NOW);
            assert_eq!(
                got,
                Ok(("j@first".into(), "first run: no earlier run".into())),
                "{schedule}"
            );
        }
    }

    #[test]
    fn cron_waits_for_its_first_instant() {
        let ps = job("  cron: '0 6 * * 1'\n");
        assert_eq!(
            not_due(&outcome(&ps, &[], PREV, NOW)),
            "cron waits for its first instant at 2026-11-30T06:00:00Z"
        );
        assert_eq!(
            outcome(&ps, &[], "2026-11-23T05:59:30Z", "2026-11-23T06:00:30Z"),
            Ok((
                "j@first".into(),
                "cron \"0 6 * * 1\" fired at 2026-11-23T06:00:00Z (first run)".into()
            ))
        );
    }

    #[test]
    fn every_runs_immediately_when_it_has_no_run() {
        let ps = job("  cron: '@every 30m'\n");
        let got = outcome(&ps, &[], PREV, NOW);
        assert_eq!(due_key(&got), "j@first");
        // Once it has run, it fires on the 30-minute grid from the epoch.
        let runs = [ended(
            "r1",
            "2026-11-23T09:00:00Z",
            "2026-11-23T09:05:00Z",
            ProwJobState::Success,
        )];
        assert_eq!(
            not_due(&outcome(
                &ps,
                &runs,
                "2026-11-23T10:00:30Z",
                "2026-11-23T10:01:30Z"
            )),
            "cron \"@every 30m\" next fires at 2026-11-23T10:30:00Z"
        );
        assert_eq!(
            outcome(&ps, &runs, PREV, NOW),
            Ok((
                "j@after-r1".into(),
                "cron \"@every 30m\" fired at 2026-11-23T10:00:00Z".into()
            ))
        );
        // Every tick of a short delay fires exactly once per instant.
        let ps = job("  cron: '@every 5m'\n");
        let fired: Vec<String> = (0..15)
            .filter_map(|m| {
                let prev = t("2026-11-23T10:00:30Z") + SignedDuration::from_mins(m);
                let now = prev + SignedDuration::from_mins(1);
                outcome(&ps, &runs, &prev.to_string(), &now.to_string()).ok()
            })
            .map(|(_, reason)| reason)
            .collect();
        assert_eq!(
            fired,
            [
                "cron \"@every 5m\" fired at 2026-11-23T10:05:00Z",
                "cron \"@every 5m\" fired at 2026-11-23T10:10:00Z",
                "cron \"@every 5m\" fired at 2026-11-23T10:15:00Z"
            ]
        );
    }

    #[test]
    fn cron_fire_is_dropped_while_the_last_run_is_running() {
        let ps = job("  cron: '0 10 * * *'\n");
        let still = [running("r1", "2026-11-23T09:30:00Z")];
        assert_eq!(
            not_due(&outcome(&ps, &still, PREV, NOW)),
            "cron \"0 10 * * *\" fired at 2026-11-23T10:00:00Z while the last run r1 is \
             still pending (started at 2026-11-23T09:30:00Z); this fire is dropped"
        );
        // It finishes before the next tick: the dropped fire is not made up.
        let done = [ended(
            "r1",
            "2026-11-23T09:30:00Z",
            "2026-11-23T10:00:45Z",
            ProwJobState::Success,
        )];
        assert_eq!(
            not_due(&outcome(&ps, &done, NOW, "2026-11-23T10:01:30Z")),
            "cron \"0 10 * * *\" next fires at 2026-11-24T10:00:00Z"
        );
    }

    #[test]
    fn cron_window_excludes_the_previous_tick_and_includes_now() {
        let ps = job("  cron: '0 10 * * *'\n");
        let runs = [ended(
            "r1",
            "2026-11-22T10:00:00Z",
            "2026-11-22T10:20:00Z",
            ProwJobState::Success,
        )];
        let table = [
            ("2026-11-23T10:00:00Z", "2026-11-23T10:01:00Z", false),
            ("2026-11-23T09:59:00Z", "2026-11-23T10:00:00Z", true),
            ("2026-11-23T09:59:59.999Z", "2026-11-23T10:00:00Z", true),
            ("2026-11-23T09:58:00Z", "2026-11-23T09:59:59.999Z", false),
            // A tick that is not after the previous one has an empty window.
            ("2026-11-23T10:00:30Z", "2026-11-23T09:59:30Z", false),
        ];
        for (prev, now, due) in table {
            let got = outcome(&ps, &runs, prev, now);
            assert_eq!(got.is_ok(), due, "({prev}, {now}]: {got:?}");
            if due {
                assert_eq!(
                    got,
                    Ok((
                        "j@after-r1".into(),
                        "cron \"0 10 * * *\" fired at 2026-11-23T10:00:00Z".into()
                    ))
                );
            }
        }
    }

    #[test]
    fn late_tick_catches_the_latest_fire_in_its_window() {
        let runs = [ended(
            "r1",
            "2026-11-20T00:00:00Z",
            "2026-11-20T00:10:00Z",
            ProwJobState::Success,
        )];
        // (cron, previous tick three hours back or more, latest instant)
        let table = [
            ("0 * * * *", "2026-11-23T06:59:30Z", "2026-11-23T10:00:00Z"),
            ("0 6 * * 1", "2026-11-16T00:00:00Z", "2026-11-23T06:00:00Z"),
            (
                "*/7 * * * *",
                "2026-11-23T06:59:30Z",
                "2026-11-23T10:00:00Z",
            ),
            (
                "3-59/7 * * * *",
                "2026-11-23T06:59:30Z",
                "2026-11-23T09:59:00Z",
            ),
            // Dense schedules take the bisection path.
            (
                "* * * * * *",
                "2026-11-23T06:59:30Z",
                "2026-11-23T10:00:30Z",
            ),
            (
                "*/13 * 9 * * *",
                "2026-11-23T06:59:30Z",
                "2026-11-23T09:59:52Z",
            ),
        ];
        for (cron, prev, instant) in table {
            let ps = job(&format!("  cron: '{cron}'\n"));
            let got = outcome(&ps, &runs, prev, NOW);
            let want = format!("cron {cron:?} fired at {instant}");
            assert_eq!(got, Ok(("j@after-r1".into(), want)), "{cron}");
        }
    }

    #[test]
    fn latest_fire_agrees_with_walking_every_fire() {
        for spec in [
            "*/7 * * * *",
            "0-59 9 * * *",
            "*/13 * 9 * * *",
            "5 4 * * 0",
            "* * * * * *",
        ] {
            let cron = CronSchedule::parse(spec).unwrap();
            for (from, to) in [
                ("2026-11-23T06:59:30Z", "2026-11-23T10:00:30Z"),
                ("2026-11-22T00:00:00Z", "2026-11-23T09:59:59.5Z"),
                ("2026-11-23T09:00:10Z", "2026-11-23T09:00:40Z"),
            ] {
                // fires_between stops at 10,000 fires, so walk without a cap.
                let mut walked = None;
                let mut cursor = t(from);
                while let Some(next) = cron.next_after(cursor).filter(|n| *n <= t(to)) {
                    walked = Some(next);
                    cursor = next;
                }
                assert_eq!(
                    latest_fire(&cron, t(from), t(to)),
                    walked,
                    "{spec} ({from}, {to}]"
                );
            }
        }
    }

    #[test]
    fn overlapping_ticks_give_the_same_key() {
        let failed = ended(
            "r1",
            "2026-11-23T09:00:00Z",
            "2026-11-23T09:20:00Z",
            ProwJobState::Failure,
        );
        // (schedule, key, why a tick that sees the created run plans nothing)
        let table = [
            ("  cron: '0 10 * * *'\n", "j@after-r1", "already served it"),
            ("  interval: 1h\n", "j@after-r1", "still triggered"),
            ("  minimum_interval: 40m\n", "j@after-r1", "still triggered"),
            (
                "  interval: 24h\n  retry: {attempts: 2, interval: 30m}\n",
                "j@after-r1",
                "still triggered",
            ),
        ];
        // Two invocations, started 40s apart, whose windows both hold 10:00.
        let ticks = [
            ("2026-11-23T09:59:10Z", "2026-11-23T10:00:10Z"),
            ("2026-11-23T09:59:50Z", "2026-11-23T10:00:50Z"),
        ];
        for (schedule, key, why) in table {
            let ps = job(schedule);
            let [a, b] =
                ticks.map(|(prev, now)| run_tick(&ps, std::slice::from_ref(&failed), prev, now));
            assert_eq!(a.due[0].key, key, "{schedule}");
            assert_eq!(b.due[0].key, key, "{schedule}");
            assert_eq!(a.due[0].job.metadata.name, b.due[0].job.metadata.name);
            assert_eq!(a.due[0].job.metadata.name, job_id(key));
            // A third invocation that already sees the created run plans nothing.
            let mut created = a.due[0].job.clone();
            created.status.start_time = Some(t("2026-11-23T10:00:10Z"));
            let got = outcome(
                &ps,
                &[failed.clone(), created],
                "2026-11-23T09:59:40Z",
                "2026-11-23T10:00:40Z",
            );
            assert!(not_due(&got).contains(why), "{schedule}: {got:?}");
        }
    }

    #[test]
    fn racing_ticks_with_different_instants_still_create_one_run() {
        // Every minute; two late ticks read the same finished run, their
        // windows hold different instants: one successor, one key.
        let ps = job("  cron: '* * * * *'\n");
        let done = ended(
            "r1",
            "2026-11-23T09:00:00Z",
            "2026-11-23T09:00:20Z",
            ProwJobState::Success,
        );
        let a = run_tick(
            &ps,
            std::slice::from_ref(&done),
            "2026-11-23T09:59:30Z",
            "2026-11-23T10:00:30Z",
        );
        let b = run_tick(
            &ps,
            std::slice::from_ref(&done),
            "2026-11-23T10:00:30Z",
            "2026-11-23T10:01:30Z",
        );
        assert_eq!(a.due[0].key, b.due[0].key);
        assert_ne!(a.due[0].reason, b.due[0].reason, "different instants fired");
        // A run that started after an instant has served it, even once finished.
        let mut served = a.due[0].job.clone();
        served.status.start_time = Some(t("2026-11-23T10:00:40Z"));
        served.status.completion_time = Some(t("2026-11-23T10:00:50Z"));
        let got = outcome(
            &ps,
            &[done, served],
            "2026-11-23T09:59:30Z",
            "2026-11-23T10:00:59Z",
        );
        assert!(not_due(&got).contains("already served it"), "{got:?}");
    }

    #[test]
    fn matrix_jobs_are_independent_periodics() {
        let ps = periodics(&format!(
            "periodics:\n- name: e2e-{{{{region}}}}\n  matrix: {{region: [east, west]}}\n  \
             interval: 1h\n{SPEC}"
        ));
        let mut east = running("r-east", "2026-11-23T09:30:00Z");
        east.spec.job = "e2e-east".into();
        let tick = run_tick(&ps, &[east], PREV, NOW);
        assert_eq!(
            tick.not_due,
            [NotDue {
                job: "e2e-east".into(),
                reason: "last run r-east still pending (started at 2026-11-23T09:30:00Z)".into()
            }]
        );
        assert_eq!(tick.due.len(), 1);
        assert_eq!(tick.due[0].key, "e2e-west@first");
        assert_eq!(tick.due[0].job.spec.job, "e2e-west");
    }

    #[test]
    fn retry_counts_attempts_and_caps_at_ten() {
        let failed = |label: Option<&str>| {
            let j = ended(
                "r1",
                "2026-11-23T09:00:00Z",
                "2026-11-23T09:20:00Z",
                ProwJobState::Failure,
            );
            match label {
                Some(n) => rerun(j, n),
                None => j,
            }
        };
        // (attempts, re-run label on the last run, Ok(label on the retry) or Err(reason))
        let table: [(i64, Option<&str>, Result<&str, &str>); 8] = [
            (3, None, Ok("1")),
            (3, Some("0"), Ok("1")),
            (3, Some("2"), Ok("3")),
            (3, Some("3"), Err("3 of 3 retries used")),
            (13, Some("9"), Ok("10")),
            (13, Some("10"), Err("10 of 10 retries used")),
            (0, None, Err("0 of 0 retries used")),
            (
                3,
                Some("two"),
                Err("the last run's prow.k8s.io/re-run label \"two\" is not a count"),
            ),
        ];
        for (attempts, label, want) in table {
            let ps = job(&format!(
                "  interval: 24h\n  retry: {{attempts: {attempts}}}\n"
            ));
            let tick = run_tick(&ps, &[failed(label)], PREV, NOW);
            match want {
                Ok(n) => {
                    let d = &tick.due[0];
                    assert_eq!(d.key, "j@after-r1");
                    assert_eq!(d.job.metadata.labels[RE_RUN], n);
                    let max = attempts.min(10);
                    assert_eq!(
                        d.reason,
                        format!("retry {n} of {max} after failure of run r1")
                    );
                }
                Err(why) => {
                    assert!(tick.due.is_empty(), "{attempts} {label:?}: {tick:#?}");
                    assert_eq!(
                        tick.not_due[0].reason,
                        format!(
                            "interval 24h0m0s not yet elapsed since the last run started at \
                             2026-11-23T09:00:00Z; due after 2026-11-24T09:00:00Z; no retry: {why}"
                        )
                    );
                }
            }
        }
    }

    #[test]
    fn retry_is_not_for_success_unless_run_all() {
        let runs = [ended(
            "r1",
            "2026-11-23T09:00:00Z",
            "2026-11-23T09:20:00Z",
            ProwJobState::Success,
        )];
        let plain = outcome(
            &job("  interval: 24h\n  retry: {attempts: 3}\n"),
            &runs,
            PREV,
            NOW,
        );
        assert!(
            not_due(&plain).ends_with("no retry: the last run succeeded"),
            "{plain:?}"
        );
        let all = outcome(
            &job("  interval: 24h\n  retry: {attempts: 3, run_all: true}\n"),
            &runs,
            PREV,
            NOW,
        );
        assert_eq!(
            all,
            Ok((
                "j@after-r1".into(),
                "retry 1 of 3 after success of run r1".into()
            ))
        );
        // Errors and aborts are not successes.
        for state in [ProwJobState::Error, ProwJobState::Aborted] {
            let runs = [ended(
                "r1",
                "2026-11-23T09:00:00Z",
                "2026-11-23T09:20:00Z",
                state,
            )];
            let got = outcome(
                &job("  interval: 24h\n  retry: {attempts: 3}\n"),
                &runs,
                PREV,
                NOW,
            );
            assert_eq!(due_key(&got), "j@after-r1", "{state:?}");
        }
    }

    #[test]
    fn retry_waits_for_its_own_interval_from_the_last_start() {
        // Prow would have replaced the 24h interval by the 10m retry interval.
        let ps = job("  interval: 24h\n  retry: {attempts: 3, interval: 10m}\n");
        let table = [
            (
                "2026-11-23T09:55:00Z",
                Err("retry 1 of 3 is due after 2026-11-23T10:05:00Z"),
            ),
            (
                "2026-11-23T09:50:30Z",
                Err("retry 1 of 3 is due after 2026-11-23T10:00:30Z"),
            ),
            ("2026-11-23T09:50:29Z", Ok("j@after-r1")),
        ];
        for (start, want) in table {
            let runs = [ended(
                "r1",
                start,
                "2026-11-23T09:58:00Z",
                ProwJobState::Failure,
            )];
            let got = outcome(&ps, &runs, PREV, NOW);
            match want {
                Ok(key) => assert_eq!(due_key(&got), key),
                Err(why) => assert!(not_due(&got).ends_with(why), "{got:?}"),
            }
        }
    }

    #[test]
    fn retry_applies_to_cron_jobs_between_fires() {
        let ps = job("  cron: '0 6 * * *'\n  retry: {attempts: 2, interval: 30m}\n");
        let runs = [rerun(
            ended(
                "r2",
                "2026-11-23T06:40:00Z",
                "2026-11-23T07:00:00Z",
                ProwJobState::Failure,
            ),
            "1",
        )];
        assert_eq!(
            outcome(&ps, &runs, PREV, NOW),
            Ok((
                "j@after-r2".into(),
                "retry 2 of 2 after failure of run r2".into()
            ))
        );
    }

    #[test]
    fn normal_run_takes_precedence_over_retry() {
        let ps = job("  interval: 1h\n  retry: {attempts: 3, interval: 5m}\n");
        let runs = [rerun(
            ended(
                "r1",
                "2026-11-23T08:00:00Z",
                "2026-11-23T08:20:00Z",
                ProwJobState::Failure,
            ),
            "1",
        )];
        let tick = run_tick(&ps, &runs, PREV, NOW);
        // The same key a retry would have had: the two can never both be created.
        assert_eq!(tick.due[0].key, "j@after-r1");
        assert!(tick.due[0].reason.starts_with("interval 1h0m0s elapsed"));
        assert!(!tick.due[0].job.metadata.labels.contains_key(RE_RUN));
    }

    #[test]
    fn bad_schedules_are_skipped_with_a_reason() {
        let periodic = |name: &str, fields: PeriodicFields| Periodic {
            base: JobBase {
                name: name.into(),
                ..JobBase::default()
            },
            fields,
            ..Periodic::default()
        };
        let ps = [
            periodic(
                "bad-cron",
                PeriodicFields {
                    cron: "61 * * * *".into(),
                    ..PeriodicFields::default()
                },
            ),
            periodic(
                "bad-interval",
                PeriodicFields {
                    interval: "1d".into(),
                    ..PeriodicFields::default()
                },
            ),
            periodic(
                "zero",
                PeriodicFields {
                    minimum_interval: "0s".into(),
                    ..PeriodicFields::default()
                },
            ),
            periodic("none", PeriodicFields::default()),
            periodic(
                "two",
                PeriodicFields {
                    cron: "@daily".into(),
                    interval: "1h".into(),
                    ..PeriodicFields::default()
                },
            ),
            periodic(
                "bad-retry",
                PeriodicFields {
                    interval: "24h".into(),
                    retry: Some(Retry {
                        attempts: 3,
                        interval: "soon".into(),
                        ..Retry::default()
                    }),
                    ..PeriodicFields::default()
                },
            ),
            periodic(
                "fine",
                PeriodicFields {
                    interval: "1h".into(),
                    ..PeriodicFields::default()
                },
            ),
        ];
        let mut failed = ended(
            "r1",
            "2026-11-23T09:00:00Z",
            "2026-11-23T09:20:00Z",
            ProwJobState::Failure,
        );
        failed.spec.job = "bad-retry".into();
        let tick = run_tick(&ps, &[failed], PREV, NOW);
        assert_eq!(tick.due.len(), 1);
        assert_eq!(tick.due[0].key, "fine@first");
        let reasons: Vec<(&str, &str)> = tick
            .not_due
            .iter()
            .map(|n| (n.job.as_str(), n.reason.as_str()))
            .collect();
        assert_eq!(reasons[0].0, "bad-cron");
        assert!(
            reasons[0]
                .1
                .starts_with("skipped: cron \"61 * * * *\" cannot be parsed: "),
            "{reasons:?}"
        );
        assert_eq!(reasons[1].0, "bad-interval");
        assert!(
            reasons[1]
                .1
                .starts_with("skipped: interval \"1d\" cannot be parsed: ")
        );
        assert_eq!(
            reasons[2],
            ("zero", "skipped: minimum_interval \"0s\" must be positive")
        );
        assert_eq!(
            reasons[3],
            (
                "none",
                "skipped: none of cron, interval, minimum_interval is set"
            )
        );
        assert_eq!(
            reasons[4],
            (
                "two",
                "skipped: more than one of cron, interval, minimum_interval is set"
            )
        );
        assert_eq!(reasons[5].0, "bad-retry");
        assert!(
            reasons[5]
                .1
                .contains("; no retry: retry.interval \"soon\" cannot be parsed"),
            "{reasons:?}"
        );
    }

    #[test]
    fn due_record_is_a_triggered_periodic_named_by_its_key() {
        let ps = periodics(&format!(
            "periodics:\n- name: ci-nightly\n  cron: '0 10 * * *'\n  labels: {{team: infra}}\n  \
             annotations: {{owner: alice}}\n{SPEC}"
        ));
        let tick = due_periodics(&ps, &|_| None, t(PREV), t(NOW));
        let d = &tick.due[0];
        assert_eq!(d.key, "ci-nightly@first");
        assert_eq!(d.job.metadata.name, job_id(&d.key));
        assert_eq!(d.job.spec.r#type, Some(ProwJobType::Periodic));
        assert_eq!(d.job.spec.job, "ci-nightly");
        assert!(d.job.spec.report);
        assert_eq!(d.job.status.state, Some(ProwJobState::Triggered));
        assert_eq!(d.job.status.start_time, Some(t(NOW)));
        assert_eq!(d.job.metadata.labels["team"], "infra");
        assert_eq!(d.job.metadata.annotations["owner"], "alice");
        assert!(!d.job.metadata.labels.contains_key(RE_RUN));
    }

    #[test]
    fn latest_run_is_the_periodic_with_the_greatest_start() {
        let mut other_type = running("p", "2026-11-23T10:00:00Z");
        other_type.spec.r#type = Some(ProwJobType::Postsubmit);
        let mut no_start = running("x", "2026-11-23T10:00:00Z");
        no_start.status.start_time = None;
        let runs = [
            running("b", "2026-11-23T08:00:00Z"),
            running("a", "2026-11-23T09:00:00Z"),
            running("c", "2026-11-23T09:00:00Z"),
            running("d", "2026-11-23T07:00:00Z"),
            other_type,
            no_start,
        ];
        let latest = latest_runs(&runs);
        assert_eq!(latest.len(), 1);
        // Equal start times: the greater id, whatever the listing order.
        assert_eq!(latest["j"].metadata.name, "c");
        let reversed: Vec<ProwJob> = runs.iter().rev().cloned().collect();
        assert_eq!(latest_runs(&reversed)["j"].metadata.name, "c");
    }
}
