//! Rules of a decorated job's decoration config (Prow's
//! `DecorationConfig.Validate` and `GCSConfiguration.Validate`): utility
//! images, the upload bucket, clone secrets, where refs are cloned, and
//! containers that say what to run. Each problem is its own error, where
//! Prow stops at the first.
//!
//! Two rules are stricter than Prow, because what Prow accepts there fails
//! only once a job runs: a `gcs_configuration` with no bucket (Prow reads it
//! as `gs://` and every upload fails), and a misspelt `utility_images` key
//! (Prow ignores it, so that utility runs some other image, or none).

use k8s_openapi::api::core::v1 as core;

use super::{At, Validator};
use crate::config::jobs::UtilityConfig;
use crate::diagnostics::{Diagnostics, did_you_mean};
use crate::prowjob::decorate::paths::go_path_clean;
use crate::prowjob::{DecorationConfig, GcsConfiguration};
use crate::yaml::{Mark, Node};

/// The keys of `utility_images`, one per pod utility.
const UTILITY_IMAGES: [&str; 4] = ["clonerefs", "initupload", "entrypoint", "sidecar"];
const PATH_STRATEGIES: [&str; 3] = ["legacy", "explicit", "single"];

impl Validator<'_> {
    pub(super) fn decoration(&mut self, at: &At, dc: &DecorationConfig, spec: &core::PodSpec) {
        // Point into the job's own decoration_config where it has one;
        // otherwise the config came from plank's defaults, so point at the
        // job's `decorate`.
        let own = at.source.outline.get("decoration_config").is_some();
        let field = |sub: &[&'static str]| -> Vec<&str> {
            if own {
                let mut f = vec!["decoration_config"];
                f.extend_from_slice(sub);
                f
            } else {
                vec!["decorate"]
            }
        };
        let mut problems: Vec<(Vec<&str>, String)> = Vec::new();
        match &dc.utility_images {
            None => problems.push((
                field(&[]),
                "utility image config is not specified (set plank.default_decoration_config_entries or decoration_config.utility_images)".to_string(),
            )),
            Some(u) => {
                let missing: Vec<&str> = UTILITY_IMAGES
                    .into_iter()
                    .zip([&u.clonerefs, &u.initupload, &u.entrypoint, &u.sidecar])
                    .filter(|(_, image)| image.is_empty())
                    .map(|(key, _)| key)
                    .collect();
                if !missing.is_empty() {
                    problems.push((
                        field(&["utility_images"]),
                        format!(
                            "the following utility images are not specified: {}",
                            missing.join(", ")
                        ),
                    ));
                }
            }
        }
        match &dc.gcs_configuration {
            None => problems.push((
                field(&[]),
                "GCS upload configuration is not specified (gcs_configuration)".to_string(),
            )),
            Some(g) => {
                for (sub, msg) in gcs_problems(g) {
                    let mut f = field(&["gcs_configuration"]);
                    if own {
                        f.extend(sub);
                    }
                    problems.push((f, msg));
                }
            }
        }
        if dc.oauth_token_secret.is_some() && !dc.ssh_key_secrets.is_empty() {
            problems.push((
                field(&["oauth_token_secret"]),
                "both OAuth token and SSH key secrets are specified: clonerefs uses one or the other".to_string(),
            ));
        }
        for (f, p) in problems {
            self.error(at, &f, format!("invalid decoration config: {p}"));
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

    /// Every `path_alias` names a directory under `$GOPATH/src`: clonerefs
    /// clones there and `SRC_HOST`/`SRC_BASE` are read from it.
    pub(super) fn path_aliases(&mut self, at: &At, u: &UtilityConfig) {
        let mut aliases: Vec<(Vec<String>, &str)> =
            vec![(vec!["path_alias".into()], &u.path_alias)];
        for (i, r) in u.extra_refs.iter().enumerate() {
            aliases.push((
                vec!["extra_refs".into(), i.to_string(), "path_alias".into()],
                &r.path_alias,
            ));
        }
        for (f, alias) in aliases {
            if let Some(why) = path_alias_problem(alias) {
                let f: Vec<&str> = f.iter().map(String::as_str).collect();
                self.error(
                    at,
                    &f,
                    format!("path_alias {alias:?} {why}: it must be a relative path under $GOPATH/src (such as k8s.io/test-infra)"),
                );
            }
        }
    }

    /// Unknown keys under the job's `decoration_config.utility_images`.
    pub(super) fn utility_image_keys(&mut self, at: &At) {
        let Some(images) = at
            .source
            .outline
            .get("decoration_config")
            .and_then(|dc| dc.value.get("utility_images"))
        else {
            return;
        };
        let file = at.source.file.clone();
        let path = at.field(&["decoration_config", "utility_images"]);
        let found = unknown_utility_images(images.value.entries().map(|e| (e.key, e.key_mark)));
        for (key, mark, msg) in found {
            self.diags
                .error(&file, mark, format!("{path}.{key}"), at.message(msg));
        }
    }
}

/// Unknown `utility_images` keys in config.yaml's decoration defaults.
pub(in crate::config) fn default_utility_image_keys(
    diags: &mut Diagnostics,
    file: &str,
    node: &Node,
) {
    let Some(plank) = node.get("plank") else {
        return;
    };
    let mut configs: Vec<(String, &Node)> = Vec::new();
    if let Some(entries) = plank.value.get("default_decoration_config_entries") {
        for (i, e) in entries.value.items().iter().enumerate() {
            if let Some(c) = e.get("config") {
                configs.push((
                    format!("plank.default_decoration_config_entries[{i}].config"),
                    &c.value,
                ));
            }
        }
    }
    if let Some(legacy) = plank.value.get("default_decoration_configs") {
        for e in legacy.value.entries() {
            configs.push((
                format!("plank.default_decoration_configs.{}", e.key),
                &e.value,
            ));
        }
    }
    for (path, config) in configs {
        let Some(images) = config.get("utility_images") else {
            continue;
        };
        let keys = images.value.entries().iter();
        for (key, mark, msg) in unknown_utility_images(keys.map(|e| (e.key.as_str(), e.key_mark))) {
            diags.error(file, mark, format!("{path}.utility_images.{key}"), msg);
        }
    }
}

/// The keys of a `utility_images` mapping (key, where it is) that name no
/// pod utility.
fn unknown_utility_images<'k>(
    keys: impl Iterator<Item = (&'k str, Mark)>,
) -> Vec<(String, Mark, String)> {
    keys.filter(|(key, _)| !UTILITY_IMAGES.contains(key))
        .map(|(key, mark)| {
            let hint = did_you_mean(key, UTILITY_IMAGES)
                .map(|s| format!(" — did you mean `{s}`?"))
                .unwrap_or_default();
            let msg = format!(
                "unknown utility image `{key}`{hint} (known: {}); Prow ignores it, so the utility it was meant for runs another image or none",
                UTILITY_IMAGES.join(", ")
            );
            (key.to_string(), mark, msg)
        })
        .collect()
}

/// What is wrong with a `gcs_configuration`, by sub-field.
fn gcs_problems(g: &GcsConfiguration) -> Vec<(Vec<&str>, String)> {
    let mut out: Vec<(Vec<&str>, String)> = Vec::new();
    // `s3://name/prefix`, `gs://name`, or a bare `name` (meaning gs).
    let name = g
        .bucket
        .split_once("://")
        .map_or(g.bucket.as_str(), |(_, rest)| rest);
    let name = name.split('/').next().unwrap_or_default();
    if g.bucket.is_empty() {
        out.push((
            vec!["bucket"],
            "gcs_configuration.bucket is not set: the pod utilities would have nowhere to upload (set s3://<bucket> or gs://<bucket>)".to_string(),
        ));
    } else if name.is_empty() {
        out.push((
            vec!["bucket"],
            format!(
                "gcs_configuration.bucket {:?} names no bucket: expected <bucket>[/<path>] or <scheme>://<bucket>[/<path>]",
                g.bucket
            ),
        ));
    }
    for (ext, media_type) in &g.media_types {
        if let Err(e) = check_media_type(media_type) {
            out.push((
                vec!["mediaTypes", ext.as_str()],
                format!("invalid extension media type {media_type:?} for {ext:?}: {e}"),
            ));
        }
    }
    if !PATH_STRATEGIES.contains(&g.path_strategy.as_str()) {
        out.push((
            vec!["path_strategy"],
            "gcs_configuration.path_strategy must be one of legacy, explicit or single".to_string(),
        ));
    } else if g.path_strategy != "explicit"
        && (g.default_org.is_empty() || g.default_repo.is_empty())
    {
        out.push((
            vec!["path_strategy"],
            format!(
                "gcs_configuration.default_org and default_repo must be set for path_strategy {:?}",
                g.path_strategy
            ),
        ));
    }
    out
}

/// Why a path alias would leave `$GOPATH/src`, if it would.
fn path_alias_problem(alias: &str) -> Option<&'static str> {
    if alias.is_empty() {
        return None;
    }
    if alias.starts_with('/') {
        return Some("is absolute");
    }
    let clean = go_path_clean(alias);
    (clean == ".." || clean.starts_with("../")).then_some("leaves $GOPATH/src through `..`")
}

/// Go's `mime.ParseMediaType` accepts it: `type[/subtype]` of token
/// characters, then `; name=value` parameters (a value is a token or a
/// quoted string), a trailing `;` allowed.
fn check_media_type(v: &str) -> Result<(), &'static str> {
    let (base, params) = v.split_once(';').map_or((v, None), |(b, p)| (b, Some(p)));
    let base = base.trim();
    let (kind, rest) = take_token(base);
    if kind.is_empty() {
        return Err("no media type");
    }
    if !rest.is_empty() {
        let Some(sub) = rest.strip_prefix('/') else {
            return Err("expected slash after first token");
        };
        let (subtype, rest) = take_token(sub);
        if subtype.is_empty() {
            return Err("expected token after slash");
        }
        if !rest.is_empty() {
            return Err("unexpected content after media subtype");
        }
    }
    let Some(params) = params else {
        return Ok(());
    };
    let mut names: Vec<String> = Vec::new();
    let count = params.split(';').count();
    for (i, param) in params.split(';').enumerate() {
        let param = param.trim();
        let last = i + 1 == count;
        if param.is_empty() {
            if last {
                break;
            }
            return Err("invalid media parameter");
        }
        let Some((name, value)) = param.split_once('=') else {
            return Err("invalid media parameter");
        };
        let (name, rest) = take_token(name.trim());
        let value = value.trim();
        let value_ok = if let Some(quoted) = value.strip_prefix('"') {
            quoted.ends_with('"')
        } else {
            !value.is_empty() && take_token(value).1.is_empty()
        };
        if name.is_empty() || !rest.is_empty() || !value_ok {
            return Err("invalid media parameter");
        }
        let name = name.to_ascii_lowercase();
        if names.contains(&name) {
            return Err("duplicate parameter name");
        }
        names.push(name);
    }
    Ok(())
}

/// The leading run of RFC 1521 token characters, and the rest.
fn take_token(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !c.is_ascii() || c <= ' ' || c == '\x7f' || "()<>@,;:\\\"/[]?=".contains(c))
        .unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_aliases_must_stay_under_gopath_src() {
        for (alias, want) in [
            ("k8s.io/test-infra", None),
            ("a/../b", None),
            ("", None),
            ("/etc", Some("is absolute")),
            ("..", Some("leaves $GOPATH/src through `..`")),
            ("a/../../b", Some("leaves $GOPATH/src through `..`")),
        ] {
            assert_eq!(path_alias_problem(alias), want, "{alias:?}");
        }
    }

    #[test]
    fn media_types_parse_as_go_parses_them() {
        for (v, ok) in [
            ("text/plain", true),
            ("text/plain; charset=utf-8", true),
            ("text/plain; charset=\"utf-8\"", true),
            ("text/plain;", true),
            ("text", true),
            ("", false),
            ("text/", false),
            ("text plain", false),
            ("text/plain/x", false),
            ("text/plain; charset", false),
            ("text/plain; a=1; A=2", false),
        ] {
            assert_eq!(check_media_type(v).is_ok(), ok, "{v:?}");
        }
    }
}
