//! Kubernetes label selectors (`k8s.io/apimachinery/pkg/labels.Parse`), as
//! Prow's `jenkins_operators[].label_selector` writes them: requirements
//! joined by commas, each `key`, `!key`, `key=value` (or `==`), `key!=value`,
//! `key in (a,b)`, `key notin (a,b)`, `key>n` or `key<n`. The empty selector
//! selects everything.

use std::collections::BTreeMap;
use std::fmt;

use crate::prowjob::labels::{is_qualified_name, is_valid_label_value};

/// A parsed selector: every requirement must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Exists,
    DoesNotExist,
    In(Vec<String>),
    NotIn(Vec<String>),
    Gt(i64),
    Lt(i64),
}

/// Why a selector does not parse, in the words of the part that is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector {selector:?}: {reason}")]
pub struct SelectorError {
    pub selector: String,
    pub reason: String,
}

impl Selector {
    /// Parses `s`; the empty (or blank) selector selects everything.
    pub fn parse(s: &str) -> Result<Selector, SelectorError> {
        let fail = |reason: String| SelectorError {
            selector: s.to_string(),
            reason,
        };
        let mut requirements = Vec::new();
        for part in split_top_level(s).map_err(fail)? {
            let part = part.trim();
            if part.is_empty() {
                if s.trim().is_empty() {
                    continue;
                }
                return Err(fail("an empty requirement (a stray comma)".into()));
            }
            requirements.push(requirement(part).map_err(fail)?);
        }
        Ok(Selector { requirements })
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| {
            let value = labels.get(&r.key);
            match &r.op {
                Op::Exists => value.is_some(),
                Op::DoesNotExist => value.is_none(),
                Op::In(values) => value.is_some_and(|v| values.contains(v)),
                Op::NotIn(values) => value.is_none_or(|v| !values.contains(v)),
                Op::Gt(n) => value
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *n),
                Op::Lt(n) => value
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *n),
            }
        })
    }

    /// Selects everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let k = &r.key;
            match &r.op {
                Op::Exists => write!(f, "{k}")?,
                Op::DoesNotExist => write!(f, "!{k}")?,
                Op::In(v) if v.len() == 1 => write!(f, "{k}={}", v[0])?,
                Op::In(v) => write!(f, "{k} in ({})", v.join(","))?,
                Op::NotIn(v) if v.len() == 1 => write!(f, "{k}!={}", v[0])?,
                Op::NotIn(v) => write!(f, "{k} notin ({})", v.join(","))?,
                Op::Gt(n) => write!(f, "{k}>{n}")?,
                Op::Lt(n) => write!(f, "{k}<{n}")?,
            }
        }
        Ok(())
    }
}

/// Splits on commas outside parentheses.
fn split_top_level(s: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' if depth > 0 => return Err("nested parentheses".into()),
            '(' => depth += 1,
            ')' if depth == 0 => return Err("a `)` without its `(`".into()),
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err("a `(` without its `)`".into());
    }
    parts.push(&s[start..]);
    Ok(parts)
}

fn requirement(part: &str) -> Result<Requirement, String> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement {
            key: key_of(key.trim())?,
            op: Op::DoesNotExist,
        });
    }
    // Set forms first: a value list may hold `=`-free words only.
    for (word, set_op) in [(" notin ", true), (" in ", false)] {
        if let Some(at) = part.find(word) {
            let key = key_of(part[..at].trim())?;
            let list = part[at + word.len()..].trim();
            let inner = list
                .strip_prefix('(')
                .and_then(|l| l.strip_suffix(')'))
                .ok_or_else(|| format!("the values of {key:?} must be in parentheses"))?;
            let values = inner
                .split(',')
                .map(|v| value_of(v.trim()))
                .collect::<Result<Vec<_>, _>>()?;
            if values.iter().all(String::is_empty) && set_op {
                return Err(format!("{key:?} notin needs at least one value"));
            }
            let op = if set_op {
                Op::NotIn(values)
            } else {
                Op::In(values)
            };
            return Ok(Requirement { key, op });
        }
    }
    for (sym, make) in [
        (
            "!=",
            (|v| Ok(Op::NotIn(vec![v]))) as fn(String) -> Result<Op, String>,
        ),
        ("==", |v| Ok(Op::In(vec![v]))),
        ("=", |v| Ok(Op::In(vec![v]))),
        (">", |v| {
            v.parse()
                .map(Op::Gt)
                .map_err(|_| format!("{v:?} is not an integer"))
        }),
        ("<", |v| {
            v.parse()
                .map(Op::Lt)
                .map_err(|_| format!("{v:?} is not an integer"))
        }),
    ] {
        if let Some((key, value)) = part.split_once(sym) {
            let key = key_of(key.trim())?;
            let op = make(value_of(value.trim())?)?;
            return Ok(Requirement { key, op });
        }
    }
    Ok(Requirement {
        key: key_of(part)?,
        op: Op::Exists,
    })
}

fn key_of(key: &str) -> Result<String, String> {
    is_qualified_name(key).map_err(|e| format!("invalid label key {key:?}: {e}"))?;
    Ok(key.to_string())
}

fn value_of(value: &str) -> Result<String, String> {
    is_valid_label_value(value).map_err(|e| format!("invalid label value {value:?}: {e}"))?;
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Kubernetes' semantics: `!=` and `notin` hold when the key is absent.
    #[test]
    fn selectors_match_as_kubernetes_does() {
        let l = labels(&[("master", "ci.example.com"), ("tier", "2")]);
        let cases = [
            ("", true),
            ("master=ci.example.com", true),
            ("master==ci.example.com", true),
            ("master=other", false),
            ("master!=other", true),
            ("absent!=x", true),
            ("master", true),
            ("!master", false),
            ("!absent", true),
            ("master in (a, ci.example.com)", true),
            ("master notin (a,b)", true),
            ("absent notin (a)", true),
            ("absent in (a)", false),
            ("tier>1", true),
            ("tier<2", false),
            ("master=ci.example.com, tier=2", true),
            ("master=ci.example.com,tier=3", false),
        ];
        for (s, want) in cases {
            let sel = Selector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(sel.matches(&l), want, "{s}");
        }
    }

    #[test]
    fn malformed_selectors_say_what_is_wrong() {
        let cases = [
            ("master=a,", "an empty requirement (a stray comma)"),
            ("master in (a", "a `(` without its `)`"),
            ("master in a", "must be in parentheses"),
            ("bad key!=x", "invalid label key"),
            ("tier>x", "is not an integer"),
            ("master=a b", "invalid label value"),
        ];
        for (s, want) in cases {
            let err = Selector::parse(s).expect_err(s);
            assert!(err.to_string().contains(want), "{s}: {err}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["master=a", "a!=b", "x in (a,b)", "!y", "z", "n>3"] {
            let sel = Selector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(Selector::parse(&sel.to_string()), Ok(sel), "{s}");
        }
    }
}
