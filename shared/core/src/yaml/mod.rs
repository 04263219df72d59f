//! YAML as Prow reads it, with a position on every node.
//!
//! Prow turns YAML into JSON (sigs.k8s.io/yaml) and unmarshals that, silently
//! dropping unknown keys and reporting type errors without a line. Skiff parses into
//! a tree that remembers where each node came from, then deserializes typed values
//! straight from the tree, so every error and every unknown key names its file,
//! line, column and field path. Anchors, aliases and `<<` merge keys work as in
//! Go's yaml.v2; only the first document of a file is read, as Prow does.

mod access;
mod composite;
mod de;
mod error;
mod node;
mod outline;
mod parse;
mod scalar;

pub use crate::diagnostics::Mark;
pub use composite::Composite;
pub use de::from_node;
pub use error::{Error, Path, UnknownKey};
pub use node::{Entry, Node, Value};
pub use outline::{Outline, OutlineEntry, OutlineNode};
pub use parse::{Document, SyntaxError, parse};

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Job {
        name: String,
        #[serde(default)]
        always_run: bool,
        #[serde(default)]
        max_concurrency: i64,
        #[serde(default)]
        branches: Vec<String>,
    }

    #[test]
    fn marks_are_one_based_line_and_column() {
        let doc = parse("a:\n  b: 1\n  c: [x, y]\n").unwrap();
        let b = doc.root.get("a").unwrap().value.get("b").unwrap();
        assert_eq!(b.key_mark, Mark { line: 2, col: 3 });
        assert_eq!(b.value.mark, Mark { line: 2, col: 6 });
        assert_eq!(doc.root.locate(&["a", "c", "1"]), Mark { line: 3, col: 10 });
    }

    #[test]
    fn type_errors_name_line_column_and_path() {
        let doc = parse("jobs:\n- name: a\n  max_concurrency: lots\n").unwrap();
        let seq = &doc.root.get("jobs").unwrap().value;
        let root = Path::Root("periodics");
        let err = from_node::<Vec<Job>>(seq, &root).unwrap_err();
        assert_eq!(err.mark, Some(Mark { line: 3, col: 20 }));
        assert_eq!(err.path, "periodics[0].max_concurrency");
        assert_eq!(err.message, "expected an integer (i64), found \"lots\"");
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let doc = parse("- always_run: true\n").unwrap();
        let err = from_node::<Vec<Job>>(&doc.root, &Path::Root("p")).unwrap_err();
        assert_eq!(err.message, "missing field `name`");
        assert_eq!(err.path, "p[0]");
        assert_eq!(err.mark, Some(Mark { line: 1, col: 3 }));
    }

    #[test]
    fn unknown_keys_are_reported_with_a_suggestion() {
        let doc = parse("name: a\nalways_rn: true\n").unwrap();
        let (job, unknown) = from_node::<Job>(&doc.root, &Path::Root("j")).unwrap();
        assert_eq!(job.name, "a");
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].key, "always_rn");
        assert_eq!(unknown[0].suggestion, Some("always_run"));
        assert_eq!(unknown[0].mark, Mark { line: 2, col: 1 });
    }

    #[test]
    fn anchors_aliases_and_merge_keys_work_as_in_yaml_v2() {
        let text = "base: &b\n  name: x\n  always_run: true\njob:\n  <<: *b\n  name: y\n";
        let doc = parse(text).unwrap();
        let job = &doc.root.get("job").unwrap().value;
        let (j, unknown) = from_node::<Job>(job, &Path::Root("job")).unwrap();
        assert_eq!(
            j,
            Job {
                name: "y".into(),
                always_run: true,
                max_concurrency: 0,
                branches: vec![]
            }
        );
        assert!(unknown.is_empty());
    }

    #[test]
    fn duplicate_keys_keep_the_last_and_are_recorded() {
        let doc = parse("name: a\nname: b\n").unwrap();
        assert_eq!(doc.root.get("name").unwrap().value.as_str(), Some("b"));
        assert_eq!(
            doc.duplicate_keys,
            vec![("name".to_string(), Mark { line: 2, col: 1 })]
        );
    }

    #[test]
    fn yaml_1_1_booleans_are_booleans_where_a_bool_is_expected() {
        for (text, want) in [("yes", true), ("off", false), ("True", true)] {
            let doc = parse(&format!("name: a\nalways_run: {text}\n")).unwrap();
            let (j, _) = from_node::<Job>(&doc.root, &Path::Root("")).unwrap();
            assert_eq!(j.always_run, want, "{text}");
        }
        let doc = parse("name: a\nalways_run: \"true\"\n").unwrap();
        assert!(from_node::<Job>(&doc.root, &Path::Root("")).is_err());
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(err.mark.line >= 1, "{err:?}");
        assert!(!err.message.is_empty());
    }

    #[test]
    fn dynamic_values_keep_yaml_types() {
        let doc = parse("a: 1\nb: \"1\"\nc: true\nd: ~\ne: 1.5\nf: text\n").unwrap();
        let (v, _) = from_node::<serde_json::Value>(&doc.root, &Path::Root("")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": "1", "c": true, "d": null, "e": 1.5, "f": "text"})
        );
    }

    #[test]
    fn only_the_first_document_is_read() {
        let doc = parse("a: 1\n---\nb: 2\n").unwrap();
        assert!(doc.root.get("a").is_some());
        assert!(doc.root.get("b").is_none());
    }
}
