//! How tide merges one pull: the method (the pool's, or a label's override)
//! and the commit title and message from `merge_commit_template`.

use super::pool::TidePull;
use crate::config::tide::{MergeMethod, Tide};

/// What `PUT /repos/{o}/{r}/pulls/{n}/merge` is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeRequest {
    /// The head tide tested: GitHub refuses the merge (409) if the pull
    /// moved since.
    pub sha: String,
    pub method: MergeMethod,
    /// Empty: GitHub's default.
    pub commit_title: String,
    pub commit_message: String,
}

/// Prow's `prMergeMethod`: the pool's method unless one of the squash,
/// rebase or merge labels says otherwise; two of them is an error.
pub fn merge_method(
    tide: &Tide,
    org: &str,
    repo: &str,
    branch: &str,
    pull: &TidePull,
) -> Result<MergeMethod, String> {
    let mut chosen = None;
    for (label, method) in [
        (&tide.squash_label, MergeMethod::Squash),
        (&tide.rebase_label, MergeMethod::Rebase),
        (&tide.merge_label, MergeMethod::Merge),
    ] {
        if !label.is_empty() && pull.labels.contains(label) {
            if chosen.is_some() {
                return Err("conflicting merge method override labels".into());
            }
            chosen = Some(method);
        }
    }
    Ok(chosen.unwrap_or_else(|| tide.merge_method(org, repo, branch)))
}

/// The merge request for `pull`: its head, method and rendered templates (a
/// template that does not render falls back to GitHub's default, as Prow's
/// does, with the reason returned for the log).
pub fn merge_request(
    tide: &Tide,
    org: &str,
    repo: &str,
    branch: &str,
    pull: &TidePull,
) -> Result<(MergeRequest, Vec<String>), String> {
    let method = merge_method(tide, org, repo, branch, pull)?;
    let mut warnings = Vec::new();
    let mut render_or_default = |t: &str| -> String {
        if t.is_empty() {
            return String::new();
        }
        render(t, org, repo, branch, pull).unwrap_or_else(|e| {
            warnings.push(e);
            String::new()
        })
    };
    let (title, message) = match tide.merge_commit_template(org, repo) {
        Some(t) => (render_or_default(&t.title), render_or_default(&t.body)),
        None => (String::new(), String::new()),
    };
    Ok((
        MergeRequest {
            sha: pull.head_sha.clone(),
            method,
            commit_title: title,
            commit_message: message,
        },
        warnings,
    ))
}

/// Renders a merge commit template over Prow's `CodeReviewCommon` fields
/// (`{{.Title}}`, `{{.Number}}`, `{{.Body}}`, `{{.AuthorLogin}}`,
/// `{{.HeadRefName}}`, `{{.HeadRefOID}}`, `{{.BaseRefName}}`, `{{.Org}}`,
/// `{{.Repo}}`, `{{.NameWithOwner}}`); Go's `text/template`, so no escaping.
pub fn render(
    template: &str,
    org: &str,
    repo: &str,
    branch: &str,
    pull: &TidePull,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!(
                "merge_commit_template: unclosed action in {template:?}"
            ));
        };
        let action = after[..end]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        let value = match action {
            ".Title" => pull.title.clone(),
            ".Number" => pull.number.to_string(),
            ".Body" => pull.body.clone(),
            ".AuthorLogin" => pull.author.clone(),
            ".HeadRefName" => pull.head_ref.clone(),
            ".HeadRefOID" => pull.head_sha.clone(),
            ".BaseRefName" => branch.to_string(),
            ".Org" => org.to_string(),
            ".Repo" => repo.to_string(),
            ".NameWithOwner" => format!("{org}/{repo}"),
            other => {
                return Err(format!(
                    "merge_commit_template: `{{{{{other}}}}}` is not supported (Skiff renders .Title, .Number, .Body, .AuthorLogin, .HeadRefName, .HeadRefOID, .BaseRefName, .Org, .Repo, .NameWithOwner)"
                ));
            }
        };
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tide::MergeCommitTemplate;

    fn pull(labels: &[&str]) -> TidePull {
        TidePull {
            number: 42,
            title: "Fix the frobnicator".into(),
            body: "It was broken.".into(),
            author: "alice".into(),
            head_sha: "abc".into(),
            head_ref: "fix".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            ..TidePull::default()
        }
    }

    fn tide() -> Tide {
        let mut t = Tide {
            squash_label: "tide/merge-method-squash".into(),
            rebase_label: "tide/merge-method-rebase".into(),
            ..Tide::default()
        };
        t.merge_method.insert(
            "acme".into(),
            crate::config::tide::MergeMethodEntry::Method(MergeMethod::Rebase),
        );
        t.merge_commit_template.insert(
            "acme/widgets".into(),
            MergeCommitTemplate {
                title: "{{ .Title }} (#{{.Number}})".into(),
                body:
                    "{{.Body}}\n\nby @{{.AuthorLogin}} from {{.HeadRefName}} into {{.BaseRefName}}"
                        .into(),
            },
        );
        t
    }

    #[test]
    fn a_label_overrides_the_pools_method_and_two_labels_refuse() {
        let t = tide();
        let m = |labels: &[&str]| merge_method(&t, "acme", "widgets", "main", &pull(labels));
        assert_eq!(m(&[]), Ok(MergeMethod::Rebase));
        assert_eq!(m(&["tide/merge-method-squash"]), Ok(MergeMethod::Squash));
        assert!(m(&["tide/merge-method-squash", "tide/merge-method-rebase"]).is_err());
    }

    #[test]
    fn the_request_carries_the_head_and_the_rendered_templates() {
        let (r, warnings) = merge_request(&tide(), "acme", "widgets", "main", &pull(&[])).unwrap();
        assert_eq!(r.sha, "abc");
        assert_eq!(r.commit_title, "Fix the frobnicator (#42)");
        assert_eq!(
            r.commit_message,
            "It was broken.\n\nby @alice from fix into main"
        );
        assert!(warnings.is_empty());
        let mut t = tide();
        t.merge_commit_template.insert(
            "acme/widgets".into(),
            MergeCommitTemplate {
                title: "{{ .GitHub.Whatever }}".into(),
                body: String::new(),
            },
        );
        let (r, warnings) = merge_request(&t, "acme", "widgets", "main", &pull(&[])).unwrap();
        assert_eq!(r.commit_title, "", "GitHub's default");
        assert_eq!(warnings.len(), 1);
    }
}
