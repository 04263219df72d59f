//! The label selector of a pod listing, from the labels the pods must carry.
//!
//! Keys and values are checked against Kubernetes' label syntax instead of
//! being escaped: the selector grammar has no escapes, and a value holding `,`
//! or `=` would otherwise silently select something else.

use std::collections::BTreeMap;

/// The longest label name and value (`validation.LabelValueMaxLength`).
const MAX_NAME: usize = 63;
/// The longest key prefix (a DNS-1123 subdomain).
const MAX_PREFIX: usize = 253;

/// `a=b,c=d` for the map, or why a key or value cannot be a label.
pub(crate) fn label_selector(labels: &BTreeMap<String, String>) -> Result<String, String> {
    let mut parts = Vec::with_capacity(labels.len());
    for (key, value) in labels {
        if !is_key(key) {
            return Err(format!(
                "{key:?} is not a label key: an optional DNS subdomain prefix and '/', then at \
                 most {MAX_NAME} letters, digits, '-', '_' or '.', starting and ending with a \
                 letter or digit"
            ));
        }
        if !(value.is_empty() || is_name(value)) {
            return Err(format!(
                "label {key}: {value:?} is not a label value: at most {MAX_NAME} letters, digits, \
                 '-', '_' or '.', starting and ending with a letter or digit"
            ));
        }
        parts.push(format!("{key}={value}"));
    }
    Ok(parts.join(","))
}

fn is_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_name(name),
        None => is_name(key),
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 long.
fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= MAX_PREFIX
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= MAX_NAME
                && b.first().is_some_and(u8::is_ascii_alphanumeric)
                && b.last().is_some_and(u8::is_ascii_alphanumeric)
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(pairs: &[(&str, &str)]) -> Result<String, String> {
        label_selector(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn equality_requirements_joined_by_commas_in_key_order() {
        assert_eq!(
            sel(&[
                ("prow.k8s.io/job", "pull-unit"),
                ("created-by-prow", "true")
            ])
            .unwrap(),
            "created-by-prow=true,prow.k8s.io/job=pull-unit"
        );
        assert_eq!(sel(&[]).unwrap(), "");
        assert_eq!(sel(&[("empty", "")]).unwrap(), "empty=");
    }

    #[test]
    fn keys_and_values_outside_label_syntax_are_refused() {
        let too_long = "a".repeat(64);
        let bad = [
            ("a,b", "x"),
            ("", "x"),
            ("-a", "x"),
            ("Prow.K8s.io/job", "x"),
            ("/job", "x"),
            ("prow.k8s.io/", "x"),
            (too_long.as_str(), "x"),
            ("job", "a,b=c"),
            ("job", "a b"),
            ("job", "-a"),
            ("job", too_long.as_str()),
            ("job", "a!"),
        ];
        for (k, v) in bad {
            assert!(sel(&[(k, v)]).is_err(), "{k:?}={v:?} accepted");
        }
        let good = [
            ("prow.k8s.io/refs.base_ref", "release-1.2"),
            ("a", "A_b.c-9"),
            ("x-y_z.w", "1"),
        ];
        for (k, v) in good {
            assert!(sel(&[(k, v)]).is_ok(), "{k:?}={v:?} refused");
        }
    }
}
