//! Prow's pod utilities, run natively by the local cluster, so a decorated
//! pod (`pkg/pod-utils/decorate`) behaves under `skiff dev` as it does on
//! Kubernetes with Prow's images — there is no container runtime here.
//!
//! A pod is decorated when one of its containers carries a tool's options
//! (`CLONEREFS_OPTIONS`, `INITUPLOAD_OPTIONS`, `ENTRYPOINT_OPTIONS`,
//! `SIDECAR_OPTIONS`). It then runs as Kubernetes would run it, each tool
//! reading the same options:
//! 1. [`clonerefs`] checks the refs out with real `git` and writes the clone
//!    records;
//! 2. [`initupload`] uploads `started.json` and the clone logs; a failed
//!    clone fails it, and so the pod, before the test runs;
//! 3. `place-entrypoint` has nothing to do: entrypoint is native;
//! 4. every test container runs at once under [`entrypoint`] (timeout,
//!    grace period, markers);
//! 5. the [`sidecar`] uploads the build logs, `finished.json` and the
//!    artifacts.
//!
//! Phases follow Kubernetes: `Pending` (with a start time) while init
//! containers run, `Running` from the test on, `Succeeded` only when every
//! container exited 0, else `Failed`. The pod's log (what `pod_log` returns)
//! is the test containers' output, as `kubectl logs` of the test container
//! shows it; when the pod fails before the test, it is the reason (the
//! clone log for a failed clone, as `build-log.txt` is).
//!
//! **Volumes.** Each `emptyDir` volume is a directory of the pod's work dir
//! named after the volume (`logs`, `tools`, `code`); every container path in
//! the options, the env, the arguments and `workingDir` that lies under a
//! mount is translated there ([`mounts`]). A tool path outside every mount
//! is refused when the pod is created: the tools never touch this machine's
//! own files. **Secret volumes cannot exist here**: ssh keys, the OAuth
//! token, the GitHub App key, the cookie file and blob-storage credentials
//! are not available (said once per pod), so refs are cloned anonymously,
//! uploads go to the local log store and censoring has nothing to censor.
//!
//! **Uploads** go to the [`LogStore`] given to the cluster (`skiff dev`'s,
//! which the syncer and deck read), at the path Prow computes from
//! `JOB_SPEC` and the tool's options ([`upload`]).
//!
//! User init containers and containers without `ENTRYPOINT_OPTIONS` (other
//! than the sidecar) do not run, as undecorated pods run only their first
//! container.

pub(crate) mod clonerefs;
pub(crate) mod entrypoint;
pub(crate) mod initupload;
pub(crate) mod mounts;
pub(crate) mod process;
pub(crate) mod sidecar;
pub(crate) mod upload;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1 as core;
use skiff_core::ports::{Clock, LogStore};
use skiff_core::prowjob::decorate::options::{
    CLONEREFS_OPTIONS, ENTRYPOINT_OPTIONS, INITUPLOAD_OPTIONS, SIDECAR_OPTIONS,
};
use skiff_core::prowjob::jobspec::JOB_SPEC;
use tokio::sync::watch;

use clonerefs::Clonerefs;
use entrypoint::Entrypoint;
use initupload::{Initupload, Uploaded};
use mounts::Mounts;
use process::Procs;
use sidecar::Sidecar;

/// git's (empty) home in a pod's directory: no user or global config.
const GIT_HOME: &str = ".skiff-git-home";

/// How long uploads may take once the tests have stopped.
const UPLOAD_TIME: Duration = Duration::from_secs(5);

/// Why a pod is being stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Deleted,
    DeadlineExceeded,
}

/// What a running decorated pod works with.
pub(crate) struct Ctx {
    pub pod: String,
    /// The pod's log: the test containers' stdout.
    pub pod_log: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub logs: Arc<dyn LogStore>,
    pub procs: Arc<Procs>,
    pub stop: watch::Receiver<Option<Stop>>,
}

impl Ctx {
    /// Adds a line of a container's output to the pod's log.
    pub(crate) fn note(&self, text: &str) {
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.pod_log)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = appended {
            tracing::warn!(pod = %self.pod, error = %e, "cannot write the pod log");
        }
    }
}

/// A decorated pod, worked out from its spec when it is created so bad
/// options are refused at once.
pub(crate) struct DecoratedPod {
    volumes: Vec<PathBuf>,
    clonerefs: Option<Clonerefs>,
    initupload: Option<Initupload>,
    tests: Vec<Entrypoint>,
    sidecar: Option<Sidecar>,
}

impl DecoratedPod {
    /// `None` when the pod is not decorated; `Err` names the container and
    /// the option that is wrong.
    pub(crate) fn plan(
        pod: &str,
        dir: &Path,
        spec: &core::PodSpec,
    ) -> Result<Option<Self>, String> {
        const TOOLS: [&str; 4] = [
            CLONEREFS_OPTIONS,
            INITUPLOAD_OPTIONS,
            ENTRYPOINT_OPTIONS,
            SIDECAR_OPTIONS,
        ];
        let inits = spec.init_containers.as_deref().unwrap_or_default();
        let has = |c: &core::Container, var: &str| c.env.iter().flatten().any(|e| e.name == var);
        if !inits
            .iter()
            .chain(&spec.containers)
            .any(|c| TOOLS.iter().any(|t| has(c, t)))
        {
            return Ok(None);
        }
        let (volumes, others) = mounts::empty_dirs(spec);
        if !others.is_empty() {
            tracing::warn!(
                pod,
                volumes = ?others,
                "only emptyDir volumes exist locally: secret volumes (ssh keys, OAuth token, GitHub \
                 App key, credentials) are not mounted, refs are cloned anonymously and nothing is \
                 censored"
            );
        }
        let mut planned = Self {
            volumes: volumes.iter().map(|v| mounts::volume_dir(dir, v)).collect(),
            clonerefs: None,
            initupload: None,
            tests: Vec::new(),
            sidecar: None,
        };
        for c in inits {
            let env = process::container_env(pod, c);
            let mounts = Mounts::for_container(dir, spec, c);
            let within = |e: String| format!("init container {}: {e}", c.name);
            if let Some(options) = process::lookup(&env, CLONEREFS_OPTIONS) {
                let home = dir.join(GIT_HOME);
                planned.clonerefs =
                    Some(Clonerefs::plan(pod, &options, &mounts, home).map_err(within)?);
            } else if let Some(options) = process::lookup(&env, INITUPLOAD_OPTIONS) {
                let job_spec = job_spec(&env).map_err(within)?;
                planned.initupload =
                    Some(Initupload::plan(&options, &job_spec, &mounts).map_err(within)?);
            } else if c.name == "place-entrypoint"
                || c.args.iter().flatten().any(|a| a == "--copy-mode-only")
            {
                // Places the entrypoint binary; entrypoint is native here.
            } else {
                tracing::warn!(pod, container = %c.name, "user init containers do not run locally: skipped");
            }
        }
        for c in &spec.containers {
            let mounts = Mounts::for_container(dir, spec, c);
            let within = |e: String| format!("container {}: {e}", c.name);
            if has(c, SIDECAR_OPTIONS) {
                let env = process::container_env(pod, c);
                let options = process::lookup(&env, SIDECAR_OPTIONS).unwrap_or_default();
                let job_spec = job_spec(&env).map_err(within)?;
                planned.sidecar =
                    Some(Sidecar::plan(pod, &options, &job_spec, &mounts).map_err(within)?);
            } else if has(c, ENTRYPOINT_OPTIONS) {
                planned.tests.push(Entrypoint::plan(pod, dir, c, &mounts)?);
            } else {
                tracing::warn!(pod, container = %c.name, "container without ENTRYPOINT_OPTIONS does not run locally: skipped");
            }
        }
        if planned.tests.is_empty() {
            return Err("decorated pod has no test container (none has ENTRYPOINT_OPTIONS)".into());
        }
        Ok(Some(planned))
    }

    /// How long stopping the pod may take: the longest grace period of its
    /// tests, the kill, and the uploads after.
    pub(crate) fn stop_time(&self) -> Duration {
        let grace = self
            .tests
            .iter()
            .map(Entrypoint::grace)
            .max()
            .unwrap_or_default();
        grace + UPLOAD_TIME
    }

    /// Runs the pod to its end; `true` when every container exited 0.
    /// `running` is called once the init containers are done.
    pub(crate) async fn run(self, ctx: Ctx, running: Box<dyn FnOnce() + Send>) -> bool {
        for dir in &self.volumes {
            if let Err(e) = std::fs::create_dir_all(dir) {
                ctx.note(&format!("cannot create volume {}: {e}\n", dir.display()));
                return false;
            }
        }
        let mut stop = ctx.stop.clone();
        if let Some(clonerefs) = &self.clonerefs {
            let cloned = tokio::select! {
                cloned = clonerefs.run(ctx.clock.clone()) => cloned,
                () = stopped(&mut stop) => return false,
            };
            if let Err(e) = cloned {
                ctx.note(&format!("clonerefs: {e}\n"));
                return false;
            }
        }
        if let Some(initupload) = &self.initupload {
            let uploaded = tokio::select! {
                uploaded = initupload.run(&*ctx.logs, ctx.clock.now()) => uploaded,
                () = stopped(&mut stop) => return false,
            };
            match uploaded {
                Ok(Uploaded::Passed) => {}
                Ok(Uploaded::CloneFailed { clone_log }) => {
                    ctx.note(&clone_log);
                    return false;
                }
                Err(e) => {
                    ctx.note(&format!("initupload: {e}\n"));
                    return false;
                }
            }
        }
        running();
        let codes = futures_util::future::join_all(self.tests.iter().map(|t| t.run(&ctx))).await;
        if let Some(sidecar) = &self.sidecar
            && let Err(e) = sidecar.run(&*ctx.logs, ctx.clock.now()).await
        {
            tracing::error!(pod = %ctx.pod, error = %e, "sidecar: failed to report job status");
        }
        codes.iter().all(|c| *c == 0)
    }
}

/// Resolves once the pod is asked to stop (the guard `wait_for` returns
/// is dropped here, not held across the caller's awaits).
pub(crate) async fn stopped(stop: &mut watch::Receiver<Option<Stop>>) {
    let _ = stop.wait_for(Option::is_some).await;
}

/// `JOB_SPEC` from a tool's environment.
fn job_spec(env: &[(String, String)]) -> Result<String, String> {
    process::lookup(env, JOB_SPEC).ok_or_else(|| format!("{JOB_SPEC} is not set"))
}
