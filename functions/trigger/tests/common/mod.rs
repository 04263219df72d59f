//! What the trigger's tests build on: the in-memory twins of the ports (from
//! `skiff-testkit`), set up as the trigger's world expects, and the
//! trigger's own builders.

#![allow(dead_code)]

use skiff_core::event::Repo;
use skiff_core::ports::PortError;
use skiff_testkit::MemoryScm;

pub fn unavailable() -> PortError {
    PortError::Unavailable("503 from upstream".into())
}

pub const BOT: &str = "skiff-bot";

/// One repository's worth of GitHub (or CodeCommit): alice is a member,
/// every pull request changes `src/main.go`, every branch is at `base-now`.
pub fn code_host() -> MemoryScm {
    let scm = MemoryScm::new(BOT);
    scm.add_member("alice");
    scm.set_changed_files(&["src/main.go"]);
    scm.set_branch_sha("base-now");
    scm
}

pub fn repo() -> Repo {
    Repo {
        org: "acme".into(),
        repo: "widgets".into(),
        html_url: "https://github.com/acme/widgets".into(),
    }
}
