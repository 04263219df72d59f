//! entrypoint, natively, for one test container (`pkg/entrypoint/run.go`):
//! the command from `ENTRYPOINT_OPTIONS.args` runs as a direct child in the
//! container's working directory with the container's environment; its
//! stdout and stderr go, in write order, to the process log and to the pod's
//! log (the container's stdout). When `timeout` (0 → 2h) runs out the child
//! gets SIGINT, when the pod is deleted SIGINT and SIGTERM, and after
//! `grace_period` (0 → 15s) SIGKILL. The marker file then says how it
//! ended: 127 on timeout, 130 when stopped, else the exit status (-1 for a
//! signal, which makes the container exit 255).
//!
//! Only the child is signalled, as Prow does; once it has exited, whatever
//! it left running in its process group is killed, as a container's
//! processes die with it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1 as core;
use skiff_core::duration::GoDuration;
use skiff_core::prowjob::decorate::options::{ENTRYPOINT_OPTIONS, EntrypointOptions};
use tokio::sync::oneshot;

use super::Ctx;
use super::mounts::Mounts;
use super::process::{self, lock};

/// entrypoint's codes: it could not run the command (or the command timed
/// out), the pod stopped it, an earlier step failed.
pub(crate) const INTERNAL_ERROR: i32 = 127;
pub(crate) const ABORTED: i32 = super::sidecar::ABORTED;
pub(crate) const PREVIOUS_ERROR: i32 = 1130;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2 * 60 * 60);
const DEFAULT_GRACE: Duration = Duration::from_secs(15);
/// How long output still in the pipe may take to drain after the child's
/// group is gone (a process that left the group may hold it open).
const DRAIN: Duration = Duration::from_secs(2);

/// One test container, ready to run.
pub(crate) struct Entrypoint {
    container: String,
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    work_dir: PathBuf,
    artifact_dir: Option<PathBuf>,
    process_log: PathBuf,
    marker_file: PathBuf,
    previous_marker: Option<PathBuf>,
    timeout: Duration,
    grace: Duration,
    always_zero: bool,
    propagate_error_code: bool,
}

impl Entrypoint {
    /// The test container `container` of pod `pod`, whose directory is
    /// `pod_dir`.
    pub(crate) fn plan(
        pod: &str,
        pod_dir: &Path,
        container: &core::Container,
        mounts: &Mounts,
    ) -> Result<Self, String> {
        let name = &container.name;
        // Kubernetes expands `$(VAR)` in every env value, the options' JSON
        // included, with the container's own values.
        let env = process::container_env(pod, container);
        let raw = process::lookup(&env, ENTRYPOINT_OPTIONS).unwrap_or_default();
        let options: EntrypointOptions = serde_json::from_str(&raw)
            .map_err(|e| format!("container {name}: {ENTRYPOINT_OPTIONS}: invalid JSON: {e}"))?;
        let w = &options.wrapper;
        let what = |field: &str| format!("container {name}: {ENTRYPOINT_OPTIONS} {field}");
        let Some((program, args)) = w.args.split_first() else {
            return Err(format!("{}: no command to run", what("args")));
        };
        if w.process_log.is_empty() || w.marker_file.is_empty() {
            return Err(format!(
                "container {name}: {ENTRYPOINT_OPTIONS} needs process_log and marker_file"
            ));
        }
        let optional = |field: &str, path: &str| {
            (!path.is_empty())
                .then(|| mounts.required(&what(field), path))
                .transpose()
        };
        let work_dir = match container.working_dir.as_deref().filter(|d| !d.is_empty()) {
            Some(dir) => mounts.translate(dir).unwrap_or_else(|| {
                tracing::warn!(pod, container = %name, dir, "workingDir is not on a volume: the pod's directory is used");
                pod_dir.to_path_buf()
            }),
            None => pod_dir.to_path_buf(),
        };
        let duration = |nanos: i64, default: Duration| match u64::try_from(nanos) {
            Ok(n) if n > 0 => Duration::from_nanos(n),
            _ => default,
        };
        Ok(Self {
            container: name.clone(),
            program: mounts.value(program),
            args: args.iter().map(|a| mounts.value(a)).collect(),
            env: env
                .into_iter()
                .map(|(k, v)| (k, mounts.value(&v)))
                .collect(),
            work_dir,
            artifact_dir: optional("artifact_dir", &options.artifact_dir)?,
            process_log: mounts.required(&what("process_log"), &w.process_log)?,
            marker_file: mounts.required(&what("marker_file"), &w.marker_file)?,
            previous_marker: optional("previous_marker", &options.previous_marker)?,
            timeout: duration(options.timeout, DEFAULT_TIMEOUT),
            grace: duration(options.grace_period, DEFAULT_GRACE),
            always_zero: options.always_zero,
            propagate_error_code: options.propagate_error_code,
        })
    }

    /// How long a stop may take: the grace period, then the kill.
    pub(crate) fn grace(&self) -> Duration {
        self.grace
    }

    /// Runs the test and writes the marker; the container's exit status.
    pub(crate) async fn run(&self, ctx: &Ctx) -> u8 {
        let code = self.execute(ctx).await;
        if let Err(e) = mark(&self.marker_file, &self.container, code) {
            ctx.note(&format!("Error writing exit code to marker file: {e}\n"));
            return exit_status(INTERNAL_ERROR);
        }
        if self.always_zero {
            0
        } else {
            exit_status(code)
        }
    }

    async fn execute(&self, ctx: &Ctx) -> i32 {
        if let Some(dir) = &self.artifact_dir
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            ctx.note(&format!(
                "could not create artifact directory({}): {e}\n",
                dir.display()
            ));
            return INTERNAL_ERROR;
        }
        let tee = match Tee::open(&self.process_log, &ctx.pod_log) {
            Ok(t) => t,
            Err(e) => {
                ctx.note(&format!(
                    "could not create process logfile({}): {e}\n",
                    self.process_log.display()
                ));
                return INTERNAL_ERROR;
            }
        };
        let log = |level: &str, msg: &str| tee.write(log_line(level, msg, ctx).as_bytes());
        if let Some(previous) = &self.previous_marker {
            match wait_for_marker(previous, ctx).await {
                Ok(0) => {}
                Ok(code) => {
                    log("info", &format!("Skipping as previous step exited {code}"));
                    return PREVIOUS_ERROR;
                }
                Err(e) => {
                    log(
                        "error",
                        &format!("wait for previous marker {}: {e}", previous.display()),
                    );
                    return INTERNAL_ERROR;
                }
            }
        }
        let (group, mut exit, drained) = match self.start(ctx, &tee) {
            Ok(started) => started,
            Err(e) => {
                tee.write(format!("could not start the process: {e}").as_bytes());
                return INTERNAL_ERROR;
            }
        };
        ctx.procs.add(&group);
        let mut stop = ctx.stop.clone();
        let ended = tokio::select! {
            status = &mut exit => Ended::Exited(status.ok()),
            () = tokio::time::sleep(self.timeout) => {
                log("error", &format!("Process did not finish before {} timeout", go(self.timeout)));
                Ended::TimedOut(self.terminate(&group, &mut exit, None, &log).await)
            }
            () = super::stopped(&mut stop) => {
                // What the kubelet sends a container of a pod being deleted.
                log("error", "Entrypoint received interrupt: terminated");
                Ended::Aborted(self.terminate(&group, &mut exit, Some(libc::SIGTERM), &log).await)
            }
        };
        ctx.procs.remove(&group);
        if tokio::time::timeout(DRAIN, drained).await.is_err() {
            tracing::warn!(pod = %ctx.pod, container = %self.container, "output still open after the test ended; not waiting for it");
        }
        let child_code = |status: Option<std::io::Result<ExitStatus>>| match status {
            Some(Ok(s)) => s.code().unwrap_or(-1),
            _ => INTERNAL_ERROR,
        };
        match ended {
            Ended::Exited(status) => child_code(status),
            Ended::TimedOut(status) if self.propagate_error_code => child_code(status),
            Ended::Aborted(status) if self.propagate_error_code => child_code(status),
            Ended::TimedOut(_) => INTERNAL_ERROR,
            Ended::Aborted(_) => ABORTED,
        }
    }

    /// Starts the child with its output flowing into `tee` (the receiver
    /// says when it has all been copied).
    fn start(
        &self,
        ctx: &Ctx,
        tee: &Tee,
    ) -> std::io::Result<(Arc<process::Group>, process::Exit, oneshot::Receiver<()>)> {
        let (reader, writer) = std::io::pipe()?;
        let drained = copy_output(reader, tee.clone(), &self.container)?;
        let child = {
            let mut command =
                std::process::Command::new(process::program_path(&self.program, &self.env));
            command
                .args(&self.args)
                .env_clear()
                .envs(process::base_env(&ctx.pod))
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .current_dir(&self.work_dir)
                .stdin(Stdio::null())
                .stdout(writer.try_clone()?)
                .stderr(writer);
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            command.spawn()?
            // The command, with our ends of the pipe, is dropped here: the
            // copy ends when the test's ends close.
        };
        let (group, exit) = process::watch(child)?;
        Ok((group, exit, drained))
    }

    /// Prow's `gracefullyTerminate`: SIGINT (and the signal entrypoint got),
    /// then SIGKILL once the grace period is over; the child's status.
    async fn terminate(
        &self,
        group: &process::Group,
        exit: &mut process::Exit,
        also: Option<libc::c_int>,
        log: &impl Fn(&str, &str),
    ) -> Option<std::io::Result<ExitStatus>> {
        group.signal_leader(libc::SIGINT);
        if let Some(signal) = also {
            group.signal_leader(signal);
        }
        let grace = go(self.grace);
        if let Ok(status) = tokio::time::timeout(self.grace, &mut *exit).await {
            log(
                "error",
                &format!("Process gracefully exited before {grace} grace period"),
            );
            return status.ok();
        }
        log(
            "error",
            &format!("Process did not exit before {grace} grace period"),
        );
        group.signal_leader(libc::SIGKILL);
        (&mut *exit).await.ok()
    }
}

enum Ended {
    Exited(Option<std::io::Result<ExitStatus>>),
    TimedOut(Option<std::io::Result<ExitStatus>>),
    Aborted(Option<std::io::Result<ExitStatus>>),
}

/// The container's exit status for a code, as Go's `os.Exit` gives it.
fn exit_status(code: i32) -> u8 {
    (code & 0xff) as u8
}

fn go(d: Duration) -> GoDuration {
    GoDuration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// entrypoint's own log line (logrus' JSON, keys sorted).
fn log_line(level: &str, msg: &str, ctx: &Ctx) -> String {
    let time = ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let line = serde_json::json!({
        "component": "entrypoint",
        "level": level,
        "msg": msg,
        "severity": level,
        "time": time,
    });
    format!("{}\n", skiff_core::gojson::to_string(&line))
}

/// The process log and the pod's log, written together so a line of the
/// test and a line of entrypoint never mix.
#[derive(Clone)]
struct Tee(Arc<Mutex<(std::fs::File, std::fs::File)>>);

impl Tee {
    fn open(process_log: &Path, pod_log: &Path) -> std::io::Result<Self> {
        if let Some(dir) = process_log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let process = std::fs::File::create(process_log)?;
        let pod = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(pod_log)?;
        Ok(Self(Arc::new(Mutex::new((process, pod)))))
    }

    fn write(&self, bytes: &[u8]) {
        let mut files = lock(&self.0);
        let _ = files.0.write_all(bytes);
        let _ = files.1.write_all(bytes);
    }
}

/// Copies the child's output into `tee` on a thread of its own (the writes
/// are blocking file writes); the receiver hears when the pipe has closed.
fn copy_output(
    mut reader: std::io::PipeReader,
    tee: Tee,
    container: &str,
) -> std::io::Result<oneshot::Receiver<()>> {
    let (done, drained) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("log-{container}"))
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => tee.write(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = done.send(());
        })?;
    Ok(drained)
}

/// Waits for an earlier step's marker (`previous_marker`), polling; a stop
/// of the pod ends the wait with an error.
async fn wait_for_marker(path: &Path, ctx: &Ctx) -> Result<i32, String> {
    let mut stop = ctx.stop.clone();
    loop {
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| format!("bad read: {e}"))?;
            return text
                .trim()
                .parse()
                .map_err(|e| format!("invalid return code: {e}"));
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
            () = super::stopped(&mut stop) => return Err("cancelled: the pod is stopping".into()),
        }
    }
}

/// Writes the marker as entrypoint does: to a temporary file beside it,
/// synced, then renamed over it, so the sidecar never reads half a code.
fn mark(marker: &Path, container: &str, code: i32) -> std::io::Result<()> {
    let dir = marker.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".{container}-marker-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&temp)?;
        f.write_all(code.to_string().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&temp, marker)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_container_exits_with_the_code_as_go_os_exit_gives_it() {
        for (code, status) in [
            (0, 0),
            (1, 1),
            (127, 127),
            (130, 130),
            (-1, 255),
            (1130, 106),
        ] {
            assert_eq!(exit_status(code), status, "{code}");
        }
    }

    #[test]
    fn the_marker_holds_the_bare_decimal_code() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("logs/marker-file.txt");
        mark(&marker, "test", 127).unwrap();
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "127");
        mark(&marker, "test", -1).unwrap();
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "-1");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("logs"))
            .unwrap()
            .collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }

    fn container(options: &str, working_dir: Option<&str>) -> core::Container {
        let var = |k: &str, v: &str| core::EnvVar {
            name: k.into(),
            value: Some(v.into()),
            value_from: None,
        };
        core::Container {
            name: "test".into(),
            working_dir: working_dir.map(Into::into),
            env: Some(vec![
                var("ARTIFACTS", "/logs/artifacts"),
                var("OUT", "$(ARTIFACTS)/out.txt"),
                var(ENTRYPOINT_OPTIONS, options),
            ]),
            ..Default::default()
        }
    }

    /// Paths in the options, env values, arguments and the working
    /// directory are the pod's; the defaults fill zero durations.
    #[test]
    fn the_plan_translates_container_paths_and_fills_defaults() {
        let mounts = Mounts::from_table(
            "test",
            &[("/logs", "/p/logs"), ("/home/prow/go", "/p/code")],
        );
        let options = r#"{"timeout":0,"grace_period":0,"artifact_dir":"/logs/artifacts",
            "args":["/home/prow/go/bin/run","$(OUT)","--x=/logs/a"],"container_name":"test",
            "process_log":"/logs/process-log.txt","marker_file":"/logs/marker-file.txt",
            "metadata_file":"/logs/artifacts/metadata.json"}"#;
        let c = container(options, Some("/home/prow/go/src/github.com/acme/widgets"));
        let e = Entrypoint::plan("p", Path::new("/p"), &c, &mounts).unwrap();
        assert_eq!(e.program, "/p/code/bin/run");
        assert_eq!(e.args, ["/p/logs/artifacts/out.txt", "--x=/logs/a"]);
        assert_eq!(
            e.work_dir,
            PathBuf::from("/p/code/src/github.com/acme/widgets")
        );
        assert_eq!(e.process_log, PathBuf::from("/p/logs/process-log.txt"));
        assert_eq!(e.marker_file, PathBuf::from("/p/logs/marker-file.txt"));
        assert_eq!((e.timeout, e.grace), (DEFAULT_TIMEOUT, DEFAULT_GRACE));
        assert_eq!(
            process::lookup(&e.env, "ARTIFACTS").as_deref(),
            Some("/p/logs/artifacts")
        );

        let unmapped = container(options, Some("/workspace"));
        let e = Entrypoint::plan("p", Path::new("/p"), &unmapped, &mounts).unwrap();
        assert_eq!(e.work_dir, PathBuf::from("/p"));
    }

    #[test]
    fn bad_options_are_refused_naming_the_container_and_field() {
        let mounts = Mounts::from_table("test", &[("/logs", "/p/logs")]);
        let cases = [
            ("{", "container test: ENTRYPOINT_OPTIONS: invalid JSON"),
            (
                r#"{"process_log":"/logs/l","marker_file":"/logs/m","metadata_file":""}"#,
                "container test: ENTRYPOINT_OPTIONS args: no command to run",
            ),
            (
                r#"{"args":["x"],"process_log":"/tmp/l","marker_file":"/logs/m","metadata_file":""}"#,
                r#"container test: ENTRYPOINT_OPTIONS process_log "/tmp/l" is not under"#,
            ),
        ];
        for (options, want) in cases {
            let err = Entrypoint::plan("p", Path::new("/p"), &container(options, None), &mounts)
                .err()
                .unwrap_or_default();
            assert!(err.starts_with(want), "{options}: {err}");
        }
    }
}
