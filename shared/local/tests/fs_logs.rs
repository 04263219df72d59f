use skiff_core::ports::{LogStore, PortError};
use skiff_local::fs_logs::FsLogStore;

#[tokio::test]
async fn put_then_get_round_trips_under_the_root() {
    let root = tempfile::tempdir().unwrap();
    let store = FsLogStore::new(root.path().join("logs-root"));
    let path = "pr-logs/pull/acme_widgets/42/pull-unit/1823";

    store.put(path, "build-log.txt", b"hello\n").await.unwrap();
    store
        .put(path, "artifacts/junit.xml", b"<x/>")
        .await
        .unwrap();

    assert_eq!(
        store.get(path, "build-log.txt").await.unwrap().as_deref(),
        Some(&b"hello\n"[..])
    );
    assert_eq!(
        std::fs::read(
            root.path()
                .join("logs-root")
                .join(path)
                .join("build-log.txt")
        )
        .unwrap(),
        b"hello\n"
    );
    assert_eq!(
        store
            .get(path, "artifacts/junit.xml")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"<x/>"[..])
    );
}

#[tokio::test]
async fn get_of_an_absent_file_is_none() {
    let root = tempfile::tempdir().unwrap();
    let store = FsLogStore::new(root.path());
    assert_eq!(store.get("logs/j/1", "finished.json").await.unwrap(), None);
    store.put("logs/j/1", "started.json", b"{}").await.unwrap();
    assert_eq!(store.get("logs/j/1", "finished.json").await.unwrap(), None);
    // A path component that is a file, not a directory.
    assert_eq!(store.get("logs/j/1/started.json", "x").await.unwrap(), None);
}

#[tokio::test]
async fn overwrite_replaces_whole_and_leaves_no_temp_files() {
    let root = tempfile::tempdir().unwrap();
    let store = FsLogStore::new(root.path());
    store
        .put("logs/j/1", "build-log.txt", b"first, longer content")
        .await
        .unwrap();
    store
        .put("logs/j/1", "build-log.txt", b"second")
        .await
        .unwrap();
    assert_eq!(
        store
            .get("logs/j/1", "build-log.txt")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"second"[..])
    );
    let names: Vec<_> = std::fs::read_dir(root.path().join("logs/j/1"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["build-log.txt"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_see_a_torn_overwrite() {
    const LEN: usize = 1 << 20;
    let root = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(FsLogStore::new(root.path()));
    store.put("p", "log", &[b'a'; LEN]).await.unwrap();

    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                let byte = if i % 2 == 0 { b'b' } else { b'a' };
                store.put("p", "log", &vec![byte; LEN]).await.unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() {
        let bytes = store.get("p", "log").await.unwrap().unwrap();
        assert_eq!(bytes.len(), LEN, "a reader saw a partly written file");
        assert!(
            bytes.iter().all(|b| *b == bytes[0]),
            "a reader saw two writes mixed"
        );
        reads += 1;
    }
    writer.await.unwrap();
    assert!(reads > 0);
}

#[tokio::test]
async fn paths_that_leave_the_root_are_rejected() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("root");
    let store = FsLogStore::new(&root);
    let cases = [
        ("../escaped", "n"),
        ("logs/../../escaped", "n"),
        ("/tmp", "n"),
        ("logs", "../escaped"),
        ("logs", "a/../../../escaped"),
        ("logs", "/etc/passwd"),
        ("logs", ".."),
        ("logs", ""),
        ("logs", "."),
        ("lo\0gs", "n"),
    ];
    for (path, name) in cases {
        let put = store.put(path, name, b"x").await;
        assert!(
            matches!(put, Err(PortError::Rejected(_))),
            "put {path:?} {name:?}: {put:?}"
        );
        let get = store.get(path, name).await;
        assert!(
            matches!(get, Err(PortError::Rejected(_))),
            "get {path:?} {name:?}: {get:?}"
        );
    }
    let outside: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(outside.is_empty(), "written next to the root: {outside:?}");
}
