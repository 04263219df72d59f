//! Rules of config.yaml's own sections: plank, the GitHub reporter, Skiff's
//! reporting and clusters.

use crate::config::prow::ProwConfig;
use crate::diagnostics::Diagnostics;
use crate::prowjob::ProwJobType;
use crate::yaml::Node;

/// Checks of config.yaml's own sections (`node` is the mapping of the sections
/// Skiff models).
pub(in crate::config) fn prow_config(
    diags: &mut Diagnostics,
    file: &str,
    node: &Node,
    prow: &ProwConfig,
) {
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
    super::decoration::default_utility_image_keys(diags, file, node);
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
        let max = crate::config::prow::MAX_TRIGGERED_REPORT_DELAY;
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
