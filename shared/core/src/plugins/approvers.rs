//! Prow's approvers algorithm (`pkg/plugins/approve/approvers/owners.go`):
//! which OWNERS directories a PR needs approval in, who approved, whom to
//! suggest, and the `[APPROVALNOTIFIER]` comment.
//!
//! Quirks kept on purpose (REVIEW.md §3): the auto-approve test is a
//! substring test; a candidate's greedy score is its total directory count;
//! the files filtered by `GetOwnersSet` stay unfiltered elsewhere (Go's value
//! receiver drops the filtering). The suggestion shuffle is seeded by the PR
//! number, so one PR always gets the same suggestions; the generator is
//! SplitMix64, not Go's `math/rand`, so the order differs from Prow's.

use std::collections::{BTreeMap, BTreeSet};

use super::owners::{RepoOwners, dir_of};

/// Go's `filepath.Dir` on a relative path: `.` for a top-level name.
fn go_dir(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some((d, _)) if !d.is_empty() => d,
        _ => ".",
    }
}

fn canonical(p: &str) -> &str {
    if p == "." { "" } else { p }
}

/// The files a PR changes, against the repository's OWNERS.
pub struct Owners<'a> {
    filenames: Vec<String>,
    repo: &'a RepoOwners,
    seed: i64,
}

impl<'a> Owners<'a> {
    pub fn new(filenames: Vec<String>, repo: &'a RepoOwners, seed: i64) -> Self {
        Owners {
            filenames,
            repo,
            seed,
        }
    }

    /// Prow's `GetOwnersSet`: each file's nearest approver directory, minus
    /// auto-approved subfolders, minus directories under another one in the
    /// set (unless `no_parent_owners` sits between).
    pub fn owners_set(&self) -> BTreeSet<String> {
        let mut owners = BTreeSet::new();
        for f in &self.filenames {
            let dir = self.repo.find_approver_owners_for_file(f);
            if go_dir(go_dir(f)).contains(dir.as_str())
                && self.repo.is_auto_approve_unowned_subfolders(&dir)
            {
                continue;
            }
            owners.insert(dir);
        }
        self.remove_subdirs(&mut owners);
        owners
    }

    fn remove_subdirs(&self, dirs: &mut BTreeSet<String>) {
        let snapshot: Vec<String> = dirs.iter().cloned().collect();
        for dir in snapshot {
            let mut path = dir.clone();
            while !self.repo.is_no_parent_owners(&path) && !canonical(&path).is_empty() {
                path = go_dir(&path).to_string();
                if dirs.contains(canonical(&path)) {
                    dirs.remove(&dir);
                    break;
                }
            }
        }
    }

    fn by_dir(&self, leaf: bool) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &self.filenames {
            let dir = self.repo.find_approver_owners_for_file(f);
            let people = if leaf {
                self.repo.leaf_approvers(f)
            } else {
                self.repo.approvers(f)
            };
            out.entry(dir).or_default().extend(people);
        }
        let set = self.owners_set();
        out.retain(|k, _| set.contains(k));
        out
    }

    /// Each needed directory's approvers (all layers).
    pub fn approvers(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.by_dir(false)
    }

    /// Each needed directory's nearest approvers.
    pub fn leaf_approvers(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.by_dir(true)
    }

    fn reverse(map: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (dir, people) in map {
            for p in people {
                out.entry(p.clone()).or_default().insert(dir.clone());
            }
        }
        out
    }

    /// The leaf approvers, shuffled with the PR number as seed.
    pub fn shuffled_approvers(&self) -> Vec<String> {
        let all: BTreeSet<String> = self.leaf_approvers().into_values().flatten().collect();
        let mut people: Vec<String> = all.into_iter().collect();
        let mut state = self.seed as u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        for i in (1..people.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            people.swap(i, j);
        }
        people
    }

    fn most_covering(
        candidates: &[String],
        covered: &BTreeSet<String>,
        reverse: &BTreeMap<String, BTreeSet<String>>,
        unapproved: &BTreeSet<String>,
    ) -> Option<String> {
        let mut max = 0;
        let mut best = None;
        for c in candidates {
            let dirs = reverse.get(c).cloned().unwrap_or_default();
            if dirs.intersection(unapproved).count() > max && !covered.contains(c) {
                max = dirs.len();
                best = Some(c.clone());
            }
        }
        best
    }

    fn suggested(
        &self,
        reverse: &BTreeMap<String, BTreeSet<String>>,
        candidates: &[String],
    ) -> BTreeSet<String> {
        let mut ap = Approvers::new(self.clone_ref());
        while !ap.requirements_met() {
            let covered = ap.current_set();
            match Self::most_covering(candidates, &covered, reverse, &ap.unapproved_dirs()) {
                Some(p) => ap.add_approver(&p, "", false),
                None => return ap.current_set(),
            }
        }
        ap.current_set()
    }

    fn keep_covering(
        &self,
        reverse: &BTreeMap<String, BTreeSet<String>>,
        known: &BTreeSet<String>,
        candidates: &[String],
    ) -> BTreeSet<String> {
        let mut temp = Approvers::new(self.clone_ref());
        for k in known {
            temp.add_approver(k, "", false);
        }
        let unapproved = temp.unapproved_dirs();
        self.suggested(reverse, candidates)
            .into_iter()
            .filter(|s| {
                reverse
                    .get(s)
                    .is_some_and(|d| d.intersection(&unapproved).next().is_some())
            })
            .collect()
    }

    fn clone_ref(&self) -> Owners<'a> {
        Owners {
            filenames: self.filenames.clone(),
            repo: self.repo,
            seed: self.seed,
        }
    }
}

/// One person's approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    /// As they typed it (case kept).
    pub login: String,
    /// `Approved`, `LGTM`, `Author self-approved`.
    pub how: &'static str,
    /// Where they approved.
    pub reference: String,
    /// Approval also waives the associated issue.
    pub no_issue: bool,
}

impl std::fmt::Display for Approval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "*<a href=\"{}\" title=\"{}\">{}</a>*",
            self.reference, self.how, self.login
        )
    }
}

/// Who approved a PR, and what that covers.
pub struct Approvers<'a> {
    owners: Owners<'a>,
    approvers: BTreeMap<String, Approval>,
    assignees: BTreeSet<String>,
    pub associated_issue: i64,
    pub require_issue: bool,
    /// The `approved` label is on and was last added by a human.
    pub manually_approved: bool,
}

impl<'a> Approvers<'a> {
    pub fn new(owners: Owners<'a>) -> Self {
        Approvers {
            owners,
            approvers: BTreeMap::new(),
            assignees: BTreeSet::new(),
            associated_issue: 0,
            require_issue: false,
            manually_approved: false,
        }
    }

    /// An earlier `no-issue` approval is not overwritten by a plain one.
    fn keeps(&self, login: &str, no_issue: bool) -> bool {
        self.approvers
            .get(&login.to_lowercase())
            .is_some_and(|a| a.no_issue && !no_issue)
    }

    fn add(&mut self, login: &str, how: &'static str, reference: &str, no_issue: bool) {
        if self.keeps(login, no_issue) {
            return;
        }
        self.approvers.insert(
            login.to_lowercase(),
            Approval {
                login: login.to_string(),
                how,
                reference: reference.to_string(),
                no_issue,
            },
        );
    }

    pub fn add_approver(&mut self, login: &str, reference: &str, no_issue: bool) {
        self.add(login, "Approved", reference, no_issue);
    }

    pub fn add_lgtmer(&mut self, login: &str, reference: &str, no_issue: bool) {
        self.add(login, "LGTM", reference, no_issue);
    }

    pub fn add_author_self_approver(&mut self, login: &str, reference: &str, no_issue: bool) {
        self.add(login, "Author self-approved", reference, no_issue);
    }

    pub fn remove_approver(&mut self, login: &str) {
        self.approvers.remove(&login.to_lowercase());
    }

    pub fn add_assignee(&mut self, login: &str) {
        self.assignees.insert(login.to_lowercase());
    }

    pub fn current_set(&self) -> BTreeSet<String> {
        self.approvers.keys().cloned().collect()
    }

    fn current_set_cased(&self) -> BTreeSet<String> {
        self.approvers.values().map(|a| a.login.clone()).collect()
    }

    /// The approvers among `potential`, as they typed their logins.
    fn intersect(&self, potential: &BTreeSet<String>) -> BTreeSet<String> {
        self.current_set_cased()
            .into_iter()
            .filter(|a| potential.contains(&a.to_lowercase()))
            .collect()
    }

    /// Directories no approver covers yet.
    pub fn unapproved_dirs(&self) -> BTreeSet<String> {
        let set = self.owners.owners_set();
        let mut out = BTreeSet::new();
        for f in &self.owners.filenames {
            let dir = self.owners.repo.find_approver_owners_for_file(f);
            if !set.contains(&dir) {
                continue;
            }
            if self.intersect(&self.owners.repo.approvers(f)).is_empty() {
                out.insert(dir);
            }
        }
        out
    }

    pub fn no_issue_approvers(&self) -> BTreeMap<String, Approval> {
        let reverse = Owners::reverse(&self.owners.approvers());
        self.approvers
            .iter()
            .filter(|(login, a)| a.no_issue && reverse.get(*login).is_some_and(|d| !d.is_empty()))
            .map(|(l, a)| (l.clone(), a.clone()))
            .collect()
    }

    /// A PR with no files is never approved.
    pub fn are_files_approved(&self) -> bool {
        !self.owners.filenames.is_empty() && self.unapproved_dirs().is_empty()
    }

    pub fn requirements_met(&self) -> bool {
        self.are_files_approved()
            && (!self.require_issue
                || self.associated_issue != 0
                || !self.no_issue_approvers().is_empty())
    }

    pub fn is_approved(&self) -> bool {
        self.requirements_met() || self.manually_approved
    }

    /// Approvals by lower-cased login.
    pub fn approvals(&self) -> Vec<&Approval> {
        self.approvers.values().collect()
    }

    /// Prow's `GetCCs`: suggested approvers, and assignees worth keeping.
    pub fn ccs(&self) -> Vec<String> {
        let shuffled = self.owners.shuffled_approvers();
        let current = self.current_set();
        let with_assignees: BTreeSet<String> = current.union(&self.assignees).cloned().collect();
        let leaf_reverse = Owners::reverse(&self.owners.leaf_approvers());
        let suggested = self
            .owners
            .keep_covering(&leaf_reverse, &with_assignees, &shuffled);
        let approvers_and_suggested: BTreeSet<String> =
            current.union(&suggested).cloned().collect();
        let everyone: Vec<String> = approvers_and_suggested
            .union(&self.assignees)
            .cloned()
            .collect();
        let full_reverse = Owners::reverse(&self.owners.approvers());
        let keep = self
            .owners
            .keep_covering(&full_reverse, &approvers_and_suggested, &everyone);
        suggested.union(&keep).cloned().collect()
    }

    pub fn assigned_ccs(&self) -> Vec<String> {
        self.ccs()
            .into_iter()
            .filter(|c| self.assignees.contains(c))
            .collect()
    }

    pub fn suggested_ccs(&self) -> Vec<String> {
        self.ccs()
            .into_iter()
            .filter(|c| !self.assignees.contains(c))
            .collect()
    }

    /// The notifier's file lines.
    fn files(&self, base_url: &str, branch: &str) -> String {
        let unapproved = self.unapproved_dirs();
        let by_dir = self.owners.approvers();
        let mut out = String::new();
        for dir in self.owners.owners_set() {
            let path = if dir.is_empty() {
                self.owners.repo.filename.clone()
            } else if dir.ends_with(".md") {
                dir.clone()
            } else {
                format!("{dir}/{}", self.owners.repo.filename)
            };
            let link = format!("{base_url}/blob/{branch}/{path}");
            let approvers: Vec<String> = by_dir
                .get(&dir)
                .map(|p| self.intersect(p).into_iter().collect())
                .unwrap_or_default();
            if !unapproved.contains(&dir) {
                out.push_str(&format!(
                    "- ~~[{path}]({link})~~ [{}]\n",
                    approvers.join(",")
                ));
            } else if approvers.is_empty() {
                out.push_str(&format!("- **[{path}]({link})**\n"));
            } else {
                out.push_str(&format!(
                    "- **[{path}]({link})** [{}]\n  > Need more approvers for rest parts.\n",
                    approvers.join(",")
                ));
            }
        }
        out
    }
}

/// Links of the notifier.
pub struct Links<'s> {
    /// `https://github.com/org/repo`.
    pub repo_url: &'s str,
    pub org: &'s str,
    pub repo: &'s str,
    pub branch: &'s str,
    pub command_help: &'s str,
    pub pr_process: &'s str,
}

fn people(list: &[String]) -> String {
    list.iter()
        .map(|c| format!("[{c}](https://github.com/{c})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prow's `GetMessage`: the whole `[APPROVALNOTIFIER]` comment, with its
/// `<!-- META={"approvers":[…]} -->` trailer.
pub fn notification(ap: &Approvers, links: &Links) -> String {
    let manual = ap.manually_approved;
    let files_ok = ap.are_files_approved();
    let mut m = String::new();
    if !ap.requirements_met() && manual {
        m.push_str("Approval requirements bypassed by manually added approval.\n\n");
    }
    m.push_str("This pull-request has been approved by:");
    for (i, a) in ap.approvals().iter().enumerate() {
        m.push_str(if i == 0 { " " } else { ", " });
        m.push_str(&a.to_string());
    }
    if !files_ok && !manual {
        m.push('\n');
        let suggested = ap.suggested_ccs();
        let assigned = ap.assigned_ccs();
        let process = format!(
            "For more information see [the Code Review Process]({}).",
            links.pr_process
        );
        let once = "**Once this PR has been reviewed and has the lgtm label**";
        if !suggested.is_empty() {
            if !assigned.is_empty() {
                m.push_str(&format!(
                    "{once}, please ask for approval from {} and additionally assign {} for approval. {process}",
                    people(&assigned),
                    people(&suggested)
                ));
            } else {
                m.push_str(&format!(
                    "{once}, please assign {} for approval. {process}",
                    people(&suggested)
                ));
            }
        } else if !assigned.is_empty() {
            m.push_str(&format!(
                "{once}, please ask for approval from {}. {process}",
                people(&assigned)
            ));
        }
    }
    m.push_str("\n\n");
    if ap.require_issue {
        if ap.associated_issue != 0 {
            m.push_str(&format!("Associated issue: *#{}*\n\n", ap.associated_issue));
        } else {
            let no_issue = ap.no_issue_approvers();
            if !no_issue.is_empty() {
                m.push_str("Associated issue requirement bypassed by:");
                for (i, a) in no_issue.values().enumerate() {
                    m.push_str(if i == 0 { " " } else { ", " });
                    m.push_str(&a.to_string());
                }
                m.push_str("\n\n");
            } else if manual {
                m.push_str(
                    "*No associated issue*. Requirement bypassed by manually added approval.\n\n",
                );
            } else {
                m.push_str("*No associated issue*. Update pull-request body to add a reference to an issue, or get approval with `/approve no-issue`\n\n");
            }
        }
    }
    m.push_str(&format!(
        "The full list of commands accepted by this bot can be found [here]({}?repo={}%2F{}).\n\n",
        links.command_help, links.org, links.repo
    ));
    if files_ok || manual {
        m.push_str(&format!(
            "The pull request process is described [here]({})\n\n",
            links.pr_process
        ));
    }
    m.push_str(&format!(
        "<details {}>\nNeeds approval from an approver in each of these files:\n\n",
        if !files_ok && !manual { "open" } else { "" }
    ));
    m.push_str(&ap.files(links.repo_url, links.branch));
    m.push_str("\nApprovers can indicate their approval by writing `/approve` in a comment\nApprovers can cancel approval by writing `/approve cancel` in a comment\n</details>");
    let ccs = serde_json::to_string(&ap.ccs()).unwrap_or_else(|_| "[]".into());
    m.push_str(&format!("\n<!-- META={{\"approvers\":{ccs}}} -->"));
    let title = if ap.is_approved() {
        "This PR is **APPROVED**"
    } else {
        "This PR is **NOT APPROVED**"
    };
    format!("[APPROVALNOTIFIER] {title}\n\n{}", m.trim())
}

/// The directory an OWNERS path belongs to (for callers that list files).
pub fn owners_dir(path: &str) -> &str {
    dir_of(path)
}
