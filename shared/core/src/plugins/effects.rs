//! What a plugin decides: data, not calls. The trigger's executor carries
//! effects out (`functions/trigger/src/plugins/effects.rs`), `skiff plan`
//! prints them. Each effect has a [`Effect::fingerprint`] that keys it in the
//! job store's dedupe space together with the delivery and the plugin, so a
//! redelivered event performs no effect twice.

use serde::Serialize;

use crate::ports::{CommitStatus, IssueState};
use crate::prowjob::ProwJob;

/// Which reply to post when GitHub refuses some of the users an
/// [`Effect::Assign`] or [`Effect::RequestReview`] names (Prow's
/// `MissingUsers`), quoting the comment that asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The comment that asked, its URL and author.
    pub body: String,
    pub url: String,
    pub user: String,
}

/// One change a plugin asks for, on the event's issue or pull request.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    AddLabel {
        label: String,
    },
    RemoveLabel {
        label: String,
    },
    Comment {
        body: String,
    },
    /// Deletes the bot's comments whose text contains `containing` (Prow's
    /// comment pruner).
    Prune {
        containing: String,
    },
    /// Deletes the bot's comments by id (the approve notifier it replaces).
    DeleteComments {
        ids: Vec<i64>,
    },
    Assign {
        logins: Vec<String>,
        /// Reply naming the users GitHub would not assign.
        #[serde(skip_serializing_if = "Option::is_none")]
        refused: Option<Refusal>,
    },
    Unassign {
        logins: Vec<String>,
    },
    RequestReview {
        users: Vec<String>,
        teams: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        refused: Option<Refusal>,
    },
    UnrequestReview {
        users: Vec<String>,
        teams: Vec<String>,
    },
    SetState {
        state: IssueState,
    },
    /// A commit status on `sha` (skip, override).
    Status {
        sha: String,
        status: CommitStatus,
    },
    /// A job record to create (override's `success` record).
    CreateJob {
        #[serde(skip)]
        job: Box<ProwJob>,
        id: String,
    },
    /// Check a pull request's mergeability again after `delay_seconds`
    /// (needs-rebase: GitHub computes it lazily).
    CheckMergeable {
        number: i64,
        delay_seconds: u64,
    },
    /// Check every open pull request into `branch` (needs-rebase after a
    /// push to it).
    CheckBase {
        branch: String,
        delay_seconds: u64,
    },
}

/// FNV-1a: a short, stable digest of text for keys (not for security).
pub fn digest(text: &str) -> String {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{h:016x}")
}

impl Effect {
    /// A short key that is the same for the same effect, whatever order it
    /// is planned in.
    pub fn fingerprint(&self) -> String {
        match self {
            Effect::AddLabel { label } => format!("label+{}", digest(label)),
            Effect::RemoveLabel { label } => format!("label-{}", digest(label)),
            Effect::Comment { body } => format!("comment-{}", digest(body)),
            Effect::Prune { containing } => format!("prune-{}", digest(containing)),
            Effect::DeleteComments { ids } => format!(
                "delete-{}",
                digest(&ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
            ),
            Effect::Assign { logins, .. } => format!("assign+{}", digest(&logins.join(","))),
            Effect::Unassign { logins } => format!("assign-{}", digest(&logins.join(","))),
            Effect::RequestReview { users, teams, .. } => {
                format!("review+{}", digest(&format!("{users:?}{teams:?}")))
            }
            Effect::UnrequestReview { users, teams } => {
                format!("review-{}", digest(&format!("{users:?}{teams:?}")))
            }
            Effect::SetState { state } => format!("state-{state:?}"),
            Effect::Status { sha, status } => format!(
                "status-{}",
                digest(&format!(
                    "{sha}{}{}{}",
                    status.context, status.state, status.description
                ))
            ),
            Effect::CreateJob { id, .. } => format!("job-{id}"),
            Effect::CheckMergeable { number, .. } => format!("mergeable-{number}"),
            Effect::CheckBase { branch, .. } => format!("base-{}", digest(branch)),
        }
    }

    /// Writes a comment or otherwise tells people something.
    pub fn is_visible(&self) -> bool {
        !matches!(
            self,
            Effect::CheckMergeable { .. } | Effect::CheckBase { .. }
        )
    }
}

/// What one plugin decided for one event.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PluginPlan {
    pub plugin: String,
    /// The issue or pull request the effects apply to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    pub effects: Vec<Effect>,
    /// Why nothing (or this) happens, for `--explain` and the logs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl PluginPlan {
    pub fn new(plugin: &str, number: Option<i64>) -> Self {
        PluginPlan {
            plugin: plugin.to_string(),
            number,
            ..PluginPlan::default()
        }
    }

    /// Adds an effect unless the same one is already planned.
    pub fn push(&mut self, effect: Effect) {
        if !self.effects.contains(&effect) {
            self.effects.push(effect);
        }
    }

    pub fn add_label(&mut self, label: &str) {
        self.push(Effect::AddLabel {
            label: label.to_string(),
        });
    }

    pub fn remove_label(&mut self, label: &str) {
        self.push(Effect::RemoveLabel {
            label: label.to_string(),
        });
    }

    pub fn comment(&mut self, body: String) {
        self.push(Effect::Comment { body });
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Labels added, for summaries.
    pub fn labels_added(&self) -> Vec<&str> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::AddLabel { label } => Some(label.as_str()),
                _ => None,
            })
            .collect()
    }

    pub fn labels_removed(&self) -> Vec<&str> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::RemoveLabel { label } => Some(label.as_str()),
                _ => None,
            })
            .collect()
    }

    pub fn comments(&self) -> Vec<&str> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Comment { body } => Some(body.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_effects_apart_and_repeat_for_the_same_effect() {
        let add = Effect::AddLabel {
            label: "lgtm".into(),
        };
        let remove = Effect::RemoveLabel {
            label: "lgtm".into(),
        };
        assert_ne!(add.fingerprint(), remove.fingerprint());
        assert_eq!(add.fingerprint(), add.clone().fingerprint());
        assert_eq!(digest("lgtm"), digest("lgtm"));
        assert_ne!(digest("lgtm"), digest("lgtm "));
    }

    #[test]
    fn a_plan_holds_each_effect_once() {
        let mut p = PluginPlan::new("hold", Some(1));
        p.add_label("do-not-merge/hold");
        p.add_label("do-not-merge/hold");
        assert_eq!(p.labels_added(), ["do-not-merge/hold"]);
    }
}
