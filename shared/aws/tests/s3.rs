//! The S3 log store against moto_server. ./scripts/test starts moto and
//! exports SKIFF_MOTO_ENDPOINT.

#[path = "support/moto.rs"]
mod moto;

use moto::fresh_bucket as bucket;
use skiff_aws::logs::S3LogStore;
use skiff_core::ports::{LogStore, PortError};

async fn client() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(moto::s3_config().await.build())
}

async fn head(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<String> {
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => Some(out.content_type().unwrap_or_default().to_string()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn put_then_get_round_trips_the_bytes_at_prow_keys() {
    let client = client().await;
    let b = bucket(&client, "roundtrip").await;
    let store = S3LogStore::new(client.clone(), b.clone(), "skiff/".into());
    let path = "pr-logs/pull/org_repo/7/unit/42";
    let log = b"line 1\nline 2 \xe2\x9c\x93\n\x00binary tail".to_vec();
    store
        .put(path, "build-log.txt", &log)
        .await
        .unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(
        store.get(path, "build-log.txt").await,
        Ok(Some(log.clone()))
    );
    assert!(
        head(
            &client,
            &b,
            "skiff/pr-logs/pull/org_repo/7/unit/42/build-log.txt"
        )
        .await
        .is_some(),
        "the object lives at <prefix>/<path>/<name>"
    );

    // Writing the same bytes twice is fine; new bytes replace old ones.
    store
        .put(path, "build-log.txt", &log)
        .await
        .unwrap_or_else(|e| panic!("put again: {e}"));
    store
        .put(path, "build-log.txt", b"replaced")
        .await
        .unwrap_or_else(|e| panic!("put new bytes: {e}"));
    assert_eq!(
        store.get(path, "build-log.txt").await,
        Ok(Some(b"replaced".to_vec()))
    );

    store
        .put(path, "empty.txt", b"")
        .await
        .unwrap_or_else(|e| panic!("put empty: {e}"));
    assert_eq!(store.get(path, "empty.txt").await, Ok(Some(Vec::new())));
}

#[tokio::test]
async fn an_empty_prefix_puts_keys_at_the_bucket_root() {
    let client = client().await;
    let b = bucket(&client, "root").await;
    let store = S3LogStore::new(client.clone(), b.clone(), String::new());
    store
        .put("logs/periodic/1", "started.json", b"{}")
        .await
        .unwrap_or_else(|e| panic!("put: {e}"));
    assert!(
        head(&client, &b, "logs/periodic/1/started.json")
            .await
            .is_some()
    );
    assert!(
        head(&client, &b, "/logs/periodic/1/started.json")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_missing_object_is_none() {
    let client = client().await;
    let b = bucket(&client, "missing").await;
    let store = S3LogStore::new(client, b, "p".into());
    assert_eq!(store.get("logs/unit/1", "finished.json").await, Ok(None));
}

#[tokio::test]
async fn content_types_let_a_browser_show_logs_and_metadata() {
    let client = client().await;
    let b = bucket(&client, "types").await;
    let store = S3LogStore::new(client.clone(), b.clone(), String::new());
    let cases = [
        ("build-log.txt", "text/plain; charset=utf-8"),
        ("started.json", "application/json"),
        ("finished.json", "application/json"),
        ("artifacts/junit.xml", "application/xml"),
        ("artifacts/core", "application/octet-stream"),
    ];
    for (name, _) in cases {
        store
            .put("logs/unit/3", name, b"x")
            .await
            .unwrap_or_else(|e| panic!("put {name}: {e}"));
    }
    for (name, want) in cases {
        assert_eq!(
            head(&client, &b, &format!("logs/unit/3/{name}"))
                .await
                .as_deref(),
            Some(want),
            "{name}"
        );
    }
}

#[tokio::test]
async fn paths_that_leave_the_root_are_rejected_before_any_request() {
    // A bucket that does not exist: a request would fail differently.
    let store = S3LogStore::new(client().await, "skiff-never-made".into(), "p".into());
    for (path, name) in [
        ("logs/../../etc", "passwd"),
        ("/abs", "x.txt"),
        ("logs", "../x.txt"),
        ("logs", ""),
    ] {
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
}

#[tokio::test]
async fn a_missing_bucket_is_rejected_not_none() {
    let store = S3LogStore::new(client().await, "skiff-no-such-bucket".into(), String::new());
    let put = store.put("logs/unit/1", "build-log.txt", b"x").await;
    assert!(matches!(put, Err(PortError::Rejected(_))), "put: {put:?}");
    let get = store.get("logs/unit/1", "build-log.txt").await;
    assert!(matches!(get, Err(PortError::Rejected(_))), "get: {get:?}");
}

// ---------------------------------------------------------------------------
// Listing a job's directory (the deck's artifacts browser)

fn listed(listing: &skiff_core::ports::Listing) -> Vec<(&str, u64)> {
    listing
        .objects
        .iter()
        .map(|o| (o.name.as_str(), o.size))
        .collect()
}

#[tokio::test]
async fn a_listing_is_the_directorys_objects_relative_to_it_in_byte_order() {
    let client = client().await;
    let b = bucket(&client, "list").await;
    let store = S3LogStore::new(client.clone(), b.clone(), "skiff".into());
    let job = "pr-logs/pull/acme_widgets/42/pull-unit/1823";
    for (path, name, bytes) in [
        (job, "build-log.txt", &b"log\n"[..]),
        (job, "artifacts/junit.xml", b"<testsuite/>"),
        (job, "artifacts/e2e/junit_01.xml", b""),
        (job, "artifacts.txt", b"12345"),
        // A sibling build whose id extends this one's, and the job's marker.
        (
            "pr-logs/pull/acme_widgets/42/pull-unit/18230",
            "build-log.txt",
            b"x",
        ),
        (
            "pr-logs/pull/acme_widgets/42/pull-unit",
            "latest-build.txt",
            b"1823",
        ),
    ] {
        store
            .put(path, name, bytes)
            .await
            .unwrap_or_else(|e| panic!("put {name}: {e}"));
    }
    // A "folder" the S3 console made, and an object outside the prefix.
    for key in [
        format!("skiff/{job}/artifacts/"),
        format!("{job}/build-log.txt"),
    ] {
        client
            .put_object()
            .bucket(&b)
            .key(&key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e}"));
    }
    let listing = store
        .list(job)
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert!(!listing.truncated);
    assert_eq!(
        listed(&listing),
        [
            ("artifacts.txt", 5),
            ("artifacts/e2e/junit_01.xml", 0),
            ("artifacts/junit.xml", 12),
            ("build-log.txt", 4),
        ]
    );
    assert_eq!(
        store.list(&format!("{job}/")).await,
        Ok(listing),
        "a trailing slash names the same directory"
    );
    assert_eq!(
        store.list("logs/none/1").await.map(|l| l.objects.len()),
        Ok(0)
    );
}

#[tokio::test]
async fn a_listing_pages_through_s3_and_stops_at_the_cap() {
    use skiff_core::ports::MAX_LISTED;
    let client = client().await;
    let b = bucket(&client, "many").await;
    let store = std::sync::Arc::new(S3LogStore::new(client.clone(), b.clone(), String::new()));
    let job = "logs/dump/7";
    // One more object than a listing returns: ten full pages and one more.
    let mut puts = tokio::task::JoinSet::new();
    for chunk in (0..=MAX_LISTED)
        .collect::<Vec<_>>()
        .chunks(MAX_LISTED / 8 + 1)
    {
        let (store, chunk) = (store.clone(), chunk.to_vec());
        puts.spawn(async move {
            for i in chunk {
                store
                    .put(job, &format!("artifacts/case-{i:05}.txt"), b"ok")
                    .await
                    .unwrap_or_else(|e| panic!("put {i}: {e}"));
            }
        });
    }
    while let Some(done) = puts.join_next().await {
        done.unwrap_or_else(|e| panic!("a put task: {e}"));
    }
    let listing = store
        .list(job)
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert!(listing.truncated, "one object more than the cap");
    assert_eq!(listing.objects.len(), MAX_LISTED);
    assert_eq!(listing.objects[0].name, "artifacts/case-00000.txt");
    assert_eq!(
        listing.objects[MAX_LISTED - 1].name,
        format!("artifacts/case-{:05}.txt", MAX_LISTED - 1),
        "the first ones, in order, across pages"
    );
    assert!(listing.objects.iter().all(|o| o.size == 2));
}

#[tokio::test]
async fn a_listing_that_could_leave_the_root_is_rejected_before_any_request() {
    let store = S3LogStore::new(client().await, "skiff-never-made".into(), "p".into());
    for path in ["..", "logs/../..", "/etc", "lo\0gs"] {
        let got = store.list(path).await;
        assert!(
            matches!(got, Err(PortError::Rejected(_))),
            "list {path:?}: {got:?}"
        );
    }
}
