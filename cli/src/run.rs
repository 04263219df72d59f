//! `skiff run JOB`: Prow's mkpj, except that it starts the job. It sends
//! gangway's `CreateJobExecutionRequest` to a gangway — a running `skiff
//! dev` (`--gangway-auth none`) or a deployed stack's `GangwayUrl`, signed
//! with SigV4 (service `lambda`) and the default AWS credential chain — and
//! prints the new execution's id and its page on the deck. With `--print`
//! it writes the ProwJob it would create, as YAML, and starts nothing.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use skiff_gangway::wire::{
    CreateJobExecutionRequest, ErrorBody, ExecutionType, JobExecution, PodSpecOptions, WirePull,
    WireRefs,
};

use crate::config_files::{self, ConfigArgs};

/// How long the gangway may take to answer.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobType {
    Periodic,
    Postsubmit,
    Presubmit,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The job's name.
    pub job: String,
    /// The gangway: `skiff dev`'s listener, or the stack's `GangwayUrl`
    /// output (an `https://…lambda-url.REGION.on.aws` URL is signed with
    /// SigV4 and the default AWS credentials).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub gangway_url: String,
    /// Which kind of job `JOB` is.
    #[arg(long = "type", value_enum, default_value_t = JobType::Periodic)]
    pub job_type: JobType,
    /// The repository's org (postsubmits and presubmits).
    #[arg(long)]
    pub org: Option<String>,
    #[arg(long)]
    pub repo: Option<String>,
    /// The branch the job tests.
    #[arg(long)]
    pub base_ref: Option<String>,
    /// The commit of the branch the job tests.
    #[arg(long)]
    pub base_sha: Option<String>,
    /// A pull request's number (presubmits).
    #[arg(long)]
    pub pull: Option<i32>,
    /// The pull request's head commit (40 hex digits).
    #[arg(long)]
    pub pull_sha: Option<String>,
    /// The pull request's author.
    #[arg(long)]
    pub pull_author: Option<String>,
    /// An environment variable for every container of the job's pod (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = key_value)]
    pub envs: Vec<(String, String)>,
    /// A label for the job and its pod (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = key_value)]
    pub labels: Vec<(String, String)>,
    /// An annotation for the job and its pod (repeatable).
    #[arg(long = "annotation", value_name = "KEY=VALUE", value_parser = key_value)]
    pub annotations: Vec<(String, String)>,
    /// Sent as `Idempotency-Key`: running the same command again with the
    /// same key answers the first run instead of starting another.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// The region to sign for (default: the one in the Function URL).
    #[arg(long)]
    pub region: Option<String>,
    /// Write the ProwJob that would be created, as YAML, and start nothing
    /// (needs --config-path).
    #[arg(long, requires = "config_path")]
    pub print: bool,
    /// With --print: Prow's config.yaml.
    #[arg(long)]
    pub config_path: Option<PathBuf>,
    /// With --print: a job config file or directory.
    #[arg(long)]
    pub job_config_path: Option<PathBuf>,
    /// With --print: Prow's plugins.yaml.
    #[arg(long)]
    pub plugin_config: Option<PathBuf>,
}

fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?}: expected KEY=VALUE")),
    }
}

/// The request `args` describe.
pub fn request(args: &Args) -> CreateJobExecutionRequest {
    let any_ref = args.org.is_some()
        || args.repo.is_some()
        || args.base_ref.is_some()
        || args.base_sha.is_some()
        || args.pull.is_some();
    let refs = any_ref.then(|| WireRefs {
        org: args.org.clone().unwrap_or_default(),
        repo: args.repo.clone().unwrap_or_default(),
        base_ref: args.base_ref.clone().unwrap_or_default(),
        base_sha: args.base_sha.clone().unwrap_or_default(),
        pulls: args
            .pull
            .map(|number| WirePull {
                number,
                sha: args.pull_sha.clone().unwrap_or_default(),
                author: args.pull_author.clone().unwrap_or_default(),
                ..WirePull::default()
            })
            .into_iter()
            .collect(),
        ..WireRefs::default()
    });
    let options = PodSpecOptions {
        envs: args.envs.iter().cloned().collect(),
        labels: args.labels.iter().cloned().collect(),
        annotations: args.annotations.iter().cloned().collect(),
    };
    CreateJobExecutionRequest {
        job_name: args.job.clone(),
        job_execution_type: match args.job_type {
            JobType::Periodic => ExecutionType::Periodic,
            JobType::Postsubmit => ExecutionType::Postsubmit,
            JobType::Presubmit => ExecutionType::Presubmit,
        },
        refs,
        pod_spec_options: (!options.is_empty()).then_some(options),
    }
}

pub fn run(args: &Args) -> ExitCode {
    let result = if args.print {
        print(args)
    } else {
        match crate::dev::runtime() {
            Ok(rt) => rt.block_on(start(args)),
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--print`: the ProwJob, built as the gangway builds it, as YAML.
fn print(args: &Args) -> Result<(), String> {
    let Some(config_path) = args.config_path.clone() else {
        return Err("--print needs --config-path".into());
    };
    let (config, _) = config_files::load_or_refuse(&ConfigArgs {
        config_path,
        job_config_path: args.job_config_path.clone(),
        plugin_config: args.plugin_config.clone(),
    })?;
    let id = skiff_gangway::new_id().map_err(|e| e.to_string())?;
    let job = skiff_gangway::build_job(&config, &request(args), id, jiff::Timestamp::now(), None)
        .map_err(|e| e.to_string())?;
    let value = serde_json::to_value(&job).map_err(|e| e.to_string())?;
    print!("{}", crate::yaml_out::to_yaml(&value));
    Ok(())
}

async fn start(args: &Args) -> Result<(), String> {
    let base = args.gangway_url.trim_end_matches('/');
    let url = format!("{base}/v1/executions");
    let body = serde_json::to_vec(&request(args)).map_err(|e| e.to_string())?;
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("accept".to_string(), "application/json".to_string()),
    ];
    if let Some(key) = &args.idempotency_key {
        headers.push((skiff_gangway::IDEMPOTENCY_KEY.to_lowercase(), key.clone()));
    }
    if let Some(region) = lambda_url_region(&url).or(args.region.clone()) {
        let signed = sign(
            credentials().await?,
            &url,
            &headers,
            &body,
            &region,
            SystemTime::now(),
        )?;
        headers.extend(signed);
    }
    let (status, text) = post(&url, &headers, body).await?;
    if !(200..300).contains(&status) {
        let why = serde_json::from_str::<ErrorBody>(&text)
            .map(|e| e.message)
            .unwrap_or_else(|_| text.chars().take(2000).collect());
        return Err(format!("the gangway at {base} answered {status}: {why}"));
    }
    let execution: JobExecution = serde_json::from_str(&text)
        .map_err(|e| format!("the gangway's answer is not a JobExecution ({e}): {text}"))?;
    let deck = if !execution.job_url.is_empty() {
        execution.job_url.clone()
    } else if lambda_url_region(&url).is_none() {
        format!("{base}/jobs/{}", execution.id)
    } else {
        "(set skiff.deck_url in config.yaml to link the deck)".into()
    };
    println!("id: {}", execution.id);
    println!(
        "job: {} ({}), {}",
        execution.job_name, execution.job_type, execution.job_status
    );
    println!("deck: {deck}");
    Ok(())
}

/// The region of a Lambda Function URL (`https://ID.lambda-url.REGION.on.aws/…`).
fn lambda_url_region(url: &str) -> Option<String> {
    let host = url.strip_prefix("https://")?.split(['/', ':']).next()?;
    let rest = host.split_once(".lambda-url.")?.1;
    let region = rest.strip_suffix(".on.aws")?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_string())
}

/// The default AWS credential chain's credentials (environment, profile,
/// SSO cache, container or instance role).
async fn credentials() -> Result<aws_credential_types::Credentials, String> {
    use aws_credential_types::provider::ProvideCredentials;
    let sdk = skiff_aws::client::sdk_config().await;
    let provider = sdk.credentials_provider().ok_or(
        "no AWS credentials: set AWS_PROFILE, AWS_ACCESS_KEY_ID or another source of the default chain",
    )?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| format!("cannot load AWS credentials: {e}"))
}

/// The SigV4 headers (service `lambda`) for POSTing `body` to `url` at `at`.
fn sign(
    credentials: aws_credential_types::Credentials,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    region: &str,
    at: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_smithy_runtime_api::client::identity::Identity;

    let identity: Identity = credentials.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("lambda")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| format!("cannot sign a request to {url}: {e}"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| format!("cannot sign a request to {url}: {e}"))?
        .into_parts();
    let mut signed = http::Request::builder()
        .method("POST")
        .uri(url)
        .body(())
        .map_err(|e| e.to_string())?;
    instructions.apply_to_request_http1x(&mut signed);
    Ok(signed
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect())
}

/// POSTs `body` and returns the status and the body as text.
async fn post(
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<(u16, String), String> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(TIMEOUT));
    if url.starts_with("https://") {
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("no TLS roots to check {url} with: {e}"))?
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        send(
            Client::builder(TokioExecutor::new()).build(https),
            url,
            headers,
            body,
        )
        .await
    } else {
        send(
            Client::builder(TokioExecutor::new()).build(http),
            url,
            headers,
            body,
        )
        .await
    }
}

async fn send<C: Connect + Clone + Send + Sync + 'static>(
    client: Client<C, Full<Bytes>>,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<(u16, String), String> {
    let mut request = http::Request::post(url);
    for (k, v) in headers {
        request = request.header(k.as_str(), v.as_str());
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("{url}: {e}"))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("POST {url}: reading the answer: {e}"))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("POST {url}: no answer within {}s", TIMEOUT.as_secs()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lambda_function_urls_are_signed_and_their_region_is_the_urls() {
        let cases = [
            (
                "https://abc123.lambda-url.eu-west-1.on.aws/v1/executions",
                Some("eu-west-1"),
            ),
            (
                "https://abc123.lambda-url.us-east-1.on.aws:443/v1/executions",
                Some("us-east-1"),
            ),
            (
                "http://abc123.lambda-url.eu-west-1.on.aws/v1/executions",
                None,
            ),
            ("http://127.0.0.1:8080/v1/executions", None),
            ("https://gangway.example.com/v1/executions", None),
        ];
        for (url, want) in cases {
            assert_eq!(lambda_url_region(url).as_deref(), want, "{url}");
        }
    }

    // The vectors were produced with botocore 1.44.18 (the signer of the AWS
    // CLI and boto3), by:
    //
    //   from botocore.auth import SigV4Auth; from botocore.awsrequest import AWSRequest
    //   from botocore.credentials import Credentials; import datetime; from unittest import mock
    //   for token in (None, "FwoGZXIvYXdzEJr//////////wEaDH+session/token="):
    //       req = AWSRequest(method="POST", url="https://abc123.lambda-url.eu-west-1.on.aws/v1/executions",
    //           data=b'{"job_name":"nightly","job_execution_type":"PERIODIC"}',
    //           headers={"content-type": "application/json"})
    //       at = datetime.datetime(2026, 11, 23, 10, 0, 0, tzinfo=datetime.timezone.utc)
    //       with mock.patch("botocore.auth.get_current_datetime", return_value=at):
    //           SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
    //                     "lambda", "eu-west-1").add_auth(req)
    //       print(dict(req.headers))
    const SIGNED_WITHOUT_SESSION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/eu-west-1/lambda/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=48ba8cd5fdbfc2c3f7ee56e1a212e4e4032780a1caed8e30e3c87620d3fd1173";
    const SIGNED_WITH_SESSION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/eu-west-1/lambda/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=8141e8e5139feca90e512fb3f247f85a92ad1064d63e9bf4217baea8f3b5c415";

    #[test]
    fn requests_are_signed_as_botocore_signs_them_for_lambda() {
        let at: jiff::Timestamp = "2026-11-23T10:00:00Z".parse().expect("a time");
        let token = "FwoGZXIvYXdzEJr//////////wEaDH+session/token=";
        for (session, want) in [
            (None, SIGNED_WITHOUT_SESSION),
            (Some(token), SIGNED_WITH_SESSION),
        ] {
            let credentials = aws_credential_types::Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                session.map(String::from),
                None,
                "test",
            );
            let signed = sign(
                credentials,
                "https://abc123.lambda-url.eu-west-1.on.aws/v1/executions",
                &[("content-type".into(), "application/json".into())],
                br#"{"job_name":"nightly","job_execution_type":"PERIODIC"}"#,
                "eu-west-1",
                SystemTime::from(at),
            )
            .expect("signed");
            let header = |name: &str| {
                signed
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            assert_eq!(header("authorization"), Some(want), "session {session:?}");
            assert_eq!(header("x-amz-date"), Some("20261123T100000Z"));
            assert_eq!(header("x-amz-security-token"), session);
        }
    }
}
