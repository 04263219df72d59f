//! Rules every job shares (Prow's `validateJobBase`): name, agent, labels and
//! annotations, job queue, rerun auth and cluster.

use std::collections::BTreeMap;

use super::{At, Validator};
use crate::config::jobs::{JobBase, UtilityConfig};
use crate::diagnostics::did_you_mean;
use crate::prowjob::labels::{RESERVED_FOR_DECORATION, is_qualified_name, is_valid_label_value};
use crate::prowjob::{JENKINS_AGENT, KUBERNETES_AGENT, ProwJobType, TEKTON_AGENT};

impl Validator<'_> {
    pub(super) fn job_base(&mut self, at: &At, b: &JobBase, u: &UtilityConfig, t: ProwJobType) {
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
        if b.agent == JENKINS_AGENT {
            self.jenkins_operator(at, b, t);
        }
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
        self.path_aliases(at, u);
        self.utility_image_keys(at);
        // Prow validates a decoration config wherever one is written, not
        // only on decorated jobs: a job that sets one is decorated when its
        // pod is built.
        if let (Some(dc), Some(spec)) = (&u.decoration_config, &b.spec) {
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
        } else if u.decoration_config.is_some() && agent != KUBERNETES_AGENT {
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

    /// A jenkins job is run by the operator whose `label_selector` selects
    /// its ProwJobs' labels (its own and the ones Prow adds); none is an
    /// error, not a job that stays triggered.
    fn jenkins_operator(&mut self, at: &At, b: &JobBase, t: ProwJobType) {
        let operators = &self.prow.jenkins_operators;
        let spec = crate::prowjob::ProwJobSpec {
            r#type: Some(t),
            job: b.name.clone(),
            ..Default::default()
        };
        let (labels, _) = crate::prowjob::labels::labels_and_annotations_for_spec(
            &spec,
            &b.labels,
            &BTreeMap::new(),
        );
        if crate::run::jenkins::operator_for(operators, &labels).is_some() {
            return;
        }
        let msg = if operators.is_empty() {
            "agent jenkins needs a jenkins_operators entry in config.yaml (and a skiff.jenkins entry saying where its Jenkins is)".to_string()
        } else {
            let selectors: Vec<String> = operators
                .iter()
                .map(|o| format!("{:?}", o.label_selector))
                .collect();
            format!(
                "no jenkins_operators label_selector selects this job's labels ({}): add the operator's label under labels:",
                selectors.join(", ")
            )
        };
        self.error(at, &["agent"], msg);
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
