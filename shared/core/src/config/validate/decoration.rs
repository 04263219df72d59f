//! Rules of a decorated job's decoration config: utility images, GCS upload,
//! clone secrets, and containers that say what to run.

use k8s_openapi::api::core::v1 as core;

use super::{At, Validator};

impl Validator<'_> {
    pub(super) fn decoration(
        &mut self,
        at: &At,
        dc: &crate::prowjob::DecorationConfig,
        spec: &core::PodSpec,
    ) {
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
