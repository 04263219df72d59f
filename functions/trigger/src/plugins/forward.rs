//! Prow's external plugins: the event goes, as GitHub sent it, to every
//! external plugin of the repository that asked for it.
//!
//! Each forward is claimed under `external/<delivery>/<name>` first. A plugin
//! that cannot be reached releases its claim and fails the message, so the
//! `events` queue delivers it again (and, after its receive limit, to the
//! dead-letter queue) and only the plugins not yet reached are sent it. A
//! plugin that answers non-2xx has received it: Prow only logs that.

use std::time::Duration;

use jiff::Timestamp;
use skiff_core::event::Repo;
use skiff_core::messages::EventMessage;
use skiff_core::plugins::external;
use tracing::{info, warn};

use crate::{Error, Result, TriggerDeps};

const FORWARD_KEY_TTL: Duration = Duration::from_secs(14 * 24 * 60 * 60);

pub(crate) async fn forward(
    msg: &EventMessage,
    repo: &Repo,
    deps: &TriggerDeps<'_>,
    now: Timestamp,
) -> Result<()> {
    let targets = external::targets(deps.config, &repo.org, &repo.repo, &msg.event);
    if targets.is_empty() {
        return Ok(());
    }
    let Some(forwarder) = deps.external else {
        warn!(
            plugins = targets.len(),
            "external plugins are configured but this trigger cannot reach them"
        );
        return Ok(());
    };
    let headers = external::headers(&msg.event, &msg.delivery, &msg.signature);
    let expires = now.checked_add(FORWARD_KEY_TTL).unwrap_or(Timestamp::MAX);
    let mut failed = None;
    for t in targets {
        let key = format!("external/{}/{}", msg.delivery, t.name);
        match deps.store.remember(&key, expires).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                failed.get_or_insert(Error::Port {
                    doing: format!("claim the forward to {}", t.name),
                    source: e,
                });
                continue;
            }
        }
        match forwarder
            .forward(&t.endpoint, &headers, msg.body.as_bytes())
            .await
        {
            Ok(status) if (200..300).contains(&status) => {
                info!(plugin = %t.name, status, "forwarded to external plugin");
            }
            Ok(status) => {
                warn!(plugin = %t.name, status, "external plugin answered with an error");
            }
            Err(e) => {
                warn!(plugin = %t.name, error = %e, "cannot reach external plugin: will retry");
                if let Err(forgot) = deps.store.forget(&key).await {
                    warn!(plugin = %t.name, error = %forgot, "cannot release the forward's claim");
                }
                failed.get_or_insert(Error::Port {
                    doing: format!("forward the event to external plugin {}", t.name),
                    source: e,
                });
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
