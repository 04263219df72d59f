//! Reaching an EKS cluster without the AWS CLI: where it is and which CA
//! signs its certificate (`eks:DescribeCluster`), and the bearer token
//! `aws eks get-token` would print.
//!
//! The token is a presigned STS `GetCallerIdentity` URL with the cluster name
//! in the signed header `x-k8s-aws-id`, as `k8s-aws-v1.` + base64url (no
//! padding). EKS asks STS who signed it; nothing is sent to STS here. The URL
//! says `X-Amz-Expires=60` as the CLI's does, but EKS accepts a token for 15
//! minutes from its signing time, which is why the client renews it well
//! before that ([`crate::TOKEN_RENEWAL`]).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::SecretString;

use crate::error::{Error, Result};

/// How long the presigned URL says it is valid, as the CLI's.
const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);
const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The signed header that binds the token to one cluster.
const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";

/// An EKS client for `region`, with everything else (credentials, HTTP
/// client, endpoint overrides) from `sdk`.
pub(crate) fn client_for_region(sdk: &aws_config::SdkConfig, region: &str) -> aws_sdk_eks::Client {
    let config = aws_sdk_eks::config::Builder::from(sdk)
        .region(aws_sdk_eks::config::Region::new(region.to_string()))
        .build();
    aws_sdk_eks::Client::from_conf(config)
}

/// What DescribeCluster says about connecting to a cluster.
#[derive(Clone, Debug)]
pub(crate) struct Described {
    pub endpoint: http::Uri,
    /// DER certificates to trust for the API server.
    pub ca: Vec<Vec<u8>>,
}

/// Where EKS cluster `name` is, from one `eks:DescribeCluster` call.
/// `cluster` is its name in Skiff's config, for errors.
pub(crate) async fn describe(
    client: &aws_sdk_eks::Client,
    cluster: &str,
    region: &str,
    name: &str,
) -> Result<Described> {
    let described = |detail: String| Error::Described {
        cluster: cluster.to_string(),
        name: name.to_string(),
        region: region.to_string(),
        detail,
    };
    let out = client
        .describe_cluster()
        .name(name)
        .send()
        .await
        .map_err(|e| Error::Describe {
            cluster: cluster.to_string(),
            name: name.to_string(),
            region: region.to_string(),
            source: Box::new(e),
        })?;
    let Some(c) = out.cluster() else {
        return Err(described("DescribeCluster returned no cluster".into()));
    };
    let status = c.status().map_or("unknown", |s| s.as_str());
    let Some(endpoint) = c.endpoint().filter(|e| !e.is_empty()) else {
        return Err(described(format!(
            "it has no endpoint yet (status {status})"
        )));
    };
    let endpoint = endpoint
        .parse::<http::Uri>()
        .map_err(|e| described(format!("its endpoint {endpoint:?} is not a URL: {e}")))?;
    let Some(data) = c.certificate_authority().and_then(|ca| ca.data()) else {
        return Err(described(format!(
            "it has no certificate authority data yet (status {status})"
        )));
    };
    let ca = ca_certificates(data).map_err(described)?;
    Ok(Described { endpoint, ca })
}

/// The DER certificates in DescribeCluster's `certificateAuthority.data`
/// (base64 of a PEM bundle). None is an error: a client trusting no CA cannot
/// connect, and an empty list would only fail later with a vaguer TLS error.
pub(crate) fn ca_certificates(data: &str) -> Result<Vec<Vec<u8>>, String> {
    let compact: String = data.split_ascii_whitespace().collect();
    let pem_bytes = STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| format!("its certificate authority data is not base64 ({e})"))?;
    // A bundle that does not parse as PEM holds no certificate either; say so
    // rather than pass on the parser's view of the bytes.
    let blocks = pem::parse_many(&pem_bytes).unwrap_or_default();
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
        .collect();
    if certs.is_empty() {
        return Err(format!(
            "its certificate authority data ({} bytes after base64) holds no PEM certificate, \
             so the API server's certificate cannot be checked",
            pem_bytes.len()
        ));
    }
    Ok(certs)
}

/// STS's regional host, where the CLI's presigned URL points.
fn sts_host(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("sts.{region}.{suffix}")
}

/// The presigned `GetCallerIdentity` URL for `cluster`, signed at `at`.
pub(crate) fn presigned_url(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    at: SystemTime,
) -> Result<String, String> {
    let url = format!(
        "https://{}/?Action=GetCallerIdentity&Version=2011-06-15",
        sts_host(region)
    );
    let identity = Identity::from(credentials.clone());
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGN_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        [(CLUSTER_ID_HEADER, cluster)].into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| format!("region {region:?} makes no valid STS URL: {e}"))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let mut presigned = http::Request::builder()
        .uri(url.as_str())
        .body(())
        .map_err(|e| e.to_string())?;
    instructions.apply_to_request_http1x(&mut presigned);
    Ok(signature_last(&presigned.uri().to_string()))
}

/// The URL with `X-Amz-Signature` moved to the end, where botocore puts it
/// (aws-sigv4 appends the session token after it). STS does not care about
/// the order; matching the CLI's token byte for byte makes it checkable
/// against a fixed vector.
fn signature_last(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    // Values are percent-encoded, so `&` only separates parameters.
    let (signature, rest): (Vec<&str>, Vec<&str>) = query
        .split('&')
        .partition(|p| p.starts_with("X-Amz-Signature="));
    let params: Vec<&str> = rest.into_iter().chain(signature).collect();
    format!("{base}?{}", params.join("&"))
}

/// The bearer token for `cluster`, as `aws eks get-token` prints it at `at`.
pub(crate) fn token(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    at: SystemTime,
) -> Result<SecretString, String> {
    let url = presigned_url(credentials, region, cluster, at)?;
    Ok(SecretString::from(format!(
        "{TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(url)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    // The vectors below were produced with botocore 1.44.8, the signer behind
    // `aws eks get-token`, by this snippet (the CLI's own handlers move the
    // cluster name from a parameter into the signed header):
    //
    //   import base64, datetime
    //   from unittest import mock
    //   import botocore.session
    //   def token(key, secret, session_token, region, cluster):
    //       sts = botocore.session.get_session().create_client(
    //           "sts", region_name=region, aws_access_key_id=key,
    //           aws_secret_access_key=secret, aws_session_token=session_token,
    //           endpoint_url=f"https://sts.{region}.amazonaws.com")
    //       def retrieve(params, context, **kw):
    //           context["x-k8s-aws-id"] = params.pop("x-k8s-aws-id")
    //       def inject(request, **kw):
    //           request.headers["x-k8s-aws-id"] = request.context["x-k8s-aws-id"]
    //       sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", retrieve)
    //       sts.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
    //       at = datetime.datetime(2026, 11, 23, 10, 0, 0, tzinfo=datetime.timezone.utc)
    //       with mock.patch("botocore.auth.get_current_datetime", return_value=at):
    //           url = sts.generate_presigned_url("get_caller_identity",
    //               Params={"x-k8s-aws-id": cluster}, ExpiresIn=60, HttpMethod="GET")
    //       return url, "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    //   for st in (None, "FwoGZXIvYXdzEJr//////////wEaDH+session/token="):
    //       print(*token("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", st,
    //                    "eu-west-1", "prow-build"), sep="\n")

    const URL_WITHOUT_SESSION: &str = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261123%2Feu-west-1%2Fsts%2Faws4_request&X-Amz-Date=20261123T100000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=710c6a3d8961af2f38ca96819c8afc1fc3ecff66660028e957e484aa5d912df6";
    const TOKEN_WITHOUT_SESSION: &str = "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjYxMTIzJTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjExMjNUMTAwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9NzEwYzZhM2Q4OTYxYWYyZjM4Y2E5NjgxOWM4YWZjMWZjM2VjZmY2NjY2MDAyOGU5NTdlNDg0YWE1ZDkxMmRmNg";
    const URL_WITH_SESSION: &str = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261123%2Feu-west-1%2Fsts%2Faws4_request&X-Amz-Date=20261123T100000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaDH%2Bsession%2Ftoken%3D&X-Amz-Signature=3b0b09c4540821c7222c09f14f2afccd16d4de79f186d7a70bc6736b8e933b08";
    const TOKEN_WITH_SESSION: &str = "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjYxMTIzJTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjExMjNUMTAwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TZWN1cml0eS1Ub2tlbj1Gd29HWlhJdllYZHpFSnIlMkYlMkYlMkYlMkYlMkYlMkYlMkYlMkYlMkYlMkZ3RWFESCUyQnNlc3Npb24lMkZ0b2tlbiUzRCZYLUFtei1TaWduYXR1cmU9M2IwYjA5YzQ1NDA4MjFjNzIyMmMwOWYxNGYyYWZjY2QxNmQ0ZGU3OWYxODZkN2E3MGJjNjczNmI4ZTkzM2IwOA";

    fn at() -> SystemTime {
        let t: jiff::Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        SystemTime::from(t)
    }

    fn creds(session: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session.map(Into::into),
            None,
            "test",
        )
    }

    #[test]
    fn token_matches_aws_eks_get_token_without_a_session_token() {
        let c = creds(None);
        assert_eq!(
            presigned_url(&c, "eu-west-1", "prow-build", at()).unwrap(),
            URL_WITHOUT_SESSION
        );
        assert_eq!(
            token(&c, "eu-west-1", "prow-build", at())
                .unwrap()
                .expose_secret(),
            TOKEN_WITHOUT_SESSION
        );
    }

    #[test]
    fn token_matches_aws_eks_get_token_with_a_session_token() {
        let c = creds(Some("FwoGZXIvYXdzEJr//////////wEaDH+session/token="));
        assert_eq!(
            presigned_url(&c, "eu-west-1", "prow-build", at()).unwrap(),
            URL_WITH_SESSION
        );
        assert_eq!(
            token(&c, "eu-west-1", "prow-build", at())
                .unwrap()
                .expose_secret(),
            TOKEN_WITH_SESSION
        );
    }

    #[test]
    fn token_is_bound_to_the_cluster_and_the_time() {
        let c = creds(None);
        let base = token(&c, "eu-west-1", "prow-build", at()).unwrap();
        let other_cluster = token(&c, "eu-west-1", "prow-other", at()).unwrap();
        let later = token(&c, "eu-west-1", "prow-build", at() + Duration::from_secs(1)).unwrap();
        assert_ne!(base.expose_secret(), other_cluster.expose_secret());
        assert_ne!(base.expose_secret(), later.expose_secret());
    }

    #[test]
    fn each_cluster_region_gets_an_eks_client_for_that_region() {
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::v2026_01_12())
            .build();
        for region in ["eu-west-1", "ap-southeast-2"] {
            let client = client_for_region(&sdk, region);
            assert_eq!(client.config().region().map(|r| r.as_ref()), Some(region));
        }
    }

    #[test]
    fn sts_host_is_regional_with_chinas_own_domain() {
        assert_eq!(sts_host("us-east-1"), "sts.us-east-1.amazonaws.com");
        assert_eq!(sts_host("cn-north-1"), "sts.cn-north-1.amazonaws.com.cn");
    }

    /// A real CA certificate (the fake server's).
    const CA_PEM: &str = include_str!("fake/ca.pem");

    #[test]
    fn ca_data_is_base64_pem_and_yields_der_certificates() {
        let data = STANDARD.encode(format!("{CA_PEM}{CA_PEM}"));
        let certs = ca_certificates(&data).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0].first(), Some(&0x30), "DER starts with a SEQUENCE");
        let wrapped: String = data
            .as_bytes()
            .chunks(64)
            .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
            .collect();
        assert_eq!(
            ca_certificates(&wrapped).unwrap(),
            certs,
            "line breaks are ignored"
        );
    }

    #[test]
    fn ca_data_without_a_certificate_is_an_error() {
        // moto's DescribeCluster returns random base64 like this one.
        let random = STANDARD.encode(
            (0..1050u32)
                .map(|i| (i * 37 % 251) as u8)
                .collect::<Vec<_>>(),
        );
        let key_only =
            STANDARD.encode("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        for (what, data) in [
            ("random bytes", random.as_str()),
            ("a key, no certificate", &key_only),
        ] {
            let err = ca_certificates(data).unwrap_err();
            assert!(err.contains("holds no PEM certificate"), "{what}: {err}");
        }
        let err = ca_certificates("not base64!").unwrap_err();
        assert!(err.contains("not base64"), "{err}");
    }
}
