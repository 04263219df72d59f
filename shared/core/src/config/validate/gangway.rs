//! Rules of `skiff.gangway`: every rule names an IAM principal ARN pattern
//! and at least one job pattern; a principal listed twice is a warning (the
//! first rule that allows a job wins, the second may be a typo).

use crate::config::gangway::{Gangway, job_pattern_problem, principal_problem};
use crate::diagnostics::Diagnostics;
use crate::yaml::Node;

pub(in crate::config) fn gangway(diags: &mut Diagnostics, file: &str, node: &Node, g: &Gangway) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, rule) in g.allowed_callers.iter().enumerate() {
        let idx = i.to_string();
        let at = |rest: &[&str]| {
            let mut path = vec!["skiff", "gangway", "allowed_callers", idx.as_str()];
            path.extend_from_slice(rest);
            node.locate(&path)
        };
        let field = |rest: &str| format!("skiff.gangway.allowed_callers[{i}]{rest}");
        if let Some(problem) = principal_problem(&rule.principal) {
            diags.error(file, at(&["principal"]), field(".principal"), problem);
        } else if seen.contains(&rule.principal.as_str()) {
            diags.warning(
                file,
                at(&["principal"]),
                field(".principal"),
                format!(
                    "{} is listed twice: the first rule that allows a job decides",
                    rule.principal
                ),
            );
        } else {
            seen.push(&rule.principal);
        }
        if rule.jobs.is_empty() {
            diags.error(
                file,
                at(&[]),
                field(".jobs"),
                "a rule without jobs allows nothing: list job names or patterns (`*` for every job)",
            );
        }
        for (j, pattern) in rule.jobs.iter().enumerate() {
            if let Some(problem) = job_pattern_problem(pattern) {
                let jdx = j.to_string();
                diags.error(
                    file,
                    at(&["jobs", &jdx]),
                    field(&format!(".jobs[{j}]")),
                    problem,
                );
            }
        }
    }
}
