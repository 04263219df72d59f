//! `skiff.gangway`: who may start which jobs through the gangway API.
//!
//! Prow's gangway identifies a caller by the GCP project Cloud Endpoints
//! puts in its request headers and lets it start the jobs of the tenants
//! `gangway.allowed_api_clients` lists. Skiff's gangway sits behind a Lambda
//! Function URL with `AuthType: AWS_IAM`: AWS verifies the SigV4 signature
//! and hands the function the caller's IAM principal ARN. So a rule here
//! names principals (an ARN pattern) and the jobs they may start (job name
//! patterns); Prow's own `gangway:` section is accepted and ignored.
//!
//! Patterns have one wildcard, `*`, matching any run of characters (`/` and
//! `:` included), as in IAM policies. A role's sessions reach the function
//! as `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`; a rule naming the
//! role itself (`arn:aws:iam::ACCOUNT:role/ROLE`, without a path) matches
//! every session of it too.

use serde::{Deserialize, Serialize};

/// Skiff's gangway settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gangway {
    /// The callers that may start jobs, and which (Prow's
    /// `gangway.allowed_api_clients`, with IAM principals for GCP projects).
    /// Empty: no caller may start a job.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_callers: Vec<AllowedCaller>,
}

/// One rule: callers whose principal matches `principal` may start the jobs
/// `jobs` matches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedCaller {
    /// An IAM principal ARN pattern (`arn:aws:iam::123456789012:role/ci`,
    /// `arn:aws:sts::123456789012:assumed-role/ci/*`); `*` matches any run
    /// of characters.
    pub principal: String,
    /// Job names or patterns (`release-*`; `*` for every job).
    #[serde(default)]
    pub jobs: Vec<String>,
}

impl Gangway {
    pub fn is_empty(&self) -> bool {
        self.allowed_callers.is_empty()
    }

    /// The index of the first rule that lets `caller` (a principal ARN)
    /// start `job`, or why no rule does, naming the rules that matched the
    /// caller but not the job.
    pub fn authorize(&self, caller: &str, job: &str) -> Result<usize, String> {
        if self.allowed_callers.is_empty() {
            return Err(
                "skiff.gangway.allowed_callers is empty: no caller may start jobs".to_string(),
            );
        }
        let mut near = Vec::new();
        for (i, rule) in self.allowed_callers.iter().enumerate() {
            if !principal_matches(&rule.principal, caller) {
                continue;
            }
            if rule.jobs.iter().any(|p| glob_match(p, job)) {
                return Ok(i);
            }
            near.push(format!(
                "skiff.gangway.allowed_callers[{i}] (principal {}) allows jobs [{}]",
                rule.principal,
                rule.jobs.join(", ")
            ));
        }
        if near.is_empty() {
            Err(format!(
                "caller {caller} matches no principal in skiff.gangway.allowed_callers"
            ))
        } else {
            Err(format!(
                "caller {caller} may not start job {job:?}: {}",
                near.join("; ")
            ))
        }
    }
}

/// Whether `pattern` matches the caller's ARN or, for a role session, the
/// ARN of the role (`arn:P:sts::A:assumed-role/R/S` is also `arn:P:iam::A:role/R`).
pub fn principal_matches(pattern: &str, caller: &str) -> bool {
    glob_match(pattern, caller) || role_of_session(caller).is_some_and(|r| glob_match(pattern, &r))
}

/// The role ARN behind an assumed-role session ARN.
fn role_of_session(caller: &str) -> Option<String> {
    let mut parts = caller.splitn(6, ':');
    let (arn, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if arn != "arn" || service != "sts" || !region.is_empty() {
        return None;
    }
    let (role, _session) = resource.strip_prefix("assumed-role/")?.split_once('/')?;
    Some(format!("arn:{partition}:iam::{account}:role/{role}"))
}

/// `*` matches any run of characters, everything else itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, middle)) = middle.split_last() else {
        // No `*`: the whole text must be the literal.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Why `pattern` cannot be an IAM principal ARN pattern, if it cannot.
pub fn principal_problem(pattern: &str) -> Option<String> {
    const SHAPE: &str = "expected an IAM principal ARN pattern: arn:PARTITION:iam::ACCOUNT:user/NAME, arn:PARTITION:iam::ACCOUNT:role/NAME or arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION, with * for any run of characters";
    if pattern.trim().is_empty() {
        return Some(format!("the principal is empty: {SHAPE}"));
    }
    if pattern.chars().any(char::is_whitespace) {
        return Some(format!("{pattern:?} holds whitespace: {SHAPE}"));
    }
    let parts: Vec<&str> = pattern.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" {
        return Some(format!("{pattern:?}: {SHAPE}"));
    }
    if !matches!(parts[2], "iam" | "sts" | "*") {
        return Some(format!(
            "{pattern:?} names service {:?}; callers are IAM principals (iam or sts): {SHAPE}",
            parts[2]
        ));
    }
    if parts[5].is_empty() {
        return Some(format!("{pattern:?} names no principal: {SHAPE}"));
    }
    None
}

/// Why `pattern` cannot be a job name pattern, if it cannot.
pub fn job_pattern_problem(pattern: &str) -> Option<String> {
    if pattern.trim().is_empty() {
        Some("an empty job pattern matches no job (`*` matches every job)".to_string())
    } else if pattern.chars().any(char::is_whitespace) {
        Some(format!(
            "{pattern:?} holds whitespace, which no job name does"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_any_run_of_characters_and_nothing_else_is_special() {
        let cases = [
            ("*", "", true),
            ("*", "anything/at:all", true),
            ("ci-*", "ci-nightly", true),
            ("ci-*", "ci-", true),
            ("ci-*", "pull-ci", false),
            ("*-e2e", "ci-e2e", true),
            ("*-e2e", "ci-e2e-x", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "a-b-b-c", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("exact", "exact", true),
            ("exact", "exact2", false),
            ("ci-?", "ci-1", false),
            ("ci.nightly", "ci-nightly", false),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(glob_match(pattern, text), want, "{pattern:?} vs {text:?}");
        }
    }

    #[test]
    fn a_role_rule_matches_its_sessions() {
        let session = "arn:aws:sts::123456789012:assumed-role/ci/build-42";
        assert!(principal_matches(
            "arn:aws:iam::123456789012:role/ci",
            session
        ));
        assert!(principal_matches(
            "arn:aws:sts::123456789012:assumed-role/ci/*",
            session
        ));
        assert!(!principal_matches(
            "arn:aws:iam::123456789012:role/cid",
            session
        ));
        assert!(!principal_matches(
            "arn:aws:iam::210987654321:role/ci",
            session
        ));
        assert!(!principal_matches(
            "arn:aws:iam::123456789012:role/ci",
            "arn:aws:iam::123456789012:user/ci"
        ));
    }

    #[test]
    fn authorize_names_the_rule_or_why_none_applies() {
        let g = Gangway {
            allowed_callers: vec![
                AllowedCaller {
                    principal: "arn:aws:iam::1:user/alice".into(),
                    jobs: vec!["ci-*".into()],
                },
                AllowedCaller {
                    principal: "arn:aws:iam::1:*".into(),
                    jobs: vec!["lint".into()],
                },
            ],
        };
        assert_eq!(g.authorize("arn:aws:iam::1:user/alice", "ci-a"), Ok(0));
        assert_eq!(g.authorize("arn:aws:iam::1:user/alice", "lint"), Ok(1));
        let e = g
            .authorize("arn:aws:iam::1:user/alice", "deploy")
            .unwrap_err();
        assert!(
            e.contains("allowed_callers[0]") && e.contains("allowed_callers[1]"),
            "{e}"
        );
        let e = g.authorize("arn:aws:iam::2:user/bob", "lint").unwrap_err();
        assert!(e.contains("matches no principal"), "{e}");
        let e = Gangway::default().authorize("arn:aws:iam::1:user/alice", "x");
        assert!(e.unwrap_err().contains("is empty"));
    }
}
