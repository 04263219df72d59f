//! [`HookDeliveries`] over GitHub's webhook delivery log: listing recent
//! deliveries of a hook and asking for one again.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Deserialize;
use skiff_core::ports::{Hook, HookDeliveries, HookDelivery, PortError, PortResult};

use super::GitHubScm;
use super::auth::Scope;
use super::http::{MAX_PAGES, PER_PAGE, Verb, decode, repo_path, seg};

#[derive(Deserialize)]
struct Delivery {
    id: i64,
    guid: String,
    delivered_at: Timestamp,
    #[serde(default)]
    redelivery: bool,
    #[serde(default)]
    status_code: u16,
    #[serde(default)]
    event: String,
}

impl GitHubScm {
    /// Where a hook's deliveries are listed, and whose credentials read them.
    fn deliveries_path(hook: &Hook) -> (Scope<'_>, String) {
        match hook {
            Hook::App => (Scope::App, "/app/hook/deliveries".to_owned()),
            Hook::Repo { org, repo, id } => (
                Scope::Org(org),
                format!("{}/hooks/{id}/deliveries", repo_path(org, repo)),
            ),
            Hook::Org { org, id } => (
                Scope::Org(org),
                format!("/orgs/{}/hooks/{id}/deliveries", seg(org)),
            ),
        }
    }
}

#[async_trait]
impl HookDeliveries for GitHubScm {
    async fn deliveries(&self, hook: &Hook, since: Timestamp) -> PortResult<Vec<HookDelivery>> {
        if matches!(hook, Hook::App) && !self.is_app() {
            return Err(PortError::Rejected(
                "the App's webhook deliveries need GitHub App credentials".into(),
            ));
        }
        let (scope, base) = Self::deliveries_path(hook);
        let mut path = format!("{base}?per_page={PER_PAGE}");
        let mut out = Vec::new();
        // Newest first, paged by cursor: stop at the first page that reaches
        // back past `since`.
        for _ in 0..MAX_PAGES {
            let reply = self.send_ok(Verb::Get, scope, &path, None).await?;
            let page: Vec<Delivery> = decode(Verb::Get, &path, &reply.body)?;
            let reached = page.iter().any(|d| d.delivered_at < since);
            out.extend(page.into_iter().map(|d| HookDelivery {
                id: d.id,
                guid: d.guid,
                delivered_at: d.delivered_at,
                redelivery: d.redelivery,
                status_code: d.status_code,
                event: d.event,
            }));
            match reply.next {
                Some(next) if !reached => path = next,
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    async fn redeliver(&self, hook: &Hook, id: i64) -> PortResult<()> {
        let (scope, base) = Self::deliveries_path(hook);
        let path = format!("{base}/{id}/attempts");
        self.send_ok(Verb::Post, scope, &path, None).await.map(drop)
    }
}
