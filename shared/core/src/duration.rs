//! Go's `time.Duration` text form: Prow's config and JSON use it everywhere
//! (`interval: 1h30m`, `"timeout":"2h0m0s"`), so parsing and printing follow
//! `time.ParseDuration` and `Duration.String` exactly.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A signed duration in nanoseconds, as Go's `time.Duration`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(pub i64);

const NANOS_PER: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Why a duration string is not one Go would accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration {0:?}")]
    Invalid(String),
    #[error("missing unit in duration {0:?} (Go durations need one: ns, us, ms, s, m, h)")]
    MissingUnit(String),
    #[error(
        "unknown unit {unit:?} in duration {input:?} (valid units: ns, us, ms, s, m, h){}",
        days_hint(unit)
    )]
    UnknownUnit { unit: String, input: String },
    #[error("duration {0:?} overflows")]
    Overflow(String),
}

fn days_hint(unit: &str) -> &'static str {
    if unit == "d" || unit.starts_with("day") {
        "; Go durations have no days: write 24h"
    } else {
        ""
    }
}

impl GoDuration {
    pub const fn from_secs(s: i64) -> Self {
        GoDuration(s * 1_000_000_000)
    }

    pub const fn from_mins(m: i64) -> Self {
        GoDuration(m * 60_000_000_000)
    }

    pub const fn from_hours(h: i64) -> Self {
        GoDuration(h * 3_600_000_000_000)
    }

    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0.max(0) as u64)
    }

    /// `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`.
    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let invalid = || DurationError::Invalid(input.to_string());
        let mut s = input;
        let mut neg = false;
        if let Some(rest) = s.strip_prefix('-') {
            neg = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        if s == "0" {
            return Ok(GoDuration(0));
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        while !s.is_empty() {
            let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
            let int_part = &s[..int_len];
            s = &s[int_len..];
            let mut frac_part = "";
            if let Some(rest) = s.strip_prefix('.') {
                let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
                frac_part = &rest[..frac_len];
                s = &rest[frac_len..];
                if int_part.is_empty() && frac_part.is_empty() {
                    return Err(invalid());
                }
            } else if int_part.is_empty() {
                return Err(invalid());
            }
            let unit_len = s
                .char_indices()
                .find(|(_, c)| *c == '.' || c.is_ascii_digit())
                .map_or(s.len(), |(i, _)| i);
            let unit = &s[..unit_len];
            s = &s[unit_len..];
            if unit.is_empty() {
                return Err(DurationError::MissingUnit(input.to_string()));
            }
            let Some(&(_, scale)) = NANOS_PER.iter().find(|(u, _)| *u == unit) else {
                return Err(DurationError::UnknownUnit {
                    unit: unit.to_string(),
                    input: input.to_string(),
                });
            };
            let overflow = || DurationError::Overflow(input.to_string());
            let whole: u64 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| overflow())?
            };
            let mut nanos = whole.checked_mul(scale).ok_or_else(overflow)?;
            if !frac_part.is_empty() {
                // Go truncates fractional nanoseconds. Integer arithmetic, not
                // f64: `0.335 * 1000.0` is 334.99…, which printed back would
                // not parse to itself (found by tests/fuzz.rs). Like Go, digits
                // past the precision kept (25 here, 10^25 × 3.6·10^12 fits in
                // a u128) are ignored.
                let digits = &frac_part[..frac_part.len().min(25)];
                let frac: u128 = digits.parse().map_err(|_| invalid())?;
                let exp = u32::try_from(digits.len()).map_err(|_| invalid())?;
                let part = frac * u128::from(scale) / 10u128.pow(exp);
                nanos = u64::try_from(part)
                    .ok()
                    .and_then(|p| nanos.checked_add(p))
                    .ok_or_else(overflow)?;
            }
            total = total.checked_add(nanos).ok_or_else(overflow)?;
        }
        if total > i64::MAX as u64 {
            return Err(DurationError::Overflow(input.to_string()));
        }
        let v = total as i64;
        Ok(GoDuration(if neg { -v } else { v }))
    }
}

impl fmt::Display for GoDuration {
    /// `Duration.String`: `2h0m0s`, `1m30s`, `1.5s`, `300ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let u = self.0.unsigned_abs();
        let sign = if neg { "-" } else { "" };
        if u == 0 {
            return f.write_str("0s");
        }
        if u < 1_000_000_000 {
            // Sub-second: the largest unit that keeps a non-zero integer part.
            let (scale, unit) = if u < 1_000 {
                (1, "ns")
            } else if u < 1_000_000 {
                (1_000, "µs")
            } else {
                (1_000_000, "ms")
            };
            return write!(f, "{sign}{}{unit}", fixed_point(u, scale));
        }
        let hours = u / 3_600_000_000_000;
        let rem = u % 3_600_000_000_000;
        let mins = rem / 60_000_000_000;
        let secs_nanos = rem % 60_000_000_000;
        let secs = fixed_point(secs_nanos, 1_000_000_000);
        if hours > 0 {
            write!(f, "{sign}{hours}h{mins}m{secs}s")
        } else if mins > 0 {
            write!(f, "{sign}{mins}m{secs}s")
        } else {
            write!(f, "{sign}{secs}s")
        }
    }
}

/// `value / scale` with the fraction's trailing zeros dropped, as Go prints it.
fn fixed_point(value: u64, scale: u64) -> String {
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    /// Prow's `Duration.UnmarshalJSON`: an integer of nanoseconds or a duration string.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = GoDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Go duration such as \"1h30m\" or \"90s\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<GoDuration, E> {
                Ok(GoDuration(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<GoDuration, E> {
                i64::try_from(v)
                    .map(GoDuration)
                    .map_err(|_| E::custom("duration overflows"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<GoDuration, E> {
                GoDuration::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_what_go_accepts() {
        let ns = |s| GoDuration::parse(s).map(|d| d.0);
        let table: &[(&str, i64)] = &[
            ("0", 0),
            ("90s", 90_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("10m", 600_000_000_000),
            ("1.5h", 5_400_000_000_000),
            ("300ms", 300_000_000),
            ("2h45m30.5s", 9_930_500_000_000),
            ("-1m", -60_000_000_000),
            ("+5s", 5_000_000_000),
            (".5s", 500_000_000),
            ("1us", 1_000),
            ("1µs", 1_000),
            ("7ns", 7),
            ("48h", 172_800_000_000_000),
            // Found by tests/fuzz.rs: f64 made this 1_514_078_496.
            ("10162ns1514068.335us", 1_514_078_497),
            ("0.1234567891s", 123_456_789),
        ];
        for (input, want) in table {
            assert_eq!(ns(input), Ok(*want), "{input}");
        }
    }

    #[test]
    fn parse_rejects_what_go_rejects() {
        for bad in [
            "", "1", "1d", "h", "1.h2", "-", ".s", "1h 30m", "10M", "1e3s",
        ] {
            assert!(
                GoDuration::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert_eq!(
            GoDuration::parse("2d").unwrap_err().to_string(),
            "unknown unit \"d\" in duration \"2d\" (valid units: ns, us, ms, s, m, h); Go durations have no days: write 24h"
        );
    }

    #[test]
    fn display_matches_go_string() {
        let table: &[(i64, &str)] = &[
            (0, "0s"),
            (7_200_000_000_000, "2h0m0s"),
            (15_000_000_000, "15s"),
            (90_000_000_000, "1m30s"),
            (1_500_000_000, "1.5s"),
            (300_000_000, "300ms"),
            (1_500, "1.5µs"),
            (7, "7ns"),
            (-60_000_000_000, "-1m0s"),
            (172_800_000_000_000, "48h0m0s"),
            (3_723_000_000_000, "1h2m3s"),
        ];
        for (nanos, want) in table {
            assert_eq!(GoDuration(*nanos).to_string(), *want, "{nanos}");
        }
    }

    #[test]
    fn json_accepts_nanoseconds_or_text_and_writes_text() {
        let d: GoDuration = serde_json::from_str("\"1h\"").unwrap();
        assert_eq!(d, GoDuration::from_hours(1));
        let d: GoDuration = serde_json::from_str("1000000000").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"1s\"");
    }
}
