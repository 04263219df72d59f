//! GitHub's merge queue (Skiff's own: Prow has none). When the queue asks
//! for a merge group's checks, the repo's required presubmits — reported,
//! not optional, that would run for the base branch: `always_run` and
//! `run_before_merge` ones always, `run_if_changed`/`skip_if_only_changed`
//! ones when the group's changes (base…head) match — run against the group's
//! temporary branch (as postsubmit-typed runs of the presubmit: they test a
//! branch head, not a pull), and report their statuses on its head, where
//! the queue looks. Only for repos in `skiff.merge_queue.repos`; a repo there is not
//! tide's (check-config refuses both).

use std::sync::Arc;

use super::facts::FactError;
use super::reasons::{branch_reason_for, change_reason_for};
use super::trigger::Planner;
use super::{Plan, Planned, PlannedJob};
use crate::event::{MergeGroupEvent, PushEvent};
use crate::prowjob::Refs;

impl<'c> Planner<'c, '_, '_> {
    pub(super) async fn merge_group(&mut self, e: &MergeGroupEvent) -> Result<Plan<'c>, FactError> {
        let repo = &e.repo;
        if !self
            .ctx
            .config
            .prow
            .skiff
            .merge_queue
            .covers(&repo.org, &repo.repo)
        {
            return Ok(Plan::noted(format!(
                "{} does not merge with GitHub's merge queue here: list it in skiff.merge_queue.repos",
                repo.full_name()
            )));
        }
        if !self.trigger_enabled(repo) {
            return Ok(Plan::noted(format!(
                "the trigger plugin is not enabled for {} in plugins.yaml",
                repo.full_name()
            )));
        }
        let presubmits = self.presubmits(repo);
        let regexes = self.ctx.regexes;
        let mut plan = Plan::new(self.ctx.explain);
        let refs = Arc::new(Refs {
            org: repo.org.clone(),
            repo: repo.repo.clone(),
            repo_link: repo.html_url.clone(),
            base_ref: e.head_ref.clone(),
            base_sha: e.head_sha.clone(),
            base_link: format!("{}/commit/{}", repo.html_url, e.head_sha),
            ..Refs::default()
        });
        let key_prefix: Arc<str> = Arc::from(format!(
            "{}/{}/merge-group/{}/",
            self.ctx.delivery,
            repo.full_name(),
            e.head_sha
        ));
        // The group's changes: what the queue adds to the base.
        let changes = PushEvent {
            repo: repo.clone(),
            r#ref: format!("refs/heads/{}", e.head_ref),
            before: e.base_sha.clone(),
            after: e.head_sha.clone(),
            deleted: false,
            compare_url: String::new(),
            pusher: String::new(),
            changed_files: None,
        };
        for p in presubmits {
            let name = &p.base.name;
            if !p.context_required() && !p.fields.run_before_merge {
                plan.skip(name, || {
                    "not required for merging (optional or skip_report): the merge queue does not wait for it".into()
                });
                continue;
            }
            if !regexes.branch_matches(&p.brancher, &e.base_ref) {
                plan.skip(name, || branch_reason_for(&p.brancher, &e.base_ref));
                continue;
            }
            let runs = if p.fields.always_run || p.fields.run_before_merge {
                true
            } else if p.changes.could_run() {
                let files = self.facts.push_changes(&changes).await?;
                let m = &p.changes;
                let runs = if !m.run_if_changed.is_empty() {
                    regexes
                        .get(&m.run_if_changed)
                        .is_some_and(|re| files.iter().any(|f| re.is_match(f)))
                } else {
                    regexes
                        .get(&m.skip_if_only_changed)
                        .is_some_and(|re| files.iter().any(|f| !re.is_match(f)))
                };
                if !runs {
                    let n = files.len();
                    plan.skip(name, || change_reason_for(&p.changes, n));
                }
                runs
            } else {
                plan.skip(name, || {
                    "runs only when asked for: not required by the merge queue".into()
                });
                false
            };
            if runs {
                plan.add_job(PlannedJob {
                    key_prefix: key_prefix.clone(),
                    kind: Planned::MergeGroup {
                        job: p,
                        refs: refs.clone(),
                    },
                    delivery: self.ctx.delivery,
                    now: self.ctx.now,
                });
            }
        }
        Ok(plan)
    }
}
