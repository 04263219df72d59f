//! The environment a function is configured through. `template.yaml` sets
//! every variable read here; a missing or malformed one stops the function at
//! cold start with a message naming it, instead of failing each event later.

use std::time::Duration;

/// A variable the function cannot start without, or one it cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error(
        "environment variable {0} is not set (template.yaml sets it on the function; set it by hand when running the binary elsewhere)"
    )]
    Missing(String),
    #[error("environment variable {name}={value:?}: {why}")]
    Invalid {
        name: String,
        value: String,
        why: String,
    },
}

/// Reads variables from a lookup (the process environment, or a map in tests).
pub struct Env<F = fn(&str) -> Option<String>> {
    lookup: F,
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Env {
            lookup: |name| std::env::var(name).ok(),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn from_fn(lookup: F) -> Self {
        Env { lookup }
    }

    /// Set and not blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<String, EnvError> {
        self.optional(name)
            .ok_or_else(|| EnvError::Missing(name.to_string()))
    }

    pub fn or(&self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_string())
    }

    /// Whole seconds; `default` when unset.
    pub fn seconds(&self, name: &str, default: Duration) -> Result<Duration, EnvError> {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|e| EnvError::Invalid {
                    name: name.to_string(),
                    value: v,
                    why: format!("expected whole seconds: {e}"),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::from_fn(move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn a_missing_variable_is_named_in_the_error() {
        let err = env(&[]).required("SKIFF_TABLE").unwrap_err();
        assert_eq!(err, EnvError::Missing("SKIFF_TABLE".into()));
        assert!(err.to_string().contains("SKIFF_TABLE is not set"));
    }

    #[test]
    fn blank_counts_as_unset() {
        let e = env(&[("SKIFF_GITHUB_TOKEN_SECRET_ID", "  ")]);
        assert_eq!(e.optional("SKIFF_GITHUB_TOKEN_SECRET_ID"), None);
        assert_eq!(e.or("SKIFF_GITHUB_TOKEN_SECRET_ID", "x"), "x");
    }

    #[test]
    fn seconds_parse_or_say_what_is_wrong() {
        let e = env(&[("A", "90"), ("B", "1m")]);
        assert_eq!(
            e.seconds("A", Duration::ZERO).unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            e.seconds("C", Duration::from_secs(7)).unwrap(),
            Duration::from_secs(7)
        );
        let err = e.seconds("B", Duration::ZERO).unwrap_err().to_string();
        assert!(
            err.starts_with("environment variable B=\"1m\": expected whole seconds"),
            "{err}"
        );
    }
}
