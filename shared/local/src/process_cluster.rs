//! [`Cluster`] as local child processes, for `skiff dev`: each pod runs its
//! first container's `command` + `args` on this machine — or, when it is
//! decorated, Prow's pod utilities around its test containers, natively
//! (see [`crate::podutils`]).
//!
//! What a pod gets:
//! - a fresh working directory `<work_dir>/<pod name>/` (a leftover one from an
//!   earlier pod of the same name is wiped when the pod is created);
//! - its log, stdout and stderr interleaved in write order, in
//!   [`LOG_FILE`] inside that directory;
//! - the container's `env` (`value`s, with Kubernetes' `$(VAR)` expansion;
//!   `valueFrom` is skipped) over `PATH`, `HOME`, `LANG` and `TMPDIR` taken from
//!   this process, plus `HOSTNAME` = the pod name as Kubernetes sets it;
//! - its own process group, so deleting it, or its `activeDeadlineSeconds`
//!   running out, stops the whole tree (SIGTERM, SIGKILL after [`GRACE`]), and
//!   when the main process exits whatever it left behind is killed, as a
//!   container's processes die with its init process.
//!
//! The image is not pulled. An undecorated pod's volumes, init containers and
//! other containers are ignored; a decorated pod's `emptyDir` volumes are
//! directories of its working directory, and its utilities run as
//! Kubernetes would run their containers.
//! At most `max_parallel` pods run at once; the rest wait in `Pending` without a
//! start time, like pods no node has room for yet.
//!
//! Pods are kept in memory only. After a restart of `skiff dev` the cluster has
//! forgotten them (dropping a [`ProcessCluster`] kills its running pods): the
//! syncer sees them missing and recreates them, as Prow does when a node dies.
//! A process that was killed outright (`kill -9`) drops nothing, so each
//! running pod's process group ids are also written to [`PGID_FILE`]; a new
//! cluster on the same work dir kills the groups it finds there (checking
//! through `/proc` that the group still runs inside that pod's directory, so
//! a reused id is never hit), and a job never runs twice at once.
//! Deleting a pod forgets it but leaves its directory, so the log survives until
//! the syncer has copied it ([`Cluster::pod_log`] still reads it then).

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use skiff_core::ports::{
    Clock, Cluster, Created, LogStore, PodInfo, PodPhase, PodRequest, PortError, PortResult,
};
use tokio::sync::watch;

use crate::podutils::process::{self, Exit, Group, Procs, lock};
use crate::podutils::{Ctx, DecoratedPod, Stop};

/// The pod's log, in its working directory. A dot file, so `ls` and `*` in the
/// job's scripts do not see it.
pub const LOG_FILE: &str = ".skiff-pod.log";

/// A running pod's process group ids, one a line, in its working directory.
pub const PGID_FILE: &str = ".skiff-pod.pgid";

/// Between SIGTERM and SIGKILL. Shorter than Kubernetes' 30 s default: on a
/// developer's machine a stuck job should go quickly.
pub const GRACE: Duration = Duration::from_secs(2);

/// Kubernetes' pod-name rule (DNS-1123 subdomain), which also keeps the name a
/// single safe path component.
const MAX_NAME: usize = 253;

/// Pods as process trees on this machine. See the module documentation.
pub struct ProcessCluster {
    inner: Arc<Inner>,
}

impl ProcessCluster {
    /// `work_dir` holds one directory per pod; it is created when needed.
    /// `max_parallel` 0 is taken as 1 (a cluster that never runs anything is
    /// no use). `clock` stamps start and finish times; deadlines use real time.
    /// Decorated pods upload their logs and artifacts to `logs`, the store
    /// the syncer and deck read.
    pub fn new(
        work_dir: PathBuf,
        max_parallel: usize,
        clock: Arc<dyn Clock>,
        logs: Arc<dyn LogStore>,
    ) -> Self {
        reap_orphans(&work_dir);
        Self {
            inner: Arc::new(Inner {
                work_dir,
                max_parallel: max_parallel.max(1),
                clock,
                logs,
                state: Mutex::new(State::default()),
            }),
        }
    }
}

struct Inner {
    work_dir: PathBuf,
    max_parallel: usize,
    clock: Arc<dyn Clock>,
    logs: Arc<dyn LogStore>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    pods: BTreeMap<String, Pod>,
    /// Ready pods in creation order, waiting for a slot.
    waiting: VecDeque<String>,
    running: usize,
    /// Tells a pod from a later one of the same name.
    next_uid: u64,
}

struct Pod {
    uid: u64,
    labels: BTreeMap<String, String>,
    phase: PodPhase,
    created: Timestamp,
    start_time: Option<Timestamp>,
    finished_time: Option<Timestamp>,
    deleting: bool,
    all_succeeded: bool,
    reason: Option<String>,
    dir: PathBuf,
    run: Run,
}

enum Run {
    Waiting(Launch),
    Running(Handle),
    Done,
}

/// What to start, worked out from the spec at create time so a bad spec is
/// rejected at once.
struct Launch {
    what: What,
    deadline: Option<Duration>,
}

enum What {
    /// The first container's command. `Err(reason)` when there is nothing
    /// we can run.
    Plain {
        argv: Result<(String, Vec<String>), String>,
        env: Vec<(String, String)>,
    },
    /// Prow's pod utilities around the test containers.
    Decorated(Box<DecoratedPod>),
}

struct Handle {
    procs: Arc<Procs>,
    stop: Arc<watch::Sender<Option<Stop>>>,
    /// How long stopping may take before we stop waiting.
    stop_time: Duration,
    done: watch::Receiver<bool>,
    task: tokio::task::AbortHandle,
}

/// How a pod's containers ended.
struct Ended {
    succeeded: bool,
    reason: Option<String>,
}

type Running = Pin<Box<dyn Future<Output = Ended> + Send>>;

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn schedule(self: &Arc<Self>) {
        let mut state = self.state();
        while state.running < self.max_parallel {
            let Some(name) = state.waiting.pop_front() else {
                break;
            };
            self.start(&mut state, &name);
        }
    }

    fn start(self: &Arc<Self>, state: &mut State, name: &str) {
        let now = self.clock.now();
        let Some(pod) = state.pods.get_mut(name) else {
            return;
        };
        let Run::Waiting(launch) = std::mem::replace(&mut pod.run, Run::Done) else {
            return;
        };
        pod.start_time = Some(now);
        let procs = Arc::new(Procs::new(pod.dir.join(PGID_FILE)));
        let (stop, stop_rx) = watch::channel(None);
        let (run, stop_time): (Running, Duration) = match launch.what {
            What::Plain { argv, env } => {
                let started = argv
                    .and_then(|(program, args)| spawn(name, &pod.dir, &program, &args, &env))
                    .and_then(|child| {
                        process::watch(child).map_err(|e| format!("ContainerCannotRun: {e}"))
                    });
                let (group, exit) = match started {
                    Ok(started) => started,
                    Err(reason) => {
                        tracing::warn!(pod = name, %reason, "pod cannot run");
                        pod.phase = PodPhase::Failed;
                        pod.finished_time = Some(now);
                        pod.reason = Some(reason);
                        return;
                    }
                };
                tracing::info!(pod = name, pid = group.pgid(), "pod started");
                procs.add(&group);
                pod.phase = PodPhase::Running;
                let run = run_plain(name.to_owned(), group, exit, stop_rx, procs.clone());
                (Box::pin(run), GRACE)
            }
            What::Decorated(decorated) => {
                tracing::info!(pod = name, "decorated pod started");
                let ctx = Ctx {
                    pod: name.to_owned(),
                    pod_log: pod.dir.join(LOG_FILE),
                    clock: self.clock.clone(),
                    logs: self.logs.clone(),
                    procs: procs.clone(),
                    stop: stop_rx,
                };
                let running = {
                    let (cluster, name, uid) = (Arc::downgrade(self), name.to_owned(), pod.uid);
                    Box::new(move || {
                        if let Some(cluster) = cluster.upgrade() {
                            cluster.mark_running(&name, uid);
                        }
                    })
                };
                // Kubernetes keeps a pod Pending while its init containers
                // run; `running` moves it on.
                let stop_time = decorated.stop_time();
                let run = async move {
                    let succeeded = decorated.run(ctx, running).await;
                    Ended {
                        succeeded,
                        reason: None,
                    }
                };
                (Box::pin(run), stop_time)
            }
        };
        let stop = Arc::new(stop);
        let (done_tx, done_rx) = watch::channel(false);
        let task = tokio::spawn(supervise(
            Arc::downgrade(self),
            name.to_owned(),
            pod.uid,
            run,
            stop.clone(),
            done_tx,
            launch.deadline,
        ));
        pod.run = Run::Running(Handle {
            procs,
            stop,
            stop_time,
            done: done_rx,
            task: task.abort_handle(),
        });
        state.running += 1;
    }

    fn mark_running(&self, name: &str, uid: u64) {
        let mut state = self.state();
        if let Some(pod) = state.pods.get_mut(name).filter(|p| p.uid == uid)
            && pod.phase == PodPhase::Pending
        {
            pod.phase = PodPhase::Running;
        }
    }

    fn finish(&self, name: &str, uid: u64, ended: Ended) {
        let now = self.clock.now();
        let mut state = self.state();
        state.running = state.running.saturating_sub(1);
        let Some(pod) = state.pods.get_mut(name).filter(|p| p.uid == uid) else {
            return;
        };
        pod.run = Run::Done;
        pod.finished_time = Some(now);
        pod.phase = if ended.succeeded {
            PodPhase::Succeeded
        } else {
            PodPhase::Failed
        };
        pod.all_succeeded = ended.succeeded;
        pod.reason = ended.reason;
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        for pod in state.pods.values() {
            if let Run::Running(handle) = &pod.run {
                handle.task.abort();
                handle.procs.kill_all();
            }
        }
    }
}

/// Starts the process, or says why it cannot run in Kubernetes' words.
fn spawn(
    pod: &str,
    dir: &Path,
    program: &str,
    args: &[String],
    env: &[(String, String)],
) -> Result<std::process::Child, String> {
    let cannot = |e: io::Error| format!("ContainerCannotRun: {program}: {e}");
    let log = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(LOG_FILE))
        .map_err(cannot)?;
    let stderr = log.try_clone().map_err(cannot)?;
    let mut command = std::process::Command::new(process::program_path(program, env));
    command
        .args(args)
        .env_clear()
        .envs(process::base_env(pod))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdin(Stdio::null())
        // One open file behind both descriptors, in append mode: the two
        // streams interleave in the order the process wrote them.
        .stdout(log)
        .stderr(stderr);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn().map_err(cannot)
}

/// An undecorated pod: its process until it exits, or until it is stopped
/// (SIGTERM to the group, SIGKILL after [`GRACE`]).
async fn run_plain(
    name: String,
    group: Arc<Group>,
    mut exit: Exit,
    mut stop: watch::Receiver<Option<Stop>>,
    procs: Arc<Procs>,
) -> Ended {
    let ended = tokio::select! {
        status = &mut exit => match status {
            Ok(Ok(status)) if status.success() => Ended { succeeded: true, reason: None },
            Ok(Ok(status)) => {
                tracing::info!(pod = %name, %status, "pod failed");
                // A plain non-zero exit is the test failing, not the cluster.
                Ended { succeeded: false, reason: None }
            }
            Ok(Err(e)) => Ended {
                succeeded: false,
                reason: Some(format!("ContainerStatusUnknown: {e}")),
            },
            Err(_) => Ended {
                succeeded: false,
                reason: Some("ContainerStatusUnknown: lost track of the process".into()),
            },
        },
        () = crate::podutils::stopped(&mut stop) => {
            terminate(&group, &mut exit).await;
            Ended { succeeded: false, reason: None }
        }
    };
    procs.remove(&group);
    ended
}

/// Runs the pod to its end, stopping it when `activeDeadlineSeconds` runs
/// out, then records how it ended.
async fn supervise(
    cluster: Weak<Inner>,
    name: String,
    uid: u64,
    mut run: Running,
    stop: Arc<watch::Sender<Option<Stop>>>,
    done: watch::Sender<bool>,
    deadline: Option<Duration>,
) {
    let deadline = async {
        match deadline {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let mut ended = tokio::select! {
        ended = &mut run => ended,
        () = deadline => {
            tracing::info!(pod = %name, "pod ran past activeDeadlineSeconds");
            request_stop(&stop, Stop::DeadlineExceeded);
            run.await
        }
    };
    if *stop.borrow() == Some(Stop::DeadlineExceeded) {
        ended = Ended {
            succeeded: false,
            reason: Some("DeadlineExceeded".into()),
        };
    }
    if let Some(cluster) = cluster.upgrade() {
        cluster.finish(&name, uid, ended);
        cluster.schedule();
    }
    let _ = done.send(true);
}

/// The first reason to stop a pod is the one that counts.
fn request_stop(stop: &watch::Sender<Option<Stop>>, why: Stop) {
    stop.send_if_modified(|s| {
        let first = s.is_none();
        if first {
            *s = Some(why);
        }
        first
    });
}

async fn terminate(group: &Group, exit: &mut Exit) {
    group.signal(libc::SIGTERM);
    if tokio::time::timeout(GRACE, &mut *exit).await.is_err() {
        group.signal(libc::SIGKILL);
        let _ = exit.await;
    }
}

fn validate_name(name: &str) -> PortResult<()> {
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b.first().is_some_and(u8::is_ascii_alphanumeric)
            && b.last().is_some_and(u8::is_ascii_alphanumeric)
    };
    if name.len() <= MAX_NAME && name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(PortError::Rejected(
            format!(
                "pod name {name:?} is not a DNS-1123 subdomain (lowercase letters, digits, '-' \
             and '.', at most {MAX_NAME} characters)"
            )
            .into(),
        ))
    }
}

impl Launch {
    fn from_spec(pod: &str, dir: &Path, spec: &core::PodSpec) -> PortResult<Self> {
        let deadline = match spec.active_deadline_seconds {
            None => None,
            Some(s) => match u64::try_from(s) {
                Ok(s) if s > 0 => Some(Duration::from_secs(s)),
                _ => {
                    return Err(PortError::Rejected(
                        format!("pod {pod}: activeDeadlineSeconds must be positive, got {s}")
                            .into(),
                    ));
                }
            },
        };
        let decorated = DecoratedPod::plan(pod, dir, spec)
            .map_err(|e| PortError::Rejected(format!("pod {pod}: {e}").into()))?;
        let what = match decorated {
            Some(decorated) => What::Decorated(Box::new(decorated)),
            None => plain(pod, spec)?,
        };
        Ok(Self { what, deadline })
    }
}

/// An undecorated pod: its first container's command.
fn plain(pod: &str, spec: &core::PodSpec) -> PortResult<What> {
    let Some(container) = spec.containers.first() else {
        return Err(PortError::Rejected(
            format!("pod {pod} has no containers").into(),
        ));
    };
    let extra = spec.containers.len() - 1 + spec.init_containers.as_ref().map_or(0, Vec::len);
    if extra > 0 {
        tracing::warn!(
            pod,
            ignored = extra,
            "only the first container runs locally"
        );
    }
    if let Some(image) = &container.image {
        tracing::info!(
            pod,
            image,
            "image not pulled: the command runs on this machine"
        );
    }
    let env = process::container_env(pod, container);
    let command = container.command.as_deref().unwrap_or_default();
    let args = container.args.as_deref().unwrap_or_default();
    let mut argv = command
        .iter()
        .chain(args)
        .map(|a| process::expand(a, |k| process::lookup(&env, k)));
    let argv = match argv.next() {
        Some(program) => {
            if command.is_empty() {
                tracing::warn!(
                    pod,
                    "no command: the image's entrypoint cannot run here, so args[0] is run"
                );
            }
            Ok((program, argv.collect()))
        }
        None => Err(format!(
            "ContainerCannotRun: container {:?} has neither command nor args; its image's \
             entrypoint cannot run on this machine, so set `command`",
            container.name
        )),
    };
    Ok(What::Plain { argv, env })
}

/// Kills the process groups a previous cluster on `work_dir` left running
/// (it was killed before it could stop them).
fn reap_orphans(work_dir: &Path) {
    let Ok(dirs) = std::fs::read_dir(work_dir) else {
        return;
    };
    for dir in dirs.flatten() {
        process::reap_recorded(&dir.path(), &dir.path().join(PGID_FILE));
    }
}

/// An empty directory for the pod with an empty log in it.
fn fresh_dir(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(dir)?;
    std::fs::File::create(dir.join(LOG_FILE))?;
    Ok(())
}

#[async_trait]
impl Cluster for ProcessCluster {
    #[tracing::instrument(skip_all, fields(pod = %pod.name))]
    async fn create_pod(&self, pod: &PodRequest) -> PortResult<Created> {
        validate_name(&pod.name)?;
        let dir = self.inner.work_dir.join(&pod.name);
        let launch = Launch::from_spec(&pod.name, &dir, &pod.spec)?;
        {
            let mut state = self.inner.state();
            if state.pods.contains_key(&pod.name) {
                return Ok(Created::AlreadyExists);
            }
            // Under the lock, and without an await, so two creates cannot both
            // wipe the directory and a cancelled create leaves no half pod.
            fresh_dir(&dir).map_err(|e| {
                PortError::Unavailable(format!("preparing {}: {e}", dir.display()).into())
            })?;
            state.next_uid += 1;
            let uid = state.next_uid;
            let created = self.inner.clock.now();
            state.pods.insert(
                pod.name.clone(),
                Pod {
                    uid,
                    labels: pod.labels.clone(),
                    phase: PodPhase::Pending,
                    created,
                    start_time: None,
                    finished_time: None,
                    deleting: false,
                    all_succeeded: false,
                    reason: None,
                    dir,
                    run: Run::Waiting(launch),
                },
            );
            state.waiting.push_back(pod.name.clone());
        }
        self.inner.schedule();
        Ok(Created::Created)
    }

    async fn list_pods(&self, labels: &BTreeMap<String, String>) -> PortResult<Vec<PodInfo>> {
        let state = self.inner.state();
        Ok(state
            .pods
            .iter()
            .filter(|(_, pod)| labels.iter().all(|(k, v)| pod.labels.get(k) == Some(v)))
            .map(|(name, pod)| PodInfo {
                name: name.clone(),
                labels: pod.labels.clone(),
                phase: pod.phase,
                created: Some(pod.created),
                start_time: pod.start_time,
                finished_time: pod.finished_time,
                deleting: pod.deleting,
                all_succeeded: pod.all_succeeded,
                oom_killed: false,
                evicted: false,
                reason: pod.reason.clone(),
            })
            .collect())
    }

    /// Reads the log file even after the pod was deleted or forgotten by a
    /// restart, as long as the directory is there.
    async fn pod_log(&self, name: &str) -> PortResult<String> {
        if validate_name(name).is_err() {
            return Err(PortError::NotFound(format!("pod {name:?}").into()));
        }
        let file = self.inner.work_dir.join(name).join(LOG_FILE);
        match tokio::fs::read(&file).await {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(PortError::NotFound(format!("pod {name}").into()))
            }
            Err(e) => Err(PortError::Unavailable(
                format!("reading {}: {e}", file.display()).into(),
            )),
        }
    }

    /// Returns once the pod's processes are gone (at most [`GRACE`], or a
    /// decorated test's grace period and the uploads, and a little more);
    /// its directory stays.
    #[tracing::instrument(skip(self))]
    async fn delete_pod(&self, name: &str) -> PortResult<()> {
        let (uid, stop, stop_time, mut done) = {
            let mut state = self.inner.state();
            let Some(pod) = state.pods.get_mut(name) else {
                return Ok(());
            };
            let Run::Running(handle) = &pod.run else {
                state.pods.remove(name);
                state.waiting.retain(|n| n != name);
                return Ok(());
            };
            pod.deleting = true;
            (
                pod.uid,
                handle.stop.clone(),
                handle.stop_time,
                handle.done.clone(),
            )
        };
        request_stop(&stop, Stop::Deleted);
        // The pod escalates to SIGKILL after its grace; the margin covers a
        // process stuck in the kernel, which we then stop waiting for.
        let gone = tokio::time::timeout(stop_time + Duration::from_secs(3), done.wait_for(|d| *d));
        if gone.await.is_err() {
            tracing::warn!(
                pod = name,
                "pod processes did not exit after SIGKILL; forgetting it"
            );
        }
        let mut state = self.inner.state();
        if state.pods.get(name).is_some_and(|p| p.uid == uid) {
            state.pods.remove(name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_names_are_dns_subdomains() {
        for ok in ["a", "3b1f6f2e-9c1a-4d2b", "a.b-c"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "..", "a/b", "A", "-a", "a-", "a..b", &"a".repeat(254)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
