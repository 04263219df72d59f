//! A decorated pod's volumes as directories of its work dir. Every `emptyDir`
//! volume `<name>` becomes `<pod dir>/<name>` (`logs`, `tools`, `code`, …),
//! and a container's paths under one of its mounts (`/logs/artifacts`,
//! `/home/prow/go/src/…`) are translated to that directory. Paths under no
//! mount are this machine's own.

use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::core::v1 as core;

/// One container's view of the pod's volumes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mounts {
    /// Mount path (cleaned, no trailing `/`) → directory on this machine;
    /// longest first, so a nested mount wins over its parent.
    table: Vec<(String, PathBuf)>,
    container: String,
}

/// The directory of `volume` in the pod's work dir.
pub(crate) fn volume_dir(pod_dir: &Path, volume: &str) -> PathBuf {
    pod_dir.join(volume)
}

/// The `emptyDir` volumes of the pod, and the names of those that cannot
/// exist here (secrets, config maps, host paths, claims …).
pub(crate) fn empty_dirs(spec: &core::PodSpec) -> (Vec<String>, Vec<String>) {
    let mut empty = Vec::new();
    let mut other = Vec::new();
    for v in spec.volumes.iter().flatten() {
        if v.empty_dir.is_some() {
            empty.push(v.name.clone());
        } else {
            other.push(v.name.clone());
        }
    }
    (empty, other)
}

impl Mounts {
    /// What `container` mounts of the pod's `emptyDir` volumes, under
    /// `pod_dir`. Mounts of other volumes are left out: the paths stay this
    /// machine's.
    pub(crate) fn for_container(
        pod_dir: &Path,
        spec: &core::PodSpec,
        container: &core::Container,
    ) -> Self {
        let (empty, _) = empty_dirs(spec);
        let mut table = Vec::new();
        for m in container.volume_mounts.iter().flatten() {
            if !empty.contains(&m.name) {
                continue;
            }
            let mount = clean(&m.mount_path);
            if mount == "/" || !mount.starts_with('/') {
                tracing::warn!(container = %container.name, mount = %m.mount_path, "mount path cannot be mapped locally: skipped");
                continue;
            }
            let mut dir = volume_dir(pod_dir, &m.name);
            if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
                match relative(sub) {
                    Some(sub) => dir.push(sub),
                    None => {
                        tracing::warn!(container = %container.name, sub_path = sub, "subPath must stay inside its volume: mount skipped");
                        continue;
                    }
                }
            }
            table.push((mount, dir));
        }
        table.sort_by_key(|(mount, _)| std::cmp::Reverse(mount.len()));
        Self {
            table,
            container: container.name.clone(),
        }
    }

    /// Mounts given directly: `(mount path, directory)`.
    #[cfg(test)]
    pub(crate) fn from_table(container: &str, table: &[(&str, &str)]) -> Self {
        let mut table: Vec<(String, PathBuf)> = table
            .iter()
            .map(|(m, d)| (clean(m), PathBuf::from(d)))
            .collect();
        table.sort_by_key(|(mount, _)| std::cmp::Reverse(mount.len()));
        Self {
            table,
            container: container.to_string(),
        }
    }

    /// The directory for a mounted path, if `path` is under a mount.
    pub(crate) fn translate(&self, path: &str) -> Option<PathBuf> {
        if !path.starts_with('/') {
            return None;
        }
        let path = clean(path);
        self.table.iter().find_map(|(mount, dir)| {
            let rest = path.strip_prefix(mount.as_str())?;
            if rest.is_empty() {
                return Some(dir.clone());
            }
            let rest = rest.strip_prefix('/')?;
            Some(dir.join(rest))
        })
    }

    /// Where an option's path is here. The pod utilities read and write
    /// only their volumes; a path outside them would be this machine's own
    /// files, so it is refused, naming `what` (`ENTRYPOINT_OPTIONS
    /// marker_file`) and the container.
    pub(crate) fn required(&self, what: &str, path: &str) -> Result<PathBuf, String> {
        self.translate(path).ok_or_else(|| {
            format!(
                "{what} {path:?} is not under an emptyDir volume mounted in container {:?}; \
                 only those exist locally",
                self.container
            )
        })
    }

    /// An env value or argument: translated when it is a path under a
    /// mount, else as it is. Only whole values are paths; a path inside a
    /// longer string (a flag's `--out=/logs/x`, JSON) stays as written.
    pub(crate) fn value(&self, value: &str) -> String {
        self.translate(value)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| value.to_string())
    }
}

/// A relative path that stays inside its base, or `None`.
fn relative(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// `/a//b/./c/` → `/a/b/c`; `..` is resolved lexically.
fn clean(path: &str) -> String {
    skiff_core::prowjob::decorate::paths::go_path_clean(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(name: &str, path: &str) -> core::VolumeMount {
        core::VolumeMount {
            name: name.into(),
            mount_path: path.into(),
            ..Default::default()
        }
    }

    fn volume(name: &str, empty: bool) -> core::Volume {
        core::Volume {
            name: name.into(),
            empty_dir: empty.then(Default::default),
            secret: (!empty).then(Default::default),
            ..Default::default()
        }
    }

    #[test]
    fn paths_under_a_mount_map_into_the_pod_dir_and_others_stay() {
        let spec = core::PodSpec {
            volumes: Some(vec![
                volume("logs", true),
                volume("code", true),
                volume("ssh-keys-bot", false),
            ]),
            ..Default::default()
        };
        let container = core::Container {
            name: "test".into(),
            volume_mounts: Some(vec![
                mount("logs", "/logs"),
                mount("code", "/home/prow/go/"),
                mount("ssh-keys-bot", "/secrets/ssh/bot"),
            ]),
            ..Default::default()
        };
        let m = Mounts::for_container(Path::new("/pods/p"), &spec, &container);
        let cases = [
            ("/logs", Some("/pods/p/logs")),
            ("/logs/artifacts", Some("/pods/p/logs/artifacts")),
            ("/logs//artifacts/./x", Some("/pods/p/logs/artifacts/x")),
            (
                "/home/prow/go/src/github.com/a/b",
                Some("/pods/p/code/src/github.com/a/b"),
            ),
            ("/logsX/a", None),
            ("/secrets/ssh/bot/key", None),
            ("/usr/bin/env", None),
            ("relative/path", None),
        ];
        for (path, want) in cases {
            assert_eq!(
                m.translate(path),
                want.map(PathBuf::from),
                "{path}: translate"
            );
        }
        let refused = m.required("SIDECAR_OPTIONS items", "/etc").unwrap_err();
        assert!(
            refused.starts_with(r#"SIDECAR_OPTIONS items "/etc" is not under"#)
                && refused.contains(r#"container "test""#),
            "{refused}"
        );
        assert_eq!(
            m.required("x", "/logs/a"),
            Ok(PathBuf::from("/pods/p/logs/a"))
        );
        assert_eq!(m.value("--out=/logs/x"), "--out=/logs/x");
        assert_eq!(m.value("/logs/x"), "/pods/p/logs/x");
    }

    #[test]
    fn a_nested_mount_wins_and_sub_paths_stay_inside_the_volume() {
        let m = Mounts::from_table("c", &[("/a", "/p/a"), ("/a/b", "/p/b")]);
        assert_eq!(m.translate("/a/b/c"), Some(PathBuf::from("/p/b/c")));
        assert_eq!(m.translate("/a/c"), Some(PathBuf::from("/p/a/c")));
        assert_eq!(relative("x/./y"), Some(PathBuf::from("x/y")));
        assert_eq!(relative("../x"), None);
        assert_eq!(relative("/x"), None);
    }
}
