//! Who may rerun or abort a job (Prow's deck `isAllowedToRerun` and
//! `canTriggerJob`): anyone when the deck's or the job's rerun auth config
//! says `allow_anyone`; otherwise a signed-in person named by the deck's
//! config for the job's repo and cluster, then by the job's own
//! `rerun_auth_config` (`github_users`, `github_orgs`, `github_team_ids`,
//! `github_team_slugs`); and for a presubmit of a pull, anyone who may use
//! `/test` on it (the trigger plugin's trust: an org member, a collaborator
//! unless `only_org_members`, a member of `trusted_org`, or the pull carries
//! `ok-to-test`). Every verdict names the rule that decided it.

use skiff_core::config::Config;
use skiff_core::config::rerun_auth;
use skiff_core::ports::{PortError, PortResult, Scm};
use skiff_core::prowjob::{ProwJob, ProwJobType, RerunAuthConfig};

use super::{Operator, SignIn};

/// The answer, with the rule that gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed(String),
    /// Nobody is signed in, and only named people may.
    SignInNeeded,
    Refused(String),
}

const OK_TO_TEST: &str = "ok-to-test";

/// Prow's `RerunAuthConfig.IsAuthorized`: the rule that lets `login` in.
async fn named_by(
    rac: &RerunAuthConfig,
    org: &str,
    login: &str,
    scm: Option<&dyn Scm>,
    whose: &str,
) -> PortResult<Option<String>> {
    if rac
        .github_users
        .iter()
        .any(|u| u.eq_ignore_ascii_case(login))
    {
        return Ok(Some(format!("{whose} github_users names {login}")));
    }
    // Without a GitHub client, org and team rules cannot be checked.
    let Some(scm) = scm else { return Ok(None) };
    for o in &rac.github_orgs {
        if scm.is_member(o, login).await? {
            return Ok(Some(format!(
                "{whose} github_orgs: {login} is a member of {o}"
            )));
        }
    }
    for id in &rac.github_team_ids {
        if scm.is_team_id_member(org, *id, login).await? {
            return Ok(Some(format!(
                "{whose} github_team_ids: {login} is in team {id}"
            )));
        }
    }
    for t in &rac.github_team_slugs {
        if scm.is_team_member(&t.org, &t.slug, login).await? {
            return Ok(Some(format!(
                "{whose} github_team_slugs: {login} is in {}/{}",
                t.org, t.slug
            )));
        }
    }
    Ok(None)
}

/// Whether `login` may use `/test` on the job's pull.
async fn may_test(config: &Config, job: &ProwJob, login: &str, scm: &dyn Scm) -> PortResult<bool> {
    let Some(refs) = job.spec.refs.as_ref() else {
        return Ok(false);
    };
    let Some(pull) = refs.pulls.first() else {
        return Ok(false);
    };
    let t = config.plugins.trigger_for(&refs.org, &refs.repo);
    if scm.is_member(&refs.org, login).await? {
        return Ok(true);
    }
    if !t.only_org_members && scm.is_collaborator(&refs.org, &refs.repo, login).await? {
        return Ok(true);
    }
    if !t.trusted_org.is_empty()
        && t.trusted_org != refs.org
        && scm.is_member(&t.trusted_org, login).await?
    {
        return Ok(true);
    }
    match scm.pull_request(&refs.org, &refs.repo, pull.number).await {
        Ok(pr) => Ok(pr.labels.iter().any(|l| l == OK_TO_TEST)),
        // A pull that is gone has no ok-to-test to give.
        Err(PortError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether the viewer (`login`, empty when not signed in) may rerun or
/// abort `job`.
pub async fn decide(
    op: &Operator<'_>,
    config: Option<&Config>,
    job: &ProwJob,
    login: &str,
) -> PortResult<Verdict> {
    let entries = config.map(|c| {
        rerun_auth::entries(
            &c.prow.deck.rerun_auth_configs,
            &c.prow.deck.default_rerun_auth_configs,
        )
    });
    let deck_rule = entries
        .as_deref()
        .and_then(|e| rerun_auth::for_job(e, &job.spec));
    let job_rule = job.spec.rerun_auth_config.as_ref();
    if deck_rule.is_some_and(|r| r.allow_anyone) {
        return Ok(Verdict::Allowed(
            "the deck's rerun_auth_configs for this job allow anyone".into(),
        ));
    }
    if job_rule.is_some_and(|r| r.allow_anyone) {
        return Ok(Verdict::Allowed(
            "the job's rerun_auth_config allows anyone".into(),
        ));
    }
    if matches!(op.sign_in, SignIn::Anyone) {
        return Ok(Verdict::Allowed(
            "skiff dev --deck-auth none: everyone may rerun and abort".into(),
        ));
    }
    if login.is_empty() {
        return Ok(Verdict::SignInNeeded);
    }
    let org = rerun_auth::job_org(&job.spec);
    if let Some(r) = deck_rule
        && let Some(why) = named_by(r, org, login, op.scm, "deck.rerun_auth_configs:").await?
    {
        return Ok(Verdict::Allowed(why));
    }
    if let Some(r) = job_rule
        && let Some(why) = named_by(r, org, login, op.scm, "the job's rerun_auth_config:").await?
    {
        return Ok(Verdict::Allowed(why));
    }
    if job.spec.r#type == Some(ProwJobType::Presubmit)
        && let (Some(c), Some(scm)) = (config, op.scm)
        && may_test(c, job, login, scm).await?
    {
        return Ok(Verdict::Allowed(format!(
            "{login} may use /test on the pull request (the trigger plugin's trust)"
        )));
    }
    let rules = match (deck_rule.is_some(), job_rule.is_some()) {
        (false, false) => "no rerun_auth_configs entry matches this job and it has no rerun_auth_config".to_string(),
        (true, false) => "the deck's rerun_auth_configs for this job do not name you".to_string(),
        (false, true) => "the job's rerun_auth_config does not name you".to_string(),
        (true, true) => {
            "neither the deck's rerun_auth_configs for this job nor the job's rerun_auth_config name you"
                .to_string()
        }
    };
    let pull = if job.spec.r#type == Some(ProwJobType::Presubmit) {
        ", and you may not use /test on its pull request"
    } else {
        ""
    };
    Ok(Verdict::Refused(format!("{login}: {rules}{pull}.")))
}
