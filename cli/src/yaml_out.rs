//! JSON values written as block YAML, the way `kubectl get -o yaml` and
//! Prow's mkpj print a ProwJob: maps as `key: value`, sequences as `- `
//! at their key's indentation, and every string that could read as
//! anything but itself (a number, a bool, `null`, a timestamp, text with
//! `:` or `#`) double-quoted with JSON's escapes, which YAML's
//! double-quoted scalars share.

use serde_json::{Map, Value};

/// `v` as a YAML document.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn map(out: &mut String, m: &Map<String, Value>, indent: usize) {
    for (k, v) in m {
        pad(out, indent);
        entry(out, k, v, indent);
    }
}

/// `key:` and its value, the key already indented.
fn entry(out: &mut String, k: &str, v: &Value, indent: usize) {
    out.push_str(&string(k));
    out.push(':');
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            seq(out, a, indent);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn seq(out: &mut String, a: &[Value], indent: usize) {
    for item in a {
        pad(out, indent);
        out.push('-');
        match item {
            Value::Object(m) if !m.is_empty() => {
                for (i, (k, v)) in m.iter().enumerate() {
                    if i == 0 {
                        out.push(' ');
                    } else {
                        pad(out, indent + 2);
                    }
                    entry(out, k, v, indent + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                seq(out, inner, indent + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// A string plain when it can only read as that string, else quoted.
fn string(s: &str) -> String {
    const RESERVED: [&str; 11] = [
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~", "",
    ];
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-'))
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_maps_and_sequences_read_back_as_the_same_value() {
        let v = json!({
            "apiVersion": "prow.k8s.io/v1",
            "metadata": {"labels": {"prow.k8s.io/job": "nightly", "empty": ""}},
            "spec": {
                "containers": [
                    {"name": "test", "command": ["/bin/sh", "-c", "echo a: b # c"], "env": []},
                    {"name": "db", "ports": [[1, 2], []]}
                ],
                "report": true,
                "max": 3,
                "yes": "no",
                "when": "2026-11-23T10:00:00Z",
                "quote": "say \"hi\"\n",
                "none": null,
                "nothing": {}
            }
        });
        let text = to_yaml(&v);
        assert!(
            text.contains(
                "  containers:\n  - name: test\n    command:\n    - /bin/sh\n    - \"-c\"\n"
            ),
            "{text}"
        );
        let doc = skiff_core::yaml::parse(&text).expect("it parses");
        let root = skiff_core::yaml::Path::Root("");
        let (back, unknown): (Value, _) =
            skiff_core::yaml::from_node(&doc.root, &root).expect("it reads back");
        assert!(unknown.is_empty());
        assert_eq!(back, v, "{text}");
    }
}
