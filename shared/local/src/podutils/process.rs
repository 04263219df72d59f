//! What every local container process gets, decorated or not: its own
//! process group, watched without being reaped so the group can be signalled
//! safely; the environment a container sees; and the record of running
//! groups that lets a later cluster kill what a killed one left behind.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use k8s_openapi::api::core::v1 as core;
use tokio::sync::oneshot;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent across our panics (plain field
    // updates), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running container's process group. The leader is reaped only under
/// `reaped`'s lock, so while a signaller holds it unreaped the ids cannot
/// have been reused by an unrelated process.
pub(crate) struct Group {
    pgid: libc::pid_t,
    reaped: Mutex<bool>,
}

impl Group {
    pub(crate) fn pgid(&self) -> libc::pid_t {
        self.pgid
    }

    /// Signals every process of the group.
    pub(crate) fn signal(&self, signal: libc::c_int) {
        self.send(-self.pgid, signal);
    }

    /// Signals the leader only, as entrypoint signals its child and not the
    /// child's children.
    pub(crate) fn signal_leader(&self, signal: libc::c_int) {
        self.send(self.pgid, signal);
    }

    fn send(&self, target: libc::pid_t, signal: libc::c_int) {
        let reaped = lock(&self.reaped);
        if !*reaped {
            // SAFETY: kill(2) takes plain integers and touches no memory of ours.
            unsafe { libc::kill(target, signal) };
        }
    }
}

/// The leader's exit status, once it has exited and the rest of its group
/// has been killed.
pub(crate) type Exit = oneshot::Receiver<io::Result<ExitStatus>>;

/// Watches `child`, spawned as the leader of a new process group, on a
/// thread of its own: when the leader exits, what is left of its group is
/// killed (a container's processes die with its init process), then the
/// leader is reaped and its status sent.
pub(crate) fn watch(child: std::process::Child) -> io::Result<(Arc<Group>, Exit)> {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
        // Cannot happen (pids fit pid_t); without a group id we could
        // neither stop nor reap it safely.
        return Err(io::Error::other("process id out of range"));
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
        return Err(io::Error::other(format!("cannot watch the process: {e}")));
    }
    Ok((group, exit_rx))
}

/// Waits for the leader to exit without reaping it, kills what is left of
/// its group (the leader's pid still pins the group id), then reaps.
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

/// A pod's running process groups, mirrored into its pgid file (one id a
/// line) so a cluster started after a `kill -9` can stop them.
pub(crate) struct Procs {
    groups: Mutex<Vec<Arc<Group>>>,
    file: PathBuf,
}

impl Procs {
    pub(crate) fn new(file: PathBuf) -> Self {
        Self {
            groups: Mutex::new(Vec::new()),
            file,
        }
    }

    pub(crate) fn add(&self, group: &Arc<Group>) {
        let mut groups = lock(&self.groups);
        groups.push(group.clone());
        self.record(&groups);
    }

    pub(crate) fn remove(&self, group: &Arc<Group>) {
        let mut groups = lock(&self.groups);
        groups.retain(|g| !Arc::ptr_eq(g, group));
        self.record(&groups);
    }

    /// SIGKILL to every group still running: the cluster is going away.
    pub(crate) fn kill_all(&self) {
        for group in lock(&self.groups).iter() {
            group.signal(libc::SIGKILL);
        }
    }

    /// Rewrites the file in place, and empties it rather than deleting it
    /// when the last group ends: on an ext4 without a journal, every inode
    /// deleted in the last minute is skipped, one by one, by each later
    /// file creation, and a pod per few milliseconds made that the largest
    /// cost of `skiff bench pipeline` (README "Benchmarks").
    fn record(&self, groups: &[Arc<Group>]) {
        if groups.is_empty() {
            // Not created if absent: a cluster that reaped this pod took it.
            let emptied = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&self.file);
            if let Err(e) = emptied
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(file = %self.file.display(), error = %e, "cannot record the process groups");
            }
            return;
        }
        let text: String = groups.iter().map(|g| format!("{}\n", g.pgid)).collect();
        if let Err(e) = std::fs::write(&self.file, text) {
            tracing::warn!(file = %self.file.display(), error = %e, "cannot record the process groups");
        }
    }
}

/// Kills the process groups recorded in `pgid_file` by a cluster that was
/// killed before it could stop them. A group is killed only if its leader
/// still works inside `pod_dir`, so a reused id is left alone.
pub(crate) fn reap_recorded(pod_dir: &Path, pgid_file: &Path) {
    let Ok(text) = std::fs::read_to_string(pgid_file) else {
        return;
    };
    let _ = std::fs::remove_file(pgid_file);
    let Ok(pod_dir) = std::fs::canonicalize(pod_dir) else {
        return;
    };
    for line in text.lines() {
        let Ok(pgid) = line.trim().parse::<libc::pid_t>() else {
            continue;
        };
        let ours = std::fs::read_link(format!("/proc/{pgid}/cwd"))
            .is_ok_and(|cwd| cwd.starts_with(&pod_dir));
        if pgid > 1 && ours {
            tracing::warn!(pid = pgid, dir = %pod_dir.display(), "killing a pod left running by an earlier skiff");
            // SAFETY: kill(2) with a negative id signals that process group;
            // the check above makes sure it is the pod's.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

/// What every container process inherits from this machine (the rest of
/// this process's environment stays out), and `HOSTNAME` = the pod name as
/// Kubernetes sets it.
pub(crate) fn base_env(pod: &str) -> Vec<(&'static str, OsString)> {
    ["PATH", "HOME", "LANG", "TMPDIR"]
        .into_iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (k, v)))
        .chain([("HOSTNAME", OsString::from(pod))])
        .collect()
}

/// The container's own `env` with Kubernetes' `$(VAR)` expansion;
/// `valueFrom` cannot be resolved here, so those variables are skipped.
pub(crate) fn container_env(pod: &str, container: &core::Container) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for var in container.env.iter().flatten() {
        if var.value_from.is_some() {
            tracing::warn!(pod, container = %container.name, var = %var.name, "valueFrom is not supported locally: variable skipped");
            continue;
        }
        let value = expand(var.value.as_deref().unwrap_or(""), |k| lookup(&env, k));
        env.retain(|(k, _)| *k != var.name);
        env.push((var.name.clone(), value));
    }
    env
}

pub(crate) fn lookup(env: &[(String, String)], key: &str) -> Option<String> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Kubernetes' `$(VAR)` expansion in command, args and env values: `$(NAME)`
/// becomes the value of an env var defined before it, stays as written if
/// there is none; `$$` is a literal `$`.
pub(crate) fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
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

/// Go's `os.ProcessState.String()` for a failed command, which Prow records
/// as a clone command's `error`: `exit status 128`, `signal: killed`.
pub(crate) fn go_exit_error(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    let name = match status.signal() {
        Some(libc::SIGKILL) => "killed".to_string(),
        Some(libc::SIGINT) => "interrupt".to_string(),
        Some(libc::SIGTERM) => "terminated".to_string(),
        Some(libc::SIGSEGV) => "segmentation fault".to_string(),
        Some(libc::SIGABRT) => "aborted".to_string(),
        Some(libc::SIGPIPE) => "broken pipe".to_string(),
        Some(libc::SIGHUP) => "hangup".to_string(),
        Some(other) => format!("signal {other}"),
        None => "unknown".to_string(),
    };
    format!("signal: {name}")
}

/// Where `execvp` would find `program`: the container's own `PATH` if it
/// sets one, else this machine's (what [`base_env`] passes on). Resolving it
/// here lets the standard library start the process with `posix_spawn`
/// instead of forking this whole process to search `PATH` in the child — a
/// fork per pod was most of `skiff dev`'s CPU time under load. A program
/// that is not found stays as given, so spawning it fails with the usual
/// "No such file or directory".
pub(crate) fn program_path(program: &str, env: &[(String, String)]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    if program.contains('/') {
        return PathBuf::from(program);
    }
    let path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| OsString::from(v))
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| PathBuf::from(program))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

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
    fn failed_commands_are_described_as_go_does() {
        // Raw wait statuses: exit code in the second byte, signal in the first.
        let cases = [
            (128 << 8, "exit status 128"),
            (1 << 8, "exit status 1"),
            (libc::SIGKILL, "signal: killed"),
            (libc::SIGINT, "signal: interrupt"),
            (libc::SIGTERM, "signal: terminated"),
            (libc::SIGUSR1, &format!("signal {}", libc::SIGUSR1)),
        ];
        for (raw, want) in cases {
            let got = go_exit_error(&ExitStatus::from_raw(raw));
            let want = if want.starts_with("signal ") {
                format!("signal: {want}")
            } else {
                want.to_string()
            };
            assert_eq!(got, want, "{raw}");
        }
    }

    /// As `execvp`: a name is looked up on the container's PATH first, a
    /// path is taken as given, and a name found nowhere is left to fail.
    #[test]
    fn programs_are_found_on_the_path_execvp_would_search() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin");
        let tool = bin.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").expect("tool");
        let plain = bin.join("not-executable");
        std::fs::write(&plain, "data").expect("plain");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let path = |p: &Path| vec![("PATH".to_string(), p.display().to_string())];
        let on_bin = path(&bin);
        for (program, env, want) in [
            ("tool", on_bin.clone(), tool.clone()),
            (
                "not-executable",
                on_bin.clone(),
                PathBuf::from("not-executable"),
            ),
            ("missing", on_bin.clone(), PathBuf::from("missing")),
            ("./tool", on_bin.clone(), PathBuf::from("./tool")),
            ("/bin/sh", vec![], PathBuf::from("/bin/sh")),
            ("tool", path(dir.path()), PathBuf::from("tool")),
        ] {
            assert_eq!(program_path(program, &env), want, "{program} with {env:?}");
        }
    }
}
