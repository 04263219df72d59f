//! Rules of periodics (Prow's `validatePeriodics`): one unique name, exactly one
//! of cron, interval and minimum_interval, and schedules that parse.

use std::collections::HashMap;

use super::{At, Validator};
use crate::config::jobs::{Periodic, Source};
use crate::cron::CronSchedule;
use crate::duration::GoDuration;
use crate::prowjob::ProwJobType;

impl Validator<'_> {
    /// The rule across periodics: one name, one job.
    pub(super) fn periodic_names(&mut self, jobs: &[Periodic]) {
        let mut seen: HashMap<&str, &Source> = HashMap::new();
        for j in jobs {
            if let Some(first) = seen.get(j.base.name.as_str()) {
                let (at, first) = (At::of(&j.source), At::of(first));
                self.error(
                    &at,
                    &["name"],
                    format!(
                        "duplicated periodic job `{}` (first defined at {})",
                        j.base.name,
                        first.location()
                    ),
                );
            } else {
                seen.insert(&j.base.name, &j.source);
            }
        }
    }

    /// The rules that look at one periodic.
    pub(super) fn periodic(&mut self, j: &Periodic) {
        let at = At::of(&j.source);
        self.job_base(&at, &j.base, &j.utility, ProwJobType::Periodic);
        let f = &j.fields;
        let set: Vec<&str> = [
            ("cron", &f.cron),
            ("interval", &f.interval),
            ("minimum_interval", &f.minimum_interval),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, _)| k)
        .collect();
        match set.as_slice() {
            [] => self.error(
                &at,
                &[],
                "at least one of cron, interval, or minimum_interval must be set",
            ),
            [_] => {}
            [_, second, ..] => self.error(
                &at,
                &[second],
                format!(
                    "{} are mutually exclusive: set exactly one of cron, interval, minimum_interval",
                    set.join(" and ")
                ),
            ),
        }
        if !f.cron.is_empty()
            && let Err(e) = CronSchedule::parse(&f.cron)
        {
            self.error(&at, &["cron"], format!("invalid cron {:?}: {e}", f.cron));
        }
        for (key, value) in [
            ("interval", &f.interval),
            ("minimum_interval", &f.minimum_interval),
        ] {
            if !value.is_empty() {
                self.duration(&at, &[key], value);
            }
        }
        if let Some(r) = &f.retry {
            if !r.interval.is_empty() {
                self.duration(&at, &["retry", "interval"], &r.interval);
            }
            if r.attempts > 10 {
                self.warning(
                    &at,
                    &["retry", "attempts"],
                    format!("{} retry attempts are capped at 10, as in Prow", r.attempts),
                );
            }
        }
    }

    fn duration(&mut self, at: &At, field: &[&str], value: &str) {
        match GoDuration::parse(value) {
            Ok(d) if d.as_nanos() <= 0 => {
                self.error(at, field, format!("duration {value:?} must be positive"))
            }
            Ok(_) => {}
            Err(e) => self.error(at, field, e.to_string()),
        }
    }
}
