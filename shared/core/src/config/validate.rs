//! Prow's config validation (`validateJobBase`, `validatePresubmits`,
//! `validatePostsubmits`, `validatePeriodics`, `validatePodSpec`, …), every rule
//! reported with the file, line, column and field it is about — all of them in one
//! run, where Prow stops at the first.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1 as core;
use regex::Regex;

use super::jobs::{Brancher, JobBase, Periodic, Postsubmit, Presubmit, Source, UtilityConfig};
use super::load::Loader;
use super::prow::ProwConfig;
use crate::cron::CronSchedule;
use crate::diagnostics::{Diagnostics, Mark, did_you_mean};
use crate::duration::GoDuration;
use crate::prowjob::jobspec::env_for_type;
use crate::prowjob::labels::{
    GERRIT_REPORT_LABEL, RESERVED_FOR_DECORATION, is_qualified_name, is_valid_label_value,
};
use crate::prowjob::{JENKINS_AGENT, KUBERNETES_AGENT, ProwJobType, TEKTON_AGENT};
use crate::yaml::Node;

const POD_UTILS_CONTAINERS: [&str; 4] = ["clonerefs", "initupload", "place-entrypoint", "sidecar"];
const DECORATION_VOLUMES: [&str; 5] =
    ["logs", "code", "tools", "gcs-credentials", "s3-credentials"];
const TEST_CONTAINER_MOUNTS: [&str; 3] = ["logs", "code", "tools"];
const TEST_CONTAINER_MOUNT_PATHS: [&str; 3] = ["/logs", "/home/prow/go", "/tools"];

pub(super) fn validate(l: &mut Loader) {
    let Loader { diags, config, .. } = l;
    let mut v = Validator {
        diags,
        prow: &config.prow,
        regexes: RegexCache::default(),
    };
    for jobs in config.jobs.presubmits.values() {
        v.presubmits(jobs);
    }
    for jobs in config.jobs.postsubmits.values() {
        v.postsubmits(jobs);
    }
    v.periodics(&config.jobs.periodics);
}

/// Checks of config.yaml's own sections (`node` is the mapping of the sections
/// Skiff models).
pub(super) fn prow_config(diags: &mut Diagnostics, file: &str, node: &Node, prow: &ProwConfig) {
    let plank = &prow.plank;
    if !plank.default_decoration_configs.is_empty()
        && !plank.default_decoration_config_entries.is_empty()
    {
        diags.error(
            file,
            node.locate(&["plank", "default_decoration_configs"]),
            "plank.default_decoration_configs",
            "plank.default_decoration_configs and plank.default_decoration_config_entries are mutually exclusive: use one or the other",
        );
    }
    if !plank.report_template.is_empty() && !plank.report_templates.is_empty() {
        diags.error(
            file,
            node.locate(&["plank", "report_template"]),
            "plank.report_template",
            "both report_template and report_templates are specified (report_template is the deprecated form of report_templates[\"*\"])",
        );
    }
    if plank.max_concurrency < 0 {
        diags.error(
            file,
            node.locate(&["plank", "max_concurrency"]),
            "plank.max_concurrency",
            format!("{} must be a non-negative number", plank.max_concurrency),
        );
    }
    for (i, t) in prow.github_reporter.job_types_to_report.iter().enumerate() {
        if !matches!(t, ProwJobType::Presubmit | ProwJobType::Postsubmit) {
            let idx = i.to_string();
            diags.error(
                file,
                node.locate(&["github_reporter", "job_types_to_report", &idx]),
                format!("github_reporter.job_types_to_report[{i}]"),
                format!(
                    "invalid job_types_to_report: {}: only presubmit and postsubmit can be reported to GitHub",
                    t.as_str()
                ),
            );
        }
    }
    reporting(diags, file, node, prow);
    for (name, c) in &prow.skiff.clusters {
        let kinds = usize::from(c.eks.is_some())
            + usize::from(c.kubeconfig.is_some())
            + usize::from(c.in_cluster)
            + usize::from(c.local);
        if kinds != 1 {
            diags.error(
                file,
                node.locate(&["skiff", "clusters", name]),
                format!("skiff.clusters.{name}"),
                format!("cluster {name:?} must set exactly one of eks, kubeconfig, in_cluster or local (found {kinds})"),
            );
        }
    }
}

/// `skiff.reporting`: repo lists name `org` or `org/repo`, each once; the
/// triggered report delay is a delay Skiff can keep.
fn reporting(diags: &mut Diagnostics, file: &str, node: &Node, prow: &ProwConfig) {
    let r = &prow.skiff.reporting;
    for (key, list) in [
        ("checks_repos", &r.checks_repos),
        ("codecommit_approval_repos", &r.codecommit_approval_repos),
    ] {
        let mut seen: Vec<&str> = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            let idx = i.to_string();
            let mark = node.locate(&["skiff", "reporting", key, &idx]);
            let field = format!("skiff.reporting.{key}[{i}]");
            let parts: Vec<&str> = entry.split('/').collect();
            let well_formed = parts.len() <= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && !p.chars().any(char::is_whitespace));
            if !well_formed {
                diags.error(
                    file,
                    mark,
                    field,
                    format!("{entry:?} is not a repo: expected `org` or `org/repo`"),
                );
            } else if seen.contains(&entry.as_str()) {
                diags.warning(file, mark, field, format!("{entry:?} is listed twice"));
            } else {
                seen.push(entry);
            }
        }
    }
    if let Some(d) = r.triggered_report_delay {
        let max = super::prow::MAX_TRIGGERED_REPORT_DELAY;
        if d.0 < 0 || d.to_std() > max {
            diags.error(
                file,
                node.locate(&["skiff", "reporting", "triggered_report_delay"]),
                "skiff.reporting.triggered_report_delay",
                format!(
                    "{d} is out of range: the delay must be between 0s and {}m",
                    max.as_secs() / 60
                ),
            );
        }
    }
}

/// Compiles each distinct pattern once: thousands of jobs share `^main$`.
#[derive(Default)]
struct RegexCache {
    compiled: HashMap<String, Result<Regex, String>>,
}

impl RegexCache {
    fn get(&mut self, pattern: &str) -> Result<&Regex, String> {
        self.compiled
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(pattern).map_err(|e| one_line(&e.to_string())))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Prow's `Brancher.ShouldRun`, with the lists OR-joined, unanchored.
    fn should_run(&mut self, b: &Brancher, branch: &str) -> bool {
        if b.runs_against_all_branches() {
            return true;
        }
        if !b.skip_branches.is_empty()
            && self
                .get(&b.skip_branches.join("|"))
                .is_ok_and(|re| re.is_match(branch))
        {
            return false;
        }
        b.branches.is_empty()
            || self
                .get(&b.branches.join("|"))
                .is_ok_and(|re| re.is_match(branch))
    }

    /// Prow's `Brancher.Intersects`, including its quirk of testing one job's
    /// branch patterns as if they were branch names.
    fn intersects(&mut self, a: &Brancher, b: &Brancher) -> bool {
        if a.runs_against_all_branches() || b.runs_against_all_branches() {
            return true;
        }
        if !a.branches.is_empty() {
            if !b.branches.is_empty() {
                return a.branches.iter().any(|x| b.branches.contains(x));
            }
            return a.branches.iter().any(|x| self.should_run(b, x));
        }
        if b.branches.is_empty() {
            return true;
        }
        self.intersects(b, a)
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a job is, for messages.
struct At<'a> {
    source: &'a Source,
    path: String,
}

impl<'a> At<'a> {
    fn of(source: &'a Source) -> Self {
        At {
            source,
            path: source.path.clone(),
        }
    }

    fn mark(&self, field: &[&str]) -> Mark {
        self.source.node.locate(field)
    }

    fn field(&self, field: &[&str]) -> String {
        let mut out = self.path.clone();
        for seg in field {
            if seg.bytes().all(|b| b.is_ascii_digit()) && !seg.is_empty() {
                out.push_str(&format!("[{seg}]"));
            } else {
                out.push('.');
                out.push_str(seg);
            }
        }
        out
    }

    fn message(&self, msg: String) -> String {
        match &self.source.matrix {
            Some(m) => format!("{msg} (matrix {m})"),
            None => msg,
        }
    }

    fn location(&self) -> String {
        let m = self.source.mark();
        format!("{}:{}:{}", self.source.file, m.line, m.col)
    }
}

struct Validator<'a> {
    diags: &'a mut Diagnostics,
    prow: &'a ProwConfig,
    regexes: RegexCache,
}

impl Validator<'_> {
    fn error(&mut self, at: &At, field: &[&str], msg: impl Into<String>) {
        let msg = at.message(msg.into());
        self.diags
            .error(&at.source.file, at.mark(field), at.field(field), msg);
    }

    fn warning(&mut self, at: &At, field: &[&str], msg: impl Into<String>) {
        let msg = at.message(msg.into());
        self.diags
            .warning(&at.source.file, at.mark(field), at.field(field), msg);
    }

    fn presubmits(&mut self, jobs: &[Presubmit]) {
        for j in jobs {
            let at = At::of(&j.source);
            self.job_base(&at, &j.base, &j.utility, ProwJobType::Presubmit);
            self.brancher(&at, &j.brancher);
            self.change_matcher(
                &at,
                &j.changes.run_if_changed,
                &j.changes.skip_if_only_changed,
            );
            if j.fields.always_run && !j.changes.run_if_changed.is_empty() {
                self.error(
                    &at,
                    &["run_if_changed"],
                    "always_run and run_if_changed are mutually exclusive",
                );
            }
            if j.fields.always_run && !j.changes.skip_if_only_changed.is_empty() {
                self.error(
                    &at,
                    &["skip_if_only_changed"],
                    "always_run and skip_if_only_changed are mutually exclusive",
                );
            }
            self.trigger(&at, j);
            self.reporting(&at, &j.base, j.reporter.skip_report);
        }
        let branchers: Vec<_> = jobs
            .iter()
            .map(|j| (&j.base.name, &j.reporter.context, &j.brancher, &j.source))
            .collect();
        self.duplicates("presubmit", &branchers);
    }

    fn postsubmits(&mut self, jobs: &[Postsubmit]) {
        for j in jobs {
            let at = At::of(&j.source);
            self.job_base(&at, &j.base, &j.utility, ProwJobType::Postsubmit);
            self.brancher(&at, &j.brancher);
            self.change_matcher(
                &at,
                &j.changes.run_if_changed,
                &j.changes.skip_if_only_changed,
            );
            if j.fields.always_run == Some(true) {
                for f in ["run_if_changed", "skip_if_only_changed"] {
                    let set = if f == "run_if_changed" {
                        &j.changes.run_if_changed
                    } else {
                        &j.changes.skip_if_only_changed
                    };
                    if !set.is_empty() {
                        self.error(
                            &at,
                            &[f],
                            format!("always_run and {f} are mutually exclusive"),
                        );
                    }
                }
            }
            self.reporting(&at, &j.base, j.reporter.skip_report);
        }
        let branchers: Vec<_> = jobs
            .iter()
            .map(|j| (&j.base.name, &j.reporter.context, &j.brancher, &j.source))
            .collect();
        self.duplicates("postsubmit", &branchers);
    }

    /// Same name with intersecting branches, or two jobs reporting to one context.
    fn duplicates(&mut self, kind: &str, jobs: &[(&String, &String, &Brancher, &Source)]) {
        let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut by_context: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, (name, context, _, _)) in jobs.iter().enumerate() {
            by_name.entry(name.as_str()).or_default().push(i);
            by_context.entry(context.as_str()).or_default().push(i);
        }
        for idxs in by_name.values() {
            for (k, &b) in idxs.iter().enumerate() {
                if let Some(&a) = idxs[..k]
                    .iter()
                    .find(|&&a| self.regexes.intersects(jobs[a].2, jobs[b].2))
                {
                    let at = At::of(jobs[b].3);
                    let first = At::of(jobs[a].3);
                    self.error(
                        &at,
                        &["name"],
                        format!(
                            "duplicated {kind} job `{}`: its branches intersect with the job of the same name at {} (split jobs by release branch with non-overlapping `branches`)",
                            jobs[b].0,
                            first.location()
                        ),
                    );
                }
            }
        }
        for (context, idxs) in by_context {
            for (k, &b) in idxs.iter().enumerate() {
                let clash = idxs[..k].iter().find(|&&a| {
                    jobs[a].0 != jobs[b].0 && self.regexes.intersects(jobs[a].2, jobs[b].2)
                });
                if let Some(&a) = clash {
                    let at = At::of(jobs[b].3);
                    let field: &[&str] = if at.source.node.get("context").is_some() {
                        &["context"]
                    } else {
                        &["name"]
                    };
                    self.error(
                        &at,
                        field,
                        format!(
                            "jobs {} and {} report to the same GitHub context {context:?}",
                            jobs[a].0, jobs[b].0
                        ),
                    );
                }
            }
        }
    }

    fn periodics(&mut self, jobs: &[Periodic]) {
        let mut seen: HashMap<&str, &Source> = HashMap::new();
        for j in jobs {
            let at = At::of(&j.source);
            if let Some(first) = seen.get(j.base.name.as_str()) {
                let first = At::of(first);
                self.error(
                    &at,
                    &["name"],
                    format!(
                        "duplicated periodic job `{}` (first defined at {})",
                        j.base.name,
                        first.location()
                    ),
                );
            } else {
                seen.insert(&j.base.name, &j.source);
            }
            self.job_base(&at, &j.base, &j.utility, ProwJobType::Periodic);
            let f = &j.fields;
            let set: Vec<&str> = [
                ("cron", &f.cron),
                ("interval", &f.interval),
                ("minimum_interval", &f.minimum_interval),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k)
            .collect();
            match set.as_slice() {
                [] => self.error(
                    &at,
                    &[],
                    "at least one of cron, interval, or minimum_interval must be set",
                ),
                [_] => {}
                [_, second, ..] => self.error(
                    &at,
                    &[second],
                    format!(
                        "{} are mutually exclusive: set exactly one of cron, interval, minimum_interval",
                        set.join(" and ")
                    ),
                ),
            }
            if !f.cron.is_empty()
                && let Err(e) = CronSchedule::parse(&f.cron)
            {
                self.error(&at, &["cron"], format!("invalid cron {:?}: {e}", f.cron));
            }
            for (key, value) in [
                ("interval", &f.interval),
                ("minimum_interval", &f.minimum_interval),
            ] {
                if !value.is_empty() {
                    self.duration(&at, &[key], value);
                }
            }
            if let Some(r) = &f.retry {
                if !r.interval.is_empty() {
                    self.duration(&at, &["retry", "interval"], &r.interval);
                }
                if r.attempts > 10 {
                    self.warning(
                        &at,
                        &["retry", "attempts"],
                        format!("{} retry attempts are capped at 10, as in Prow", r.attempts),
                    );
                }
            }
        }
    }

    fn duration(&mut self, at: &At, field: &[&str], value: &str) {
        match GoDuration::parse(value) {
            Ok(d) if d.as_nanos() <= 0 => {
                self.error(at, field, format!("duration {value:?} must be positive"))
            }
            Ok(_) => {}
            Err(e) => self.error(at, field, e.to_string()),
        }
    }

    fn brancher(&mut self, at: &At, b: &Brancher) {
        for (key, list) in [
            ("branches", &b.branches),
            ("skip_branches", &b.skip_branches),
        ] {
            if list.is_empty() {
                continue;
            }
            if let Err(e) = self.regexes.get(&list.join("|")) {
                self.error(at, &[key], format!("invalid regex: {e}"));
            }
        }
    }

    fn change_matcher(&mut self, at: &At, run_if_changed: &str, skip_if_only_changed: &str) {
        if !run_if_changed.is_empty() && !skip_if_only_changed.is_empty() {
            self.error(
                at,
                &["skip_if_only_changed"],
                "run_if_changed and skip_if_only_changed are mutually exclusive",
            );
        }
        for (key, pattern) in [
            ("run_if_changed", run_if_changed),
            ("skip_if_only_changed", skip_if_only_changed),
        ] {
            if !pattern.is_empty()
                && let Err(e) = self.regexes.get(pattern)
            {
                self.error(at, &[key], format!("invalid regex: {e}"));
            }
        }
    }

    fn trigger(&mut self, at: &At, j: &Presubmit) {
        let (trigger, rerun) = (&j.fields.trigger, &j.fields.rerun_command);
        if trigger.is_empty() != rerun.is_empty() {
            let (missing, set) = if trigger.is_empty() {
                ("trigger", "rerun_command")
            } else {
                ("rerun_command", "trigger")
            };
            self.error(
                at,
                &[set],
                format!("`{set}` is set but `{missing}` is not: set both or neither"),
            );
            return;
        }
        // The default trigger is built from a valid name and always matches the
        // default rerun command; compiling thousands of them would be wasted work.
        if *trigger == super::default_trigger_for(&j.base.name) {
            return;
        }
        match self.regexes.get(trigger) {
            Err(e) => self.error(at, &["trigger"], format!("invalid regex: {e}")),
            Ok(re) => {
                if !re.is_match(rerun) {
                    let msg = format!("rerun_command {rerun:?} does not match trigger {trigger:?}");
                    self.error(at, &["rerun_command"], msg);
                }
            }
        }
    }

    fn reporting(&mut self, at: &At, base: &JobBase, skip_report: bool) {
        if skip_report
            && base
                .labels
                .get(GERRIT_REPORT_LABEL)
                .is_some_and(|v| !v.is_empty())
        {
            self.error(
                at,
                &["labels", GERRIT_REPORT_LABEL],
                "gerrit report label set to a non-empty value but the job skips reporting",
            );
        }
    }

    fn job_base(&mut self, at: &At, b: &JobBase, u: &UtilityConfig, t: ProwJobType) {
        let name_ok = if b.agent == JENKINS_AGENT {
            jenkins_name_ok(&b.name)
        } else {
            !b.name.is_empty()
                && b.name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
        };
        if b.name.is_empty() {
            self.error(at, &[], "name is required");
        } else if !name_ok {
            self.error(
                at,
                &["name"],
                format!("name {:?} must match ^[A-Za-z0-9-._]+$", b.name),
            );
        }
        if b.max_concurrency < 0 {
            self.error(
                at,
                &["max_concurrency"],
                format!("{} must be a non-negative number", b.max_concurrency),
            );
        }
        self.agent(at, b, u);
        if let Some(spec) = &b.spec {
            self.pod_spec(at, spec, u, t);
        }
        self.labels(at, &b.labels);
        for k in b.annotations.keys() {
            if let Err(e) = is_qualified_name(k) {
                self.error(
                    at,
                    &["annotations", k],
                    format!("invalid annotation key {k:?}: {e}"),
                );
            }
        }
        if !b.job_queue_name.is_empty()
            && !self
                .prow
                .plank
                .job_queue_capacities
                .contains_key(&b.job_queue_name)
        {
            let hint = did_you_mean(
                &b.job_queue_name,
                self.prow
                    .plank
                    .job_queue_capacities
                    .keys()
                    .map(String::as_str),
            )
            .map(|s| format!(" — did you mean `{s}`?"))
            .unwrap_or_default();
            self.error(
                at,
                &["job_queue_name"],
                format!(
                    "job queue {:?} is not a key of plank.job_queue_capacities{hint}",
                    b.job_queue_name
                ),
            );
        }
        if let Some(rac) = &b.rerun_auth_config {
            let has_list = !rac.github_users.is_empty()
                || !rac.github_team_ids.is_empty()
                || !rac.github_team_slugs.is_empty()
                || !rac.github_orgs.is_empty();
            if rac.allow_anyone && has_list {
                self.error(
                    at,
                    &["rerun_auth_config", "allow_anyone"],
                    "allow_anyone is true and permitted users or groups are also listed",
                );
            }
        }
        self.cluster(at, &b.cluster);
        if let (Some(dc), Some(spec)) = (&u.decoration_config, &b.spec)
            && u.decorate == Some(true)
        {
            self.decoration(at, dc, spec);
        }
    }

    fn cluster(&mut self, at: &At, cluster: &str) {
        let clusters = &self.prow.skiff.clusters;
        if clusters.is_empty() || clusters.contains_key(cluster) {
            return;
        }
        let hint = did_you_mean(cluster, clusters.keys().map(String::as_str))
            .map(|s| format!(" — did you mean `{s}`?"))
            .unwrap_or_default();
        let names: Vec<&str> = clusters.keys().map(String::as_str).collect();
        self.error(
            at,
            &["cluster"],
            format!(
                "cluster {cluster:?} is not defined in skiff.clusters ({}){hint}",
                names.join(", ")
            ),
        );
    }

    fn agent(&mut self, at: &At, b: &JobBase, u: &UtilityConfig) {
        let agent = b.agent.as_str();
        let known = [KUBERNETES_AGENT, JENKINS_AGENT, TEKTON_AGENT];
        let has_pipeline = b.pipeline_run_spec.is_some()
            || b.tekton_pipeline_run_spec
                .as_ref()
                .is_some_and(|t| t.v1beta1.is_some());
        let namespace = b.namespace.as_deref().unwrap_or_default();
        let msg = if !known.contains(&agent) {
            let hint = did_you_mean(agent, known)
                .map(|s| format!(" — did you mean `{s}`?"))
                .unwrap_or_default();
            self.warning(
                at,
                &["agent"],
                format!("agent {agent:?} is unknown and cannot be validated{hint}"),
            );
            return;
        } else if b.spec.is_some() && agent != KUBERNETES_AGENT {
            (
                vec!["spec"],
                format!("job specs require agent: kubernetes (found {agent:?})"),
            )
        } else if agent == KUBERNETES_AGENT && b.spec.is_none() {
            (vec![], "kubernetes jobs require a spec".to_string())
        } else if has_pipeline && agent != TEKTON_AGENT {
            (
                vec!["pipeline_run_spec"],
                format!("pipeline_run_spec requires agent: tekton-pipeline (found {agent:?})"),
            )
        } else if agent == TEKTON_AGENT && !has_pipeline {
            (
                vec!["agent"],
                "agent tekton-pipeline jobs require a pipeline_run_spec".to_string(),
            )
        } else if u.decoration_config.is_some()
            && u.decorate == Some(true)
            && agent != KUBERNETES_AGENT
        {
            (
                vec!["decoration_config"],
                format!("decoration requires agent: kubernetes (found {agent:?})"),
            )
        } else if b.error_on_eviction && agent != KUBERNETES_AGENT {
            (
                vec!["error_on_eviction"],
                format!("error_on_eviction only applies to agent: kubernetes (found {agent:?})"),
            )
        } else if namespace != self.prow.pod_namespace() && agent != TEKTON_AGENT {
            (
                vec!["namespace"],
                format!(
                    "namespace customization requires agent: tekton-pipeline (found {agent:?}); pods run in pod_namespace {:?}",
                    self.prow.pod_namespace()
                ),
            )
        } else {
            return;
        };
        self.error(at, &msg.0, msg.1);
    }

    fn labels(&mut self, at: &At, labels: &BTreeMap<String, String>) {
        for (k, v) in labels {
            if RESERVED_FOR_DECORATION.contains(&k.as_str()) {
                self.error(
                    at,
                    &["labels", k],
                    format!("label {k} is reserved for decoration"),
                );
            } else if let Err(e) = is_qualified_name(k) {
                self.error(at, &["labels", k], format!("invalid label key {k:?}: {e}"));
            } else if let Err(e) = is_valid_label_value(v) {
                self.error(
                    at,
                    &["labels", k],
                    format!("label {k} has invalid value {v:?}: {e}"),
                );
            }
        }
    }

    fn pod_spec(&mut self, at: &At, spec: &core::PodSpec, u: &UtilityConfig, t: ProwJobType) {
        let decorated = u.decorate == Some(true);
        for (i, c) in spec.init_containers.iter().flatten().enumerate() {
            if c.restart_policy.as_deref() != Some("Always") {
                let idx = i.to_string();
                self.error(
                    at,
                    &["spec", "initContainers", &idx],
                    format!(
                        "pod spec may not use init containers (sidecar containers with restartPolicy: Always are supported): {}",
                        c.name
                    ),
                );
            }
        }
        let containers = &spec.containers;
        if containers.is_empty() {
            self.error(
                at,
                &["spec"],
                "pod spec must specify at least 1 container, found: 0",
            );
            return;
        }
        if containers.len() > 1 && !decorated {
            self.error(
                at,
                &["spec", "containers"],
                format!(
                    "pod utility decoration must be enabled to use multiple containers: {}",
                    containers.len()
                ),
            );
            return;
        }
        if containers.len() > 1 {
            let mut names: Vec<&str> = Vec::new();
            for (i, c) in containers.iter().enumerate() {
                let idx = i.to_string();
                let f = ["spec", "containers", idx.as_str(), "name"];
                if c.name.is_empty() {
                    self.error(
                        at,
                        &f,
                        "all containers must have names when there are several",
                    );
                } else if names.contains(&c.name.as_str()) {
                    self.error(
                        at,
                        &f,
                        format!("container named {:?} is defined more than once", c.name),
                    );
                } else if POD_UTILS_CONTAINERS.contains(&c.name.as_str()) {
                    self.error(
                        at,
                        &f,
                        format!("container name {} is reserved for decoration", c.name),
                    );
                }
                names.push(&c.name);
            }
        }
        let reserved_env = env_for_type(t);
        for (i, c) in containers.iter().enumerate() {
            let idx = i.to_string();
            let mut seen: Vec<&str> = Vec::new();
            for (k, e) in c.env.iter().flatten().enumerate() {
                let kdx = k.to_string();
                let f = [
                    "spec",
                    "containers",
                    idx.as_str(),
                    "env",
                    kdx.as_str(),
                    "name",
                ];
                if seen.contains(&e.name.as_str()) {
                    self.error(
                        at,
                        &f,
                        format!("env var named {:?} is defined more than once", e.name),
                    );
                }
                seen.push(&e.name);
                if reserved_env.contains(&e.name.as_str()) {
                    self.error(at, &f, format!("env {} is reserved: Prow sets it", e.name));
                }
            }
        }
        let mut volumes: Vec<&str> = Vec::new();
        let mut decoration_volumes: Vec<&str> = DECORATION_VOLUMES.to_vec();
        if let Some(dc) = &u.decoration_config {
            if let Some(o) = &dc.oauth_token_secret {
                decoration_volumes.push(&o.name);
            }
            decoration_volumes.extend(dc.ssh_key_secrets.iter().map(String::as_str));
        }
        for (i, v) in spec.volumes.iter().flatten().enumerate() {
            let idx = i.to_string();
            let f = ["spec", "volumes", idx.as_str(), "name"];
            if volumes.contains(&v.name.as_str()) {
                self.error(
                    at,
                    &f,
                    format!("volume named {:?} is defined more than once", v.name),
                );
            }
            volumes.push(&v.name);
            if decoration_volumes.contains(&v.name.as_str()) {
                self.error(
                    at,
                    &f,
                    format!("volume {} is reserved for decoration", v.name),
                );
            }
        }
        for (i, c) in containers.iter().enumerate() {
            let idx = i.to_string();
            for (k, m) in c.volume_mounts.iter().flatten().enumerate() {
                let kdx = k.to_string();
                let f = [
                    "spec",
                    "containers",
                    idx.as_str(),
                    "volumeMounts",
                    kdx.as_str(),
                ];
                if !volumes.contains(&m.name.as_str())
                    && !decoration_volumes.contains(&m.name.as_str())
                {
                    self.error(
                        at,
                        &f,
                        format!("volumeMount named {:?} is undefined", m.name),
                    );
                }
                if TEST_CONTAINER_MOUNTS.contains(&m.name.as_str()) {
                    self.error(
                        at,
                        &f,
                        format!("volumeMount name {} is reserved for decoration", m.name),
                    );
                }
                if TEST_CONTAINER_MOUNT_PATHS.contains(&m.mount_path.as_str()) {
                    self.error(
                        at,
                        &f,
                        format!(
                            "mount {} at {} conflicts with decoration mount",
                            m.name, m.mount_path
                        ),
                    );
                }
            }
        }
    }

    fn decoration(&mut self, at: &At, dc: &crate::prowjob::DecorationConfig, spec: &core::PodSpec) {
        let field: &[&str] = if at.source.node.get("decoration_config").is_some() {
            &["decoration_config"]
        } else {
            &["decorate"]
        };
        let problem = match &dc.utility_images {
            None => Some("utility image config is not specified (set plank.default_decoration_config_entries or decoration_config.utility_images)".to_string()),
            Some(u) => {
                let missing: Vec<&str> = [
                    ("clonerefs", &u.clonerefs),
                    ("initupload", &u.initupload),
                    ("entrypoint", &u.entrypoint),
                    ("sidecar", &u.sidecar),
                ]
                .into_iter()
                .filter(|(_, v)| v.is_empty())
                .map(|(k, _)| k)
                .collect();
                (!missing.is_empty())
                    .then(|| format!("the following utility images are not specified: {}", missing.join(", ")))
            }
        }
        .or_else(|| match &dc.gcs_configuration {
            None => Some("GCS upload configuration is not specified (gcs_configuration)".to_string()),
            Some(g) => {
                if !["legacy", "explicit", "single"].contains(&g.path_strategy.as_str()) {
                    Some("gcs_configuration.path_strategy must be one of legacy, explicit or single".to_string())
                } else if g.path_strategy != "explicit" && (g.default_org.is_empty() || g.default_repo.is_empty()) {
                    Some(format!(
                        "gcs_configuration.default_org and default_repo must be set for path_strategy {:?}",
                        g.path_strategy
                    ))
                } else {
                    None
                }
            }
        })
        .or_else(|| {
            (dc.oauth_token_secret.is_some() && !dc.ssh_key_secrets.is_empty())
                .then(|| "both OAuth token and SSH key secrets are specified".to_string())
        });
        if let Some(p) = problem {
            self.error(at, field, format!("invalid decoration config: {p}"));
        }
        for (i, c) in spec.containers.iter().enumerate() {
            let has_command = c
                .command
                .iter()
                .flatten()
                .chain(c.args.iter().flatten())
                .next()
                .is_some_and(|first| !first.is_empty());
            if !has_command {
                let idx = i.to_string();
                self.error(
                    at,
                    &["spec", "containers", &idx],
                    "decorated job containers must specify command and/or args",
                );
            }
        }
    }
}

/// Jenkins job names may also contain `/`, but not at the ends.
fn jenkins_name_ok(name: &str) -> bool {
    let ok = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_');
    let bytes = name.as_bytes();
    match bytes {
        [] => false,
        [only] => ok(*only),
        [first, middle @ .., last] => {
            ok(*first)
                && middle.iter().all(|&c| ok(c) || c == b'/')
                && (last.is_ascii_alphanumeric() || matches!(last, b'-' | b'_'))
        }
    }
}
