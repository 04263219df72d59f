//! The gangway handler over the in-memory twins (store, dispatch queue,
//! clock), table by table: who may start what, Prow's validation, the three
//! kinds of job, pod_spec_options, reads, idempotency keys and failures.
//!
//! The caller's identity is given to the handler as the front end would
//! establish it: `Caller::Iam(arn)` is a principal AWS has verified (the
//! Function URL's SigV4 check is AWS's, not this crate's; the Lambda test
//! in tests/tests/gangway_lambda.rs drives that path).

use std::sync::Arc;

use serde_json::{Value, json};
use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::ports::{JobStore, PortError};
use skiff_core::prowjob::{ProwJobState, ProwJobType};
use skiff_gangway::{
    CALLER_ANNOTATION, Caller, Deps, GangwayOptions, GangwayRequest, GangwayResponse, handle,
};
use skiff_testkit::{ManualClock, MemoryQueue, MemoryStore, T0, clock_at, mins};

const CONFIG: &str = r#"
plank:
  default_decoration_config_entries:
  - config:
      utility_images: {clonerefs: c, initupload: i, entrypoint: e, sidecar: s}
      gcs_configuration: {bucket: s3://skiff-logs, path_strategy: explicit}
skiff:
  deck_url: https://deck.example.com
  gangway:
    allowed_callers:
    - principal: arn:aws:iam::111122223333:user/alice
      jobs: [nightly]
    - principal: "arn:aws:sts::111122223333:assumed-role/release/*"
      jobs: ["release-*", publish]
    - principal: arn:aws:iam::111122223333:role/ci
      jobs: ["*"]
"#;

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    decorate: true
    labels: {team: widgets, tier: fast}
    annotations: {owner: alice}
    spec:
      containers:
      - {name: test, image: alpine, command: [/bin/true], env: [{name: GOFLAGS, value: -mod=mod}]}
      - {name: db, image: postgres, command: [postgres]}
postsubmits:
  acme/widgets:
  - name: publish
    branches: [main]
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
periodics:
- name: nightly
  interval: 24h
  spec: {containers: [{image: alpine, command: [/bin/true]}]}
- name: release-notes
  interval: 24h
  spec: {containers: [{image: alpine, command: [/bin/true]}]}
"#;

const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const BOB: &str = "arn:aws:iam::999988887777:user/bob";
const RELEASE_SESSION: &str = "arn:aws:sts::111122223333:assumed-role/release/gh-actions-17";
const CI_SESSION: &str = "arn:aws:sts::111122223333:assumed-role/ci/build-9";
const BASE_SHA: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
const PULL_SHA: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f98765432";

fn config(text: &str) -> Config {
    let loaded = load(&[
        SourceFile {
            path: "config.yaml".into(),
            text: text.into(),
            role: FileRole::ProwConfig,
        },
        SourceFile {
            path: "jobs.yaml".into(),
            text: JOBS.into(),
            role: FileRole::JobConfig,
        },
    ]);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    loaded.config
}

struct World {
    config: Option<Config>,
    clock: Arc<ManualClock>,
    store: MemoryStore,
    dispatch: MemoryQueue,
    options: GangwayOptions,
}

impl World {
    fn new() -> Self {
        World::with(Some(config(CONFIG)))
    }

    fn with(config: Option<Config>) -> Self {
        let clock = clock_at(T0);
        World {
            config,
            store: MemoryStore::new(clock.clone()),
            dispatch: MemoryQueue::new(clock.clone()),
            clock,
            options: GangwayOptions {
                artifacts_url: "s3://skiff-artifacts".into(),
                ..GangwayOptions::default()
            },
        }
    }

    async fn call(
        &self,
        caller: &Caller,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let req = GangwayRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            caller: caller.clone(),
        };
        let deps = Deps {
            store: &self.store,
            dispatch: &self.dispatch,
            clock: self.clock.as_ref(),
            config: self.config.as_ref(),
            options: &self.options,
        };
        let GangwayResponse { status, body } = handle(&req, &deps).await;
        let value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {body}"));
        (status, value)
    }

    async fn create(&self, caller: &Caller, body: &Value) -> (u16, Value) {
        self.call(caller, "POST", "/v1/executions", &[], &body.to_string())
            .await
    }

    async fn get(&self, id: &str) -> (u16, Value) {
        self.call(
            &Caller::Anyone,
            "GET",
            &format!("/v1/executions/{id}"),
            &[],
            "",
        )
        .await
    }
}

fn iam(arn: &str) -> Caller {
    Caller::Iam(arn.into())
}

fn periodic(name: &str) -> Value {
    json!({"job_name": name, "job_execution_type": "PERIODIC"})
}

fn postsubmit(name: &str) -> Value {
    json!({
        "job_name": name, "job_execution_type": "POSTSUBMIT",
        "refs": {"org": "acme", "repo": "widgets", "base_ref": "main", "base_sha": BASE_SHA},
    })
}

fn presubmit(name: &str) -> Value {
    json!({
        "job_name": name, "job_execution_type": "PRESUBMIT",
        "refs": {"org": "acme", "repo": "widgets", "base_ref": "main", "base_sha": BASE_SHA,
                 "pulls": [{"number": 7, "sha": PULL_SHA, "author": "carol"}]},
    })
}

fn message(v: &Value) -> &str {
    v["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn each_kind_of_rule_allows_its_callers_and_jobs_and_refuses_the_rest() {
    let w = World::new();
    // (caller, request, status, what the refusal names)
    let cases: Vec<(Caller, Value, u16, &str)> = vec![
        (iam(ALICE), periodic("nightly"), 200, ""),
        (
            iam(ALICE),
            periodic("release-notes"),
            403,
            "skiff.gangway.allowed_callers[0] (principal arn:aws:iam::111122223333:user/alice) allows jobs [nightly]",
        ),
        (iam(RELEASE_SESSION), periodic("release-notes"), 200, ""),
        (iam(RELEASE_SESSION), postsubmit("publish"), 200, ""),
        (
            iam(RELEASE_SESSION),
            periodic("nightly"),
            403,
            "allowed_callers[1]",
        ),
        // A rule naming the role matches each of its sessions.
        (iam(CI_SESSION), presubmit("unit"), 200, ""),
        (
            iam(BOB),
            periodic("nightly"),
            403,
            "caller arn:aws:iam::999988887777:user/bob matches no principal in skiff.gangway.allowed_callers",
        ),
        (Caller::Anyone, periodic("release-notes"), 200, ""),
        (
            Caller::Refused("no IAM here: use --gangway-auth none".into()),
            periodic("nightly"),
            403,
            "no IAM here: use --gangway-auth none",
        ),
    ];
    for (caller, body, want, says) in cases {
        let (status, v) = w.create(&caller, &body).await;
        let why = format!("{caller:?} starting {}", body["job_name"]);
        assert_eq!(status, want, "{why}: {v}");
        if want == 200 {
            assert_eq!(v["job_status"], "TRIGGERED", "{why}");
            let id = v["id"].as_str().expect("an id");
            let record = w.store.job(id);
            let annotated = record.metadata.annotations.get(CALLER_ANNOTATION);
            match &caller {
                Caller::Iam(arn) => assert_eq!(annotated, Some(arn), "{why}"),
                _ => assert_eq!(annotated, None, "{why}"),
            }
        } else {
            assert_eq!(v["code"], 7, "{why}: PERMISSION_DENIED");
            assert!(message(&v).contains(says), "{why}: {v}");
        }
    }
    assert_eq!(w.store.all().len(), 5, "one record per allowed call");
    assert_eq!(w.dispatch.sent_ids().len(), 5);
}

#[tokio::test]
async fn without_rules_no_caller_may_start_a_job() {
    let w = World::with(Some(config(
        CONFIG.split("skiff:").next().unwrap_or_default(),
    )));
    let (status, v) = w.create(&iam(ALICE), &periodic("nightly")).await;
    assert_eq!(status, 403);
    assert_eq!(
        message(&v),
        "skiff.gangway.allowed_callers is empty: no caller may start jobs"
    );
    assert!(w.store.all().is_empty());
}

#[tokio::test]
async fn bad_bodies_and_refs_are_400_with_prows_words() {
    let w = World::new();
    let mut bad_pull = presubmit("unit");
    bad_pull["refs"]["pulls"][0]["sha"] = json!("abc123");
    let mut no_base_sha = postsubmit("publish");
    no_base_sha["refs"]["base_sha"] = json!("");
    let cases: Vec<(&str, String, &str)> = vec![
        ("not JSON", "{".into(), "the body is not a CreateJobExecutionRequest"),
        ("an unknown field", json!({"job_name": "nightly", "job_execution_type": "PERIODIC", "priority": 1}).to_string(), "unknown field `priority`"),
        ("an unknown type", json!({"job_name": "nightly", "job_execution_type": "HOURLY"}).to_string(), "not a JobExecutionType"),
        ("no job name", json!({"job_execution_type": "PERIODIC"}).to_string(), "job_name field cannot be empty"),
        ("no type", json!({"job_name": "nightly"}).to_string(), "unsupported JobExecutionType: JOB_EXECUTION_TYPE_UNSPECIFIED"),
        ("a batch", json!({"job_name": "unit", "job_execution_type": "BATCH", "refs": presubmit("unit")["refs"]}).to_string(), "unsupported JobExecutionType type: BATCH"),
        ("a periodic with refs", json!({"job_name": "nightly", "job_execution_type": 1, "refs": {"org": "acme"}}).to_string(), "periodic jobs cannot also have gitRefs"),
        ("a postsubmit without refs", json!({"job_name": "publish", "job_execution_type": "POSTSUBMIT"}).to_string(), "gitRefs must be defined for \"POSTSUBMIT\""),
        ("refs without a base SHA", no_base_sha.to_string(), "gitRefs: failed to validate: gitRefs: BaseSha cannot be empty"),
        ("a pull SHA that is not 40 hex digits", bad_pull.to_string(), "pull: invalid SHA: \"abc123\""),
        ("a presubmit without a pull", json!({"job_name": "unit", "job_execution_type": "PRESUBMIT", "refs": postsubmit("unit")["refs"]}).to_string(), "at least 1 Pulls is required"),
        ("an empty env value", json!({"job_name": "nightly", "job_execution_type": "PERIODIC", "pod_spec_options": {"envs": {"A": ""}}}).to_string(), "invalid environment variable key/value pair: \"A\", \"\""),
        ("a bad label value", json!({"job_name": "nightly", "job_execution_type": "PERIODIC", "pod_spec_options": {"labels": {"team": "a b"}}}).to_string(), "invalid label: the following errors found:"),
        ("a label Skiff sets", json!({"job_name": "nightly", "job_execution_type": "PERIODIC", "pod_spec_options": {"labels": {"created-by-prow": "false"}}}).to_string(), "\"created-by-prow\" is set by Skiff"),
        ("an empty annotation", json!({"job_name": "nightly", "job_execution_type": "PERIODIC", "pod_spec_options": {"annotations": {"note": ""}}}).to_string(), "invalid annotation key/value pair"),
    ];
    for (why, body, says) in cases {
        let (status, v) = w
            .call(&iam(ALICE), "POST", "/v1/executions", &[], &body)
            .await;
        assert_eq!(status, 400, "{why}: {v}");
        assert_eq!(v["code"], 3, "{why}: INVALID_ARGUMENT");
        assert!(message(&v).contains(says), "{why}: {v}");
    }
    assert!(w.store.all().is_empty());
    assert!(w.dispatch.sent().is_empty());
}

#[tokio::test]
async fn unknown_jobs_are_404_and_refs_the_config_cannot_use_are_400() {
    let w = World::new();
    let mut other_branch = postsubmit("publish");
    other_branch["refs"]["base_ref"] = json!("release-1.0");
    let mut other_repo = presubmit("unit");
    other_repo["refs"]["repo"] = json!("gadgets");
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "an unknown periodic",
            periodic("weekly"),
            404,
            "failed to find associated periodic job \"weekly\"",
        ),
        (
            "a presubmit of another repo",
            other_repo,
            404,
            "failed to find job \"unit\" for orgRepo \"acme/gadgets\"",
        ),
        (
            "a postsubmit not for the branch",
            other_branch,
            404,
            "not allowed to run for orgRepo \"acme/widgets\" on branch \"release-1.0\"",
        ),
        (
            "a presubmit asked for as a postsubmit",
            postsubmit("unit"),
            404,
            "failed to find job \"unit\"",
        ),
    ];
    for (why, body, want, says) in cases {
        let (status, v) = w.create(&iam(CI_SESSION), &body).await;
        assert_eq!(status, want, "{why}: {v}");
        assert_eq!(v["code"], 5, "{why}: NOT_FOUND");
        assert!(message(&v).contains(says), "{why}: {v}");
    }
    assert!(w.store.all().is_empty());
}

#[tokio::test]
async fn periodic_postsubmit_and_presubmit_records_are_stored_and_dispatched() {
    let w = World::new();
    let cases = [
        (periodic("nightly"), ProwJobType::Periodic, "PERIODIC", None),
        (
            postsubmit("publish"),
            ProwJobType::Postsubmit,
            "POSTSUBMIT",
            Some(0),
        ),
        (
            presubmit("unit"),
            ProwJobType::Presubmit,
            "PRESUBMIT",
            Some(1),
        ),
    ];
    for (body, kind, wire, pulls) in cases {
        let (status, v) = w.create(&iam(CI_SESSION), &body).await;
        assert_eq!(status, 200, "{v}");
        let id = v["id"].as_str().expect("an id").to_string();
        assert_eq!(&id[14..15], "4", "a random (v4) UUID: {id}");
        assert_eq!(v["job_name"], body["job_name"]);
        assert_eq!(v["job_type"], wire);
        assert_eq!(v["job_status"], "TRIGGERED");
        assert_eq!(v["create_time"], T0);
        assert_eq!(v["job_url"], format!("https://deck.example.com/jobs/{id}"));
        assert!(v.get("completion_time").is_none(), "{v}");
        assert!(v.get("gcs_path").is_none(), "no build id yet: {v}");
        assert_eq!(v["refs"], body.get("refs").cloned().unwrap_or(Value::Null));

        let record = w.store.job(&id);
        assert_eq!(record.spec.r#type, Some(kind));
        assert_eq!(record.status.state, Some(ProwJobState::Triggered));
        assert_eq!(record.metadata.labels["prow.k8s.io/job"], body["job_name"]);
        assert_eq!(
            record.spec.refs.as_ref().map(|r| r.pulls.len()),
            pulls,
            "{wire}"
        );
        if let Some(refs) = &record.spec.refs {
            assert_eq!(refs.base_sha, BASE_SHA);
        }
        assert_eq!(w.dispatch.sent_ids().last(), Some(&id));
    }
    // Two calls are two runs.
    let (_, a) = w.create(&iam(CI_SESSION), &periodic("nightly")).await;
    let (_, b) = w.create(&iam(CI_SESSION), &periodic("nightly")).await;
    assert_ne!(a["id"], b["id"]);
}

#[tokio::test]
async fn pod_spec_options_reach_every_container_and_the_records_metadata() {
    let w = World::new();
    let mut body = presubmit("unit");
    body["pod_spec_options"] = json!({
        "envs": {"RELEASE": "v1.2.3", "GOFLAGS": "-mod=vendor"},
        "labels": {"tier": "slow", "requested-by": "release-bot"},
        "annotations": {"owner": "bob", "ticket": "REL-42"},
    });
    let (status, v) = w.create(&iam(CI_SESSION), &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["pod_spec_options"], body["pod_spec_options"], "echoed");
    let record = w.store.job(v["id"].as_str().expect("an id"));

    let pod = record.spec.pod_spec.expect("a pod spec");
    let envs: Vec<Vec<(String, String)>> = pod
        .containers
        .iter()
        .map(|c| {
            c.env
                .iter()
                .flatten()
                .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
                .collect()
        })
        .collect();
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        envs,
        [
            // Appended after the job's own, as Prow's gangway does.
            vec![
                pair("GOFLAGS", "-mod=mod"),
                pair("GOFLAGS", "-mod=vendor"),
                pair("RELEASE", "v1.2.3")
            ],
            vec![pair("GOFLAGS", "-mod=vendor"), pair("RELEASE", "v1.2.3")],
        ]
    );
    let labels = &record.metadata.labels;
    assert_eq!(labels["tier"], "slow", "the request's label wins");
    assert_eq!(labels["team"], "widgets", "the job's own stays");
    assert_eq!(labels["requested-by"], "release-bot");
    assert_eq!(labels["prow.k8s.io/refs.pull"], "7");
    let annotations = &record.metadata.annotations;
    assert_eq!(annotations["owner"], "bob");
    assert_eq!(annotations["ticket"], "REL-42");
    assert_eq!(annotations[CALLER_ANNOTATION], CI_SESSION);
}

#[tokio::test]
async fn get_answers_any_record_with_prows_status_and_404_for_none() {
    let w = World::new();
    let (_, v) = w.create(&iam(ALICE), &periodic("nightly")).await;
    let id = v["id"].as_str().expect("an id").to_string();
    let cases = [
        (ProwJobState::Triggered, "TRIGGERED"),
        (ProwJobState::Pending, "PENDING"),
        (ProwJobState::Success, "SUCCESS"),
        (ProwJobState::Failure, "FAILURE"),
        (ProwJobState::Aborted, "ABORTED"),
        (ProwJobState::Error, "ERROR"),
    ];
    for (state, wire) in cases {
        w.store.modify(&id, |j| j.status.state = Some(state));
        let (status, v) = w.get(&id).await;
        assert_eq!((status, v["job_status"].as_str()), (200, Some(wire)));
    }
    // Finished, with a build id: the completion time and the artifacts.
    w.clock.advance(mins(3));
    w.store.modify(&id, |j| {
        j.status.build_id = "1001".into();
        j.status.completion_time = Some(skiff_testkit::ts("2026-11-23T10:03:00Z"));
        j.status.url = "https://deck.example.com/view/logs/nightly/1001".into();
    });
    let (status, v) = w.get(&id).await;
    assert_eq!(status, 200);
    assert_eq!(v["completion_time"], "2026-11-23T10:03:00Z");
    assert_eq!(v["gcs_path"], "s3://skiff-artifacts/logs/nightly/1001");
    assert_eq!(
        v["job_url"],
        "https://deck.example.com/view/logs/nightly/1001"
    );

    let (status, v) = w.get("no-such-id").await;
    assert_eq!((status, v["code"].as_i64()), (404, Some(5)), "{v}");
    assert_eq!(message(&v), "no job execution \"no-such-id\"");
}

#[tokio::test]
async fn list_filters_by_job_name_and_status() {
    let w = World::new();
    let mut ids = Vec::new();
    for body in [
        periodic("nightly"),
        periodic("nightly"),
        periodic("release-notes"),
    ] {
        w.clock.advance(mins(1));
        let (_, v) = w.create(&iam(CI_SESSION), &body).await;
        ids.push(v["id"].as_str().expect("an id").to_string());
    }
    w.store
        .modify(&ids[0], |j| j.status.state = Some(ProwJobState::Success));
    let list = |target: &'static str| {
        let w = &w;
        async move {
            let (status, v) = w.call(&iam(BOB), "GET", target, &[], "").await;
            assert_eq!(status, 200, "{target}: {v}");
            v["job_execution"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|e| e["id"].as_str().unwrap_or_default().to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    let newest_first = |picks: &[usize]| picks.iter().map(|&i| ids[i].clone()).collect::<Vec<_>>();
    assert_eq!(list("/v1/executions").await, newest_first(&[2, 1, 0]));
    assert_eq!(
        list("/v1/executions?job_name=nightly").await,
        newest_first(&[1, 0])
    );
    assert_eq!(
        list("/v1/executions?job_name=nightly&status=SUCCESS").await,
        newest_first(&[0])
    );
    assert_eq!(
        list("/v1/executions?status=TRIGGERED").await,
        newest_first(&[2, 1])
    );
    assert_eq!(
        list("/v1/executions?status=2").await,
        Vec::<String>::new(),
        "PENDING by number"
    );
    let (status, v) = w
        .call(&iam(BOB), "GET", "/v1/executions?status=DONE", &[], "")
        .await;
    assert_eq!(status, 400, "{v}");
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retry_answer_the_first_run() {
    let w = World::new();
    let key = [("Idempotency-Key", "deploy-2026-11-23")];
    let call = |body: Value, caller: &'static str| {
        let w = &w;
        async move {
            w.call(
                &iam(caller),
                "POST",
                "/v1/executions",
                &key,
                &body.to_string(),
            )
            .await
        }
    };
    // The client never saw the first answer; its retry finds the record
    // and answers it (sending it to the dispatcher again, which starts
    // nothing twice).
    let (status, first) = call(periodic("nightly"), ALICE).await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = call(periodic("nightly"), ALICE).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(first["id"], again["id"]);
    assert_eq!(
        &first["id"].as_str().unwrap_or_default()[14..15],
        "5",
        "derived from the key"
    );
    assert_eq!(w.store.all().len(), 1, "one run");
    assert_eq!(
        w.dispatch.sent_ids(),
        [first["id"].as_str().unwrap_or_default(); 2]
    );
    // The key is the caller's: another caller's same key is its own run.
    let (status, other) = call(periodic("nightly"), CI_SESSION).await;
    assert_eq!(status, 200);
    assert_ne!(other["id"], first["id"]);
    // The same key for another job is a conflict, not a silent answer.
    let (status, v) = call(periodic("release-notes"), CI_SESSION).await;
    assert_eq!((status, v["code"].as_i64()), (409, Some(6)), "{v}");
    assert_eq!(w.store.all().len(), 2);
    // A bad key is refused.
    let (status, _) = w
        .call(
            &iam(ALICE),
            "POST",
            "/v1/executions",
            &[("Idempotency-Key", "two words")],
            &periodic("nightly").to_string(),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn failures_of_the_queue_the_store_and_the_config_say_what_to_do() {
    let w = World::new();
    // The queue fails: the record stays triggered for the syncer to send.
    w.dispatch
        .faults()
        .next("send", PortError::Unavailable("throttled".into()));
    let (status, v) = w.create(&iam(ALICE), &periodic("nightly")).await;
    assert_eq!(status, 200, "{v}");
    let id = v["id"].as_str().expect("an id");
    assert_eq!(w.store.job(id).status.state, Some(ProwJobState::Triggered));
    assert!(w.dispatch.sent_ids().is_empty());

    // The store is down: 503, try again.
    w.store
        .faults()
        .down(PortError::Unavailable("table busy".into()));
    let (status, v) = w.create(&iam(ALICE), &periodic("nightly")).await;
    assert_eq!((status, v["code"].as_i64()), (503, Some(14)), "{v}");
    let (status, _) = w.get(id).await;
    assert_eq!(status, 503);
    w.store.faults().recover();

    // No config: reads work, starting a job does not.
    let blind = World::with(None);
    let (status, v) = blind.create(&Caller::Anyone, &periodic("nightly")).await;
    assert_eq!(status, 503, "{v}");
    let (status, v) = blind
        .call(&Caller::Anyone, "GET", "/v1/executions", &[], "")
        .await;
    assert_eq!((status, v["job_execution"].clone()), (200, json!([])));
}

#[tokio::test]
async fn other_methods_and_paths_are_refused() {
    let mut w = World::new();
    w.options.max_body_bytes = 64;
    let (status, v) = w
        .create(&Caller::Anyone, &json!({"job_name": "x".repeat(64)}))
        .await;
    assert_eq!((status, v["code"].as_i64()), (413, Some(8)), "{v}");
    let cases = [
        ("PUT", "/v1/executions", 405),
        ("DELETE", "/v1/executions/abc", 405),
        ("GET", "/v1/executions/a/b", 404),
        ("GET", "/v1/bulk-job-status-update", 404),
    ];
    for (method, path, want) in cases {
        let (status, v) = w.call(&Caller::Anyone, method, path, &[], "").await;
        assert_eq!(status, want, "{method} {path}: {v}");
    }
    let (status, v) = w
        .call(
            &Caller::Refused("nobody verified".into()),
            "GET",
            "/v1/executions",
            &[],
            "",
        )
        .await;
    assert_eq!((status, message(&v)), (403, "nobody verified"));
    let records = w.store.list(&skiff_core::ports::JobQuery::All, None).await;
    assert_eq!(records.map(|r| r.len()), Ok(0));
}
