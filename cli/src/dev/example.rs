//! The example's own repository: `skiff dev` with the example config (no
//! `--config-path`) shows a decorated job cloning, merging and uploading
//! artifacts without the network, so it makes the repository its jobs clone
//! (`infra/example/jobs/skiff-example/hello.yaml`): a bare git repository
//! with a `main` branch and a pull request at `refs/pull/1/head`.

use std::path::Path;
use std::process::Command;

/// Where the example's jobs clone from (relative to where `skiff dev` runs,
/// as their `clone_uri` says).
pub const EXAMPLE_REPO: &str = ".skiff/example-repos/hello.git";

/// The test script on `main`: it lists what it sees and writes a JUnit
/// report, as a Prow job writes into `$ARTIFACTS`.
const TEST_SH: &str = r#"#!/bin/sh
# The example job: runs in its checkout, under Skiff's pod utilities.
echo "checked out at $(git rev-parse --short HEAD) in $PWD"
ls
mkdir -p "$ARTIFACTS"
status=passed
[ -f greeting.txt ] || status=failed
cat > "$ARTIFACTS/junit_hello.xml" <<XML
<testsuite name="hello" tests="1">
  <testcase classname="hello" name="greeting_is_there">
$( [ "$status" = failed ] && echo '    <failure message="greeting.txt is missing">the pull request adds it</failure>' )
  </testcase>
</testsuite>
XML
[ "$status" = passed ]
"#;

/// Makes the example repository if it is not there; a machine without
/// `git` gets a warning and no repository (the example's decorated jobs
/// then fail with their clone log, which is a fine demonstration too).
pub fn ensure_example_repo() {
    let bare = Path::new(EXAMPLE_REPO);
    if bare.join("HEAD").exists() {
        return;
    }
    if let Err(e) = make(bare) {
        tracing::warn!(repo = EXAMPLE_REPO, error = %e, "cannot make the example repository");
    } else {
        tracing::info!(repo = EXAMPLE_REPO, "made the example repository");
    }
}

fn make(bare: &Path) -> Result<(), String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let w = work.path();
    git(
        Path::new("."),
        &["init", "--quiet", "--bare", &bare.to_string_lossy()],
    )?;
    // A fetch of the repository's tags asks for its HEAD too: it must name
    // a branch that exists.
    git(bare, &["symbolic-ref", "HEAD", "refs/heads/main"])?;
    git(w, &["init", "--quiet"])?;
    git(w, &["checkout", "--quiet", "-b", "main"])?;
    std::fs::write(
        w.join("README.md"),
        "# hello\n\nSkiff's example repository.\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(w.join("test.sh"), TEST_SH).map_err(|e| e.to_string())?;
    git(w, &["add", "."])?;
    git(w, &["commit", "--quiet", "-m", "hello"])?;
    let bare_path = std::fs::canonicalize(bare).map_err(|e| e.to_string())?;
    let bare_url = bare_path.to_string_lossy().into_owned();
    git(w, &["push", "--quiet", &bare_url, "main:refs/heads/main"])?;
    std::fs::write(w.join("greeting.txt"), "hello from pull request 1\n")
        .map_err(|e| e.to_string())?;
    git(w, &["add", "greeting.txt"])?;
    git(w, &["commit", "--quiet", "-m", "Add the greeting"])?;
    git(w, &["push", "--quiet", &bare_url, "HEAD:refs/pull/1/head"])?;
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Skiff example")
        .env("GIT_AUTHOR_EMAIL", "example@skiff.invalid")
        .env("GIT_COMMITTER_NAME", "Skiff example")
        .env("GIT_COMMITTER_EMAIL", "example@skiff.invalid")
        .output()
        .map_err(|e| format!("git {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
