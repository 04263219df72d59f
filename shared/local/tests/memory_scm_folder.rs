//! The `Scm` twin's folder listing (what CodeCommit's `GetFolder` answers
//! the trigger's in-repo config read): every file under the folder,
//! recursively, by its path from the root; `None` when there is none.

use skiff_core::ports::Scm;
use skiff_local::memory::MemoryScm;

#[tokio::test]
async fn a_folder_lists_its_files_recursively_and_a_missing_one_is_none() {
    let scm = MemoryScm::new("skiff-bot");
    scm.set_files(
        "c1",
        &[
            (".prow/unit.yaml", "a"),
            (".prow/e2e/e2e.yml", "b"),
            (".prow.yaml.bak", "c"),
            ("main.go", "d"),
        ],
    );
    for (folder, sha, want) in [
        (
            ".prow",
            "c1",
            Some(vec![".prow/e2e/e2e.yml", ".prow/unit.yaml"]),
        ),
        (
            ".prow/",
            "c1",
            Some(vec![".prow/e2e/e2e.yml", ".prow/unit.yaml"]),
        ),
        (".prow/e2e", "c1", Some(vec![".prow/e2e/e2e.yml"])),
        ("docs", "c1", None),
        (".prow", "other-commit", None),
    ] {
        let got = scm
            .folder_files("acme", "widgets", folder, sha)
            .await
            .expect("the twin answers");
        let want = want.map(|w| w.into_iter().map(String::from).collect::<Vec<_>>());
        assert_eq!(got, want, "{folder}@{sha}");
    }
}
