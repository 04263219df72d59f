//! Rules of config.yaml's own sections: plank, the GitHub reporter, Skiff's
//! reporting and clusters, the jenkins operators and their Jenkins.

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
    if !prow.deck.rerun_auth_configs.is_empty() && !prow.deck.default_rerun_auth_configs.is_empty()
    {
        diags.error(
            file,
            node.locate(&["deck", "rerun_auth_configs"]),
            "deck.rerun_auth_configs",
            "deck.rerun_auth_configs and deck.default_rerun_auth_configs are mutually exclusive, please use one or the other",
        );
    }
    reporting(diags, file, node, prow);
    jenkins(diags, file, node, prow);
    super::tide::tide(diags, file, node, &prow.tide);
    super::tide::merge_queue(diags, file, node, &prow.tide, &prow.skiff.merge_queue);
    super::gangway::gangway(diags, file, node, &prow.skiff.gangway);
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

/// Prow's `jenkins_operators` rules (`ValidateController`, the selector
/// rules of `parseProwConfig`), and Skiff's: every operator has exactly one
/// `skiff.jenkins` entry saying where its Jenkins is, and every entry
/// serves an operator.
fn jenkins(diags: &mut Diagnostics, file: &str, node: &Node, prow: &ProwConfig) {
    use crate::run::jenkins::Selector;
    let operators = &prow.jenkins_operators;
    for (i, op) in operators.iter().enumerate() {
        let idx = i.to_string();
        let at = |key: &str| {
            (
                node.locate(&["jenkins_operators", &idx, key]),
                format!("jenkins_operators[{i}].{key}"),
            )
        };
        let mut error = |key: &str, msg: String| {
            let (mark, field) = at(key);
            diags.error(file, mark, field, msg);
        };
        if let Err(e) = Selector::parse(&op.label_selector) {
            error("label_selector", e.to_string());
        }
        if operators.len() > 1 && op.label_selector.trim().is_empty() {
            error(
                "label_selector",
                "selector overlap: cannot use an empty label_selector with multiple jenkins_operators".into(),
            );
        }
        if operators.len() == 1 && !op.label_selector.is_empty() {
            error(
                "label_selector",
                "label_selector is invalid when used for a single jenkins-operator (Prow refuses it): remove it here and in skiff.jenkins".into(),
            );
        }
        if operators[..i]
            .iter()
            .any(|o| o.label_selector == op.label_selector)
        {
            error(
                "label_selector",
                format!(
                    "label_selector {:?} is used by an earlier entry",
                    op.label_selector
                ),
            );
        }
        if let Err(e) = crate::run::jenkins::url_template::check(&op.job_url_template) {
            error("job_url_template", e);
        }
        if op.max_concurrency < 0 {
            error(
                "max_concurrency",
                format!(
                    "controller has invalid max_concurrency ({}), it needs to be a non-negative number",
                    op.max_concurrency
                ),
            );
        }
        if op.max_goroutines < 0 {
            error(
                "max_goroutines",
                format!(
                    "controller has invalid max_goroutines ({}), it needs to be a positive number",
                    op.max_goroutines
                ),
            );
        }
        if !op.report_template.is_empty() && !op.report_templates.is_empty() {
            error(
                "report_template",
                "both report_template and report_templates are specified".into(),
            );
        }
        let served = prow
            .skiff
            .jenkins
            .iter()
            .any(|m| m.label_selector == op.label_selector);
        if !served {
            let (mark, _) = at("label_selector");
            let mark = if op.label_selector.is_empty() {
                node.locate(&["jenkins_operators", &idx])
            } else {
                mark
            };
            diags.error(
                file,
                mark,
                format!("jenkins_operators[{i}]"),
                format!(
                    "no skiff.jenkins entry has label_selector {:?}: add one saying where this operator's Jenkins is (url, user, token_file or token_secret_arn)",
                    op.label_selector
                ),
            );
        }
    }
    for (i, m) in prow.skiff.jenkins.iter().enumerate() {
        let idx = i.to_string();
        let mut error = |key: &str, msg: String| {
            let mark = if key.is_empty() {
                node.locate(&["skiff", "jenkins", &idx])
            } else {
                node.locate(&["skiff", "jenkins", &idx, key])
            };
            let field = if key.is_empty() {
                format!("skiff.jenkins[{i}]")
            } else {
                format!("skiff.jenkins[{i}].{key}")
            };
            diags.error(file, mark, field, msg);
        };
        if !operators
            .iter()
            .any(|o| o.label_selector == m.label_selector)
        {
            let known: Vec<String> = operators
                .iter()
                .map(|o| format!("{:?}", o.label_selector))
                .collect();
            let key = if m.label_selector.is_empty() {
                ""
            } else {
                "label_selector"
            };
            error(
                key,
                format!(
                    "no jenkins_operators entry has label_selector {:?} (they have: {})",
                    m.label_selector,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            );
        }
        if prow.skiff.jenkins[..i]
            .iter()
            .any(|o| o.label_selector == m.label_selector)
        {
            error(
                "",
                format!(
                    "a second skiff.jenkins entry for label_selector {:?}",
                    m.label_selector
                ),
            );
        }
        let scheme_ok = m.url.starts_with("https://") || m.url.starts_with("http://");
        if !scheme_ok || m.url.len() <= "https://".len() {
            error(
                "url",
                format!(
                    "{:?} is not a Jenkins URL: expected http(s)://host[/path]",
                    m.url
                ),
            );
        }
        if !m.token_file.is_empty() && !m.token_secret_arn.is_empty() {
            error(
                "token_secret_arn",
                "token_file and token_secret_arn are exclusive: the token comes from one place"
                    .into(),
            );
        }
        let has_token = !m.token_file.is_empty() || !m.token_secret_arn.is_empty();
        if !m.user.is_empty() && !has_token {
            error(
                "user",
                "user needs a token: set token_file or token_secret_arn".into(),
            );
        }
        if m.bearer && !has_token {
            error(
                "bearer",
                "bearer needs a token: set token_file or token_secret_arn".into(),
            );
        }
        if m.bearer && !m.user.is_empty() {
            error(
                "user",
                "a bearer token names no user: remove user, or set bearer: false for basic auth"
                    .into(),
            );
        }
        if has_token && !m.bearer && m.user.is_empty() {
            error(
                "user",
                "basic auth needs a user: set user, or bearer: true if the token is a bearer token"
                    .into(),
            );
        }
    }
}
