//! The Secrets Manager cache against moto_server, counting the requests the
//! SDK actually sends. ./scripts/test starts moto and exports
//! SKIFF_MOTO_ENDPOINT.

#[path = "support/moto.rs"]
mod moto;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_secretsmanager::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use jiff::{SignedDuration, Timestamp};
use skiff_aws::secrets::SecretsCache;
use skiff_core::ports::PortError;

/// Counts requests put on the wire.
#[derive(Clone, Debug, Default)]
struct Counter(Arc<AtomicUsize>);

impl Counter {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "Counter"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn client() -> (aws_sdk_secretsmanager::Client, Counter) {
    let counter = Counter::default();
    let conf = aws_sdk_secretsmanager::config::Builder::from(&moto::moto_sdk_config().await)
        .interceptor(counter.clone())
        .build();
    (aws_sdk_secretsmanager::Client::from_conf(conf), counter)
}

/// A fresh secret holding `value`; returns its name.
async fn secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "skiff/test/{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateSecret {name}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        });
    name
}

async fn rotate(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_second_get_within_the_ttl_makes_no_call() {
    let (client, calls) = client().await;
    let name = secret(&client, "s3cr3t-one").await;
    let cache = SecretsCache::new(client).with_ttl(Duration::from_secs(300));
    let t0 = Timestamp::now();
    let before = calls.get();

    assert_eq!(
        cache.get_at(&name, t0).await.unwrap().expose(),
        "s3cr3t-one"
    );
    assert_eq!(calls.get(), before + 1);
    for s in [0, 1, 299] {
        let again = cache
            .get_at(&name, t0 + SignedDuration::from_secs(s))
            .await
            .unwrap();
        assert_eq!(again.expose(), "s3cr3t-one");
    }
    assert_eq!(
        calls.get(),
        before + 1,
        "cached gets called Secrets Manager"
    );

    // `get` reads the wall clock, still within the ttl of t0.
    assert_eq!(cache.get(&name).await.unwrap().expose(), "s3cr3t-one");
    assert_eq!(calls.get(), before + 1);
}

#[tokio::test]
async fn a_rotated_secret_is_seen_once_the_ttl_has_passed() {
    let (client, calls) = client().await;
    let name = secret(&client, "old-value").await;
    let cache = SecretsCache::new(client.clone());
    let t0 = Timestamp::now();
    cache.get_at(&name, t0).await.unwrap();
    rotate(&client, &name, "new-value\nold-value\n").await;
    let before = calls.get();

    let within = cache
        .get_at(&name, t0 + SignedDuration::from_secs(299))
        .await
        .unwrap();
    assert_eq!(within.expose(), "old-value", "default ttl is five minutes");
    assert_eq!(calls.get(), before);

    let after = cache
        .get_at(&name, t0 + SignedDuration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(calls.get(), before + 1);
    let lines = after.lines();
    let keys: Vec<&str> = lines.iter().map(|s| s.expose()).collect();
    assert_eq!(keys, ["new-value", "old-value"]);
}

#[tokio::test]
async fn secrets_are_cached_per_id() {
    let (client, calls) = client().await;
    let a = secret(&client, "value-a").await;
    let b = secret(&client, "value-b").await;
    let cache = SecretsCache::new(client);
    let t0 = Timestamp::now();
    let before = calls.get();
    assert_eq!(cache.get_at(&a, t0).await.unwrap().expose(), "value-a");
    assert_eq!(cache.get_at(&b, t0).await.unwrap().expose(), "value-b");
    assert_eq!(cache.get_at(&a, t0).await.unwrap().expose(), "value-a");
    assert_eq!(calls.get(), before + 2);
}

#[tokio::test]
async fn a_missing_secret_is_not_found_and_not_cached() {
    let (client, calls) = client().await;
    let cache = SecretsCache::new(client.clone());
    let name = "skiff/test/never-created";
    let err = cache.get(name).await.unwrap_err();
    assert!(matches!(err, PortError::NotFound(_)), "{err:?}");
    let before = calls.get();
    let _ = cache.get(name).await;
    assert_eq!(calls.get(), before + 1, "a failure must not be cached");
}

#[tokio::test]
async fn the_value_never_appears_in_debug_output() {
    let (client, _) = client().await;
    let name = secret(&client, "do-not-print-me").await;
    let cache = SecretsCache::new(client);
    let s = cache.get(&name).await.unwrap();
    assert_eq!(format!("{s:?}"), "Secret(***)");
    let cache_debug = format!("{cache:?}");
    assert!(
        cache_debug.contains("Secret(***)"),
        "the cache holds it: {cache_debug}"
    );
    assert!(!cache_debug.contains("do-not-print-me"), "{cache_debug}");
    assert!(!format!("{:?}", s.lines()).contains("do-not-print-me"));
}
