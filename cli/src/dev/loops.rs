//! The loops that play AWS's event sources: each queue's consumer, the
//! store's change feed as the reporter's stream, and the schedules.

use super::*;

/// Receives a batch, hands it to `handle`, and settles every message the way
/// SQS and a Lambda's partial batch response would. A panic fails only the
/// message that causes it, as on Lambda (`skiff_core::panic::isolate_batch`).
pub async fn drive_queue<F, Fut>(queue: &dyn Queue, max: usize, handle: F) -> usize
where
    F: Fn(Vec<Message>) -> Fut,
    Fut: std::future::Future<Output = BatchOutcome>,
{
    let messages = match queue.receive(max).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "receive failed");
            return 0;
        }
    };
    if messages.is_empty() {
        return 0;
    }
    let n = messages.len();
    let sent: Vec<(String, String)> = messages
        .iter()
        .map(|m| (m.receipt.clone(), m.body.clone()))
        .collect();
    let outcome = skiff_core::panic::isolate_batch(&messages, handle).await;
    let mut done = Vec::new();
    for (r, body) in sent {
        let later = outcome.retry_after.iter().find(|(x, _)| *x == r);
        if let Some((_, delay)) = later {
            // As the Lambda wiring does: a fresh delayed copy, so that
            // waiting (for a concurrency slot, for a rate limit) never counts
            // toward the dead-letter queue's receive limit.
            match queue
                .send_delayed(std::slice::from_ref(&body), *delay)
                .await
            {
                Ok(()) => done.push(r),
                Err(e) => {
                    tracing::warn!(error = %e, "re-sending a delayed copy failed; retrying later");
                    if let Err(e) = queue.retry_later(&r, *delay).await {
                        tracing::warn!(error = %e, "retry_later failed");
                    }
                }
            }
        } else if outcome.retry.contains(&r) {
            // Left alone: it comes back after the visibility timeout.
        } else {
            done.push(r);
        }
    }
    if let Err(e) = queue.ack(&done).await {
        tracing::warn!(error = %e, "ack failed");
    }
    n
}

/// Runs `step` every `every` until `stop` turns true; a step returning
/// `true` (it found work) runs again at once. A step that panics is logged
/// and the loop goes on: one bad message or pass must not stop the service.
fn every<F, Fut>(
    name: &'static str,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    mut step: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    tokio::spawn(async move {
        loop {
            if *stop.borrow() {
                break;
            }
            let busy = match skiff_core::panic::catch(step()).await {
                Ok(busy) => busy,
                Err(panicked) => {
                    tracing::error!(loop_name = name, panic = %panicked.0, "a step panicked; the loop goes on");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::debug!(loop_name = name, "stopped");
    })
}

/// How often each loop runs when it finds nothing to do.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub queues: Duration,
    pub tick: Duration,
    pub sync: Duration,
    pub report: Duration,
    pub sweep: Duration,
    pub tide: Duration,
}

impl Timing {
    pub fn of(args: &Args) -> Timing {
        Timing {
            queues: Duration::from_millis(200),
            tick: interval(args.tick_seconds),
            sync: interval(args.sync_seconds),
            report: Duration::from_millis(500),
            sweep: interval(args.sweep_seconds),
            tide: interval(args.tide_seconds),
        }
    }
}

pub fn spawn_loops(
    dev: &Arc<Dev>,
    timing: Timing,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut loops = Vec::new();
    let d = dev.clone();
    loops.push(every("trigger", timing.queues, stop.clone(), move || {
        let d = d.clone();
        async move { trigger_step(&d).await > 0 }
    }));
    let d = dev.clone();
    loops.push(every(
        "dispatcher",
        timing.queues,
        stop.clone(),
        move || {
            let d = d.clone();
            async move { dispatch_step(&d).await > 0 }
        },
    ));
    let d = dev.clone();
    loops.push(every("syncer", timing.sync, stop.clone(), move || {
        let d = d.clone();
        async move {
            sync_step(&d).await;
            false
        }
    }));
    let d = dev.clone();
    loops.push(every("reporter", timing.report, stop.clone(), move || {
        let d = d.clone();
        async move { report_step(&d).await > 0 }
    }));
    let d = dev.clone();
    loops.push(every(
        "report-retries",
        timing.report,
        stop.clone(),
        move || {
            let d = d.clone();
            async move { report_retry_step(&d).await > 0 }
        },
    ));
    let d = dev.clone();
    loops.push(every("comments", timing.report, stop.clone(), move || {
        let d = d.clone();
        async move { comments_step(&d).await > 0 }
    }));
    if dev.redelivery.is_some() {
        let d = dev.clone();
        loops.push(every(
            "redelivery",
            dev.redelivery_every,
            stop.clone(),
            move || {
                let d = d.clone();
                async move {
                    redelivery_step(&d).await;
                    false
                }
            },
        ));
    }
    let d = dev.clone();
    let tick = timing.tick;
    let last_tick = Arc::new(Mutex::new(None));
    loops.push(every("scheduler", tick, stop.clone(), move || {
        let d = d.clone();
        let last_tick = last_tick.clone();
        async move {
            scheduler_step(&d, &last_tick, tick).await;
            false
        }
    }));
    if dev.tide {
        let d = dev.clone();
        let period = timing.tide;
        let last = Arc::new(Mutex::new(None::<std::time::Instant>));
        loops.push(every("tide", TIDE_LOOK, stop.clone(), move || {
            let d = d.clone();
            let last = last.clone();
            async move {
                tide_step_when_due(&d, &last, period).await;
                false
            }
        }));
    }
    let d = dev.clone();
    loops.push(every("sweeper", timing.sweep, stop, move || {
        let d = d.clone();
        async move {
            sweep_step(&d).await;
            false
        }
    }));
    loops
}

/// The HTTP client external plugins are reached with, made once.
fn external_plugins() -> Option<&'static dyn skiff_core::ports::HookForwarder> {
    static FORWARDER: std::sync::OnceLock<Option<skiff_scm::HttpForwarder>> =
        std::sync::OnceLock::new();
    FORWARDER
        .get_or_init(|| match skiff_scm::HttpForwarder::new() {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(error = %e, "external plugins will not be reached");
                None
            }
        })
        .as_ref()
        .map(|f| f as &dyn skiff_core::ports::HookForwarder)
}

/// How often the tide loop looks whether a sync is due (its period passed,
/// or it was nudged).
const TIDE_LOOK: Duration = Duration::from_secs(1);

/// One tide sync when the period has passed since the last one or something
/// nudged it (a handled event, a changed job record) — Prow's tide syncs on a
/// timer only; the nudge is what makes a merge follow the last passing job
/// within seconds.
pub async fn tide_step_when_due(
    dev: &Dev,
    last: &Mutex<Option<std::time::Instant>>,
    period: Duration,
) {
    let nudged = dev
        .tide_nudge
        .swap(false, std::sync::atomic::Ordering::SeqCst);
    let due = last
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_none_or(|at| at.elapsed() >= period);
    if !(nudged || due) {
        return;
    }
    *last
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::time::Instant::now());
    tide_step(dev).await;
}

/// One tide sync of every pool.
pub async fn tide_step(dev: &Dev) -> skiff_tide::SyncReport {
    let e = &dev.engine;
    let owner = format!("skiff-dev-{}", std::process::id());
    let deps = skiff_tide::TideDeps {
        config: &e.config,
        store: e.store.as_ref(),
        scm: e.scm.as_ref(),
        dispatch: e.dispatch.as_ref(),
        clock: e.clock.as_ref(),
        regexes: &e.regexes,
        owner: &owner,
        base_moved_pause: Duration::from_secs(4),
    };
    let report = skiff_tide::sync(&deps).await;
    for f in &report.failures {
        tracing::warn!(failure = f, "tide sync");
    }
    report
}

fn nudge_tide(dev: &Dev, handled: usize) -> usize {
    if handled > 0 {
        dev.tide_nudge
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
    handled
}

pub async fn trigger_step(dev: &Dev) -> usize {
    let handled = trigger_batch(dev).await;
    nudge_tide(dev, handled)
}

async fn trigger_batch(dev: &Dev) -> usize {
    let e = &dev.engine;
    drive_queue(e.events.as_ref(), 10, |messages| async move {
        // One region, as a Lambda serves its own: another region's events
        // are dropped, naming it.
        let codecommit = [skiff_trigger::CodeCommitRegion {
            region: &e.codecommit.region,
            scm: e.codecommit.scm.as_ref(),
        }];
        let deps = skiff_trigger::TriggerDeps {
            config: &e.config,
            regexes: &e.regexes,
            store: e.store.as_ref(),
            dispatch: e.dispatch.as_ref(),
            scm: e.scm.as_ref(),
            codecommit: &codecommit,
            clock: e.clock.as_ref(),
            external: external_plugins(),
        };
        skiff_trigger::handle_batch(&messages, &deps).await
    })
    .await
}

pub async fn dispatch_step(dev: &Dev) -> usize {
    let e = &dev.engine;
    drive_queue(e.dispatch.as_ref(), 10, |messages| async move {
        let deps = skiff_dispatcher::Deps {
            store: e.store.as_ref(),
            clusters: &e.clusters,
            config: &e.config,
            clock: e.clock.as_ref(),
            build_ids: &dev.build_ids,
        };
        skiff_dispatcher::handle_batch_with_jenkins(&messages, &deps, &e.jenkins).await
    })
    .await
}

pub async fn sync_step(dev: &Dev) {
    let e = &dev.engine;
    let deps = skiff_syncer::Deps {
        store: e.store.as_ref(),
        queue: e.dispatch.as_ref(),
        clusters: &e.clusters,
        logs: e.logs.as_ref(),
        config: &e.config,
        clock: e.clock.as_ref(),
        build_ids: &dev.build_ids,
        redispatch_after: Duration::from_secs(60),
    };
    if let Err(err) = skiff_syncer::sync_with_jenkins(&deps, &e.jenkins).await {
        tracing::warn!(error = %err, "sync failed");
    }
}

/// The reporter's ports in `skiff dev`.
fn reporter_deps(e: &Engine) -> skiff_reporter::ReporterDeps<'_> {
    skiff_reporter::ReporterDeps {
        config: &e.config,
        store: e.store.as_ref(),
        scm: e.scm.as_ref(),
        clock: e.clock.as_ref(),
        logs: Some(e.logs.as_ref()),
        // Without a client the CodeCommit sink logs and skips.
        codecommit: e.codecommit.reports.as_deref(),
        chat: e.chat.as_deref(),
        reports: Some(e.reports.as_ref()),
        comments: Some(e.comments.as_ref()),
    }
}

/// Reports every record changed since the last step, in change order: the
/// stream the reporter Lambda reads on AWS. A report that cannot be sent now
/// waits on the `reports` queue ([`report_retry_step`]).
pub async fn report_step(dev: &Dev) -> usize {
    let e = &dev.engine;
    let after = dev.report_cursor.load(std::sync::atomic::Ordering::SeqCst);
    let changes = match dev.sqlite.changes_since(after, 100).await {
        Ok(c) => c,
        Err(err) => {
            tracing::warn!(error = %err, "reading the change feed failed");
            return 0;
        }
    };
    let deps = reporter_deps(e);
    let sequences: Vec<String> = changes.iter().map(|(seq, _)| seq.to_string()).collect();
    let pairs: Vec<skiff_reporter::Change<'_>> = {
        let seen = dev
            .feed_states
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sequences
            .iter()
            .zip(changes.iter())
            .map(|(seq, (_, j))| {
                let new_state = j.status.state.is_none()
                    || seen.get(&j.metadata.name) != j.status.state.as_ref();
                skiff_reporter::Change::of(seq, j, new_state)
            })
            .collect()
    };
    // A panic stops at the record that causes it, as on Lambda.
    let deps = &deps;
    let retry_from = skiff_core::panic::isolate_in_order(
        &pairs,
        |c| c.sequence.to_string(),
        |part| async move { skiff_reporter::report_changes(&part, deps).await },
    )
    .await;
    {
        // The changes before the one to retry were read; a finished job's
        // report is recorded on it, so it needs no entry.
        let mut seen = dev
            .feed_states
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (_, j) in changes
            .iter()
            .take_while(|(seq, _)| retry_from.as_deref() != Some(seq.to_string().as_str()))
        {
            match j.status.state {
                Some(state) if !j.is_complete() => {
                    seen.insert(j.metadata.name.clone(), state);
                }
                _ => {
                    seen.remove(&j.metadata.name);
                }
            }
        }
    }
    let notes = &dev.health.rate_limits;
    notes
        .note(e.scm.as_ref(), e.store.as_ref(), e.clock.as_ref())
        .await;
    // Everything before the change to retry is done.
    let done = match retry_from {
        None => changes.last().map_or(after, |(seq, _)| *seq),
        Some(from) => changes
            .iter()
            .take_while(|(seq, _)| seq.to_string() != from)
            .last()
            .map_or(after, |(seq, _)| *seq),
    };
    if done > after {
        dev.report_cursor
            .store(done, std::sync::atomic::Ordering::SeqCst);
        let _ = dev.sqlite.trim_changes(done).await;
    }
    nudge_tide(dev, changes.len())
}

/// Reports that waited on the `reports` queue, as the reporter Lambda takes
/// them from SQS.
pub async fn report_retry_step(dev: &Dev) -> usize {
    let e = &dev.engine;
    drive_queue(e.reports.as_ref(), 10, |messages| async move {
        skiff_reporter::handle_reports(&messages, &reporter_deps(e)).await
    })
    .await
}

/// Failure-comment updates, as the reporter Lambda takes them from the
/// FIFO comments queue: this one loop takes a batch at a time, in order, so
/// no two updates of one pull request's comment overlap.
pub async fn comments_step(dev: &Dev) -> usize {
    let e = &dev.engine;
    drive_queue(e.comments.as_ref(), 10, |messages| async move {
        skiff_reporter::comments::handle_comments(&messages, &reporter_deps(e)).await
    })
    .await
}

/// One redelivery sweep of GitHub's webhook deliveries.
pub async fn redelivery_step(dev: &Dev) {
    let Some((github, settings)) = &dev.redelivery else {
        return;
    };
    let e = &dev.engine;
    let deps = skiff_redelivery::Deps {
        store: e.store.as_ref(),
        github: github.as_ref(),
        clock: e.clock.as_ref(),
        settings,
    };
    skiff_redelivery::sweep(&deps).await;
}

/// One scheduler tick covering the time since the previous one (at start:
/// one interval back, as the EventBridge schedule would have it).
pub async fn scheduler_step(dev: &Dev, last: &Mutex<Option<jiff::Timestamp>>, tick: Duration) {
    let e = &dev.engine;
    let now = e.clock.now();
    let previous = {
        let guard = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.unwrap_or_else(|| {
            now.checked_sub(jiff::SignedDuration::try_from(tick).unwrap_or_default())
                .unwrap_or(now)
        })
    };
    let deps = skiff_scheduler::Deps {
        store: e.store.as_ref(),
        queue: e.dispatch.as_ref(),
        config: &e.config,
    };
    match skiff_scheduler::tick(&deps, previous, now).await {
        Ok(report) => {
            if !report.created.is_empty() {
                tracing::info!(created = report.created.len(), "periodics started");
            }
            *last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
        }
        Err(err) => tracing::warn!(error = %err, "scheduler tick failed"),
    }
}

pub async fn sweep_step(dev: &Dev) {
    let e = &dev.engine;
    let deps = skiff_sweeper::Deps {
        store: e.store.as_ref(),
        clusters: &e.clusters,
        config: &e.config,
        clock: e.clock.as_ref(),
    };
    if let Err(err) = skiff_sweeper::sweep(&deps).await {
        tracing::warn!(error = %err, "sweep failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job waiting for a concurrency slot is deferred again and again;
    /// none of that may count toward the dead-letter queue.
    #[tokio::test]
    async fn a_message_deferred_more_often_than_max_receives_is_never_dead_lettered() {
        use skiff_core::ports::{BatchOutcome, Queue};
        use skiff_local::memory::ManualClock;
        use skiff_local::queue::{QueueOptions, SqliteQueue};

        let dir = tempfile::tempdir().expect("a temporary directory");
        let clock = Arc::new(ManualClock::new(
            "2026-12-04T12:00:00Z".parse().expect("a time"),
        ));
        let queue = SqliteQueue::open(
            dir.path().join("q.db"),
            "dispatch",
            QueueOptions {
                max_receives: 2,
                clock: clock.clone(),
                ..QueueOptions::default()
            },
        )
        .expect("the queue");
        queue.send(&["job-1".to_string()]).await.expect("send");
        let delay = Duration::from_secs(10);
        for round in 0..5 {
            let seen = drive_queue(&queue, 10, |messages| async move {
                assert_eq!(messages.len(), 1, "round {round}");
                assert_eq!(messages[0].body, "job-1");
                assert_eq!(messages[0].receive_count, 1, "a fresh copy each time");
                BatchOutcome {
                    retry: vec![],
                    retry_after: vec![(messages[0].receipt.clone(), delay)],
                }
            })
            .await;
            assert_eq!(seen, 1, "round {round}");
            // Not visible before the delay.
            assert!(queue.receive(10).await.expect("receive").is_empty());
            clock.advance(delay + Duration::from_secs(1));
        }
        assert!(queue.dead_letters().await.expect("dead letters").is_empty());
        // Done at last: nothing comes back.
        drive_queue(&queue, 10, |_| async { BatchOutcome::default() }).await;
        clock.advance(Duration::from_secs(3600));
        assert!(queue.receive(10).await.expect("receive").is_empty());
    }

    #[test]
    fn cluster_choices_parse_with_a_context_only_when_one_is_given() {
        let kc = |path: &str, context: Option<&str>| ClusterChoice::Kubeconfig {
            path: PathBuf::from(path),
            context: context.map(String::from),
        };
        for (text, want) in [
            ("local", Ok(ClusterChoice::Local)),
            ("config", Ok(ClusterChoice::Config)),
            (
                "kubeconfig:/home/me/.kube/config",
                Ok(kc("/home/me/.kube/config", None)),
            ),
            (
                "kubeconfig:kind.yaml:kind-skiff",
                Ok(kc("kind.yaml", Some("kind-skiff"))),
            ),
            ("kubeconfig:C:/kube/config", Ok(kc("C:/kube/config", None))),
            ("kubeconfig:", Err(())),
            ("eks", Err(())),
        ] {
            let got = text.parse::<ClusterChoice>().map_err(|_| ());
            assert_eq!(got, want, "{text}");
        }
        let err = "k8s".parse::<ClusterChoice>().unwrap_err();
        assert!(err.contains("kubeconfig:PATH[:CONTEXT]"), "{err}");
    }
}
