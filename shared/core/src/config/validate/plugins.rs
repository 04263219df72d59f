//! Rules of plugins.yaml (`pkg/plugins/config.go` `Validate`, plus what
//! GitHub itself would refuse): plugin names, duplicates, the review
//! plugins' sections, external plugins.

use crate::config::plugins::{PluginConfig, Sections};
use crate::diagnostics::{Diagnostics, did_you_mean};
use crate::plugins::{PROW_PLUGINS, RUN_BY_SKIFF, github_events};
use crate::yaml::{Node, Value};

/// GitHub refuses label names longer than this.
const MAX_LABEL_LEN: usize = 50;

/// Checks of plugins.yaml: `sections` is the mapping of the review plugins'
/// sections (as parsed into `config.sections`), `root` the whole file.
pub(in crate::config) fn plugin_config(
    diags: &mut Diagnostics,
    file: &str,
    sections: &Node,
    root: &Node,
    config: &PluginConfig,
) {
    let mut v = Check { diags, file };
    v.plugin_names(root, config);
    v.duplicates(root, config);
    v.external_plugins(sections, &config.sections);
    v.size(sections, &config.sections);
    v.blunderbuss(sections, &config.sections);
    v.labels(sections, &config.sections);
    v.repo_dupes(
        sections,
        "approve",
        config.sections.approve.iter().map(|a| &a.repos),
    );
    v.repo_dupes(
        sections,
        "lgtm",
        config.sections.lgtm.iter().map(|a| &a.repos),
    );
    v.repo_dupes(
        sections,
        "welcome",
        config.sections.welcome.iter().map(|a| &a.repos),
    );
    v.welcome(sections, &config.sections);
}

struct Check<'a> {
    diags: &'a mut Diagnostics,
    file: &'a str,
}

/// Where the plugin list of `plugins.<entry>` is, in either of Prow's forms.
fn list_path<'a>(root: &Node, entry: &'a str) -> Vec<&'a str> {
    let new_form = root
        .get("plugins")
        .and_then(|p| p.value.get(entry))
        .is_some_and(|e| matches!(e.value.value, Value::Map(_)));
    if new_form {
        vec!["plugins", entry, "plugins"]
    } else {
        vec!["plugins", entry]
    }
}

impl Check<'_> {
    fn at(&self, node: &Node, path: &[&str]) -> crate::diagnostics::Mark {
        node.locate(path)
    }

    /// Unknown names are errors (Prow's `ValidatePluginsUnknown`); Prow's
    /// own plugins that Skiff does not run are warned about, since a
    /// project moving over would otherwise lose them silently.
    fn plugin_names(&mut self, root: &Node, config: &PluginConfig) {
        for (entry, p) in &config.plugins {
            let base = list_path(root, entry);
            for (i, name) in p.plugins.iter().enumerate() {
                let idx = i.to_string();
                let mut path = base.clone();
                path.push(&idx);
                let mark = self.at(root, &path);
                let field = format!("plugins.{entry}[{i}]");
                if RUN_BY_SKIFF.contains(&name.as_str()) {
                    continue;
                }
                if PROW_PLUGINS.contains(&name.as_str()) {
                    self.diags.warning(
                        self.file,
                        mark,
                        field,
                        format!(
                            "Skiff does not run Prow's `{name}` plugin: it is accepted and does nothing (Skiff runs {})",
                            RUN_BY_SKIFF.join(", ")
                        ),
                    );
                    continue;
                }
                let known = RUN_BY_SKIFF.iter().chain(PROW_PLUGINS).copied();
                let hint = did_you_mean(name, known)
                    .map(|s| format!(" — did you mean `{s}`?"))
                    .unwrap_or_default();
                self.diags.error(
                    self.file,
                    mark,
                    field,
                    format!("unknown plugin: {name}{hint}"),
                );
            }
        }
    }

    /// Prow's `validatePluginsDupes` (a plugin on an org and one of its
    /// non-excluded repos) and `validateMutuallyExclusivePlugins`.
    fn duplicates(&mut self, root: &Node, config: &PluginConfig) {
        for (entry, p) in &config.plugins {
            let Some((org, repo)) = entry.split_once('/') else {
                continue;
            };
            let Some(org_entry) = config.plugins.get(org) else {
                continue;
            };
            if org_entry.excluded_repos.iter().any(|r| r == repo) {
                continue;
            }
            let dupes: Vec<&str> = p
                .plugins
                .iter()
                .filter(|n| org_entry.plugins.contains(n))
                .map(String::as_str)
                .collect();
            if !dupes.is_empty() {
                self.diags.error(
                    self.file,
                    self.at(root, &["plugins", entry]),
                    format!("plugins.{entry}"),
                    format!(
                        "plugins [{}] are duplicated for {repo} and {org}: list them on one of the two",
                        dupes.join(", ")
                    ),
                );
            }
        }
        for entry in config.plugins.keys() {
            let (org, repo) = entry.split_once('/').unwrap_or((entry, ""));
            let all = if repo.is_empty() {
                config
                    .plugins
                    .get(entry)
                    .map(|p| p.plugins.clone())
                    .unwrap_or_default()
            } else {
                config.enabled_plugins(org, repo)
            };
            if all.iter().any(|p| p == "blunderbuss") && all.iter().any(|p| p == "rifle") {
                self.diags.error(
                    self.file,
                    self.at(root, &["plugins", entry]),
                    format!("plugins.{entry}"),
                    "the blunderbuss and rifle plugins cannot both be enabled (they both request reviewers)",
                );
            }
        }
    }

    fn external_plugins(&mut self, node: &Node, s: &Sections) {
        for (entry, list) in &s.external_plugins {
            for (i, p) in list.iter().enumerate() {
                let idx = i.to_string();
                let field = format!("external_plugins.{entry}[{i}]");
                let mark = self.at(node, &["external_plugins", entry, &idx]);
                if p.name.trim().is_empty() {
                    self.diags.error(
                        self.file,
                        mark,
                        format!("{field}.name"),
                        "an external plugin needs a name",
                    );
                }
                let is_url =
                    p.endpoint.starts_with("http://") || p.endpoint.starts_with("https://");
                // Empty is Prow's default, `http://<name>`.
                if !p.endpoint.is_empty() && !is_url {
                    self.diags.error(
                        self.file,
                        self.at(node, &["external_plugins", entry, &idx, "endpoint"]),
                        format!("{field}.endpoint"),
                        format!("endpoint {:?} is not an http(s) URL", p.endpoint),
                    );
                }
                for (j, ev) in p.events.iter().enumerate() {
                    let jdx = j.to_string();
                    let emark = self.at(node, &["external_plugins", entry, &idx, "events", &jdx]);
                    let efield = format!("{field}.events[{j}]");
                    if !github_events::KNOWN.contains(&ev.as_str()) {
                        let hint = did_you_mean(ev, github_events::KNOWN.iter().copied())
                            .map(|s| format!(" — did you mean `{s}`?"))
                            .unwrap_or_default();
                        self.diags.warning(
                            self.file,
                            emark,
                            efield,
                            format!("`{ev}` is not a GitHub webhook event{hint}"),
                        );
                    } else if !crate::keys::ACTED_ON.contains(&ev.as_str()) {
                        self.diags.warning(
                            self.file,
                            emark,
                            efield,
                            format!(
                                "Skiff's webhook does not queue `{ev}` events, so they are never forwarded (it queues {})",
                                crate::keys::ACTED_ON.join(", ")
                            ),
                        );
                    }
                }
            }
            // Prow's `validateExternalPlugins`.
            if let Some((org, _)) = entry.split_once('/') {
                let org_names: Vec<&str> = s
                    .external_plugins
                    .get(org)
                    .into_iter()
                    .flatten()
                    .map(|p| p.name.as_str())
                    .collect();
                let dupes: Vec<&str> = list
                    .iter()
                    .map(|p| p.name.as_str())
                    .filter(|n| org_names.contains(n))
                    .collect();
                if !dupes.is_empty() {
                    self.diags.error(
                        self.file,
                        self.at(node, &["external_plugins", entry]),
                        format!("external_plugins.{entry}"),
                        format!(
                            "external plugins [{}] are duplicated for {entry} and {org}",
                            dupes.join(", ")
                        ),
                    );
                }
            }
        }
    }

    /// Prow's `validateSizes`, on the values as written: a field left out is
    /// 0 there, so `size: {s: 20}` alone fails, as in Prow.
    fn size(&mut self, node: &Node, s: &Sections) {
        let z = s.size;
        if node.get("size").is_none() {
            return;
        }
        for (name, v) in [
            ("s", z.s),
            ("m", z.m),
            ("l", z.l),
            ("xl", z.xl),
            ("xxl", z.xxl),
        ] {
            if v < 0 {
                self.diags.error(
                    self.file,
                    self.at(node, &["size", name]),
                    format!("size.{name}"),
                    format!("{v} is negative: a size is a number of changed lines"),
                );
            }
        }
        if z.s > z.m || z.m > z.l || z.l > z.xl || z.xl > z.xxl {
            self.diags.error(
                self.file,
                self.at(node, &["size"]),
                "size",
                format!(
                    "invalid size plugin configuration - one of the smaller sizes is bigger than a larger one (s {}, m {}, l {}, xl {}, xxl {}; a field left out counts as 0 here, as in Prow)",
                    z.s, z.m, z.l, z.xl, z.xxl
                ),
            );
        }
    }

    fn blunderbuss(&mut self, node: &Node, s: &Sections) {
        let b = &s.blunderbuss;
        if let Some(n) = b.reviewer_count
            && n < 1
        {
            self.diags.error(
                self.file,
                self.at(node, &["blunderbuss", "request_count"]),
                "blunderbuss.request_count",
                format!("invalid request_count: {n} (needs to be positive)"),
            );
        }
        if b.max_reviewer_count < 0 {
            self.diags.error(
                self.file,
                self.at(node, &["blunderbuss", "max_request_count"]),
                "blunderbuss.max_request_count",
                format!(
                    "invalid max_request_count: {} (0 means no limit)",
                    b.max_reviewer_count
                ),
            );
        }
        if let Some(w) = &b.wait_for_status {
            let w = w.or_default();
            if let Err(e) = regex::Regex::new(&w.description) {
                self.diags.error(
                    self.file,
                    self.at(node, &["blunderbuss", "wait_for_status", "description"]),
                    "blunderbuss.wait_for_status.description",
                    format!("not a valid regular expression: {e}"),
                );
            }
        }
        if b.use_status_availability {
            self.diags.warning(
                self.file,
                self.at(node, &["blunderbuss", "use_status_availability"]),
                "blunderbuss.use_status_availability",
                "Skiff does not ask GitHub's GraphQL API for users' busy status: every candidate counts as available",
            );
        }
    }

    /// Label names GitHub would refuse to create or apply.
    fn labels(&mut self, node: &Node, s: &Sections) {
        for (i, l) in s.label.additional_labels.iter().enumerate() {
            let idx = i.to_string();
            self.label_name(
                node,
                &["label", "additional_labels", &idx],
                format!("label.additional_labels[{i}]"),
                l,
            );
        }
        for (key, list) in &s.label.restricted_labels {
            for (i, r) in list.iter().enumerate() {
                let idx = i.to_string();
                self.label_name(
                    node,
                    &["label", "restricted_labels", key, &idx, "label"],
                    format!("label.restricted_labels.{key}[{i}].label"),
                    &r.label,
                );
                for (j, a) in r.assign_on.iter().enumerate() {
                    let jdx = j.to_string();
                    self.label_name(
                        node,
                        &[
                            "label",
                            "restricted_labels",
                            key,
                            &idx,
                            "assign_on",
                            &jdx,
                            "label",
                        ],
                        format!("label.restricted_labels.{key}[{i}].assign_on[{j}].label"),
                        &a.label,
                    );
                }
            }
        }
    }

    fn label_name(&mut self, node: &Node, path: &[&str], field: String, label: &str) {
        let problem = if label.trim().is_empty() {
            Some("a label needs a name".to_string())
        } else if label.chars().count() > MAX_LABEL_LEN {
            Some(format!(
                "label {label:?} has {} characters; GitHub refuses names longer than {MAX_LABEL_LEN}",
                label.chars().count()
            ))
        } else if label.trim() != label {
            Some(format!(
                "label {label:?} starts or ends with white space, which GitHub trims: commands would never match it"
            ))
        } else {
            None
        };
        if let Some(msg) = problem {
            self.diags.error(self.file, node.locate(path), field, msg);
        }
    }

    /// Prow's `validateRepoDupes`: an org or repo named by two entries.
    fn repo_dupes<'r>(
        &mut self,
        node: &Node,
        section: &str,
        entries: impl Iterator<Item = &'r Vec<String>>,
    ) {
        let mut seen: Vec<&str> = Vec::new();
        for (i, repos) in entries.enumerate() {
            for (j, r) in repos.iter().enumerate() {
                if seen.contains(&r.as_str()) {
                    let (idx, jdx) = (i.to_string(), j.to_string());
                    let what = if r.contains('/') { "repo" } else { "org" };
                    self.diags.error(
                        self.file,
                        node.locate(&[section, &idx, "repos", &jdx]),
                        format!("{section}[{i}].repos[{j}]"),
                        format!(
                            "the {what} {r:?} is duplicated in the '{section}' plugin configuration"
                        ),
                    );
                } else {
                    seen.push(r);
                }
            }
        }
    }

    fn welcome(&mut self, node: &Node, s: &Sections) {
        for (i, w) in s.welcome.iter().enumerate() {
            if w.message_template.is_empty() {
                continue;
            }
            if let Err(e) = crate::plugins::welcome::render(&w.message_template, "o", "r", "u", "")
            {
                let idx = i.to_string();
                self.diags.error(
                    self.file,
                    node.locate(&["welcome", &idx, "message_template"]),
                    format!("welcome[{i}].message_template"),
                    e,
                );
            }
        }
    }
}
