//! The S3 config bundle against moto_server, with every S3 request recorded
//! so the tests can tell a cached answer, a 304 and a download apart.
//! ./scripts/test starts moto and exports SKIFF_MOTO_ENDPOINT.

#[path = "support/moto.rs"]
mod moto;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use jiff::{SignedDuration, Timestamp};
use moto::fresh_bucket as bucket;
use skiff_aws::config_source::{Bundle, S3ConfigSource, push};
use skiff_core::config::{self, Config, FileRole, SourceFile};
use skiff_core::ports::PortError;

/// One S3 request as sent and answered.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    method: String,
    if_none_match: Option<String>,
    status: Option<u16>,
}

#[derive(Clone, Debug, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    // The request is moved into the HTTP client when sent, so it is read
    // before transmission and completed with the status after it.
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let req = context.request();
        self.0.lock().unwrap().push(Seen {
            method: req.method().to_string(),
            if_none_match: req.headers().get("if-none-match").map(str::to_string),
            status: None,
        });
        Ok(())
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(last) = self.0.lock().unwrap().last_mut() {
            last.status = Some(context.response().status().as_u16());
        }
        Ok(())
    }
}

/// moto with dummy credentials, no retries (so one call is one request) and
/// path-style addressing, because `<bucket>.127.0.0.1` does not resolve.
async fn client() -> (aws_sdk_s3::Client, Recorder) {
    let recorder = Recorder::default();
    let conf = moto::s3_config()
        .await
        .interceptor(recorder.clone())
        .build();
    (aws_sdk_s3::Client::from_conf(conf), recorder)
}

const KEY: &str = "config/bundle.json";

/// A small valid config whose one periodic is named `job`.
fn config(job: &str) -> Config {
    let yaml = format!(
        "periodics:\n- name: {job}\n  cron: '0 2 * * *'\n  spec:\n    containers:\n    - image: alpine\n"
    );
    let plugins = "triggers:\n- repos: [acme]\n  trusted_apps: [dependabot]\n";
    let loaded = config::load(&[
        SourceFile {
            path: "config.yaml".into(),
            text: yaml,
            role: FileRole::ProwConfig,
        },
        SourceFile {
            path: "plugins.yaml".into(),
            text: plugins.into(),
            role: FileRole::PluginConfig,
        },
    ]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

fn bundle(config: &Config) -> Vec<u8> {
    Bundle::new(config, vec!["config.yaml".into()], Timestamp::now())
        .unwrap()
        .to_json()
        .unwrap()
}

/// JSON that is not a bundle a function can read: its periodic's
/// `max_concurrency` is a string.
fn broken_bundle() -> Vec<u8> {
    let b = Bundle::new(&config("broken"), vec![], Timestamp::now()).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&b.to_json().unwrap()).unwrap();
    v["jobs"]["periodics"][0]["base"]["max_concurrency"] = "many".into();
    serde_json::to_vec(&v).unwrap()
}

fn at(t0: Timestamp, secs: i64) -> Timestamp {
    t0 + SignedDuration::from_secs(secs)
}

fn get(if_none_match: Option<&str>, status: u16) -> Seen {
    Seen {
        method: "GET".into(),
        if_none_match: if_none_match.map(str::to_string),
        status: Some(status),
    }
}

fn periodic_names(c: &Config) -> Vec<String> {
    c.jobs
        .periodics
        .iter()
        .map(|p| p.base.name.clone())
        .collect()
}

#[tokio::test]
async fn a_pushed_bundle_loads_back_to_the_same_config_and_plugins() {
    let (client, _) = client().await;
    let b = bucket(&client, "same").await;
    let want = config("nightly");
    let etag = push(&client, &b, KEY, bundle(&want)).await.unwrap();
    let head = client
        .head_object()
        .bucket(&b)
        .key(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(head.content_type(), Some("application/json"));

    let source = S3ConfigSource::new(client, b, KEY.into());
    let got = source.current(Timestamp::now()).await.unwrap();
    assert_eq!(*got, want);
    assert_eq!(got.plugins, want.plugins);
    assert!(!got.plugins.triggers.is_empty());
    assert_eq!(
        serde_json::to_value(&*got).unwrap(),
        serde_json::to_value(&want).unwrap()
    );
}

#[tokio::test]
async fn within_recheck_the_cache_answers_and_after_it_an_unchanged_bundle_is_a_304() {
    let (client, seen) = client().await;
    let b = bucket(&client, "recheck").await;
    let etag = push(&client, &b, KEY, bundle(&config("nightly")))
        .await
        .unwrap();
    seen.take();
    let source = S3ConfigSource::new(client, b, KEY.into());
    let t0 = Timestamp::now();

    let first = source.current(t0).await.unwrap();
    assert_eq!(seen.take(), [get(None, 200)], "cold start downloads once");

    for s in [1, 15, 29] {
        let again = source.current(at(t0, s)).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again), "at +{s}s");
    }
    assert_eq!(seen.take(), [], "no request within the 30 s recheck");

    let after = source.current(at(t0, 30)).await.unwrap();
    assert!(Arc::ptr_eq(&first, &after));
    assert_eq!(seen.take(), [get(Some(&etag), 304)]);

    // The 304 restarts the window.
    source.current(at(t0, 59)).await.unwrap();
    assert_eq!(seen.take(), []);
    source.current(at(t0, 60)).await.unwrap();
    assert_eq!(seen.take(), [get(Some(&etag), 304)]);
}

#[tokio::test]
async fn a_new_push_is_picked_up_at_the_next_recheck() {
    let (client, seen) = client().await;
    let b = bucket(&client, "newpush").await;
    let first_etag = push(&client, &b, KEY, bundle(&config("old")))
        .await
        .unwrap();
    let source = S3ConfigSource::new(client.clone(), b.clone(), KEY.into())
        .with_recheck(Duration::from_secs(10));
    let t0 = Timestamp::now();
    assert_eq!(periodic_names(&source.current(t0).await.unwrap()), ["old"]);

    let second_etag = push(&client, &b, KEY, bundle(&config("new")))
        .await
        .unwrap();
    assert_ne!(first_etag, second_etag);
    seen.take();
    assert_eq!(
        periodic_names(&source.current(at(t0, 9)).await.unwrap()),
        ["old"],
        "not before the recheck"
    );
    assert_eq!(seen.take(), []);
    assert_eq!(
        periodic_names(&source.current(at(t0, 10)).await.unwrap()),
        ["new"]
    );
    assert_eq!(seen.take(), [get(Some(&first_etag), 200)]);
    source.current(at(t0, 20)).await.unwrap();
    assert_eq!(seen.take(), [get(Some(&second_etag), 304)]);
}

#[tokio::test]
async fn a_bundle_that_does_not_read_keeps_the_previous_config() {
    let (client, seen) = client().await;
    let b = bucket(&client, "broken").await;
    let good_etag = push(&client, &b, KEY, bundle(&config("good")))
        .await
        .unwrap();
    let source = S3ConfigSource::new(client.clone(), b.clone(), KEY.into());
    let t0 = Timestamp::now();
    let good = source.current(t0).await.unwrap();

    let broken_etag = push(&client, &b, KEY, broken_bundle()).await.unwrap();
    seen.take();
    let still = source.current(at(t0, 30)).await.unwrap();
    assert!(
        Arc::ptr_eq(&good, &still),
        "a broken bundle replaced the config"
    );
    assert_eq!(seen.take(), [get(Some(&good_etag), 200)], "downloaded once");

    // Rejected once, not re-downloaded and re-reported at every recheck.
    let still = source.current(at(t0, 60)).await.unwrap();
    assert!(Arc::ptr_eq(&good, &still));
    assert_eq!(seen.take(), [get(Some(&broken_etag), 304)]);

    push(&client, &b, KEY, bundle(&config("fixed")))
        .await
        .unwrap();
    assert_eq!(
        periodic_names(&source.current(at(t0, 90)).await.unwrap()),
        ["fixed"]
    );
}

#[tokio::test]
async fn a_cold_start_never_serves_a_missing_or_broken_bundle() {
    let (client, _) = client().await;
    let b = bucket(&client, "cold").await;
    let source = S3ConfigSource::new(client.clone(), b.clone(), KEY.into());
    let err = source.current(Timestamp::now()).await.unwrap_err();
    assert!(matches!(err, PortError::NotFound(_)), "{err:?}");

    push(&client, &b, KEY, broken_bundle()).await.unwrap();
    let err = source.current(Timestamp::now()).await.unwrap_err();
    match err {
        PortError::Rejected(m) => {
            assert!(
                m.starts_with(&format!("s3://{b}/{KEY}: not a config bundle")),
                "{m}"
            );
            assert!(m.contains("\"many\", expected i64"), "{m}");
        }
        other => panic!("{other:?}"),
    }

    // Once a good bundle is there, the next call loads it.
    push(&client, &b, KEY, bundle(&config("good")))
        .await
        .unwrap();
    let got = source.current(Timestamp::now()).await.unwrap();
    assert_eq!(periodic_names(&got), ["good"]);
}

#[tokio::test]
async fn a_bundle_gone_after_the_cold_start_keeps_the_cached_config() {
    let (client, _) = client().await;
    let b = bucket(&client, "gone").await;
    push(&client, &b, KEY, bundle(&config("good")))
        .await
        .unwrap();
    let source = S3ConfigSource::new(client.clone(), b.clone(), KEY.into());
    let t0 = Timestamp::now();
    let good = source.current(t0).await.unwrap();

    client
        .delete_object()
        .bucket(&b)
        .key(KEY)
        .send()
        .await
        .unwrap();
    let still = source.current(at(t0, 30)).await.unwrap();
    assert!(Arc::ptr_eq(&good, &still));
}
