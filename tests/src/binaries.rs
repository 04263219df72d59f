//! The function binaries the end-to-end tests run, built by cargo before the
//! first test uses them. Integration tests cannot depend on another package's
//! binaries, so the harness asks cargo itself, with the profile this test
//! binary was built with. It builds what `cargo test --workspace
//! --all-targets` builds (./scripts/test's command), so features unify the
//! same way and the call is a no-op there; a narrower selection (`-p …`)
//! would resolve features differently and rebuild shared crates each time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Every function, by binary name.
pub const FUNCTIONS: [&str; 11] = [
    "webhook",
    "trigger",
    "scheduler",
    "dispatcher",
    "syncer",
    "reporter",
    "sweeper",
    "deck",
    "redelivery",
    "tide",
    "gangway",
];

/// The directory this test binary was built into (`target/<profile>`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test binary>
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// `dir` as given, or, when relative, from the workspace root: cargo runs
/// tests and benches from their package's directory (`tests/`), not from
/// where the command was typed.
fn from_workspace_root(dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        return dir.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| dir.to_path_buf(), |root| root.join(dir))
}

/// The path of function `name`'s binary, built if needed. With
/// `SKIFF_FUNCTION_BINARIES` set, the binaries in that directory are used as
/// they are (e.g. `target/release`, built with `cargo build --release --bins`).
pub fn binary(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("SKIFF_FUNCTION_BINARIES") {
        let path = from_workspace_root(&PathBuf::from(dir)).join(name);
        assert!(
            path.exists(),
            "{} does not exist (SKIFF_FUNCTION_BINARIES, a relative path is taken from the \
             workspace root): build them with `cargo build --release --bins`",
            path.display()
        );
        return path;
    }
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(build_all);
    if let Err(e) = built {
        panic!("building the function binaries failed: {e}");
    }
    let path = profile_dir().join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn build_all() -> Result<(), String> {
    let dir = profile_dir();
    // `cargo bench` runs from target/release: measure the binaries as they
    // are deployed (the release profile), and build nothing else.
    let release = dir.file_name().is_some_and(|n| n == "release");
    let target_dir = dir.parent().ok_or("no target dir")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    // Cargo gives a test the package's variables (`CARGO_PKG_*`,
    // `CARGO_MANIFEST_DIR`, `OUT_DIR`, …); build scripts that watch them
    // would see a change and rebuild half the tree. Only the user's cargo
    // settings go through.
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let user_setting = [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_INCREMENTAL",
            "CARGO_PROFILE_",
            "CARGO_BUILD_",
            "CARGO_NET_",
            "CARGO_HTTP_",
            "CARGO_REGISTRIES_",
            "CARGO_REGISTRY_",
            "CARGO_TERM_",
        ]
        .iter()
        .any(|keep| name.starts_with(keep));
        if (name.starts_with("CARGO_") && !user_setting) || name == "OUT_DIR" {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(["build", "--quiet"])
        .arg("--target-dir")
        .arg(target_dir);
    if release {
        cmd.args(["--release", "--bins"]);
        for f in FUNCTIONS {
            cmd.args(["-p", &format!("skiff-{f}")]);
        }
    } else {
        cmd.args(["--workspace", "--all-targets"]);
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_binary_dirs_are_taken_from_the_workspace_root() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert_eq!(
            from_workspace_root(Path::new("target/release")),
            root.join("target/release")
        );
        assert_eq!(
            from_workspace_root(Path::new("/opt/bin")),
            PathBuf::from("/opt/bin")
        );
    }
}
