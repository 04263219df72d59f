//! A jenkins operator's `job_url_template`: the Go template Prow's operator
//! executes on the ProwJob to set its link once the build runs (OpenShift's
//! pointed at the build's page on Jenkins:
//! `https://ci.example.com/job/{{.Spec.Job}}/{{.Status.JenkinsBuildID}}/`).
//!
//! Skiff renders the template's field references — the ones in [`FIELDS`],
//! with `{{-`/`-}}` trimming — and refuses every other action (`if`,
//! `index`, pipelines), so a template it cannot render fails in
//! `check-config`, not on a running job. Like Go's, a reference through
//! absent refs (a periodic's `.Spec.Refs.Org`) is an error; the syncer then
//! keeps the job's deck link, as Prow keeps the URL it had.

use crate::prowjob::ProwJob;

/// The field references Skiff renders.
pub const FIELDS: &[&str] = &[
    ".ObjectMeta.Name",
    ".Name",
    ".Spec.Type",
    ".Spec.Agent",
    ".Spec.Cluster",
    ".Spec.Job",
    ".Spec.Context",
    ".Spec.Refs.Org",
    ".Spec.Refs.Repo",
    ".Spec.Refs.BaseRef",
    ".Spec.Refs.BaseSHA",
    ".Status.State",
    ".Status.BuildID",
    ".Status.JenkinsBuildID",
    ".Status.PodName",
];

/// The value of a field reference, or why there is none.
fn field(job: &ProwJob, name: &str) -> Result<String, String> {
    let refs = || {
        job.spec
            .refs
            .as_ref()
            .ok_or_else(|| format!("template: {name}: the job has no refs"))
    };
    Ok(match name {
        ".ObjectMeta.Name" | ".Name" => job.metadata.name.clone(),
        ".Spec.Type" => job
            .spec
            .r#type
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        ".Spec.Agent" => job.spec.agent.clone(),
        ".Spec.Cluster" => job.spec.cluster.clone(),
        ".Spec.Job" => job.spec.job.clone(),
        ".Spec.Context" => job.spec.context.clone(),
        ".Spec.Refs.Org" => refs()?.org.clone(),
        ".Spec.Refs.Repo" => refs()?.repo.clone(),
        ".Spec.Refs.BaseRef" => refs()?.base_ref.clone(),
        ".Spec.Refs.BaseSHA" => refs()?.base_sha.clone(),
        ".Status.State" => job
            .status
            .state
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        ".Status.BuildID" => job.status.build_id.clone(),
        ".Status.JenkinsBuildID" => job.status.jenkins_build_id.clone(),
        ".Status.PodName" => job.status.pod_name.clone(),
        other => {
            return Err(format!(
                "template: `{{{{{other}}}}}` is not supported: Skiff renders only field references ({})",
                FIELDS.join(", ")
            ));
        }
    })
}

/// The template executed on `job`.
pub fn render(template: &str, job: &ProwJob) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!(
                "template: unclosed action at byte {}: add `}}}}`",
                template.len() - rest.len() + start
            ));
        };
        let mut action = &after[..end];
        if let Some(a) = action.strip_prefix("- ") {
            out.truncate(out.trim_end().len());
            action = a;
        }
        let mut next = &after[end + 2..];
        if let Some(a) = action.strip_suffix(" -") {
            next = next.trim_start();
            action = a;
        }
        out.push_str(&field(job, action.trim())?);
        rest = next;
    }
    out.push_str(rest);
    Ok(out)
}

/// Why `template` cannot be rendered, if it cannot: every action is checked
/// on a job that has refs.
pub fn check(template: &str) -> Result<(), String> {
    let mut job = ProwJob::default();
    job.spec.refs = Some(crate::prowjob::Refs::default());
    render(template, &job).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prowjob::{ProwJobState, ProwJobType, Refs};

    fn job() -> ProwJob {
        let mut j = ProwJob::default();
        j.metadata.name = "0f4c".into();
        j.spec.r#type = Some(ProwJobType::Presubmit);
        j.spec.job = "pull-widgets-unit".into();
        j.spec.refs = Some(Refs {
            org: "acme".into(),
            repo: "widgets".into(),
            ..Refs::default()
        });
        j.status.state = Some(ProwJobState::Pending);
        j.status.build_id = "1795428000000".into();
        j.status.jenkins_build_id = "7".into();
        j
    }

    #[test]
    fn field_references_render_as_go_prints_them() {
        let cases = [
            (
                "https://ci/job/{{.Spec.Job}}/{{.Status.JenkinsBuildID}}/",
                "https://ci/job/pull-widgets-unit/7/",
            ),
            (
                "{{ .Spec.Refs.Org }}_{{.Spec.Refs.Repo}}/{{.Status.BuildID}}",
                "acme_widgets/1795428000000",
            ),
            (
                "{{.Spec.Type}}:{{.Status.State}}:{{.Name}}",
                "presubmit:pending:0f4c",
            ),
            ("a  {{- .ObjectMeta.Name -}}  b", "a0f4cb"),
            ("no actions", "no actions"),
        ];
        for (template, want) in cases {
            assert_eq!(render(template, &job()).as_deref(), Ok(want), "{template}");
        }
    }

    #[test]
    fn other_actions_are_refused_by_check_config() {
        for template in [
            "{{if eq .Spec.Type \"presubmit\"}}pr{{end}}",
            "{{index .Spec.Refs.Pulls 0}}",
            "{{.Spec.Job | printf \"%s\"}}",
            "{{.Spec.Job",
        ] {
            assert!(check(template).is_err(), "{template}");
        }
        assert_eq!(check("https://ci/{{.Spec.Refs.Org}}"), Ok(()));
    }

    #[test]
    fn refs_a_job_does_not_have_are_an_error_as_in_go() {
        let mut periodic = job();
        periodic.spec.refs = None;
        let e = render("{{.Spec.Refs.Repo}}", &periodic).unwrap_err();
        assert!(e.contains("no refs"), "{e}");
    }
}
