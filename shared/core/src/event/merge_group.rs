//! GitHub's `merge_group` webhook (its merge queue). Only `checks_requested`
//! starts anything; `destroyed` (the group merged, or was dropped) is noted.

use serde::Deserialize;

use super::github::Repository;
use super::{Event, EventError, MergeGroupEvent, decode, ignored};

#[derive(Deserialize)]
struct ActionOnly {
    action: String,
}

#[derive(Deserialize)]
struct Payload {
    merge_group: Group,
    repository: Repository,
}

#[derive(Deserialize)]
struct Group {
    head_sha: String,
    head_ref: String,
    base_sha: String,
    base_ref: String,
}

fn branch(r: &str) -> String {
    r.strip_prefix("refs/heads/").unwrap_or(r).to_string()
}

pub(super) fn parse(body: &[u8]) -> Result<Event, EventError> {
    const EVENT: &str = "merge_group";
    let a: ActionOnly = decode(EVENT, body)?;
    if a.action != "checks_requested" {
        return Ok(ignored(
            EVENT,
            format!(
                "merge_group `{}`: only `checks_requested` starts the required jobs",
                a.action
            ),
        ));
    }
    let p: Payload = decode(EVENT, body)?;
    Ok(Event::MergeGroup(MergeGroupEvent {
        repo: p.repository.into_model(EVENT)?,
        head_ref: branch(&p.merge_group.head_ref),
        head_sha: p.merge_group.head_sha,
        base_ref: branch(&p.merge_group.base_ref),
        base_sha: p.merge_group.base_sha,
    }))
}
