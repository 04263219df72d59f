//! Cron specs read and evaluated the way Prow does it. Prow validates a periodic's
//! `cron:` with robfig/cron v3 (`SecondOptional | Minute | Hour | Dom | Month | Dow |
//! Descriptor`) and horologium schedules it as `"TZ=UTC " + cron`, so a spec that
//! Prow accepts must mean the same instants here, in UTC, quirks included: the
//! "star bit" that flips day-of-month/day-of-week matching between AND and OR, `a/n`
//! meaning `a-max/n`, `@every` rounding, and giving up after five years.

use jiff::Timestamp;

use crate::duration::{DurationError, GoDuration};

/// Why a cron spec is not one Prow would schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("cron spec is empty")]
    Empty,
    #[error(
        "cron spec {spec:?} sets a time zone: Skiff, like Prow's horologium, always evaluates \
         cron in UTC; drop the TZ=/CRON_TZ= prefix and write the schedule in UTC"
    )]
    TimeZone { spec: String },
    #[error(
        "cron spec {spec:?} has {found} fields; expected 5 (minute hour day-of-month month \
         day-of-week) or 6 (a leading second, then those 5)"
    )]
    FieldCount { spec: String, found: usize },
    #[error(
        "unknown cron descriptor {descriptor:?}{hint}; valid: @yearly, @annually, @monthly, \
         @weekly, @daily, @midnight, @hourly, @every <duration>"
    )]
    UnknownDescriptor { descriptor: String, hint: String },
    #[error("invalid duration in cron spec {spec:?}: {source}")]
    EveryDuration { spec: String, source: DurationError },
    #[error("invalid {field} field {text:?}: {reason}")]
    Field {
        field: &'static str,
        text: String,
        reason: String,
    },
}

/// A parsed cron spec. Equal schedules fire at the same instants; the converse need
/// not hold (`1-31` and `*` differ in the star bit yet may fire alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Spec(SpecBits),
    /// robfig's ConstantDelaySchedule: whole seconds, at least one.
    Every {
        delay_secs: i64,
    },
}

/// One bit per allowed value, plus robfig's star bit (bit 63) which records that the
/// field was written as an unstepped `*`/`?`; only the day fields consult it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SpecBits {
    second: u64,
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

const STAR_BIT: u64 = 1 << 63;

/// fires_between must stay bounded even for `* * * * * *` over a long window.
const MAX_FIRES: usize = 10_000;

struct Bounds {
    field: &'static str,
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
    /// Appended to out-of-range messages so the user sees the legal range.
    range_hint: &'static str,
}

const SECONDS: Bounds = Bounds {
    field: "second",
    min: 0,
    max: 59,
    names: &[],
    range_hint: "second is 0-59",
};
const MINUTES: Bounds = Bounds {
    field: "minute",
    min: 0,
    max: 59,
    names: &[],
    range_hint: "minute is 0-59",
};
const HOURS: Bounds = Bounds {
    field: "hour",
    min: 0,
    max: 23,
    names: &[],
    range_hint: "hour is 0-23",
};
const DOM: Bounds = Bounds {
    field: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    range_hint: "day-of-month is 1-31",
};
const MONTHS: Bounds = Bounds {
    field: "month",
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
    range_hint: "month is 1-12 or JAN-DEC",
};
const DOW: Bounds = Bounds {
    field: "day-of-week",
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
    range_hint: "day-of-week is 0-6, Sunday is 0; 7 is not accepted, use 0 or SUN",
};

const DESCRIPTORS: [&str; 8] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
    "@every",
];

impl CronSchedule {
    /// Parses `spec` as Prow's config validation does (no trimming: robfig only
    /// recognises a descriptor when `@` is the very first character), except that a
    /// time-zone prefix is refused because horologium's own `TZ=UTC` would turn it
    /// into a broken spec.
    pub fn parse(spec: &str) -> Result<CronSchedule, CronError> {
        if spec.is_empty() {
            return Err(CronError::Empty);
        }
        // Checked after leading whitespace too: robfig would otherwise report the
        // prefix as an unparsable minute, which hides what is actually wrong.
        let lead = spec.trim_start();
        if lead.starts_with("TZ=") || lead.starts_with("CRON_TZ=") {
            return Err(CronError::TimeZone {
                spec: spec.to_string(),
            });
        }
        if spec.starts_with('@') {
            return parse_descriptor(spec);
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        let (second, rest) = match fields.as_slice() {
            [min, hour, dom, month, dow] => ("0", [*min, *hour, *dom, *month, *dow]),
            [sec, min, hour, dom, month, dow] => (*sec, [*min, *hour, *dom, *month, *dow]),
            _ => {
                return Err(CronError::FieldCount {
                    spec: spec.to_string(),
                    found: fields.len(),
                });
            }
        };
        let [minute, hour, dom, month, dow] = rest;
        Ok(CronSchedule {
            kind: Kind::Spec(SpecBits {
                second: parse_field(second, &SECONDS)?,
                minute: parse_field(minute, &MINUTES)?,
                hour: parse_field(hour, &HOURS)?,
                dom: parse_field(dom, &DOM)?,
                month: parse_field(month, &MONTHS)?,
                dow: parse_field(dow, &DOW)?,
            }),
        })
    }

    /// The first fire time strictly after `after` (UTC), None if none within 5 years.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let secs = floor_second(after);
        let next = match &self.kind {
            // robfig drops the sub-second part of `after` and then adds the delay, so
            // `@every` instants are always whole seconds.
            Kind::Every { delay_secs } => secs.checked_add(*delay_secs)?,
            Kind::Spec(bits) => bits.next_from(secs.checked_add(1)?)?,
        };
        Timestamp::from_second(next).ok()
    }

    /// Every fire time in (from, to], in order, at most 10,000 of them.
    pub fn fires_between(&self, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
        let mut out = Vec::new();
        let mut cursor = from;
        while out.len() < MAX_FIRES {
            match self.next_after(cursor) {
                Some(t) if t <= to => {
                    out.push(t);
                    cursor = t;
                }
                _ => break,
            }
        }
        out
    }

    /// True for `@every` specs (horologium runs these immediately when added).
    /// Horologium tests the raw text with `HasPrefix(cron, "@every")`; parse only
    /// yields an `@every` schedule for text starting with `"@every "`, so the two agree.
    pub fn is_every(&self) -> bool {
        matches!(self.kind, Kind::Every { .. })
    }
}

fn parse_descriptor(spec: &str) -> Result<CronSchedule, CronError> {
    let all = |b: &Bounds| bit_range(b.min, b.max, 1) | STAR_BIT;
    let only = |b: &Bounds| 1u64 << b.min;
    let bits = |dom, month, dow, hour| {
        Ok(CronSchedule {
            kind: Kind::Spec(SpecBits {
                second: only(&SECONDS),
                minute: only(&MINUTES),
                hour,
                dom,
                month,
                dow,
            }),
        })
    };
    match spec {
        "@yearly" | "@annually" => bits(only(&DOM), only(&MONTHS), all(&DOW), only(&HOURS)),
        "@monthly" => bits(only(&DOM), all(&MONTHS), all(&DOW), only(&HOURS)),
        // Dom keeps its star bit, so Sunday alone decides the day (AND semantics).
        "@weekly" => bits(all(&DOM), all(&MONTHS), only(&DOW), only(&HOURS)),
        "@daily" | "@midnight" => bits(all(&DOM), all(&MONTHS), all(&DOW), only(&HOURS)),
        "@hourly" => bits(all(&DOM), all(&MONTHS), all(&DOW), all(&HOURS)),
        _ => {
            // robfig requires exactly one space; "@every\t1h" is an unknown descriptor
            // and "@every  1h" an invalid duration, so neither is normalised here.
            if let Some(duration) = spec.strip_prefix("@every ") {
                let d = GoDuration::parse(duration).map_err(|source| CronError::EveryDuration {
                    spec: spec.to_string(),
                    source,
                })?;
                // robfig: below one second (negative included) becomes one second,
                // and the sub-second remainder is dropped.
                let delay_secs = (d.as_nanos() / 1_000_000_000).max(1);
                return Ok(CronSchedule {
                    kind: Kind::Every { delay_secs },
                });
            }
            Err(CronError::UnknownDescriptor {
                descriptor: spec.to_string(),
                hint: descriptor_hint(spec),
            })
        }
    }
}

fn descriptor_hint(spec: &str) -> String {
    let word = spec.split_whitespace().next().unwrap_or(spec);
    // Specs starting "@every " never get here, so this is "@every" mis-spaced.
    if word.starts_with("@every") {
        return " (write \"@every <duration>\" with one space, e.g. \"@every 30m\")".to_string();
    }
    DESCRIPTORS
        .iter()
        .map(|d| (strsim::levenshtein(word, d), d))
        .filter(|(dist, _)| *dist <= 2)
        .min()
        .map(|(_, d)| {
            let case_note = if word.eq_ignore_ascii_case(d) {
                "; descriptors are lower-case"
            } else {
                ""
            };
            format!(" (did you mean {d:?}{case_note}?)")
        })
        .unwrap_or_default()
}

fn parse_field(text: &str, b: &Bounds) -> Result<u64, CronError> {
    let mut bits = 0;
    // Empty list items are skipped, as Go's FieldsFunc does: "1,,2" is fine and ","
    // parses to a field that never matches.
    for expr in text.split(',').filter(|e| !e.is_empty()) {
        bits |= parse_range(expr, b).map_err(|reason| CronError::Field {
            field: b.field,
            text: text.to_string(),
            reason: if expr == text {
                reason
            } else {
                format!("in {expr:?}: {reason}")
            },
        })?;
    }
    Ok(bits)
}

/// One list item: `*`, `?`, `n`, `a-b`, each optionally `/step`. Checks run in
/// robfig's order so the first problem reported is the one Prow would report.
fn parse_range(expr: &str, b: &Bounds) -> Result<u64, String> {
    let (range, step_text) = match expr.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (expr, None),
    };
    let (low, high) = match range.split_once('-') {
        Some((low, high)) => (low, Some(high)),
        None => (range, None),
    };
    let (start, mut end, mut star) = if low == "*" || low == "?" {
        // robfig looks only at the text before the first '-', so "*-3" is "*".
        (b.min, b.max, true)
    } else {
        let start = parse_value(low, b)?;
        let end = match high {
            None => start,
            Some(high) if high.contains('-') => return Err("too many hyphens".to_string()),
            Some(high) => parse_value(high, b)?,
        };
        (start, end, false)
    };
    let step = match step_text {
        None => 1,
        Some(step) if step.contains('/') => return Err("too many slashes".to_string()),
        Some(step) => {
            let step = parse_number(step, "a number (the step after '/')")?;
            if high.is_none() {
                end = b.max;
            }
            // Only a real step clears the star bit: "*/1" still counts as "*".
            if step > 1 {
                star = false;
            }
            step
        }
    };
    if start < b.min {
        return Err(format!(
            "{start} is below the minimum {} ({})",
            b.min, b.range_hint
        ));
    }
    if end > b.max {
        return Err(format!(
            "{end} is above the maximum {} ({})",
            b.max, b.range_hint
        ));
    }
    if start > end {
        return Err(format!("range start {start} is after its end {end}"));
    }
    if step == 0 {
        return Err("step must be a positive number".to_string());
    }
    Ok(bit_range(start, end, step) | if star { STAR_BIT } else { 0 })
}

fn parse_value(text: &str, b: &Bounds) -> Result<u64, String> {
    if !b.names.is_empty() {
        // Go's strings.ToLower uses simple case mapping (one rune each); the first
        // rune of Rust's full mapping is the same, so e.g. "FRİ" matches as in Go.
        let lower: String = text
            .chars()
            .map(|c| c.to_lowercase().next().unwrap_or(c))
            .collect();
        if let Some((_, v)) = b.names.iter().find(|(name, _)| *name == lower) {
            return Ok(*v);
        }
    }
    let what = match b.field {
        "month" => "a number or month name (JAN-DEC)",
        "day-of-week" => "a number or day name (SUN-SAT)",
        _ => "a number",
    };
    parse_number(text, what)
}

/// Go's strconv.Atoi: optional sign, decimal digits, int64 range; robfig then
/// refuses negatives.
fn parse_number(text: &str, what: &str) -> Result<u64, String> {
    let n: i64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not {what}"))?;
    u64::try_from(n).map_err(|_| format!("negative number {n} is not allowed"))
}

/// Bits start..=end every `step`; callers have checked end <= 59.
fn bit_range(start: u64, end: u64, step: u64) -> u64 {
    let mut bits = 0;
    let mut i = start;
    while i <= end {
        bits |= 1u64 << i;
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    bits
}

impl SpecBits {
    /// robfig's SpecSchedule.Next from `start` (already truncated and advanced by
    /// one second): the earliest matching second at or after `start`, unless the
    /// search has to leave the year start.year + 5.
    fn next_from(&self, start: i64) -> Option<i64> {
        if !self.can_match() {
            return None;
        }
        let mut t = Civil::from_secs(start);
        let year_limit = t.year + 5;
        // Every branch that changes a field zeroes the fields below it, and every
        // carry into a higher field restarts from the top so that field is
        // re-checked; that is robfig's "added"/"goto WRAP" structure.
        loop {
            if t.year > year_limit {
                return None;
            }
            if !has(self.month, t.month) {
                match next_bit(self.month, t.month + 1, 12) {
                    Some(m) => t.month = m,
                    None => {
                        t.year += 1;
                        t.month = 1;
                    }
                }
                t.day = 1;
                t.zero_from_hour();
                continue;
            }
            if !self.day_matches(&t) {
                let dim = days_in_month(t.year, t.month);
                t.zero_from_hour();
                match (t.day + 1..=dim).find(|&d| self.day_matches(&Civil { day: d, ..t })) {
                    Some(d) => t.day = d,
                    None => {
                        t.day = dim;
                        t.add_day();
                    }
                }
                continue;
            }
            if !has(self.hour, t.hour) {
                t.minute = 0;
                t.second = 0;
                match next_bit(self.hour, t.hour + 1, 23) {
                    Some(h) => t.hour = h,
                    None => {
                        t.hour = 0;
                        t.add_day();
                        continue;
                    }
                }
            }
            if !has(self.minute, t.minute) {
                t.second = 0;
                match next_bit(self.minute, t.minute + 1, 59) {
                    Some(m) => t.minute = m,
                    None => {
                        t.minute = 0;
                        t.add_hour();
                        continue;
                    }
                }
            }
            if !has(self.second, t.second) {
                match next_bit(self.second, t.second + 1, 59) {
                    Some(s) => t.second = s,
                    None => {
                        t.second = 0;
                        t.add_minute();
                        continue;
                    }
                }
            }
            return Some(t.to_secs());
        }
    }

    /// A field left without values (robfig accepts "," as a field) can never match;
    /// robfig finds that out by scanning five years, hour by hour for an empty
    /// minute field, which is too slow for a scheduler tick.
    fn can_match(&self) -> bool {
        let some = |bits: u64| bits & !STAR_BIT != 0;
        let days = if (self.dom | self.dow) & STAR_BIT != 0 {
            some(self.dom) && some(self.dow)
        } else {
            some(self.dom) || some(self.dow)
        };
        days && some(self.second) && some(self.minute) && some(self.hour) && some(self.month)
    }

    /// robfig: if either day field carries the star bit both must match, otherwise
    /// either may. So "0 0 */2 * 1" fires on odd days OR Mondays, unlike Vixie cron.
    fn day_matches(&self, t: &Civil) -> bool {
        let dom = has(self.dom, t.day);
        let dow = has(self.dow, t.weekday());
        if (self.dom | self.dow) & STAR_BIT != 0 {
            dom && dow
        } else {
            dom || dow
        }
    }
}

fn has(bits: u64, value: u32) -> bool {
    value < 63 && bits & (1u64 << value) != 0
}

/// The lowest set bit in from..=max, if any.
fn next_bit(bits: u64, from: u32, max: u32) -> Option<u32> {
    if from > max {
        return None;
    }
    let at_or_above = u64::MAX.checked_shl(from).unwrap_or(0);
    let at_or_below = u64::MAX.checked_shr(63 - max).unwrap_or(0);
    let candidates = bits & at_or_above & at_or_below;
    (candidates != 0).then(|| candidates.trailing_zeros())
}

/// A proleptic-Gregorian UTC date-time, kept as plain integers so the search
/// loop never touches fallible constructors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Civil {
    fn from_secs(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            // rem is in 0..86_400, so these fit.
            hour: (rem / 3600) as u32,
            minute: (rem / 60 % 60) as u32,
            second: (rem % 60) as u32,
        }
    }

    fn to_secs(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// 0 = Sunday, as Go's time.Weekday and robfig's day-of-week bits.
    fn weekday(&self) -> u32 {
        // 1970-01-01 was a Thursday.
        (days_from_civil(self.year, self.month, self.day) + 4).rem_euclid(7) as u32
    }

    fn zero_from_hour(&mut self) {
        self.hour = 0;
        self.minute = 0;
        self.second = 0;
    }

    fn add_day(&mut self) {
        self.day += 1;
        if self.day > days_in_month(self.year, self.month) {
            self.day = 1;
            self.month += 1;
            if self.month > 12 {
                self.month = 1;
                self.year += 1;
            }
        }
    }

    fn add_hour(&mut self) {
        self.hour += 1;
        if self.hour > 23 {
            self.hour = 0;
            self.add_day();
        }
    }

    fn add_minute(&mut self) {
        self.minute += 1;
        if self.minute > 59 {
            self.minute = 0;
            self.add_hour();
        }
    }
}

/// Go's time.Time.Nanosecond is never negative, so robfig's truncation is a floor;
/// jiff's sub-second part carries the sign of the timestamp.
fn floor_second(ts: Timestamp) -> i64 {
    let secs = ts.as_second();
    if ts.subsec_nanosecond() < 0 {
        secs - 1
    } else {
        secs
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01, using 400-year eras that start on March 1st so the leap
/// day falls at the end of each era-year.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both are small positive numbers by construction (1..=31, 1..=12).
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse()
            .unwrap_or_else(|e| panic!("bad test timestamp {s}: {e}"))
    }

    fn sched(spec: &str) -> CronSchedule {
        CronSchedule::parse(spec).unwrap_or_else(|e| panic!("{spec:?} should parse: {e}"))
    }

    /// Each case: spec, `after`, then the successive next fire times.
    fn check_vectors(cases: &[(&str, &str, &[&str])]) {
        for (spec, after, expected) in cases {
            let s = sched(spec);
            let mut cursor = ts(after);
            for want in *expected {
                let got = s.next_after(cursor);
                assert_eq!(
                    got,
                    Some(ts(want)),
                    "{spec:?} after {cursor}: expected {want}"
                );
                cursor = ts(want);
            }
        }
    }

    fn check_none(cases: &[(&str, &str)]) {
        for (spec, after) in cases {
            assert_eq!(
                sched(spec).next_after(ts(after)),
                None,
                "{spec:?} after {after} should never fire"
            );
        }
    }

    fn err(spec: &str) -> CronError {
        match CronSchedule::parse(spec) {
            Ok(s) => panic!("{spec:?} should be rejected, got {s:?}"),
            Err(e) => e,
        }
    }

    fn check_errors(cases: &[(&str, &str)]) {
        for (spec, needle) in cases {
            let msg = err(spec).to_string();
            assert!(
                msg.contains(needle),
                "{spec:?}: error {msg:?} should contain {needle:?}"
            );
        }
    }

    #[test]
    fn five_fields_mean_minute_hour_dom_month_dow_with_second_zero() {
        check_vectors(&[
            (
                "*/15 * * * *",
                "2012-07-09T14:45:00Z",
                &["2012-07-09T15:00:00Z", "2012-07-09T15:15:00Z"],
            ),
            (
                "30 8 * * *",
                "2024-01-01T08:30:00Z",
                &["2024-01-02T08:30:00Z", "2024-01-03T08:30:00Z"],
            ),
            (
                "* * * * *",
                "2024-01-01T00:00:30.5Z",
                &["2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"],
            ),
        ]);
    }

    #[test]
    fn six_fields_lead_with_seconds() {
        // Vectors from robfig's spec_test.go TestNext (location-independent ones).
        check_vectors(&[
            (
                "0 0/15 * * * *",
                "2012-07-09T14:59:59Z",
                &["2012-07-09T15:00:00Z"],
            ),
            (
                "0 20-35/15 * * * *",
                "2012-07-09T15:45:00Z",
                &["2012-07-09T16:20:00Z"],
            ),
            (
                "0 */15 * * * *",
                "2012-07-09T23:46:00Z",
                &["2012-07-10T00:00:00Z"],
            ),
            (
                "15/35 20-35/15 * * * *",
                "2012-07-09T23:35:51Z",
                &[
                    "2012-07-10T00:20:15Z",
                    "2012-07-10T00:20:50Z",
                    "2012-07-10T00:35:15Z",
                ],
            ),
            (
                "15/35 20-35/15 1/2 * * *",
                "2012-07-09T23:35:51Z",
                &["2012-07-10T01:20:15Z"],
            ),
            (
                "15/35 20-35/15 10-12 * * *",
                "2012-07-09T23:35:51Z",
                &["2012-07-10T10:20:15Z"],
            ),
            (
                "15/35 20-35/15 1/2 */2 * *",
                "2012-07-09T23:35:51Z",
                &["2012-07-11T01:20:15Z"],
            ),
            (
                "15/35 20-35/15 * 9-20 * *",
                "2012-07-09T23:35:51Z",
                &["2012-07-10T00:20:15Z"],
            ),
            (
                "15/35 20-35/15 * 9-20 Jul *",
                "2012-07-09T23:35:51Z",
                &["2012-07-10T00:20:15Z"],
            ),
            (
                "0 * * * * *",
                "2012-12-31T23:59:45Z",
                &["2013-01-01T00:00:00Z"],
            ),
            (
                "*/20 * * * * *",
                "2024-01-01T00:00:00Z",
                &[
                    "2024-01-01T00:00:20Z",
                    "2024-01-01T00:00:40Z",
                    "2024-01-01T00:01:00Z",
                ],
            ),
        ]);
    }

    #[test]
    fn next_is_strictly_after_and_truncates_subseconds() {
        check_vectors(&[
            // Exactly on a fire time: that time is not "after".
            (
                "0 * * * *",
                "2024-05-01T10:00:00Z",
                &["2024-05-01T11:00:00Z"],
            ),
            // Half a second before a fire: truncation then +1s lands on it.
            (
                "0 * * * *",
                "2024-05-01T09:59:59.5Z",
                &["2024-05-01T10:00:00Z"],
            ),
            // Half a second after a fire: the fire has passed.
            (
                "0 * * * *",
                "2024-05-01T10:00:00.5Z",
                &["2024-05-01T11:00:00Z"],
            ),
            // Before 1970 the truncation is still a floor.
            (
                "0 0 * * *",
                "1969-12-31T23:59:59.5Z",
                &["1970-01-01T00:00:00Z"],
            ),
        ]);
    }

    #[test]
    fn ranges_steps_lists_and_names() {
        check_vectors(&[
            (
                "0 9-17/4 * * MON-FRI",
                "2024-06-07T14:00:00Z", // a Friday
                &[
                    "2024-06-07T17:00:00Z",
                    "2024-06-10T09:00:00Z",
                    "2024-06-10T13:00:00Z",
                ],
            ),
            (
                "5,10,50-52 0 1 * *",
                "2024-01-01T00:06:00Z",
                &[
                    "2024-01-01T00:10:00Z",
                    "2024-01-01T00:50:00Z",
                    "2024-01-01T00:51:00Z",
                    "2024-01-01T00:52:00Z",
                    "2024-02-01T00:05:00Z",
                ],
            ),
            // Names are case-insensitive, in ranges and lists.
            (
                "0 0 1 jan,Jul *",
                "2024-02-01T00:00:00Z",
                &["2024-07-01T00:00:00Z", "2025-01-01T00:00:00Z"],
            ),
            (
                "0 0 * * sUn",
                "2024-06-05T00:00:00Z",
                &["2024-06-09T00:00:00Z"],
            ),
            // Empty list items are skipped like Go's FieldsFunc.
            (
                "1,,2 0 * * *",
                "2024-01-01T00:01:00Z",
                &["2024-01-01T00:02:00Z"],
            ),
            // A leading '+' is accepted because strconv.Atoi accepts it.
            (
                "+5 0 * * *",
                "2024-01-01T00:00:00Z",
                &["2024-01-01T00:05:00Z"],
            ),
            // A step larger than the range keeps only the start.
            (
                "*/100 0 * * *",
                "2024-01-01T00:00:00Z",
                &["2024-01-02T00:00:00Z"],
            ),
            // robfig: month wrap, "0 0 0 * Feb Mon" and "Mon/2" (Mon, Wed, Fri).
            (
                "0 0 0 9 Apr-Oct ?",
                "2012-07-09T23:35:00Z",
                &["2012-08-09T00:00:00Z"],
            ),
            (
                "0 0 0 * Feb Mon",
                "2012-07-09T23:35:00Z",
                &["2013-02-04T00:00:00Z"],
            ),
            (
                "0 0 0 * Feb Mon/2",
                "2012-07-09T23:35:00Z",
                &["2013-02-01T00:00:00Z"],
            ),
        ]);
    }

    #[test]
    fn single_value_with_step_runs_to_field_max() {
        check_vectors(&[
            (
                "50/5 * * * *",
                "2024-01-01T00:00:00Z",
                &[
                    "2024-01-01T00:50:00Z",
                    "2024-01-01T00:55:00Z",
                    "2024-01-01T01:50:00Z",
                ],
            ),
            (
                "0 20/2 * * *",
                "2024-01-01T21:00:00Z",
                &["2024-01-01T22:00:00Z", "2024-01-02T20:00:00Z"],
            ),
            // "5/1" is 5 through 59, not just 5.
            (
                "5/1 0 * * *",
                "2024-01-01T00:05:00Z",
                &["2024-01-01T00:06:00Z"],
            ),
        ]);
    }

    #[test]
    fn both_day_fields_restricted_means_either_matches() {
        check_vectors(&[
            // 1st or 15th or any Sunday. 2012-07-15 is a Sunday.
            (
                "0 0 1,15 * Sun",
                "2012-07-09T00:00:00Z",
                &[
                    "2012-07-15T00:00:00Z",
                    "2012-07-22T00:00:00Z",
                    "2012-07-29T00:00:00Z",
                ],
            ),
            (
                "0 0 1,15 * Sun",
                "2012-07-29T00:00:00Z",
                &["2012-08-01T00:00:00Z"],
            ),
            // robfig: "*/5 Apr,Aug,Oct Mon" fires Aug 1 (a Wednesday) by dom alone.
            (
                "0 0 0 */5 Apr,Aug,Oct Mon",
                "2012-07-09T23:35:00Z",
                &["2012-08-01T00:00:00Z"],
            ),
        ]);
    }

    #[test]
    fn stepped_star_clears_star_bit_so_day_fields_or() {
        // Vixie cron would AND here ("odd days that are Mondays"); robfig ORs because
        // "*/2" has no star bit. 2025-06-02 is a Monday.
        check_vectors(&[(
            "0 0 */2 * 1",
            "2025-06-01T00:00:00Z", // Sunday the 1st (odd, already past)
            &[
                "2025-06-02T00:00:00Z", // Monday, even day: dow alone
                "2025-06-03T00:00:00Z", // odd day: dom alone
                "2025-06-05T00:00:00Z",
                "2025-06-07T00:00:00Z",
                "2025-06-09T00:00:00Z", // odd and Monday
                "2025-06-11T00:00:00Z",
                "2025-06-13T00:00:00Z",
                "2025-06-15T00:00:00Z",
                "2025-06-16T00:00:00Z", // Monday, even day
            ],
        )]);
        // The same with dow stepped: "*/3" in dow is 0,3,6 without a star bit.
        check_vectors(&[(
            "0 0 10 * */3",
            "2025-06-01T00:00:00Z", // Sunday
            &[
                "2025-06-04T00:00:00Z",
                "2025-06-07T00:00:00Z",
                "2025-06-08T00:00:00Z",
            ],
        )]);
    }

    #[test]
    fn unstepped_star_keeps_star_bit_so_day_fields_and() {
        check_vectors(&[
            // Star dom: only Mondays.
            (
                "0 0 * * 1",
                "2025-06-01T00:00:00Z",
                &["2025-06-02T00:00:00Z", "2025-06-09T00:00:00Z"],
            ),
            // Star dow: only the 1st and 15th.
            (
                "0 0 1,15 * *",
                "2025-06-01T00:00:00Z",
                &["2025-06-15T00:00:00Z", "2025-07-01T00:00:00Z"],
            ),
            // "*/1" is still a star.
            (
                "0 0 */1 * 1",
                "2025-06-02T00:00:00Z",
                &["2025-06-09T00:00:00Z"],
            ),
            // A star anywhere in a list sets the bit: "1,*" dom ANDs with Monday.
            (
                "0 0 1,* * 1",
                "2025-06-02T00:00:00Z",
                &["2025-06-09T00:00:00Z"],
            ),
            // robfig only reads the text before '-': "*-5" is a star.
            (
                "0 0 *-5 * 1",
                "2025-06-02T00:00:00Z",
                &["2025-06-09T00:00:00Z"],
            ),
        ]);
    }

    #[test]
    fn question_mark_is_a_star() {
        check_vectors(&[
            // robfig: "30 08 ? Jul Sun" and "30 08 15 Jul ?".
            (
                "30 08 ? Jul Sun",
                "2012-07-01T08:30:00Z",
                &["2012-07-08T08:30:00Z"],
            ),
            (
                "30 08 15 Jul ?",
                "2012-07-01T00:00:00Z",
                &["2012-07-15T08:30:00Z"],
            ),
            // Accepted in any field, not only the day fields.
            (
                "? 3 1 1 *",
                "2024-01-01T03:58:00Z",
                &["2024-01-01T03:59:00Z"],
            ),
        ]);
        assert_eq!(sched("0 0 ? * 1"), sched("0 0 * * 1"));
    }

    #[test]
    fn day_of_week_7_is_rejected() {
        for spec in ["0 0 * * 7", "0 0 * * 1-7", "0 0 * * 5,7", "0 0 * * SUN-7"] {
            let msg = err(spec).to_string();
            assert!(
                msg.contains("day-of-week") && msg.contains("0-6") && msg.contains("Sunday is 0"),
                "{spec:?}: {msg}"
            );
        }
        assert_eq!(
            err("0 0 * * 1-7"),
            CronError::Field {
                field: "day-of-week",
                text: "1-7".to_string(),
                reason: "7 is above the maximum 6 (day-of-week is 0-6, Sunday is 0; 7 is not \
                         accepted, use 0 or SUN)"
                    .to_string(),
            }
        );
        // 7 as a step is fine: "0/7" is Sunday alone.
        assert_eq!(sched("0 0 * * 0/7"), sched("0 0 * * 0"));
    }

    #[test]
    fn descriptors_match_their_spec_equivalents() {
        for (descriptor, spec) in [
            ("@yearly", "0 0 0 1 1 *"),
            ("@annually", "0 0 0 1 1 *"),
            ("@monthly", "0 0 0 1 * *"),
            ("@weekly", "0 0 0 * * 0"),
            ("@daily", "0 0 0 * * *"),
            ("@midnight", "0 0 0 * * *"),
            ("@hourly", "0 0 * * * *"),
        ] {
            assert_eq!(sched(descriptor), sched(spec), "{descriptor}");
        }
        check_vectors(&[
            ("@hourly", "2012-07-09T15:04:00Z", &["2012-07-09T16:00:00Z"]),
            ("@daily", "2012-07-09T15:00:00Z", &["2012-07-10T00:00:00Z"]),
            // 2012-07-08 was a Sunday.
            ("@weekly", "2012-07-08T00:00:00Z", &["2012-07-15T00:00:00Z"]),
            (
                "@monthly",
                "2012-07-01T00:00:00Z",
                &["2012-08-01T00:00:00Z"],
            ),
            ("@yearly", "2012-07-01T00:00:00Z", &["2013-01-01T00:00:00Z"]),
        ]);
        assert!(!sched("@daily").is_every());
        assert!(!sched("0 * * * *").is_every());
    }

    #[test]
    fn every_adds_whole_second_delay_to_truncated_time() {
        check_vectors(&[
            (
                "@every 30m",
                "2024-01-01T00:00:00Z",
                &["2024-01-01T00:30:00Z", "2024-01-01T01:00:00Z"],
            ),
            (
                "@every 1h30m",
                "2024-01-01T00:10:00Z",
                &["2024-01-01T01:40:00Z"],
            ),
            // Not aligned to the clock: `after` plus the delay, sub-seconds dropped.
            (
                "@every 1m",
                "2024-01-01T00:00:07.9Z",
                &["2024-01-01T00:01:07Z"],
            ),
            // The sub-second part of the delay is truncated.
            (
                "@every 1.9s",
                "2024-01-01T00:00:00Z",
                &["2024-01-01T00:00:01Z"],
            ),
            (
                "@every 2500ms",
                "2024-01-01T00:00:00Z",
                &["2024-01-01T00:00:02Z"],
            ),
            // Below one second (even zero or negative) rounds up to one second.
            (
                "@every 100ms",
                "2024-01-01T00:00:00.5Z",
                &["2024-01-01T00:00:01Z"],
            ),
            (
                "@every 0",
                "2024-01-01T00:00:00Z",
                &["2024-01-01T00:00:01Z"],
            ),
            (
                "@every -5m",
                "2024-01-01T00:00:00Z",
                &["2024-01-01T00:00:01Z"],
            ),
            // No five-year limit for @every.
            (
                "@every 87600h",
                "2024-01-01T00:00:00Z",
                &["2033-12-29T00:00:00Z"],
            ),
        ]);
        assert!(sched("@every 5m").is_every());
        assert_eq!(sched("@every 60s"), sched("@every 1m"));
    }

    #[test]
    fn month_and_leap_year_rollover() {
        check_vectors(&[
            (
                "0 0 29 2 *",
                "2025-01-01T00:00:00Z",
                &["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"],
            ),
            // robfig: leap-day job from July 2012 skips 2013-2015.
            (
                "0 0 0 29 Feb ?",
                "2012-07-09T23:35:00Z",
                &["2016-02-29T00:00:00Z"],
            ),
            // 2100 is not a leap year.
            (
                "0 0 29 2 *",
                "2095-03-01T00:00:00Z",
                &["2096-02-29T00:00:00Z"],
            ),
            // The 31st skips the short months.
            (
                "0 0 31 * *",
                "2024-01-31T00:00:00Z",
                &[
                    "2024-03-31T00:00:00Z",
                    "2024-05-31T00:00:00Z",
                    "2024-07-31T00:00:00Z",
                ],
            ),
            // Year rollover from the last second of the year.
            (
                "* * * * *",
                "2024-12-31T23:59:59Z",
                &["2025-01-01T00:00:00Z"],
            ),
            (
                "0 0 1 1 *",
                "2024-06-01T00:00:00Z",
                &["2025-01-01T00:00:00Z"],
            ),
        ]);
    }

    #[test]
    fn gives_up_after_five_years() {
        check_none(&[
            ("0 0 30 2 *", "2025-01-01T00:00:00Z"),
            ("0 0 0 30 Feb ?", "2012-07-09T23:35:00Z"),
            ("0 0 0 31 Apr ?", "2012-07-09T23:35:00Z"),
            // "," has no values at all: robfig accepts it and never fires.
            (", * * * *", "2024-01-01T00:00:00Z"),
            ("0 , * * *", "2024-01-01T00:00:00Z"),
            ("0 0 * , *", "2024-01-01T00:00:00Z"),
            ("0 0 , * ,", "2024-01-01T00:00:00Z"),
            (", 0 0 * * *", "2024-01-01T00:00:00Z"),
            // A starred dow ANDs with an empty dom.
            ("0 0 , * *", "2024-01-01T00:00:00Z"),
        ]);
        // The limit is whole years: the search may run to the end of start.year + 5.
        // After 2096-03-01 the next leap day is 2104-02-29 (2100 is not a leap
        // year), past 2101, so robfig never finds it...
        check_none(&[("0 0 29 2 *", "2096-03-01T00:00:00Z")]);
        // An empty dom does not stop a restricted dow from matching (OR).
        check_vectors(&[(
            "0 0 , * 1",
            "2025-06-01T00:00:00Z",
            &["2025-06-02T00:00:00Z"],
        )]);
        // ...but from 2099 the limit is 2104, so the same day is found.
        check_vectors(&[
            (
                "0 0 29 2 *",
                "2099-01-01T00:00:00Z",
                &["2104-02-29T00:00:00Z"],
            ),
            (
                "59 23 31 12 *",
                "2024-01-01T00:00:00Z",
                &["2024-12-31T23:59:00Z"],
            ),
        ]);
    }

    #[test]
    fn fires_between_excludes_start_and_includes_end() {
        let s = sched("0 * * * *");
        assert_eq!(
            s.fires_between(ts("2024-01-01T00:00:00Z"), ts("2024-01-01T03:00:00Z")),
            vec![
                ts("2024-01-01T01:00:00Z"),
                ts("2024-01-01T02:00:00Z"),
                ts("2024-01-01T03:00:00Z"),
            ]
        );
        assert_eq!(
            s.fires_between(ts("2024-01-01T00:00:00Z"), ts("2024-01-01T00:59:59Z")),
            Vec::<Timestamp>::new()
        );
        assert!(
            s.fires_between(ts("2024-01-01T03:00:00Z"), ts("2024-01-01T01:00:00Z"))
                .is_empty()
        );
        assert!(
            s.fires_between(ts("2024-01-01T01:00:00Z"), ts("2024-01-01T01:00:00Z"))
                .is_empty()
        );
        let every = sched("@every 20m");
        assert_eq!(
            every.fires_between(ts("2024-01-01T00:00:30.5Z"), ts("2024-01-01T01:00:30Z")),
            vec![
                ts("2024-01-01T00:20:30Z"),
                ts("2024-01-01T00:40:30Z"),
                ts("2024-01-01T01:00:30Z"),
            ]
        );
        assert_eq!(
            sched("0 0 30 2 *")
                .fires_between(ts("2024-01-01T00:00:00Z"), ts("2034-01-01T00:00:00Z")),
            Vec::<Timestamp>::new()
        );
    }

    #[test]
    fn fires_between_is_bounded() {
        let fires = sched("* * * * * *")
            .fires_between(ts("2024-01-01T00:00:00Z"), ts("2025-01-01T00:00:00Z"));
        assert_eq!(fires.len(), MAX_FIRES);
        assert_eq!(fires.last(), Some(&ts("2024-01-01T02:46:40Z")));
    }

    #[test]
    fn field_count_errors_name_the_counts() {
        assert_eq!(
            err("* * * *"),
            CronError::FieldCount {
                spec: "* * * *".to_string(),
                found: 4,
            }
        );
        check_errors(&[
            ("* * * *", "has 4 fields; expected 5"),
            ("0 0 0 * * * *", "has 7 fields"),
            ("   ", "has 0 fields"),
            ("xyz", "has 1 fields"),
        ]);
        assert_eq!(err(""), CronError::Empty);
    }

    #[test]
    fn time_zone_prefixes_are_rejected() {
        for spec in [
            "TZ=Europe/Berlin 0 9 * * *",
            "CRON_TZ=UTC 0 9 * * *",
            "TZ=UTC @daily",
            "  TZ=UTC 0 9 * * *",
        ] {
            assert_eq!(
                err(spec),
                CronError::TimeZone {
                    spec: spec.to_string()
                }
            );
        }
        check_errors(&[("TZ=UTC 0 9 * * *", "always evaluates cron in UTC")]);
    }

    #[test]
    fn descriptor_errors() {
        check_errors(&[
            (
                "@unrecognized",
                "unknown cron descriptor \"@unrecognized\"; valid:",
            ),
            (
                "@Daily",
                "did you mean \"@daily\"; descriptors are lower-case?",
            ),
            ("@dialy", "did you mean \"@daily\"?"),
            // Descriptors are matched on the whole text, like robfig.
            ("@daily ", "unknown cron descriptor"),
            ("@every", "\"@every <duration>\""),
            ("@every\t1h", "\"@every <duration>\""),
            ("@every 5d", "invalid duration in cron spec \"@every 5d\""),
            ("@every Xm", "invalid duration"),
            ("@every  1h", "invalid duration"),
        ]);
        // Only a leading '@' makes a descriptor; otherwise it is a one-field spec.
        check_errors(&[(" @daily", "has 1 fields")]);
    }

    #[test]
    fn field_errors_name_field_and_text() {
        check_errors(&[
            (
                "60 0 * * *",
                "invalid minute field \"60\": 60 is above the maximum 59",
            ),
            ("0 60 * * * *", "invalid minute field \"60\""),
            ("60 0 0 * * *", "invalid second field \"60\""),
            (
                "0 24 * * *",
                "invalid hour field \"24\": 24 is above the maximum 23 (hour is 0-23)",
            ),
            (
                "0 0 0 * *",
                "invalid day-of-month field \"0\": 0 is below the minimum 1",
            ),
            ("0 0 32 * *", "day-of-month is 1-31"),
            ("0 0 * 13 *", "month is 1-12 or JAN-DEC"),
            (
                "0 0 * 0 *",
                "invalid month field \"0\": 0 is below the minimum 1",
            ),
            (
                "0 0 * * XYZ",
                "invalid day-of-week field \"XYZ\": \"XYZ\" is not a number or day name (SUN-SAT)",
            ),
            (
                "0 0 * jan-x *",
                "\"x\" is not a number or month name (JAN-DEC)",
            ),
            (
                "* 5 j * * *",
                "invalid hour field \"j\": \"j\" is not a number",
            ),
            // Day names are not month names.
            ("0 0 * MON *", "invalid month field \"MON\""),
            ("5--5 * * * *", "too many hyphens"),
            ("1-2-3 * * * *", "too many hyphens"),
            ("*//2 * * * *", "too many slashes"),
            ("*/-12 * * * *", "negative number -12 is not allowed"),
            ("*/x * * * *", "\"x\" is not a number (the step after '/')"),
            ("*/ * * * *", "\"\" is not a number (the step"),
            ("/5 * * * *", "\"\" is not a number"),
            ("5-3 * * * *", "range start 5 is after its end 3"),
            ("*/0 * * * *", "step must be a positive number"),
            ("15/0 * * * *", "step must be a positive number"),
            (
                "1,2,x * * * *",
                "invalid minute field \"1,2,x\": in \"x\": \"x\" is not a number",
            ),
            ("99999999999999999999 * * * *", "is not a number"),
        ]);
    }

    #[test]
    fn civil_arithmetic_agrees_with_jiff() {
        let utc = jiff::tz::Offset::UTC;
        let mut secs = ts("1899-12-25T13:14:15Z").as_second();
        let end = ts("2401-03-05T00:00:00Z").as_second();
        while secs < end {
            let t = Timestamp::from_second(secs).unwrap_or_else(|e| panic!("{e}"));
            let dt = utc.to_datetime(t);
            let c = Civil::from_secs(secs);
            assert_eq!(
                (c.year, c.month, c.day, c.hour, c.minute, c.second),
                (
                    i64::from(dt.year()),
                    dt.month() as u32,
                    dt.day() as u32,
                    dt.hour() as u32,
                    dt.minute() as u32,
                    dt.second() as u32,
                ),
                "{t}"
            );
            assert_eq!(c.to_secs(), secs, "{t}");
            assert_eq!(
                c.weekday(),
                u32::from(dt.date().weekday().to_sunday_zero_offset() as u8),
                "{t}"
            );
            assert_eq!(
                days_in_month(c.year, c.month),
                dt.date().days_in_month() as u32,
                "{t}"
            );
            secs += 86_400 * 13 + 3_607;
        }
    }

    #[test]
    fn search_agrees_with_brute_force() {
        // Minute-by-minute reference over two months for specs exercising every rule.
        let specs = [
            "*/7 3-5 */3 * MON,fri",
            "0 0 */2 * 1",
            "0 0 1,15 * *",
            "30 23 31 * *",
            "0 12 * JAN-MAR 0",
            "? ? ? ? ?",
            "59 23 * * 6",
        ];
        let from = ts("2024-01-28T00:00:00Z").as_second();
        let to = ts("2024-03-31T00:00:00Z").as_second();
        for spec in specs {
            let Kind::Spec(bits) = sched(spec).kind else {
                panic!("{spec} is not a field spec");
            };
            let matches = |secs: i64| {
                let c = Civil::from_secs(secs);
                has(bits.month, c.month)
                    && bits.day_matches(&c)
                    && has(bits.hour, c.hour)
                    && has(bits.minute, c.minute)
                    && has(bits.second, c.second)
            };
            let mut t = from;
            while t < to {
                let want = (t + 60..).step_by(60).find(|&s| matches(s));
                assert_eq!(bits.next_from(t + 1), want, "{spec} after {t}");
                t += 60 * 613;
            }
        }
    }
}
