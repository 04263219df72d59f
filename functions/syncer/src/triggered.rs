//! Triggered jobs whose dispatch message was lost (a crash between writing
//! the record and queueing it) are sent to the dispatcher again.

use jiff::{SignedDuration, Timestamp};
use skiff_core::keys;
use skiff_core::messages::DispatchMessage;
use skiff_core::prowjob::ProwJob;
use tracing::{debug, info, warn};

use crate::Pass;

impl Pass<'_, '_> {
    pub(crate) async fn needs_redispatch(&mut self, job: &ProwJob) -> bool {
        let Ok(wait) = SignedDuration::try_from(self.deps.redispatch_after) else {
            return false;
        };
        let started = job.status.start_time.unwrap_or(Timestamp::MIN);
        if self.now.duration_since(started) < wait {
            return false;
        }
        let Ok(expires) = self.now.checked_add(wait) else {
            return false;
        };
        // Known key: the dispatcher deferred it lately, or we sent it lately.
        match self
            .deps
            .store
            .remember(&keys::dispatch_waiting(&job.metadata.name), expires)
            .await
        {
            Ok(fresh) => fresh,
            Err(e) => {
                debug!(job_id = %job.metadata.name, error = %e, "cannot check the waiting lease");
                self.report.failures += 1;
                false
            }
        }
    }

    pub(crate) async fn redispatch(&mut self, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        let bodies: Vec<String> = ids
            .iter()
            .map(|id| DispatchMessage { id: id.clone() }.to_body())
            .collect();
        match self.deps.queue.send(&bodies).await {
            Ok(()) => {
                info!(
                    count = ids.len(),
                    "sent triggered jobs to the dispatcher again"
                );
                self.report.redispatched += ids.len();
            }
            Err(e) => {
                warn!(error = %e, "cannot send triggered jobs again");
                self.report.failures += 1;
                // Let the next pass try again rather than wait out the lease.
                for id in &ids {
                    let _ = self.deps.store.forget(&keys::dispatch_waiting(id)).await;
                }
            }
        }
    }
}
