//! Where things are inside a decorated pod: the mounts the pod utilities
//! share, and where each ref is cloned (`pkg/pod-utils/decorate/podspec.go`,
//! `pkg/pod-utils/clone/clone.go` `PathForRefs`, `DetermineWorkDir`). The
//! local cluster maps the same paths onto a pod's directory, so a decorated
//! job sees one layout wherever it runs.

use crate::prowjob::Refs;

/// The `logs` volume: process logs, markers, clone records, artifacts.
pub const LOGS_MOUNT: &str = "/logs";
/// The `tools` volume: where `place-entrypoint` copies the entrypoint.
pub const TOOLS_MOUNT: &str = "/tools";
/// The `code` volume, and `GOPATH`.
pub const CODE_MOUNT: &str = "/home/prow/go";
/// `ARTIFACTS`: everything the test writes here is uploaded.
pub const ARTIFACTS_DIR: &str = "/logs/artifacts";
/// clonerefs' records (uploaded as `clone-records.json` + `clone-log.txt`).
pub const CLONE_LOG: &str = "/logs/clone.json";
/// The entrypoint binary, once placed.
pub const ENTRYPOINT_BINARY: &str = "/tools/entrypoint";

/// `gcs_credentials_secret`, mounted for initupload and sidecar.
pub const GCS_CREDENTIALS_MOUNT: &str = "/secrets/gcs";
/// `s3_credentials_secret`, mounted for initupload and sidecar.
pub const S3_CREDENTIALS_MOUNT: &str = "/secrets/s3-storage";
/// The key the upload tools read in either credentials secret.
pub const CREDENTIALS_FILE: &str = "service-account.json";
/// Each of `ssh_key_secrets` is mounted at `<this>/<secret>`.
pub const SSH_KEYS_MOUNT: &str = "/secrets/ssh";
/// `oauth_token_secret`: the token is `<this>/<key>`.
pub const OAUTH_MOUNT: &str = "/secrets/oauth";
/// `github_app_private_key_secret`: the key is `<this>/<key>`.
pub const GITHUB_APP_MOUNT: &str = "/secrets/github-app";
/// `cookiefile_secret`: the cookie file is `<this>/<key>`.
pub const COOKIEFILE_MOUNT: &str = "/secrets/cookiefile";
/// clonerefs' scratch space (`known_hosts` goes here).
pub const CLONEREFS_TMP_MOUNT: &str = "/tmp";

/// Where a test container's output goes (`processLog`). `prefix` is the
/// container's name in a pod of several test containers, empty otherwise,
/// so a single-container job keeps the names every Prow tool knows.
pub fn process_log(prefix: &str) -> String {
    per_container(LOGS_MOUNT, prefix, "process-log.txt", "-log.txt")
}

/// Where entrypoint writes a test container's exit code (`markerFile`).
pub fn marker_file(prefix: &str) -> String {
    per_container(LOGS_MOUNT, prefix, "marker-file.txt", "-marker.txt")
}

/// The JSON a test container may write for `finished.json`'s metadata
/// (`metadataFile`).
pub fn metadata_file(prefix: &str) -> String {
    per_container(ARTIFACTS_DIR, prefix, "metadata.json", "-metadata.json")
}

fn per_container(dir: &str, prefix: &str, single: &str, suffix: &str) -> String {
    if prefix.is_empty() {
        go_path_join(&[dir, single])
    } else {
        go_path_join(&[dir, &format!("{prefix}{suffix}")])
    }
}

/// The host clonerefs assumes when a ref names neither an alias nor a link.
const DEFAULT_HOST: &str = "github.com";

/// Where `refs` is cloned under `base` (`PathForRefs`): `base/src/` then the
/// `path_alias`, else `repo_link` without its scheme, else
/// `github.com/<org>/<repo>`.
pub fn path_for_refs(base: &str, refs: &Refs) -> String {
    let clone_path = if !refs.path_alias.is_empty() {
        refs.path_alias.clone()
    } else if !refs.repo_link.is_empty() {
        // Go's strings.Split(link, "://") then the last part.
        refs.repo_link
            .rsplit("://")
            .next()
            .unwrap_or(&refs.repo_link)
            .to_string()
    } else {
        format!("{DEFAULT_HOST}/{}/{}", refs.org, refs.repo)
    };
    go_path_join(&[base, "src", &clone_path])
}

/// The test containers' working directory (`DetermineWorkDir`): the checkout
/// of the first ref marked `workdir`, else of the first ref. `None` without
/// refs.
pub fn work_dir<'a>(refs: impl IntoIterator<Item = &'a Refs>) -> Option<String> {
    let refs: Vec<&Refs> = refs.into_iter().collect();
    let chosen = refs.iter().find(|r| r.workdir).or(refs.first())?;
    Some(path_for_refs(CODE_MOUNT, chosen))
}

/// Go's `path.Join`: empty elements dropped, the result cleaned (`.` and
/// `..` resolved lexically, repeated slashes collapsed).
pub fn go_path_join(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        return String::new();
    }
    go_path_clean(&joined)
}

/// Go's `path.Clean`.
pub fn go_path_clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(org: &str, repo: &str) -> Refs {
        Refs {
            org: org.into(),
            repo: repo.into(),
            ..Refs::default()
        }
    }

    #[test]
    fn a_ref_is_cloned_under_its_alias_else_its_link_else_github() {
        let mut r = refs("acme", "widgets");
        assert_eq!(
            path_for_refs(CODE_MOUNT, &r),
            "/home/prow/go/src/github.com/acme/widgets"
        );
        r.repo_link = "https://git.example.com/acme/widgets".into();
        assert_eq!(
            path_for_refs(CODE_MOUNT, &r),
            "/home/prow/go/src/git.example.com/acme/widgets"
        );
        r.path_alias = "k8s.io/widgets".into();
        assert_eq!(
            path_for_refs(CODE_MOUNT, &r),
            "/home/prow/go/src/k8s.io/widgets"
        );
    }

    #[test]
    fn the_work_dir_is_the_first_workdir_ref_else_the_first() {
        let a = refs("acme", "a");
        let mut b = refs("acme", "b");
        assert_eq!(
            work_dir([&a, &b]).as_deref(),
            Some("/home/prow/go/src/github.com/acme/a")
        );
        b.workdir = true;
        assert_eq!(
            work_dir([&a, &b]).as_deref(),
            Some("/home/prow/go/src/github.com/acme/b")
        );
        assert_eq!(work_dir([]), None);
    }

    #[test]
    fn one_test_container_keeps_prows_plain_file_names_several_are_prefixed() {
        assert_eq!(process_log(""), "/logs/process-log.txt");
        assert_eq!(marker_file(""), "/logs/marker-file.txt");
        assert_eq!(metadata_file(""), "/logs/artifacts/metadata.json");
        assert_eq!(process_log("e2e"), "/logs/e2e-log.txt");
        assert_eq!(marker_file("e2e"), "/logs/e2e-marker.txt");
        assert_eq!(metadata_file("e2e"), "/logs/artifacts/e2e-metadata.json");
    }

    #[test]
    fn go_path_clean_resolves_dots_like_go() {
        for (input, want) in [
            ("a/b/../c", "a/c"),
            ("/a//b/./c/", "/a/b/c"),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("a/../..", ".."),
            ("", "."),
            ("a/b", "a/b"),
            ("a/../../b", "../b"),
            ("/", "/"),
            ("a/b/..", "a"),
        ] {
            assert_eq!(go_path_clean(input), want, "{input:?}");
        }
    }
}
