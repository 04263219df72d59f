//! [`Cluster`] as local child processes, for `skiff dev`: each pod runs its
//! first container's `command` + `args` on this machine.
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
//! The image is not pulled; volumes, init containers and sidecars are ignored.
//! At most `max_parallel` pods run at once; the rest wait in `Pending` without a
//! start time, like pods no node has room for yet.
//!
//! Pods are kept in memory only. After a restart of `skiff dev` the cluster has
//! forgotten them (dropping a [`ProcessCluster`] kills its running pods): the
//! syncer sees them missing and recreates them, as Prow does when a node dies.
//! A process that was killed outright (`kill -9`) drops nothing, so each
//! running pod's process group id is also written to [`PGID_FILE`]; a new
//! cluster on the same work dir kills the groups it finds there (checking
//! through `/proc` that the group still runs in that pod's directory, so a
//! reused id is never hit), and a job never runs twice at once.
//! Deleting a pod forgets it but leaves its directory, so the log survives until
//! the syncer has copied it ([`Cluster::pod_log`] still reads it then).

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use skiff_core::ports::{
    Clock, Cluster, Created, PodInfo, PodPhase, PodRequest, PortError, PortResult,
};
use tokio::sync::{Notify, oneshot, watch};

/// The pod's log, in its working directory. A dot file, so `ls` and `*` in the
/// job's scripts do not see it.
pub const LOG_FILE: &str = ".skiff-pod.log";

/// A running pod's process group id, in its working directory.
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
    pub fn new(work_dir: PathBuf, max_parallel: usize, clock: Arc<dyn Clock>) -> Self {
        reap_orphans(&work_dir);
        Self {
            inner: Arc::new(Inner {
                work_dir,
                max_parallel: max_parallel.max(1),
                clock,
                state: Mutex::new(State::default()),
            }),
        }
    }
}

struct Inner {
    work_dir: PathBuf,
    max_parallel: usize,
    clock: Arc<dyn Clock>,
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
    /// `Err(reason)` when there is nothing we can run.
    argv: Result<(String, Vec<String>), String>,
    env: Vec<(String, String)>,
    deadline: Option<Duration>,
}

struct Handle {
    group: Arc<Group>,
    kill: Arc<Notify>,
    done: watch::Receiver<bool>,
}

/// A running pod's process group. The leader is reaped only under `reaped`'s
/// lock, so while a signaller holds it unreaped the group id cannot have been
/// reused by an unrelated process.
struct Group {
    pgid: libc::pid_t,
    reaped: Mutex<bool>,
}

impl Group {
    fn signal(&self, signal: libc::c_int) {
        let reaped = lock(&self.reaped);
        if !*reaped {
            // SAFETY: kill(2) takes plain integers and touches no memory of ours.
            unsafe { libc::kill(-self.pgid, signal) };
        }
    }
}

enum Outcome {
    Exited(io::Result<ExitStatus>),
    DeadlineExceeded,
    Deleted,
    Lost,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent across our panics (plain field
    // updates), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

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
        let child = launch
            .argv
            .and_then(|(program, args)| spawn(name, &pod.dir, &program, &args, &launch.env));
        let child = match child {
            Ok(child) => child,
            Err(reason) => {
                tracing::warn!(pod = name, %reason, "pod cannot run");
                pod.phase = PodPhase::Failed;
                pod.finished_time = Some(now);
                pod.reason = Some(reason);
                return;
            }
        };
        let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
            // Cannot happen (pids fit pid_t); without a group id we could
            // neither stop nor reap it safely, so it is reported, not run.
            pod.phase = PodPhase::Failed;
            pod.finished_time = Some(now);
            pod.reason = Some("ContainerCannotRun: process id out of range".into());
            return;
        };
        let group = Arc::new(Group {
            pgid,
            reaped: Mutex::new(false),
        });
        let (exit_tx, exit_rx) = oneshot::channel();
        let waiter = {
            let group = group.clone();
            std::thread::Builder::new()
                .name(format!("pod-{pgid}"))
                .spawn(move || wait_and_reap(child, &group, exit_tx))
        };
        if let Err(e) = waiter {
            // Nobody will reap it: stop it at least (it stays a zombie).
            group.signal(libc::SIGKILL);
            pod.phase = PodPhase::Failed;
            pod.finished_time = Some(now);
            pod.reason = Some(format!("ContainerCannotRun: cannot watch the process: {e}"));
            return;
        }
        tracing::info!(pod = name, pid = pgid, "pod started");
        if let Err(e) = std::fs::write(pod.dir.join(PGID_FILE), pgid.to_string()) {
            tracing::warn!(pod = name, error = %e, "cannot record the process group");
        }
        let kill = Arc::new(Notify::new());
        let (done_tx, done_rx) = watch::channel(false);
        pod.phase = PodPhase::Running;
        pod.run = Run::Running(Handle {
            group: group.clone(),
            kill: kill.clone(),
            done: done_rx,
        });
        state.running += 1;
        tokio::spawn(supervise(
            Arc::downgrade(self),
            name.to_owned(),
            pod.uid,
            group,
            exit_rx,
            kill,
            done_tx,
            launch.deadline,
        ));
    }

    fn finish(&self, name: &str, uid: u64, outcome: Outcome) {
        let now = self.clock.now();
        let mut state = self.state();
        state.running = state.running.saturating_sub(1);
        let Some(pod) = state.pods.get_mut(name).filter(|p| p.uid == uid) else {
            return;
        };
        pod.run = Run::Done;
        let _ = std::fs::remove_file(pod.dir.join(PGID_FILE));
        pod.finished_time = Some(now);
        pod.phase = PodPhase::Failed;
        match outcome {
            Outcome::Exited(Ok(status)) if status.success() => {
                pod.phase = PodPhase::Succeeded;
                pod.all_succeeded = true;
            }
            Outcome::Exited(Ok(status)) => {
                tracing::info!(pod = name, %status, "pod failed");
            }
            Outcome::Exited(Err(e)) => {
                pod.reason = Some(format!("ContainerStatusUnknown: {e}"));
            }
            Outcome::DeadlineExceeded => pod.reason = Some("DeadlineExceeded".into()),
            Outcome::Deleted => {}
            Outcome::Lost => {
                pod.reason = Some("ContainerStatusUnknown: lost track of the process".into());
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        for pod in state.pods.values() {
            if let Run::Running(handle) = &pod.run {
                handle.group.signal(libc::SIGKILL);
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
    let mut command = std::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(
            ["PATH", "HOME", "LANG", "TMPDIR"]
                .into_iter()
                .filter_map(|k| std::env::var_os(k).map(|v| (k, v))),
        )
        .env("HOSTNAME", pod)
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

/// Runs on its own thread: waits for the leader to exit without reaping it,
/// kills what is left of its group (the leader's pid still pins the group id),
/// then reaps.
fn wait_and_reap(
    mut child: std::process::Child,
    group: &Group,
    exit: oneshot::Sender<io::Result<ExitStatus>>,
) {
    let exited = loop {
        // SAFETY: an all-zero siginfo_t is valid; waitid writes only into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let Ok(pid) = libc::id_t::try_from(group.pgid) else {
            break false;
        };
        // SAFETY: `info` is a valid, exclusively borrowed siginfo_t.
        let rc =
            unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if rc == 0 {
            break true;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break false;
        }
    };
    if exited {
        group.signal(libc::SIGKILL);
    }
    let status = {
        let mut reaped = lock(&group.reaped);
        let status = child.wait();
        *reaped = true;
        status
    };
    let _ = exit.send(status);
}

#[allow(clippy::too_many_arguments)]
async fn supervise(
    cluster: Weak<Inner>,
    name: String,
    uid: u64,
    group: Arc<Group>,
    mut exit: oneshot::Receiver<io::Result<ExitStatus>>,
    kill: Arc<Notify>,
    done: watch::Sender<bool>,
    deadline: Option<Duration>,
) {
    let deadline = async {
        match deadline {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        status = &mut exit => status.map_or(Outcome::Lost, Outcome::Exited),
        () = deadline => {
            tracing::info!(pod = %name, "pod ran past activeDeadlineSeconds");
            terminate(&group, &mut exit).await;
            Outcome::DeadlineExceeded
        }
        () = kill.notified() => {
            terminate(&group, &mut exit).await;
            Outcome::Deleted
        }
    };
    if let Some(cluster) = cluster.upgrade() {
        cluster.finish(&name, uid, outcome);
        cluster.schedule();
    }
    let _ = done.send(true);
}

async fn terminate(group: &Group, exit: &mut oneshot::Receiver<io::Result<ExitStatus>>) {
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
    fn from_spec(pod: &str, spec: &core::PodSpec) -> PortResult<Self> {
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

        let mut env: Vec<(String, String)> = Vec::new();
        for var in container.env.iter().flatten() {
            if var.value_from.is_some() {
                tracing::warn!(pod, var = %var.name, "valueFrom is not supported locally: variable skipped");
                continue;
            }
            let value = expand(var.value.as_deref().unwrap_or(""), |k| lookup(&env, k));
            env.retain(|(k, _)| *k != var.name);
            env.push((var.name.clone(), value));
        }

        let command = container.command.as_deref().unwrap_or_default();
        let args = container.args.as_deref().unwrap_or_default();
        let mut argv = command
            .iter()
            .chain(args)
            .map(|a| expand(a, |k| lookup(&env, k)));
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
        Ok(Self {
            argv,
            env,
            deadline,
        })
    }
}

fn lookup(env: &[(String, String)], key: &str) -> Option<String> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Kubernetes' `$(VAR)` expansion in command, args and env values: `$(NAME)`
/// becomes the value of an env var defined before it, stays as written if
/// there is none; `$$` is a literal `$`.
fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let (mut checkpoint, mut i) = (0, 0);
    while i + 1 < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        out.push_str(&input[checkpoint..i]);
        match bytes[i + 1] {
            b'$' => {
                out.push('$');
                i += 2;
            }
            b'(' => match input[i + 2..].find(')') {
                Some(len) => {
                    let name = &input[i + 2..i + 2 + len];
                    match lookup(name) {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    i += 2 + len + 1;
                }
                None => {
                    out.push_str("$(");
                    i += 2;
                }
            },
            _ => {
                out.push('$');
                i += 1;
            }
        }
        checkpoint = i;
    }
    out.push_str(&input[checkpoint..]);
    out
}

/// Kills the process groups a previous cluster on `work_dir` left running
/// (it was killed before it could stop them). A group is killed only if its
/// leader still works in that pod's directory, so a reused id is left alone.
fn reap_orphans(work_dir: &Path) {
    let Ok(dirs) = std::fs::read_dir(work_dir) else {
        return;
    };
    for dir in dirs.flatten() {
        let file = dir.path().join(PGID_FILE);
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let _ = std::fs::remove_file(&file);
        let Ok(pgid) = text.trim().parse::<libc::pid_t>() else {
            continue;
        };
        let cwd = std::fs::read_link(format!("/proc/{pgid}/cwd"));
        let ours = match (cwd, std::fs::canonicalize(dir.path())) {
            (Ok(cwd), Ok(pod_dir)) => cwd == pod_dir,
            _ => false,
        };
        if pgid > 1 && ours {
            tracing::warn!(pid = pgid, dir = %dir.path().display(), "killing a pod left running by an earlier skiff");
            // SAFETY: kill(2) with a negative id signals that process group;
            // the check above makes sure it is the pod's.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
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
        let launch = Launch::from_spec(&pod.name, &pod.spec)?;
        let dir = self.inner.work_dir.join(&pod.name);
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

    /// Returns once the pod's processes are gone (at most [`GRACE`] and a
    /// little more); its directory stays.
    #[tracing::instrument(skip(self))]
    async fn delete_pod(&self, name: &str) -> PortResult<()> {
        let (uid, kill, mut done) = {
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
            (pod.uid, handle.kill.clone(), handle.done.clone())
        };
        kill.notify_one();
        // The supervisor escalates to SIGKILL after GRACE; the margin covers a
        // process stuck in the kernel, which we then stop waiting for.
        let gone = tokio::time::timeout(GRACE + Duration::from_secs(3), done.wait_for(|d| *d));
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
    fn expansion_follows_kubernetes() {
        let env = [
            ("VAR_A".to_string(), "A".to_string()),
            ("VAR_EMPTY".to_string(), String::new()),
        ];
        // Vectors from kubernetes third_party/forked/golang/expansion/expand_test.go.
        let cases = [
            ("$(VAR_A)", "A"),
            ("___$(VAR_A)___", "___A___"),
            ("$(VAR_A)-$(VAR_A)", "A-A"),
            ("$(VAR_EMPTY)", ""),
            ("$(VAR_DNE)", "$(VAR_DNE)"),
            ("$$(VAR_A)", "$(VAR_A)"),
            ("$$$(VAR_A)", "$A"),
            ("$$$$(VAR_A)", "$$(VAR_A)"),
            ("$(VAR_A", "$(VAR_A"),
            ("$VAR_A", "$VAR_A"),
            ("$", "$"),
            ("f$", "f$"),
            ("$()", "$()"),
            ("é$(VAR_A)é", "éAé"),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, |k| lookup(&env, k)), want, "{input}");
        }
    }

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
