//! `FsLogStore::list`: what the deck's artifacts browser and the reporter
//! see of a job's directory in `skiff dev`, on a real filesystem.

use skiff_core::ports::{LogStore, MAX_LISTED, PortError, StoredObject};
use skiff_local::fs_logs::FsLogStore;

const JOB: &str = "pr-logs/pull/acme_widgets/42/pull-unit/1823";

fn names(objects: &[StoredObject]) -> Vec<&str> {
    objects.iter().map(|o| o.name.as_str()).collect()
}

#[tokio::test]
async fn a_listing_is_every_file_under_the_directory_in_byte_order_with_sizes() {
    let root = tempfile::tempdir().unwrap();
    let store = FsLogStore::new(root.path());
    for (name, bytes) in [
        ("build-log.txt", &b"log\n"[..]),
        ("artifacts/junit.xml", b"<testsuite/>"),
        ("artifacts/e2e/junit_01.xml", b""),
        ("artifacts.txt", b"12345"),
        ("started.json", b"{}"),
    ] {
        store.put(JOB, name, bytes).await.unwrap();
    }
    // A sibling build whose name extends this one's, and the job's marker.
    store
        .put(&format!("{JOB}0"), "build-log.txt", b"other")
        .await
        .unwrap();
    store
        .put(
            "pr-logs/pull/acme_widgets/42/pull-unit",
            "latest-build.txt",
            b"1823",
        )
        .await
        .unwrap();

    let listing = store.list(JOB).await.unwrap();
    assert!(!listing.truncated);
    // S3's order: `artifacts.txt` before `artifacts/…` ('.' < '/').
    assert_eq!(
        listing.objects,
        [
            ("artifacts.txt", 5),
            ("artifacts/e2e/junit_01.xml", 0),
            ("artifacts/junit.xml", 12),
            ("build-log.txt", 4),
            ("started.json", 2),
        ]
        .map(|(name, size)| StoredObject {
            name: name.into(),
            size
        })
    );
    // The same directory named with stray slashes and dots.
    let again = store
        .list(&format!("./{}/", JOB.replace('/', "//")))
        .await
        .unwrap();
    assert_eq!(again, listing);
}

#[tokio::test]
async fn nothing_there_is_an_empty_listing() {
    let root = tempfile::tempdir().unwrap();
    let store = FsLogStore::new(root.path().join("not-yet"));
    assert!(store.list(JOB).await.unwrap().objects.is_empty());
    store.put("logs/j/1", "started.json", b"{}").await.unwrap();
    assert!(store.list("logs/j/2").await.unwrap().objects.is_empty());
    // A file is not a directory.
    assert!(
        store
            .list("logs/j/1/started.json")
            .await
            .unwrap()
            .objects
            .is_empty()
    );
}

#[tokio::test]
async fn links_are_neither_listed_nor_read() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("root");
    let outside = parent.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), b"do not serve").unwrap();
    let store = FsLogStore::new(&root);
    store.put(JOB, "build-log.txt", b"log").await.unwrap();
    let dir = root.join(JOB);
    std::os::unix::fs::symlink(outside.join("secret.txt"), dir.join("file-link.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("dir-link")).unwrap();
    // The job's whole directory reached through a link.
    std::os::unix::fs::symlink(&dir, root.join("logs-link")).unwrap();

    let listing = store.list(JOB).await.unwrap();
    assert_eq!(names(&listing.objects), ["build-log.txt"]);
    for (path, name) in [
        (JOB, "file-link.txt"),
        (JOB, "dir-link/secret.txt"),
        ("logs-link", "build-log.txt"),
    ] {
        assert_eq!(
            store.get(path, name).await.unwrap(),
            None,
            "{path}/{name} read through a link"
        );
    }
    assert!(store.list("logs-link").await.unwrap().objects.is_empty());
}

#[tokio::test]
async fn paths_that_leave_the_root_are_refused() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(parent.path().join("beside.txt"), b"x").unwrap();
    let store = FsLogStore::new(parent.path().join("root"));
    for path in ["..", "../", "logs/../..", "/etc", "/", "lo\0gs"] {
        let got = store.list(path).await;
        assert!(
            matches!(got, Err(PortError::Rejected(_))),
            "list {path:?}: {got:?}"
        );
    }
}

#[tokio::test]
async fn puts_in_flight_and_unnameable_files_are_not_objects() {
    let root = tempfile::tempdir().unwrap();
    let store = FsLogStore::new(root.path());
    store.put(JOB, "build-log.txt", b"log").await.unwrap();
    let dir = root.path().join(JOB);
    // What `put` writes before its rename.
    std::fs::write(dir.join(".finished.json.tmp-123-4"), b"{").unwrap();
    // A dotfile the test wrote is an object like any other.
    std::fs::write(dir.join(".hidden"), b"h").unwrap();
    std::fs::write(
        dir.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"bad\xff.txt")),
        b"x",
    )
    .unwrap();
    let listing = store.list(JOB).await.unwrap();
    assert_eq!(names(&listing.objects), [".hidden", "build-log.txt"]);
}

#[tokio::test]
async fn a_listing_stops_at_the_cap_and_says_it_was_cut() {
    let root = tempfile::tempdir().unwrap();
    let store = FsLogStore::new(root.path());
    let dir = root.path().join(JOB).join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..=MAX_LISTED {
        std::fs::write(dir.join(format!("case-{i:05}.txt")), b"").unwrap();
    }
    std::fs::write(root.path().join(JOB).join("build-log.txt"), b"log").unwrap();
    let listing = store.list(JOB).await.unwrap();
    assert!(listing.truncated);
    assert_eq!(listing.objects.len(), MAX_LISTED);
    // The first ones in order: every case but the last; the log comes after.
    assert_eq!(listing.objects[0].name, "artifacts/case-00000.txt");
    assert_eq!(
        listing.objects[MAX_LISTED - 1].name,
        format!("artifacts/case-{:05}.txt", MAX_LISTED - 1)
    );
    assert!(!names(&listing.objects).contains(&"build-log.txt"));
}
