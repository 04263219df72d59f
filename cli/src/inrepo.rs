//! `--prow-yaml PATH`: a repo's in-repo config read from disk — the file
//! `.prow.yaml`, or a `.prow/` directory whose `*.yaml`/`*.yml` files are
//! read recursively — for `skiff check-config` and `skiff plan event`.

use std::path::Path;

use skiff_core::config::inrepo::{self, MAX_FILES, RepoFile};

/// The files at `path`, named as given so messages point at them.
pub fn read(path: &Path) -> Result<Vec<RepoFile>, String> {
    let mut files = Vec::new();
    if path.is_dir() {
        walk(path, &mut files)?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        if files.len() > MAX_FILES {
            return Err(format!(
                "--prow-yaml {}: {} YAML files; at most {MAX_FILES} are read",
                path.display(),
                files.len()
            ));
        }
    } else {
        files.push(one(path)?);
    }
    Ok(files)
}

fn one(path: &Path) -> Result<RepoFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--prow-yaml: cannot read {}: {e}", path.display()))?;
    Ok(RepoFile {
        path: path.display().to_string(),
        text,
    })
}

fn walk(dir: &Path, out: &mut Vec<RepoFile>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("--prow-yaml: cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| format!("--prow-yaml: cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(one(&path)?);
        }
    }
    Ok(())
}

/// The note for a repo `in_repo_config` does not enable: its file would
/// never be read.
pub fn not_enabled(config: &skiff_core::config::Config, repo: &str) -> Option<String> {
    (!config.prow.in_repo_config.enabled_for(repo)).then(|| {
        format!(
            "in_repo_config does not enable {repo}: the trigger would not read its {}",
            inrepo::PROW_YAML
        )
    })
}
