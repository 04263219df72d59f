//! CodeCommit's EventBridge events into the neutral [`Event`] model.
//!
//! CodeCommit has no webhooks; it publishes `aws.codecommit` events to
//! EventBridge. They carry less than GitHub's payloads: no comment text, no
//! changed files, no labels or draft state, and users as IAM ARNs. The gaps
//! are left `None` for the planner to fetch, or set to what CodeCommit cannot
//! express (never a draft, mergeability unknown).
//!
//! A repository is named `region/name`: names are unique per account and
//! region, and one deployment serves one account.

use serde::{Deserialize, Deserializer};

use super::{
    CommentAction, CommentEvent, Event, EventError, PrAction, PullRequest, PullRequestEvent,
    PushEvent, Repo, decode, ignored, malformed,
};

const PULL_REQUEST: &str = "CodeCommit Pull Request State Change";
const COMMENT: &str = "CodeCommit Comment on Pull Request";
const REPOSITORY: &str = "CodeCommit Repository State Change";

/// Parses one EventBridge event (the envelope with `detail-type`, `source`,
/// `region`, `resources` and `detail`).
///
/// Event types and `detail.event`s Skiff does not act on become
/// [`Event::Ignored`]; only a body that is not such an event is an error.
pub fn parse(body: &[u8]) -> Result<Event, EventError> {
    let header: Header = decode("EventBridge", body)?;
    if header.source != "aws.codecommit" {
        return Ok(ignored(
            &header.detail_type,
            format!(
                "the event comes from `{}`, not from CodeCommit (`aws.codecommit`)",
                header.source
            ),
        ));
    }
    match header.detail_type.as_str() {
        PULL_REQUEST => pull_request(body),
        COMMENT => comment(body),
        REPOSITORY => reference(body),
        "CodeCommit Comment on Commit" => Ok(ignored(
            &header.detail_type,
            "comments on commits start nothing; only comments on pull requests carry commands",
        )),
        other => Ok(ignored(
            other,
            format!("Skiff does not act on `{other}` events"),
        )),
    }
}

// ---------------------------------------------------------------------------
// Event shapes

/// Read first, so that an event Skiff ignores is never rejected for lacking
/// fields only the handled events carry.
#[derive(Deserialize)]
struct Header {
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
}

#[derive(Deserialize)]
struct Envelope<D> {
    region: String,
    resources: Option<Vec<String>>,
    detail: D,
}

/// Read before the full detail for the same reason as [`Header`].
#[derive(Deserialize)]
struct EventOnly {
    event: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrDetail {
    event: String,
    #[serde(deserialize_with = "pull_request_id")]
    pull_request_id: i64,
    repository_names: Option<Vec<String>>,
    title: Option<String>,
    description: Option<String>,
    author: String,
    caller_user_arn: Option<String>,
    source_commit: String,
    source_reference: String,
    destination_commit: String,
    destination_reference: String,
    pull_request_status: String,
    is_merged: Option<Flag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentDetail {
    #[serde(deserialize_with = "pull_request_id")]
    pull_request_id: i64,
    repository_name: Option<String>,
    comment_id: String,
    caller_user_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferenceDetail {
    repository_name: Option<String>,
    reference_type: Option<String>,
    reference_name: Option<String>,
    reference_full_name: Option<String>,
    commit_id: Option<String>,
    old_commit_id: Option<String>,
    caller_user_arn: Option<String>,
}

/// CodeCommit writes booleans as the strings `"True"` and `"False"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

impl Flag {
    fn is_set(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Text(t) => t.eq_ignore_ascii_case("true"),
        }
    }
}

/// CodeCommit writes pull request ids as strings (`"42"`).
fn pull_request_id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(i64),
        Text(String),
    }
    match Id::deserialize(d)? {
        Id::Number(n) => Ok(n),
        Id::Text(t) => t.trim().parse().map_err(|_| {
            serde::de::Error::custom(format!("`pullRequestId` {t:?} is not a number"))
        }),
    }
}

// ---------------------------------------------------------------------------
// Events

fn pull_request(body: &[u8]) -> Result<Event, EventError> {
    let e: Envelope<PrDetail> = decode(PULL_REQUEST, body)?;
    let d = e.detail;
    let name = repository_name(PULL_REQUEST, d.repository_names, e.resources.as_deref())?;
    let status = d.pull_request_status.to_ascii_lowercase();
    let action = match d.event.as_str() {
        "pullRequestCreated" => PrAction::Opened,
        "pullRequestSourceBranchUpdated" => PrAction::Synchronize,
        "pullRequestStatusChanged" if status == "closed" => PrAction::Closed,
        "pullRequestStatusChanged" if status == "open" => PrAction::Reopened,
        // Only a merge changes the merge status, and a merge closes the PR.
        "pullRequestMergeStatusUpdated" => PrAction::Closed,
        // Approvals and approval rules: kept so the planner can say why they
        // start nothing.
        _ => PrAction::Other(d.event),
    };
    let console = Console::new(&e.region, &name);
    let pr = PullRequest {
        html_url: console.pull_request(d.pull_request_id),
        repo: console.repo(),
        number: d.pull_request_id,
        title: d.title.unwrap_or_default(),
        body: d.description.unwrap_or_default(),
        author: arn_name(&d.author).to_owned(),
        // An IAM identity has no page a contributor could follow.
        author_link: String::new(),
        head_sha: d.source_commit,
        head_ref: branch(&d.source_reference).to_owned(),
        base_ref: branch(&d.destination_reference).to_owned(),
        base_sha: d.destination_commit,
        draft: false,
        state: status,
        merged: d.is_merged.is_some_and(|m| m.is_set()),
        mergeable: None,
        labels: Vec::new(),
        milestone: String::new(),
    };
    Ok(Event::PullRequest(PullRequestEvent {
        action,
        pr,
        sender: d
            .caller_user_arn
            .as_deref()
            .map(arn_name)
            .unwrap_or_default()
            .to_owned(),
    }))
}

fn comment(body: &[u8]) -> Result<Event, EventError> {
    let action = match decode::<Envelope<EventOnly>>(COMMENT, body)?
        .detail
        .event
        .as_str()
    {
        "commentOnPullRequestCreated" => CommentAction::Created,
        "commentOnPullRequestUpdated" => CommentAction::Edited,
        other => return Ok(ignored(COMMENT, format!("`{other}` starts nothing"))),
    };
    let e: Envelope<CommentDetail> = decode(COMMENT, body)?;
    let d = e.detail;
    let name = repository_name(
        COMMENT,
        d.repository_name.map(|n| vec![n]),
        e.resources.as_deref(),
    )?;
    let console = Console::new(&e.region, &name);
    Ok(Event::Comment(CommentEvent {
        action,
        repo: console.repo(),
        number: d.pull_request_id,
        is_pull_request: true,
        // The event does not carry the text; the planner fetches it by id.
        body: None,
        html_url: console.comment(d.pull_request_id, &d.comment_id),
        comment_id: Some(d.comment_id),
        author: arn_name(&d.caller_user_arn).to_owned(),
        // The event does not carry the pull request's state; the planner
        // learns it when it fetches the comment.
        issue_state: "open".to_owned(),
        pr: None,
    }))
}

fn reference(body: &[u8]) -> Result<Event, EventError> {
    let event = decode::<Envelope<EventOnly>>(REPOSITORY, body)?
        .detail
        .event;
    let deleted = match event.as_str() {
        "referenceCreated" | "referenceUpdated" => false,
        "referenceDeleted" => true,
        other => return Ok(ignored(REPOSITORY, format!("`{other}` starts nothing"))),
    };
    let e: Envelope<ReferenceDetail> = decode(REPOSITORY, body)?;
    let d = e.detail;
    let name = repository_name(
        REPOSITORY,
        d.repository_name.map(|n| vec![n]),
        e.resources.as_deref(),
    )?;
    let git_ref = match (d.reference_full_name, d.reference_name) {
        (Some(full), _) if !full.is_empty() => full,
        (_, Some(short)) if d.reference_type.as_deref() == Some("tag") => {
            format!("refs/tags/{short}")
        }
        (_, Some(short)) => format!("refs/heads/{short}"),
        _ => {
            return Err(malformed(
                REPOSITORY,
                "the detail has neither `referenceFullName` nor `referenceName`",
            ));
        }
    };
    let after = match d.commit_id {
        Some(id) => id,
        None if deleted => String::new(),
        None => {
            return Err(malformed(
                REPOSITORY,
                format!("`{event}` has no `commitId`"),
            ));
        }
    };
    let before = d.old_commit_id.unwrap_or_default();
    let console = Console::new(&e.region, &name);
    let compare_url = if deleted {
        console.browse()
    } else if before.is_empty() {
        console.commit(&after)
    } else {
        console.compare(&before, &after)
    };
    Ok(Event::Push(PushEvent {
        repo: console.repo(),
        r#ref: git_ref,
        before,
        after,
        deleted,
        compare_url,
        pusher: d
            .caller_user_arn
            .as_deref()
            .map(arn_name)
            .unwrap_or_default()
            .to_owned(),
        // The event lists no files; the planner asks CodeCommit for the diff.
        changed_files: None,
    }))
}

/// Whether a job's `refs.repo_link` (the repository's `html_url` at
/// planning) is a CodeCommit repository: its results go to CodeCommit, not
/// GitHub.
pub fn is_codecommit_link(link: &str) -> bool {
    link.strip_prefix("https://")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(host, path)| {
            host.ends_with(".console.aws.amazon.com")
                && path.starts_with("codesuite/codecommit/repositories/")
        })
}

// ---------------------------------------------------------------------------
// Helpers

/// Links into the CodeCommit console, which is where a CodeCommit user
/// follows a link from a job's status.
struct Console {
    region: String,
    name: String,
    base: String,
}

impl Console {
    fn new(region: &str, name: &str) -> Self {
        Console {
            region: region.to_owned(),
            name: name.to_owned(),
            base: format!(
                "https://{region}.console.aws.amazon.com/codesuite/codecommit/repositories/{name}"
            ),
        }
    }

    fn repo(&self) -> Repo {
        Repo {
            org: self.region.clone(),
            repo: self.name.clone(),
            html_url: self.browse(),
        }
    }

    fn browse(&self) -> String {
        format!("{}/browse", self.base)
    }

    fn pull_request(&self, id: i64) -> String {
        format!("{}/pull-requests/{id}", self.base)
    }

    fn comment(&self, id: i64, comment_id: &str) -> String {
        format!("{}/pull-requests/{id}/activity#{comment_id}", self.base)
    }

    fn commit(&self, sha: &str) -> String {
        format!("{}/commit/{sha}", self.base)
    }

    fn compare(&self, before: &str, after: &str) -> String {
        format!("{}/compare/{before}/.../{after}", self.base)
    }
}

/// The repository's name from the detail, or else from the resource ARN
/// (`arn:aws:codecommit:REGION:ACCOUNT:NAME`) every CodeCommit event lists.
fn repository_name(
    event: &str,
    names: Option<Vec<String>>,
    resources: Option<&[String]>,
) -> Result<String, EventError> {
    names
        .into_iter()
        .flatten()
        .find(|n| !n.is_empty())
        .or_else(|| {
            resources
                .into_iter()
                .flatten()
                .find_map(|arn| arn.rsplit(':').next().filter(|n| !n.is_empty()))
                .map(str::to_owned)
        })
        .ok_or_else(|| malformed(event, "the event names no repository"))
}

/// The user's name in an IAM ARN: `Mary` in `arn:aws:iam::1:user/Mary` or
/// `arn:aws:sts::1:assumed-role/Admin/Mary` (the session name).
fn arn_name(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

fn branch(reference: &str) -> &str {
    reference.strip_prefix("refs/heads/").unwrap_or(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGION: &str = "eu-west-1";
    const REPO: &str = "payments-service";
    const CONSOLE: &str = "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/payments-service";
    const BASE_SHA: &str = "9c1f0e7d5b3a2c4e6f8091a2b3c4d5e6f7a8b9c0";
    const FIRST_HEAD: &str = "4b7e2a91c0d3f5e6a7b8c9d0e1f2a3b4c5d6e7f8";
    const SECOND_HEAD: &str = "d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9";
    const MERGE_SHA: &str = "61a3c5e7f9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9";

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../tests/fixtures/codecommit/", $name))
        };
    }

    fn repo() -> Repo {
        Repo {
            org: REGION.into(),
            repo: REPO.into(),
            html_url: format!("{CONSOLE}/browse"),
        }
    }

    fn pr_event(body: &[u8]) -> PullRequestEvent {
        match parse(body) {
            Ok(Event::PullRequest(e)) => e,
            other => panic!("expected a pull request event, got {other:?}"),
        }
    }

    fn comment_event(body: &[u8]) -> CommentEvent {
        match parse(body) {
            Ok(Event::Comment(e)) => e,
            other => panic!("expected a comment event, got {other:?}"),
        }
    }

    fn push_event(body: &[u8]) -> PushEvent {
        match parse(body) {
            Ok(Event::Push(e)) => e,
            other => panic!("expected a push event, got {other:?}"),
        }
    }

    fn ignored_reason(body: &[u8]) -> (String, String) {
        match parse(body) {
            Ok(Event::Ignored { event, reason }) => (event, reason),
            other => panic!("expected an ignored event, got {other:?}"),
        }
    }

    #[test]
    fn pull_request_created_is_opened_with_every_field_mapped() {
        let e = pr_event(fixture!("pull_request_created.json"));
        assert_eq!(e.action, PrAction::Opened);
        assert_eq!(e.sender, "jlopez");
        assert_eq!(
            e.pr,
            PullRequest {
                repo: repo(),
                number: 17,
                title: "Retry failed refunds with backoff".into(),
                body:
                    "Refunds that hit a 5xx from the ledger are retried three times.\n\n/test unit"
                        .into(),
                author: "jlopez".into(),
                author_link: String::new(),
                html_url: format!("{CONSOLE}/pull-requests/17"),
                head_sha: FIRST_HEAD.into(),
                head_ref: "feature/retry-refunds".into(),
                base_ref: "main".into(),
                base_sha: BASE_SHA.into(),
                draft: false,
                state: "open".into(),
                merged: false,
                mergeable: None,
                labels: vec![],
                milestone: String::new(),
            }
        );
    }

    #[test]
    fn source_branch_updated_is_synchronize_at_the_new_head() {
        let e = pr_event(fixture!("pull_request_source_branch_updated.json"));
        assert_eq!(e.action, PrAction::Synchronize);
        assert_eq!(e.pr.head_sha, SECOND_HEAD);
        assert!(e.pr.is_open());
    }

    #[test]
    fn status_changed_to_closed_is_closed_and_a_missing_description_is_empty() {
        let e = pr_event(fixture!("pull_request_status_closed.json"));
        assert_eq!(e.action, PrAction::Closed);
        assert_eq!(e.pr.state, "closed");
        assert!(!e.pr.merged);
        assert_eq!(e.pr.body, "");
        assert_eq!(e.sender, "akimura", "an IAM user's name");
        assert_eq!(e.pr.author, "jlopez", "the author is not the caller");
    }

    #[test]
    fn status_changed_to_open_is_reopened() {
        let e = pr_event(fixture!("pull_request_status_reopened.json"));
        assert_eq!(e.action, PrAction::Reopened);
        assert_eq!(e.pr.state, "open");
    }

    #[test]
    fn merge_status_updated_is_closed_and_merged() {
        let e = pr_event(fixture!("pull_request_merged.json"));
        assert_eq!(e.action, PrAction::Closed);
        assert!(e.pr.merged);
        assert_eq!(e.pr.state, "closed");
    }

    #[test]
    fn approval_events_are_kept_as_other_for_the_planner() {
        let e = pr_event(fixture!("pull_request_approval_state_changed.json"));
        assert_eq!(
            e.action,
            PrAction::Other("pullRequestApprovalStateChanged".into())
        );
        assert_eq!(e.pr.number, 17);
    }

    #[test]
    fn comment_created_carries_the_id_but_not_the_text() {
        let e = comment_event(fixture!("comment_on_pull_request_created.json"));
        assert_eq!(
            e,
            CommentEvent {
                action: CommentAction::Created,
                repo: repo(),
                number: 17,
                is_pull_request: true,
                body: None,
                comment_id: Some("7c2e9a41-3b5d-4f6e-8a1c-2d4f6b8e0a13".into()),
                author: "akimura".into(),
                issue_state: "open".into(),
                pr: None,
                html_url: format!(
                    "{CONSOLE}/pull-requests/17/activity#7c2e9a41-3b5d-4f6e-8a1c-2d4f6b8e0a13"
                ),
            }
        );
    }

    #[test]
    fn comment_updated_is_edited_by_the_session_name_of_an_assumed_role() {
        let e = comment_event(fixture!("comment_on_pull_request_updated.json"));
        assert_eq!(e.action, CommentAction::Edited);
        assert_eq!(e.author, "jlopez");
        assert_eq!(
            e.comment_id.as_deref(),
            Some("90b4d6f8-1a3c-4e5f-b7d9-3e5a7c9e1b24")
        );
    }

    #[test]
    fn branch_created_is_a_push_from_nothing_linking_the_commit() {
        let e = push_event(fixture!("reference_created_branch.json"));
        assert_eq!(
            e,
            PushEvent {
                repo: repo(),
                r#ref: "refs/heads/feature/retry-refunds".into(),
                before: String::new(),
                after: FIRST_HEAD.into(),
                deleted: false,
                compare_url: format!("{CONSOLE}/commit/{FIRST_HEAD}"),
                pusher: "jlopez".into(),
                changed_files: None,
            }
        );
        assert_eq!(e.branch(), "feature/retry-refunds");
    }

    #[test]
    fn tag_without_a_full_name_gets_a_tags_ref_from_its_type() {
        let e = push_event(fixture!("reference_created_tag.json"));
        assert_eq!(e.r#ref, "refs/tags/v2.4.0");
        assert_eq!(e.branch(), "v2.4.0");
        assert_eq!(e.after, MERGE_SHA);
    }

    #[test]
    fn branch_updated_is_a_push_comparing_old_and_new() {
        let e = push_event(fixture!("reference_updated.json"));
        assert_eq!(e.r#ref, "refs/heads/main");
        assert_eq!(e.before, BASE_SHA);
        assert_eq!(e.after, MERGE_SHA);
        assert!(!e.is_deletion());
        assert_eq!(
            e.compare_url,
            format!("{CONSOLE}/compare/{BASE_SHA}/.../{MERGE_SHA}")
        );
        assert_eq!(e.changed_files, None, "CodeCommit lists no files");
    }

    #[test]
    fn branch_deleted_is_a_deleted_push() {
        let e = push_event(fixture!("reference_deleted.json"));
        assert!(e.deleted);
        assert!(e.is_deletion());
        assert_eq!(e.before, SECOND_HEAD);
        assert_eq!(e.after, "");
        assert_eq!(e.compare_url, format!("{CONSOLE}/browse"));
    }

    #[test]
    fn events_that_start_nothing_are_ignored_with_a_reason() {
        for (body, event, says) in [
            (
                &fixture!("comment_on_commit_created.json")[..],
                "CodeCommit Comment on Commit",
                "comments on commits",
            ),
            (
                fixture!("unreferenced_merge_commit_created.json"),
                REPOSITORY,
                "`unreferencedMergeCommitCreated` starts nothing",
            ),
            (
                fixture!("approval_rule_template_created.json"),
                "CodeCommit Approval Rule Template Change",
                "does not act on `CodeCommit Approval Rule Template Change` events",
            ),
        ] {
            let (got_event, reason) = ignored_reason(body);
            assert_eq!(got_event, event);
            assert!(reason.contains(says), "{reason}");
        }
    }

    #[test]
    fn events_from_other_sources_are_ignored() {
        let body = br#"{"detail-type": "Object Created", "source": "aws.s3", "region": "eu-west-1", "detail": {}}"#;
        let (event, reason) = ignored_reason(body);
        assert_eq!(event, "Object Created");
        assert!(reason.contains("`aws.s3`"), "{reason}");
    }

    #[test]
    fn the_repository_name_falls_back_to_the_resource_arn() {
        let mut v: serde_json::Value =
            serde_json::from_slice(fixture!("comment_on_pull_request_created.json")).unwrap();
        v["detail"]
            .as_object_mut()
            .unwrap()
            .remove("repositoryName");
        let e = comment_event(&serde_json::to_vec(&v).unwrap());
        assert_eq!(e.repo, repo());
    }

    #[test]
    fn numeric_ids_and_boolean_flags_are_accepted_too() {
        let mut v: serde_json::Value =
            serde_json::from_slice(fixture!("pull_request_merged.json")).unwrap();
        v["detail"]["pullRequestId"] = 17.into();
        v["detail"]["isMerged"] = true.into();
        let e = pr_event(&serde_json::to_vec(&v).unwrap());
        assert_eq!(e.pr.number, 17);
        assert!(e.pr.merged);
    }

    #[test]
    fn a_pull_request_id_that_is_not_a_number_is_malformed() {
        let mut v: serde_json::Value =
            serde_json::from_slice(fixture!("pull_request_created.json")).unwrap();
        v["detail"]["pullRequestId"] = "seventeen".into();
        let err = parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("malformed CodeCommit Pull Request State Change payload"),
            "{msg}"
        );
        assert!(msg.contains("\"seventeen\" is not a number"), "{msg}");
    }

    #[test]
    fn a_missing_required_field_is_malformed_and_located() {
        let mut v: serde_json::Value =
            serde_json::from_slice(fixture!("pull_request_created.json")).unwrap();
        v["detail"].as_object_mut().unwrap().remove("sourceCommit");
        let err = parse(&serde_json::to_vec_pretty(&v).unwrap()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("missing field `sourceCommit`"), "{msg}");
        assert!(msg.contains(" line ") && msg.contains(" column "), "{msg}");
    }

    #[test]
    fn bad_json_is_malformed_with_line_and_column() {
        let err = parse(
            b"{\n  \"detail-type\": \"CodeCommit Pull Request State Change\",\n  \"source\": }",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("malformed EventBridge payload"), "{msg}");
        assert!(msg.contains("line 3 column"), "{msg}");
    }

    #[test]
    fn a_branch_push_without_a_commit_is_malformed() {
        let mut v: serde_json::Value =
            serde_json::from_slice(fixture!("reference_updated.json")).unwrap();
        v["detail"].as_object_mut().unwrap().remove("commitId");
        let msg = parse(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("`referenceUpdated` has no `commitId`"),
            "{msg}"
        );
    }

    #[test]
    fn arn_names_are_the_last_segment() {
        for (arn, name) in [
            ("arn:aws:iam::111122223333:user/akimura", "akimura"),
            ("arn:aws:iam::111122223333:user/team/akimura", "akimura"),
            (
                "arn:aws:sts::111122223333:assumed-role/Developer/jlopez",
                "jlopez",
            ),
            ("arn:aws:sts::111122223333:federated-user/jlopez", "jlopez"),
            ("arn:aws:iam::111122223333:root", "root"),
        ] {
            assert_eq!(arn_name(arn), name, "{arn}");
        }
    }

    #[test]
    fn only_console_repository_links_are_codecommit() {
        assert!(is_codecommit_link(&format!("{CONSOLE}/browse")));
        assert!(is_codecommit_link(&Console::new("us-east-1", "r").browse()));
        for other in [
            "https://github.com/acme/widgets",
            "https://evil.example/codesuite/codecommit/repositories/x",
            "https://eu-west-1.console.aws.amazon.com/ec2/home",
            "",
        ] {
            assert!(!is_codecommit_link(other), "{other}");
        }
    }
}
