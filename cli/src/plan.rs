//! `skiff plan`: the dry run — what an event or a scheduler tick would start,
//! and (with `--explain`) why every other job would not.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use skiff_core::config::{self, Config};
use skiff_core::event::{self, Event, PullRequest, PushEvent, Repo};
use skiff_core::plan::matchers::Regexes;
use skiff_core::plan::periodic::{due_periodics, latest_runs};
use skiff_core::plan::{Context, FactError, Facts, Plan, plan_event};
use skiff_core::prowjob::ProwJob;

use crate::config_files::{self, ConfigArgs};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// What a webhook (or CodeCommit event) would start.
    Event(Box<EventArgs>),
    /// Which periodic runs are due at a tick.
    Periodics(PeriodicsArgs),
}

#[derive(clap::Args, Debug)]
pub struct EventArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// GitHub's X-GitHub-Event value (pull_request, issue_comment, push, …),
    /// or `codecommit` for an EventBridge event.
    #[arg(long)]
    pub event: String,
    /// The body as GitHub (or EventBridge) sends it.
    #[arg(long)]
    pub payload: PathBuf,
    /// The PR object (`GET /repos/{o}/{r}/pulls/{n}`) a comment event would fetch.
    #[arg(long)]
    pub pull_request: Option<PathBuf>,
    /// The PR's (or push's) changed files, one path per line.
    #[arg(long)]
    pub changed_files: Option<PathBuf>,
    /// Logins that count as org members; everyone else is untrusted.
    #[arg(long, value_delimiter = ',')]
    pub trusted: Vec<String>,
    /// The bot's own login (its comments and labels are not acted on).
    #[arg(long)]
    pub bot: Option<String>,
    /// Earlier jobs, `{"items": [ProwJob…]}` as /prowjobs.js serves them.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// The delivery id (X-GitHub-Delivery); it keys the job ids.
    #[arg(long, default_value = "dry-run")]
    pub delivery: String,
    /// The time to plan at (RFC 3339); default now.
    #[arg(long)]
    pub now: Option<String>,
    /// Also list every job that would not run, and why.
    #[arg(long)]
    pub explain: bool,
    /// The repo's in-repo config (its `.prow.yaml`, or its `.prow/`
    /// directory), planned with as the trigger would read it.
    #[arg(long)]
    pub prow_yaml: Option<PathBuf>,
    /// The labels the repository has (the label plugin applies only those).
    #[arg(long, value_delimiter = ',')]
    pub repo_labels: Option<Vec<String>>,
    /// A checkout of the repository at its base branch: its OWNERS files
    /// (approve, blunderbuss) and `.generated_files` (size).
    #[arg(long)]
    pub repo_dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct PeriodicsArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The tick's time (RFC 3339).
    #[arg(long)]
    pub now: String,
    /// The previous tick's time; default one minute before `--now`.
    #[arg(long)]
    pub previous_tick: Option<String>,
    /// Earlier jobs, `{"items": [ProwJob…]}`.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Also list every periodic that is not due, and why.
    #[arg(long)]
    pub explain: bool,
}

pub fn run(cmd: &Command) -> ExitCode {
    let result = match cmd {
        Command::Event(a) => plan_event_cmd(a),
        Command::Periodics(a) => plan_periodics_cmd(a),
    };
    match result {
        Ok(v) => match serde_json::to_string_pretty(&v) {
            Ok(s) => {
                println!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&format!("cannot write the plan as JSON: {e}")),
        },
        Err(msg) => fail(&msg),
    }
}

fn fail(msg: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {msg}");
    ExitCode::FAILURE
}

fn load_config(a: &ConfigArgs) -> Result<Config, String> {
    config_files::load_or_refuse(a).map(|(config, _)| config)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

fn parse_time(text: &str, flag: &str) -> Result<jiff::Timestamp, String> {
    text.parse()
        .map_err(|e| format!("{flag} {text:?} is not an RFC 3339 time: {e}"))
}

fn read_history(path: Option<&Path>) -> Result<Vec<ProwJob>, String> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    #[derive(serde::Deserialize)]
    struct List {
        items: Vec<ProwJob>,
    }
    let bytes = read(path, "--history")?;
    serde_json::from_slice::<List>(&bytes)
        .map(|l| l.items)
        .map_err(|e| {
            format!(
                "--history {}: expected {{\"items\": [ProwJob…]}}: {e}",
                path.display()
            )
        })
}

/// Facts from the command line's files.
struct FileFacts {
    changed_files: Option<Vec<String>>,
    trusted: Vec<String>,
    bot: Option<String>,
    pull_request: Option<PullRequest>,
    history: Vec<ProwJob>,
}

fn missing(fact: &'static str, flag: &str) -> FactError {
    FactError {
        fact,
        message: format!("this event needs it: pass {flag}"),
        retryable: false,
    }
}

#[async_trait::async_trait]
impl Facts for FileFacts {
    async fn changed_files(&mut self, _: &Repo, _: i64) -> Result<Vec<String>, FactError> {
        self.changed_files
            .clone()
            .ok_or_else(|| missing("the pull request's changed files", "--changed-files FILE"))
    }
    async fn is_member(&mut self, _: &str, login: &str) -> Result<bool, FactError> {
        Ok(self.trusted.iter().any(|t| t == login))
    }
    async fn is_collaborator(&mut self, _: &str, _: &str, _: &str) -> Result<bool, FactError> {
        Ok(false)
    }
    fn is_bot(&self, login: &str) -> bool {
        self.bot.as_deref() == Some(login)
    }
    async fn pull_request(&mut self, _: &Repo, _: i64) -> Result<PullRequest, FactError> {
        self.pull_request
            .clone()
            .ok_or_else(|| missing("the pull request", "--pull-request FILE"))
    }
    async fn pr_jobs(&mut self, repo: &Repo, number: i64) -> Result<Vec<ProwJob>, FactError> {
        Ok(self
            .history
            .iter()
            .filter(|j| {
                j.spec.refs.as_ref().is_some_and(|r| {
                    r.org == repo.org
                        && r.repo == repo.repo
                        && r.pulls.first().is_some_and(|p| p.number == number)
                })
            })
            .cloned()
            .collect())
    }
    async fn base_sha(&mut self, _: &Repo, _: &str) -> Result<String, FactError> {
        // A dry run cannot ask GitHub for the branch head; the PR's base SHA
        // as the payload (or --pull-request) reported it is the best answer.
        self.pull_request
            .as_ref()
            .map(|p| p.base_sha.clone())
            .ok_or_else(|| missing("the base branch's SHA", "--pull-request FILE"))
    }
    async fn comment_body(&mut self, _: &Repo, _: &str) -> Result<String, FactError> {
        Err(FactError {
            fact: "the comment's text",
            message: "CodeCommit comment events do not carry it, and a dry run cannot fetch it"
                .into(),
            retryable: false,
        })
    }
    async fn push_changes(&mut self, _: &PushEvent) -> Result<Vec<String>, FactError> {
        self.changed_files
            .clone()
            .ok_or_else(|| missing("the push's changed files", "--changed-files FILE"))
    }
}

fn plan_event_cmd(a: &EventArgs) -> Result<Value, String> {
    let config = load_config(&a.config)?;
    let body = read(&a.payload, "--payload")?;
    let event = if a.event == "codecommit" {
        event::codecommit::parse(&body)
    } else {
        event::github::parse(&a.event, &body)
    }
    .map_err(|e| format!("--payload {}: {e}", a.payload.display()))?;
    let config = match &a.prow_yaml {
        Some(path) => with_in_repo(config, &event, path)?,
        None => config,
    };
    let mut pull_request = match &a.pull_request {
        Some(p) => Some(
            event::github::parse_pull_request(&read(p, "--pull-request")?)
                .map_err(|e| format!("--pull-request {}: {e}", p.display()))?,
        ),
        None => None,
    };
    if pull_request.is_none()
        && let Event::PullRequest(e) = &event
    {
        pull_request = Some(e.pr.clone());
    }
    if pull_request.is_none()
        && let Event::Comment(c) = &event
    {
        pull_request = c.pr.clone();
    }
    let changed_files = match &a.changed_files {
        Some(p) => {
            let text = String::from_utf8_lossy(&read(p, "--changed-files")?).into_owned();
            Some(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect(),
            )
        }
        None => None,
    };
    let mut facts = FileFacts {
        changed_files,
        trusted: a.trusted.clone(),
        bot: a.bot.clone(),
        pull_request,
        history: read_history(a.history.as_deref())?,
    };
    let now = match &a.now {
        Some(t) => parse_time(t, "--now")?,
        None => jiff::Timestamp::now(),
    };
    let regexes = Regexes::default();
    let ctx = Context {
        config: &config,
        regexes: &regexes,
        delivery: &a.delivery,
        now,
        explain: a.explain,
    };
    let plan = futures_executor::block_on(plan_event(&ctx, &event, &mut facts))
        .map_err(|e| e.to_string())?;
    let mut out = plan_json(&plan, a.explain);
    if a.event != "codecommit" {
        // The review plugins, as the trigger runs them beside it.
        let mut dry = crate::plan_plugins::DryFacts {
            trusted: a.trusted.clone(),
            bot: a.bot.clone(),
            pull_request: facts.pull_request.clone(),
            changed_files: facts.changed_files.clone(),
            repo_labels: a.repo_labels.clone(),
            repo_dir: a.repo_dir.clone(),
            config: config.clone(),
            said: Vec::new(),
        };
        let plugins =
            crate::plan_plugins::plan(&mut dry, &a.event, &body, &a.delivery, now, a.explain)?;
        if let Value::Object(o) = &mut out {
            o.insert("plugins".into(), plugins);
        }
    }
    Ok(out)
}

/// The central config plus the in-repo jobs at `path` of the event's repo;
/// a problem in them stops the dry run (the trigger would comment it).
fn with_in_repo(config: Config, event: &Event, path: &Path) -> Result<Config, String> {
    let repo = match event {
        Event::PullRequest(e) => &e.pr.repo,
        Event::Comment(e) => &e.repo,
        Event::Push(e) => &e.repo,
        Event::Rerun(e) => &e.repo,
        Event::MergeGroup(e) => &e.repo,
        Event::Ignored { .. } => return Ok(config),
    };
    let repo = repo.full_name();
    if let Some(note) = crate::inrepo::not_enabled(&config, &repo) {
        return Err(note);
    }
    let files = crate::inrepo::read(path)?;
    let loaded = config::inrepo::load(&config, &repo, &files);
    let mut stderr = std::io::stderr().lock();
    for d in &loaded.diagnostics {
        let _ = writeln!(stderr, "{d}");
    }
    if loaded.has_errors() {
        return Err(format!(
            "--prow-yaml {}: the in-repo config has errors (listed above)",
            path.display()
        ));
    }
    Ok(config::inrepo::merged(&config, &repo, &loaded.jobs))
}

/// A job record as the plan prints it: its spec's fields, plus id and labels.
fn job_json(job: &ProwJob) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(job.metadata.name));
    if let Ok(Value::Object(spec)) = serde_json::to_value(&job.spec) {
        out.extend(spec);
    }
    out.insert("labels".into(), json!(job.metadata.labels));
    if !job.metadata.annotations.is_empty() {
        out.insert("annotations".into(), json!(job.metadata.annotations));
    }
    Value::Object(out)
}

fn plan_json(plan: &Plan, explain: bool) -> Value {
    let mut out = Map::new();
    out.insert(
        "jobs".into(),
        plan.jobs.iter().map(|j| job_json(&j.record())).collect(),
    );
    out.insert("abort".into(), json!(plan.abort));
    out.insert("labels_add".into(), json!(plan.labels_add));
    out.insert("labels_remove".into(), json!(plan.labels_remove));
    out.insert("comments".into(), json!(plan.comments));
    if plan.prune_help_comments {
        out.insert("prune_help_comments".into(), json!(true));
    }
    if let Some(t) = &plan.target {
        out.insert("target".into(), json!(t));
    }
    if let Some(n) = &plan.note {
        out.insert("note".into(), json!(n));
    }
    if explain {
        out.insert("skipped".into(), json!(plan.skipped));
    }
    Value::Object(out)
}

fn plan_periodics_cmd(a: &PeriodicsArgs) -> Result<Value, String> {
    let config = load_config(&a.config)?;
    let now = parse_time(&a.now, "--now")?;
    let previous = match &a.previous_tick {
        Some(t) => parse_time(t, "--previous-tick")?,
        None => now
            .checked_sub(jiff::SignedDuration::from_mins(1))
            .map_err(|e| format!("--now {:?}: {e}", a.now))?,
    };
    if previous > now {
        return Err("--previous-tick is after --now".into());
    }
    let history = read_history(a.history.as_deref())?;
    let latest = latest_runs(&history);
    let lookup = |name: &str| latest.get(name).copied();
    let tick = due_periodics(&config.jobs.periodics, &lookup, previous, now);
    let jobs: Vec<Value> = tick
        .due
        .iter()
        .map(|d| {
            let mut v = job_json(&d.job);
            if let Value::Object(m) = &mut v {
                m.insert("key".into(), json!(d.key));
                m.insert("reason".into(), json!(d.reason));
            }
            v
        })
        .collect();
    let mut out = Map::new();
    out.insert("jobs".into(), Value::Array(jobs));
    if a.explain {
        let skipped: Vec<Value> = tick
            .not_due
            .iter()
            .map(|n| json!({"job": n.job, "reason": n.reason}))
            .collect();
        out.insert("skipped".into(), Value::Array(skipped));
    }
    Ok(Value::Object(out))
}
