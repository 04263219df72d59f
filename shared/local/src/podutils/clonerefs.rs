//! clonerefs, natively, with real `git` (`pkg/clonerefs/run.go`,
//! `pkg/pod-utils/clone/clone.go`): every ref is checked out under
//! `<src_root>/src/<path_for_refs>`, all refs at once, and the records go to
//! the clone log as Prow writes them (`PWD=<dir> <env…> git <args…>`, the
//! container's paths, durations in nanoseconds, completion order after the
//! setup record).
//!
//! Per ref, stopping at the first failing command: `mkdir -p`, `git init`,
//! the ci-robot identity, the tag fetch (unless `skip_fetch_head` or a
//! sparse checkout), the base fetch, checkout + `branch --force` +
//! checkout, then per pull a fetch and `git merge --no-ff` dated the base
//! commit's time + i, submodules unless `skip_submodules`, and
//! `git rev-parse HEAD` as `final_sha`.
//!
//! Differences from the image, all because this runs on a developer's
//! machine:
//! - git runs with a clean environment: no system config
//!   (`GIT_CONFIG_NOSYSTEM`), `HOME` an empty directory of the pod (no
//!   global config, no credentials), no prompts (`GIT_TERMINAL_PROMPT=0`,
//!   ssh in batch mode), messages in English (`LC_ALL=C`). The recorded
//!   command text shows only Prow's own variables (the merge dates).
//! - There are no secret volumes, so ssh keys, host fingerprints, the OAuth
//!   token, the GitHub App and the cookie file are not used (said once per
//!   pod): refs are cloned anonymously and the setup record is empty.
//! - Fetches retry with Prow's backoff (0.1 s … 30 s, about a minute in
//!   all), except from a repository on this machine when git says it is not
//!   there (`does not appear to be a git repository`, `not found`,
//!   `couldn't find remote ref`, `not our ref`): a local path that is
//!   missing will not appear by waiting, and a test of it must end in
//!   seconds.
//! - A `clone_uri` that is a relative path names a repository relative to
//!   the directory `skiff dev` runs in (git would read it relative to the
//!   clone, which never means anything): the example config's repository
//!   under `.skiff/` is cloned that way.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use skiff_core::gojson;
use skiff_core::ports::Clock;
use skiff_core::prowjob::Refs;
use skiff_core::prowjob::decorate::options::{CloneCommand, CloneRecord, ClonerefsOptions};
use skiff_core::prowjob::decorate::paths::path_for_refs;
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;

use super::mounts::Mounts;
use super::process::go_exit_error;

/// Prow's `fetchRetries`.
const FETCH_RETRIES: [Duration; 9] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(15),
    Duration::from_secs(30),
];

/// What git says about a repository or ref that is not there.
const NOT_THERE: [&str; 4] = [
    "does not appear to be a git repository",
    "not found",
    "couldn't find remote ref",
    "not our ref",
];

/// The clonerefs init container, ready to run.
pub(crate) struct Clonerefs {
    options: ClonerefsOptions,
    /// Where the records go.
    log: PathBuf,
    /// Per ref: the checkout's path in the container and here.
    dirs: Vec<(String, PathBuf)>,
    git: Arc<GitEnv>,
}

impl Clonerefs {
    /// `CLONEREFS_OPTIONS` of container `clonerefs` of pod `pod`, whose
    /// `home` is where git may keep its (empty) home.
    pub(crate) fn plan(
        pod: &str,
        options_json: &str,
        mounts: &Mounts,
        home: PathBuf,
    ) -> Result<Self, String> {
        let options: ClonerefsOptions = serde_json::from_str(options_json)
            .map_err(|e| format!("CLONEREFS_OPTIONS: invalid JSON: {e}"))?;
        let log = mounts.required("CLONEREFS_OPTIONS log", &options.log)?;
        let mut dirs = Vec::new();
        for refs in &options.git_refs {
            let dir = path_for_refs(&options.src_root, refs);
            let local = mounts.required(
                &format!("CLONEREFS_OPTIONS src_root (for {})", refs.org_repo()),
                &dir,
            )?;
            dirs.push((dir, local));
        }
        let secrets = [
            !options.key_files.is_empty(),
            !options.host_fingerprints.is_empty(),
            !options.oauth_token_file.is_empty(),
            !options.github_app_private_key_file.is_empty(),
            !options.cookie_path.is_empty(),
        ];
        if secrets.iter().any(|s| *s) {
            tracing::warn!(
                pod,
                "ssh keys, host fingerprints, OAuth token, GitHub App and cookie file are not \
                 available locally: cloning anonymously"
            );
        }
        Ok(Self {
            options,
            log,
            dirs,
            git: Arc::new(GitEnv::new(home)),
        })
    }

    /// Clones every ref and writes the records. `Err` only when the
    /// records cannot be written (clonerefs then exits non-zero); failed
    /// clones are in the records. `clock` dates the merges when the base
    /// commit's time is unreadable, as Prow falls back to now.
    pub(crate) async fn run(&self, clock: Arc<dyn Clock>) -> Result<Vec<CloneRecord>, String> {
        if let Err(e) = std::fs::create_dir_all(&self.git.home) {
            return Err(format!("creating {}: {e}", self.git.home.display()));
        }
        let workers = match usize::try_from(self.options.max_parallel_workers) {
            Ok(n) if n > 0 => n,
            _ => self.dirs.len().max(1),
        };
        let slots = Arc::new(tokio::sync::Semaphore::new(workers));
        let mut clones = JoinSet::new();
        for (refs, (dir, local)) in self.options.git_refs.iter().zip(&self.dirs) {
            let job = CloneJob {
                refs: refs.clone(),
                dir: dir.clone(),
                local: local.clone(),
                user_name: self.options.git_user_name.clone(),
                user_email: self.options.git_user_email.clone(),
                git: self.git.clone(),
                clock: clock.clone(),
            };
            let slots = slots.clone();
            clones.spawn(async move {
                let _slot = slots.acquire_owned().await;
                job.run().await
            });
        }
        // The setup record comes first (empty: no secrets here), then the
        // refs in the order they finish.
        let mut records = vec![CloneRecord::default()];
        while let Some(done) = clones.join_next().await {
            match done {
                Ok(record) => records.push(record),
                Err(e) => return Err(format!("a clone stopped unexpectedly: {e}")),
            }
        }
        let json = gojson::try_to_string(&records)
            .map_err(|e| format!("encoding the clone records: {e}"))?;
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(&self.log, json)
            .map_err(|e| format!("writing clone records to {}: {e}", self.options.log))?;
        Ok(records)
    }
}

/// The environment git runs in (see the module documentation).
struct GitEnv {
    home: PathBuf,
    vars: Vec<(&'static str, OsString)>,
}

impl GitEnv {
    fn new(home: PathBuf) -> Self {
        let mut vars: Vec<(&'static str, OsString)> = std::env::var_os("PATH")
            .map(|p| ("PATH", p))
            .into_iter()
            .collect();
        vars.push(("HOME", home.clone().into_os_string()));
        for (k, v) in [
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("GIT_TERMINAL_PROMPT", "0"),
            ("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
            ("LC_ALL", "C"),
        ] {
            vars.push((k, OsString::from(v)));
        }
        Self { home, vars }
    }
}

/// One ref to clone.
struct CloneJob {
    refs: Refs,
    /// The checkout's path in the container (what the records show).
    dir: String,
    local: PathBuf,
    user_name: String,
    user_email: String,
    git: Arc<GitEnv>,
    clock: Arc<dyn Clock>,
}

/// One git command of a clone.
struct Git {
    args: Vec<String>,
    /// Prow's extra variables (the merge dates): recorded and set.
    env: Vec<String>,
    retry: bool,
}

fn git(args: &[&str]) -> Git {
    Git {
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        retry: false,
    }
}

fn fetch(args: Vec<String>) -> Git {
    let mut all = vec!["fetch".to_string()];
    all.extend(args);
    Git {
        args: all,
        env: Vec::new(),
        retry: true,
    }
}

/// How one run of a command went.
struct Ran {
    output: String,
    error: Option<String>,
}

impl CloneJob {
    async fn run(self) -> CloneRecord {
        let started = Instant::now();
        let mut record = CloneRecord {
            refs: self.refs.clone(),
            ..CloneRecord::default()
        };
        tracing::info!(refs = %self.refs.org_repo(), dir = %self.dir, "cloning refs");

        let mkdir_started = Instant::now();
        let made = std::fs::create_dir_all(&self.local);
        record.commands.push(CloneCommand {
            command: format!("PWD=/  mkdir -p {}", self.dir),
            output: match &made {
                Ok(()) => String::new(),
                Err(e) => format!("mkdir: cannot create directory '{}': {e}\n", self.dir),
            },
            error: if made.is_ok() {
                String::new()
            } else {
                "exit status 1".into()
            },
            duration: nanos(mkdir_started.elapsed()),
        });
        if made.is_err() {
            record.failed = true;
            return record;
        }

        for command in self.base_commands() {
            if !self.record(&mut record, command).await {
                return record;
            }
        }
        let timestamp = match self
            .run_once(&git(&["show", "-s", "--format=format:%ct", "HEAD"]))
            .await
        {
            Ran {
                output,
                error: None,
            } => output.trim().parse::<i64>().ok(),
            _ => None,
        };
        let timestamp = timestamp.unwrap_or_else(|| self.clock.now().as_second());
        for command in self.pull_commands(timestamp) {
            if !self.record(&mut record, command).await {
                return record;
            }
        }
        match self.run_once(&git(&["rev-parse", "HEAD"])).await {
            Ran {
                output,
                error: None,
            } => record.final_sha = output.trim().to_string(),
            Ran { error: Some(e), .. } => {
                tracing::warn!(refs = %self.refs.org_repo(), error = %e, "cannot resolve the final SHA");
            }
        }
        record.duration = nanos(started.elapsed());
        record
    }

    /// Prow's `commandsForBaseRef`, without the mkdir.
    fn base_commands(&self) -> Vec<Git> {
        let refs = &self.refs;
        let mut commands = vec![git(&["init"])];
        if !self.user_name.is_empty() {
            commands.push(git(&["config", "user.name", &self.user_name]));
        }
        if !self.user_email.is_empty() {
            commands.push(git(&["config", "user.email", &self.user_email]));
        }
        let sparse = !refs.sparse_checkout_files.is_empty();
        if sparse {
            commands.push(git(&["sparse-checkout", "init"]));
        }
        let depth: Vec<String> = if refs.clone_depth > 0 {
            vec!["--depth".into(), refs.clone_depth.to_string()]
        } else {
            Vec::new()
        };
        let filter: Vec<String> = if refs.blobless_fetch == Some(true) || sparse {
            vec!["--filter=blob:none".into()]
        } else {
            Vec::new()
        };
        let uri = uri(refs);
        if !(refs.skip_fetch_head || sparse) {
            let mut args = [depth.clone(), filter.clone()].concat();
            args.extend([uri.clone(), "--tags".into(), "--prune".into()]);
            commands.push(fetch(args));
        }
        let (fetch_ref, target) = if refs.base_sha.is_empty() {
            (refs.base_ref.clone(), "FETCH_HEAD".to_string())
        } else {
            (refs.base_sha.clone(), refs.base_sha.clone())
        };
        let mut args = [depth, filter].concat();
        if sparse {
            args.push("--no-tags".into());
        }
        args.extend([uri, fetch_ref]);
        commands.push(fetch(args));
        if sparse {
            let mut set = vec!["sparse-checkout", "set"];
            set.extend(refs.sparse_checkout_files.iter().map(String::as_str));
            commands.push(git(&set));
        }
        // Checking out the target first lets the branch be reset even when
        // it is the one checked out.
        commands.push(git(&["checkout", &target]));
        commands.push(git(&["branch", "--force", &refs.base_ref, &target]));
        commands.push(git(&["checkout", &refs.base_ref]));
        commands
    }

    /// Prow's `commandsForPullRefs`: merges dated `timestamp` + i, so the
    /// same refs always give the same merge commits.
    fn pull_commands(&self, mut timestamp: i64) -> Vec<Git> {
        let refs = &self.refs;
        let uri = uri(refs);
        let mut commands = Vec::new();
        for pull in &refs.pulls {
            let mut args = Vec::new();
            if refs.blobless_fetch == Some(true) || !refs.sparse_checkout_files.is_empty() {
                args.push("--filter=blob:none".to_string());
            }
            let fetch_ref = if !pull.r#ref.is_empty() {
                pull.r#ref.clone()
            } else if !pull.sha.is_empty() {
                pull.sha.clone()
            } else {
                format!("pull/{}/head", pull.number)
            };
            args.extend([uri.clone(), fetch_ref]);
            commands.push(fetch(args));
            let head = if pull.sha.is_empty() {
                "FETCH_HEAD"
            } else {
                pull.sha.as_str()
            };
            timestamp += 1;
            let mut merge = git(&["merge", "--no-ff", head]);
            merge.env = vec![
                format!("GIT_AUTHOR_DATE={timestamp}"),
                format!("GIT_COMMITTER_DATE={timestamp}"),
            ];
            commands.push(merge);
        }
        if !refs.skip_submodules {
            commands.push(git(&["submodule", "update", "--init", "--recursive"]));
        }
        commands
    }

    /// Runs `command` (retrying a fetch), records it; `false` if it failed.
    async fn record(&self, record: &mut CloneRecord, command: Git) -> bool {
        let started = Instant::now();
        let mut ran = self.run_once(&command).await;
        if command.retry {
            let uri = uri(&self.refs);
            for delay in FETCH_RETRIES {
                if ran.error.is_none() || gone_for_good(&uri, &ran.output) {
                    break;
                }
                tracing::info!(dir = %self.dir, ?delay, "retrying git fetch after sleep");
                tokio::time::sleep(delay).await;
                ran = self.run_once(&command).await;
            }
        }
        let text = format!(
            "PWD={} {} git {}",
            self.dir,
            command.env.join(" "),
            command.args.join(" ")
        );
        let failed = ran.error.is_some();
        record.commands.push(CloneCommand {
            command: text,
            output: ran.output,
            error: ran.error.unwrap_or_default(),
            duration: nanos(started.elapsed()),
        });
        if failed {
            record.failed = true;
        }
        !failed
    }

    /// One run of git in the checkout, stdout and stderr merged in order.
    async fn run_once(&self, command: &Git) -> Ran {
        match self.spawn(command).await {
            Ok(ran) => ran,
            Err(e) => Ran {
                output: String::new(),
                error: Some(format!("exec: \"git\": {e}")),
            },
        }
    }

    async fn spawn(&self, command: &Git) -> std::io::Result<Ran> {
        let (reader, writer) = std::io::pipe()?;
        let mut child = {
            let mut cmd = tokio::process::Command::new("git");
            cmd.args(&command.args)
                .current_dir(&self.local)
                .env_clear()
                .envs(self.git.vars.iter().map(|(k, v)| (*k, v)))
                .envs(command.env.iter().filter_map(|kv| kv.split_once('=')))
                .stdin(Stdio::null())
                .stdout(writer.try_clone()?)
                .stderr(writer)
                // A cancelled clone (the pod deleted) must not leave git
                // running.
                .kill_on_drop(true);
            cmd.spawn()?
            // `cmd` goes here, and with it our copies of the pipe's write
            // end: the read below ends when git's do.
        };
        let mut pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader))?;
        let mut out = Vec::new();
        let (read, status) = tokio::join!(pipe.read_to_end(&mut out), child.wait());
        read?;
        let status = status?;
        Ok(Ran {
            output: String::from_utf8_lossy(&out).into_owned(),
            error: (!status.success()).then(|| go_exit_error(&status)),
        })
    }
}

/// The repository to fetch from: `clone_uri`, else `repo_link.git`, else
/// GitHub's.
pub(crate) fn uri(refs: &Refs) -> String {
    if !refs.clone_uri.is_empty() {
        from_here(&refs.clone_uri)
    } else if !refs.repo_link.is_empty() {
        format!("{}.git", refs.repo_link)
    } else {
        format!("https://github.com/{}/{}.git", refs.org, refs.repo)
    }
}

/// A relative local path made absolute against the current directory; any
/// other URI as it is.
fn from_here(uri: &str) -> String {
    let relative = on_this_machine(uri) && !uri.starts_with('/') && !uri.starts_with("file://");
    match std::env::current_dir() {
        Ok(here) if relative => here.join(uri).to_string_lossy().into_owned(),
        _ => uri.to_string(),
    }
}

/// A fetch from a repository on this machine that git says is not there:
/// retrying will not make it appear.
fn gone_for_good(uri: &str, output: &str) -> bool {
    on_this_machine(uri) && NOT_THERE.iter().any(|m| output.contains(m))
}

fn on_this_machine(uri: &str) -> bool {
    if uri.starts_with("file://") {
        return true;
    }
    if uri.contains("://") {
        return false;
    }
    // `host:path` is git's scp-like ssh syntax, unless a `/` comes first.
    match uri.split_once(':') {
        Some((before, _)) => before.contains('/'),
        None => true,
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::prowjob::Pull;

    fn refs() -> Refs {
        Refs {
            org: "acme".into(),
            repo: "widgets".into(),
            base_ref: "main".into(),
            ..Refs::default()
        }
    }

    #[test]
    fn the_uri_is_clone_uri_else_repo_link_else_github() {
        let mut r = refs();
        assert_eq!(uri(&r), "https://github.com/acme/widgets.git");
        r.repo_link = "https://git.example.com/acme/widgets".into();
        assert_eq!(uri(&r), "https://git.example.com/acme/widgets.git");
        r.clone_uri = "/srv/git/widgets.git".into();
        assert_eq!(uri(&r), "/srv/git/widgets.git");
        r.clone_uri = ".skiff/example-repos/hello.git".into();
        let here = std::env::current_dir().unwrap();
        assert_eq!(
            uri(&r),
            here.join(".skiff/example-repos/hello.git")
                .to_string_lossy(),
            "a relative path is read from where skiff dev runs"
        );
        r.clone_uri = "git@github.com:acme/widgets.git".into();
        assert_eq!(uri(&r), "git@github.com:acme/widgets.git");
    }

    /// Only a repository on this machine that git says is missing is
    /// given up on at once; a network remote is retried as Prow does.
    #[test]
    fn only_local_repositories_that_are_not_there_skip_the_retries() {
        let missing = "fatal: '/x' does not appear to be a git repository";
        let cases = [
            ("/srv/git/missing.git", missing, true),
            ("./relative.git", missing, true),
            (
                "file:///srv/git/x.git",
                "fatal: couldn't find remote ref nope",
                true,
            ),
            (
                "/srv/git/x.git",
                "fatal: remote error: upload-pack: not our ref 0a1b",
                true,
            ),
            (
                "/srv/git/x.git",
                "fatal: unable to access: connection reset",
                false,
            ),
            (
                "https://github.com/acme/x.git",
                "remote: Repository not found.",
                false,
            ),
            ("git@github.com:acme/x.git", missing, false),
            ("ssh://git@host/x.git", missing, false),
        ];
        for (uri, output, want) in cases {
            assert_eq!(gone_for_good(uri, output), want, "{uri}: {output}");
        }
    }

    fn job(r: Refs) -> CloneJob {
        CloneJob {
            refs: r,
            dir: "/home/prow/go/src/github.com/acme/widgets".into(),
            local: PathBuf::from("/tmp/unused"),
            user_name: "ci-robot".into(),
            user_email: "ci-robot@k8s.io".into(),
            git: Arc::new(GitEnv::new(PathBuf::from("/tmp/unused-home"))),
            clock: Arc::new(skiff_core::ports::SystemClock),
        }
    }

    fn lines(commands: &[Git]) -> Vec<String> {
        commands
            .iter()
            .map(|c| {
                let env = c.env.join(" ");
                let retry = if c.retry { " (retried)" } else { "" };
                format!("{env}|{}{retry}", c.args.join(" "))
            })
            .collect()
    }

    /// `commandsForBaseRef` and `commandsForPullRefs` for a PR on a base
    /// SHA, with depth and blobless fetches.
    #[test]
    fn the_commands_are_prows_in_prows_order() {
        let mut r = refs();
        r.clone_uri = "/srv/w.git".into();
        r.base_sha = "b45e".into();
        r.clone_depth = 5;
        r.blobless_fetch = Some(true);
        r.pulls = vec![
            Pull {
                number: 7,
                sha: "7a".into(),
                ..Pull::default()
            },
            Pull {
                number: 8,
                r#ref: "refs/changes/8".into(),
                ..Pull::default()
            },
        ];
        let j = job(r);
        assert_eq!(
            lines(&j.base_commands()),
            [
                "|init",
                "|config user.name ci-robot",
                "|config user.email ci-robot@k8s.io",
                "|fetch --depth 5 --filter=blob:none /srv/w.git --tags --prune (retried)",
                "|fetch --depth 5 --filter=blob:none /srv/w.git b45e (retried)",
                "|checkout b45e",
                "|branch --force main b45e",
                "|checkout main",
            ]
        );
        assert_eq!(
            lines(&j.pull_commands(100)),
            [
                "|fetch --filter=blob:none /srv/w.git 7a (retried)",
                "GIT_AUTHOR_DATE=101 GIT_COMMITTER_DATE=101|merge --no-ff 7a",
                "|fetch --filter=blob:none /srv/w.git refs/changes/8 (retried)",
                "GIT_AUTHOR_DATE=102 GIT_COMMITTER_DATE=102|merge --no-ff FETCH_HEAD",
                "|submodule update --init --recursive",
            ]
        );
    }

    #[test]
    fn a_base_ref_without_sha_checks_out_fetch_head_and_skips_as_asked() {
        let mut r = refs();
        r.skip_fetch_head = true;
        r.skip_submodules = true;
        r.pulls = vec![Pull {
            number: 3,
            ..Pull::default()
        }];
        let j = job(r);
        assert_eq!(
            lines(&j.base_commands())[3..],
            [
                "|fetch https://github.com/acme/widgets.git main (retried)",
                "|checkout FETCH_HEAD",
                "|branch --force main FETCH_HEAD",
                "|checkout main",
            ]
        );
        assert_eq!(
            lines(&j.pull_commands(0)),
            [
                "|fetch https://github.com/acme/widgets.git pull/3/head (retried)",
                "GIT_AUTHOR_DATE=1 GIT_COMMITTER_DATE=1|merge --no-ff FETCH_HEAD",
            ]
        );
    }

    #[test]
    fn a_sparse_checkout_is_blobless_tagless_and_set() {
        let mut r = refs();
        r.sparse_checkout_files = vec!["docs".into(), "cmd".into()];
        assert_eq!(
            lines(&job(r).base_commands())[3..],
            [
                "|sparse-checkout init",
                "|fetch --filter=blob:none --no-tags https://github.com/acme/widgets.git main (retried)",
                "|sparse-checkout set docs cmd",
                "|checkout FETCH_HEAD",
                "|branch --force main FETCH_HEAD",
                "|checkout main",
            ]
        );
    }
}
