//! One Skiff deployment in moto, end to end: the stack from `template.yaml`,
//! its secrets and config bundle, every function binary running against its
//! own Runtime API stand-in, the event sources feeding them, a fake GitHub
//! API and a fake Kubernetes API server (both HTTP-level: neither can run
//! here for real). Functions reach moto through a [`CountingProxy`], so a test
//! can say exactly which AWS calls an event cost.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::SdkConfig;
use jiff::Timestamp;
use serde_json::Value;
use skiff_aws::config_source::{Bundle, push};
use skiff_aws::store::DynamoStore;
use skiff_core::ports::{JobQuery, JobStore};
use skiff_core::prowjob::ProwJob;
use skiff_kube::fake::{FakeApiServer, Kubelet};
use tokio::sync::Mutex;

use crate::binaries::binary;
use crate::github::{self, GitHub, Shared};
use crate::lambda::{Polled, SqsSource, StreamSource, function_url_event, scheduled_event};
use crate::moto::{self, CountingProxy, Stack};
use crate::runtime_api::{Function, Invoked};

/// The webhook secret of every test deployment (and of `events/webhook.json`).
pub const HMAC_SECRET: &str = "skiff-sample-secret";

/// The template's logical id of each function binary.
pub fn logical_id(function: &str) -> String {
    let mut c = function.chars();
    let first = c.next().map(|f| f.to_ascii_uppercase()).unwrap_or_default();
    format!("{first}{}Function", c.as_str())
}

pub struct Deployment {
    pub endpoint: String,
    pub proxy: CountingProxy,
    pub sdk: SdkConfig,
    pub stack: Stack,
    pub github: Shared,
    pub kube: FakeApiServer,
    pub dir: tempfile::TempDir,
    pub store: DynamoStore,
    pub events: SqsSource,
    pub dispatch: SqsSource,
    pub stream: StreamSource,
    /// Reports waiting to be tried again, for the reporter.
    pub reports: SqsSource,
    pub comments: SqsSource,
    /// Nudges for tide.
    pub tide: SqsSource,
    functions: Mutex<HashMap<String, Arc<Function>>>,
}

fn unique(hint: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{hint}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Deployment {
    /// Deploys the stack, pushes a config whose jobs are `jobs_yaml` (Prow's
    /// job config) running on the fake cluster, and starts the fakes.
    pub async fn new(hint: &str, jobs_yaml: &str, github: GitHub) -> Deployment {
        Deployment::through(hint, jobs_yaml, github, None).await
    }

    /// As [`Deployment::new`], with the functions' AWS calls sent through
    /// `functions_target` (a [`crate::fault::FaultProxy`] in front of moto)
    /// after the counting proxy; the harness still talks to moto directly.
    pub async fn through(
        hint: &str,
        jobs_yaml: &str,
        github: GitHub,
        functions_target: Option<&str>,
    ) -> Deployment {
        Deployment::configured(hint, "", jobs_yaml, github, functions_target).await
    }

    /// As [`Deployment::through`], with `config_yaml` (more of Prow's
    /// config.yaml: `tide:`, say) added to the config pushed.
    pub async fn configured(
        hint: &str,
        config_yaml: &str,
        jobs_yaml: &str,
        github: GitHub,
        functions_target: Option<&str>,
    ) -> Deployment {
        let endpoint = moto::endpoint();
        let proxy = CountingProxy::start(functions_target.unwrap_or(&endpoint)).await;
        let sdk = moto::sdk_config(&endpoint).await;
        let name = unique(hint);

        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let hmac = secrets
            .create_secret()
            .name(format!("{name}-hmac"))
            .secret_string(HMAC_SECRET)
            .send()
            .await
            .expect("CreateSecret hmac");
        let token = secrets
            .create_secret()
            .name(format!("{name}-token"))
            .secret_string("ghp_e2e_token")
            .send()
            .await
            .expect("CreateSecret token");
        let (github, github_url) = github::fake_github(github);
        let stack = Stack::deploy(
            &endpoint,
            &name,
            &[
                ("HmacSecretArn", hmac.arn().unwrap_or_default()),
                ("GitHubTokenSecretArn", token.arn().unwrap_or_default()),
                ("GitHubApiUrl", &github_url),
                ("BotLogin", "skiff-bot"),
            ],
        );

        let kube = FakeApiServer::start().await;
        kube.auto_kubelet(Some(Kubelet::default()));
        let dir = tempfile::tempdir().expect("a temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        kube.write_kubeconfig(&kubeconfig, "build")
            .expect("write the kubeconfig");
        let config = format!(
            "skiff:\n  clusters:\n    default: {{kubeconfig: {{path: {path}, context: build}}}}\n  deck_url: https://deck.example.com\n{config_yaml}",
            path = kubeconfig.display()
        );
        push_config(&sdk, &stack, &config, jobs_yaml).await;

        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let mapping = |f: &str, q: &str| {
            let m = stack.event_source(f);
            SqsSource::new(
                sqs.clone(),
                stack.queue_url(q),
                stack.queue_arn(q),
                m["batch_size"]
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or(10),
            )
        };
        let events = mapping("TriggerFunction", "EventsQueue");
        let dispatch = mapping("DispatcherFunction", "DispatchQueue");
        let tide = mapping("TideFunction", "TideQueue");
        let reports = SqsSource::new(
            sqs.clone(),
            stack.queue_url("ReportsQueue"),
            stack.queue_arn("ReportsQueue"),
            stack.queue_source_of("ReporterFunction", "ReportsQueue")["batch_size"]
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .unwrap_or(10),
        );
        let comments = SqsSource::new(
            sqs.clone(),
            stack.queue_url("CommentsQueue"),
            stack.queue_arn("CommentsQueue"),
            stack.queue_source_of("ReporterFunction", "CommentsQueue")["batch_size"]
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .unwrap_or(10),
        );
        let stream = StreamSource::new(
            aws_sdk_dynamodbstreams::Client::new(&sdk),
            &stack.stream_source("ReporterFunction"),
        );
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            stack.resource("JobsTable"),
        );
        Deployment {
            endpoint,
            proxy,
            sdk,
            stack,
            github,
            kube,
            dir,
            store,
            events,
            dispatch,
            stream,
            reports,
            comments,
            tide,
            functions: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the config bundle with `config_yaml` + `jobs_yaml`. Call it
    /// before any function has run: a warm one re-checks the bundle only
    /// every 30 s.
    pub async fn push_config(&self, config_yaml: &str, jobs_yaml: &str) {
        push_config(&self.sdk, &self.stack, config_yaml, jobs_yaml).await
    }

    /// The warm container of `function` (a binary name), started on first use
    /// with the environment template.yaml gives it.
    pub async fn function(&self, function: &str) -> Arc<Function> {
        let mut functions = self.functions.lock().await;
        if let Some(f) = functions.get(function) {
            return f.clone();
        }
        let f = Arc::new(self.start_function(function, &[]).await);
        functions.insert(function.to_string(), f.clone());
        f
    }

    /// Replaces the warm container of `function` with a new one that has
    /// `overrides` on top of its template environment.
    pub async fn replace_function(&self, function: &str, overrides: &[(&str, &str)]) {
        let f = Arc::new(self.start_function(function, overrides).await);
        self.functions.lock().await.insert(function.to_string(), f);
    }

    /// Another container of `function`, with `overrides` on top of its
    /// template environment.
    pub async fn start_function(&self, function: &str, overrides: &[(&str, &str)]) -> Function {
        let mut env = self.stack.function_env(&logical_id(function));
        env.extend(moto::aws_env(&self.proxy.url()));
        for (k, v) in overrides {
            env.retain(|(name, _)| name != k);
            env.push((k.to_string(), v.to_string()));
        }
        Function::start(function, &binary(function), &env, &self.log_path(function)).await
    }

    /// Where a function's log lines go (kept with the temp dir; printed when
    /// a test fails through [`Deployment::logs`]).
    pub fn log_path(&self, function: &str) -> PathBuf {
        self.dir.path().join(format!("{function}.log"))
    }

    pub fn logs(&self, function: &str) -> String {
        std::fs::read_to_string(self.log_path(function)).unwrap_or_default()
    }

    /// A GitHub delivery through the Function URL; the webhook's status and body.
    pub async fn deliver(&self, event: &str, delivery: &str, body: &str) -> (u16, String) {
        let signature = github::sign(HMAC_SECRET.as_bytes(), body.as_bytes());
        let request = function_url_event(
            &[
                ("X-GitHub-Event", event.to_string()),
                ("X-GitHub-Delivery", delivery.to_string()),
                ("X-Hub-Signature-256", signature),
                ("Content-Type", "application/json".to_string()),
                ("User-Agent", "GitHub-Hookshot/skiff".to_string()),
            ],
            body,
        );
        let answer = self.function("webhook").await.invoke(&request).await.ok();
        (
            answer["statusCode"].as_u64().unwrap_or(0) as u16,
            answer["body"].as_str().unwrap_or("").to_string(),
        )
    }

    /// Polls the events queue once into the trigger.
    pub async fn poll_events(&self) -> Polled {
        let f = self.function("trigger").await;
        self.events.poll_once(&f).await
    }

    /// Polls the dispatch queue once into the dispatcher.
    pub async fn poll_dispatch(&self) -> Polled {
        let f = self.function("dispatcher").await;
        self.dispatch.poll_once(&f).await
    }

    /// Polls the stream once into the reporter.
    pub async fn poll_stream(&self) -> Polled {
        let f = self.function("reporter").await;
        self.stream.poll_once(&f).await
    }

    /// Polls the tide queue once into tide (not part of [`Deployment::settle`]:
    /// a test asks for tide's syncs).
    pub async fn poll_tide(&self) -> Polled {
        let f = self.function("tide").await;
        self.tide.poll_once(&f).await
    }

    /// Polls the reports queue once into the reporter.
    pub async fn poll_reports(&self) -> Polled {
        let f = self.function("reporter").await;
        self.reports.poll_once(&f).await
    }

    /// Polls the comments queue once into the reporter.
    pub async fn poll_comments(&self) -> Polled {
        let f = self.function("reporter").await;
        self.comments.poll_once(&f).await
    }

    /// Feeds the trigger, the dispatcher and the reporter until none of their
    /// sources has anything left (delayed reports are not visible yet).
    pub async fn settle(&self) {
        for _ in 0..50 {
            let e = self.poll_events().await;
            let d = self.poll_dispatch().await;
            let s = self.poll_stream().await;
            let r = self.poll_reports().await;
            let c = self.poll_comments().await;
            if e.delivered + d.delivered + s.delivered + r.delivered + c.delivered == 0 {
                return;
            }
        }
        panic!("the event sources did not settle in 50 rounds");
    }

    /// One syncer run, as its schedule would start it now.
    pub async fn sync(&self) -> Value {
        let event = scheduled_event(
            &Timestamp::now().to_string(),
            "arn:aws:events:us-east-1:123456789012:rule/syncer",
        );
        self.function("syncer").await.invoke(&event).await.ok()
    }

    /// One scheduler run for the schedule instant `time`.
    pub async fn tick(&self, function: &Function, time: &str) -> Invoked {
        let event = scheduled_event(time, "arn:aws:events:us-east-1:123456789012:rule/scheduler");
        function.invoke(&event).await
    }

    /// Every job record, newest first.
    pub async fn jobs(&self) -> Vec<ProwJob> {
        self.store
            .list(&JobQuery::All, None)
            .await
            .expect("list the job records")
    }
}

/// Validates `config_yaml` + `jobs_yaml` as `skiff config push` does and
/// uploads the bundle where the stack's functions read it.
async fn push_config(sdk: &SdkConfig, stack: &Stack, config_yaml: &str, jobs_yaml: &str) {
    use skiff_core::config::{FileRole, SourceFile};
    let file = |path: &str, text: &str, role| SourceFile {
        path: path.into(),
        text: text.into(),
        role,
    };
    let files = vec![
        file("config.yaml", config_yaml, FileRole::ProwConfig),
        file("jobs.yaml", jobs_yaml, FileRole::JobConfig),
    ];
    let loaded = skiff_core::config::load(&files);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == skiff_core::diagnostics::Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "the test config is invalid: {errors:#?}");
    let bundle = Bundle::new(
        &loaded.config,
        vec!["config.yaml".into(), "jobs.yaml".into()],
        Timestamp::now(),
    )
    .expect("bundle");
    let env = stack.function_env("TriggerFunction");
    let get = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{k} is not in the trigger's environment"))
    };
    let s3 = skiff_aws::client::s3(sdk);
    push(
        &s3,
        &get("SKIFF_CONFIG_BUCKET"),
        &get("SKIFF_CONFIG_KEY"),
        bundle.to_json().expect("bundle JSON"),
    )
    .await
    .expect("push the config bundle");
}
