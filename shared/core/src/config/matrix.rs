//! Job matrices, beyond Prow: one job written once, run per stage and region.
//!
//! ```yaml
//! - name: eks-{{stage}}-{{region}}-conformance
//!   matrix: {stage: [beta, prod], region: [us-east-1, us-west-2]}
//!   cluster: eks-{{region}}
//! ```
//! expands at load into one job per combination (first variable outermost), with
//! `{{var}}` replaced in every string, key and value alike. Expanded jobs keep the
//! template's positions, so an error in one points at the template's line and the
//! message names the combination.

use crate::yaml::{Entry, Mark, Node, Value};

/// One expanded job and the combination it came from.
#[derive(Debug)]
pub struct Expansion {
    pub node: Node,
    /// `stage=beta, region=us-east-1`; `None` for a job without a matrix.
    pub combination: Option<String>,
}

/// A malformed matrix or a placeholder naming no variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixError {
    pub mark: Mark,
    /// Path below the job, such as `matrix.region`.
    pub field: String,
    pub message: String,
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Expands `job` by its `matrix`, or returns it unchanged if it has none.
pub fn expand(job: &Node) -> Result<Vec<Expansion>, MatrixError> {
    let Some(matrix) = job.get("matrix") else {
        return Ok(vec![Expansion {
            node: job.clone(),
            combination: None,
        }]);
    };
    let vars = read_matrix(matrix)?;
    let name_text = job.get("name").and_then(|e| e.value.as_str()).unwrap_or("");
    for (var, _) in &vars {
        if !placeholders(name_text).any(|p| p == var.as_str()) {
            return Err(MatrixError {
                mark: job.key_mark("name"),
                field: "name".to_string(),
                message: format!(
                    "matrix variable `{var}` is not used in the job name, so every combination would get the same name; add `{{{{{var}}}}}` to the name"
                ),
            });
        }
    }

    let template = Node {
        value: Value::Map(
            job.entries()
                .iter()
                .filter(|e| e.key != "matrix")
                .cloned()
                .collect(),
        ),
        mark: job.mark,
    };
    let mut combos: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
    for (var, values) in &vars {
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut c = prefix.clone();
                    c.push((var.as_str(), v.as_str()));
                    c
                })
            })
            .collect();
    }
    let names: Vec<&str> = vars.iter().map(|(v, _)| v.as_str()).collect();
    combos
        .into_iter()
        .map(|combo| {
            let mut node = template.clone();
            substitute(&mut node, &combo, &names, "")?;
            let label = combo
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            Ok(Expansion {
                node,
                combination: Some(label),
            })
        })
        .collect()
}

fn read_matrix(matrix: &Entry) -> Result<Vec<(String, Vec<String>)>, MatrixError> {
    let err = |mark, field: &str, message: String| MatrixError {
        mark,
        field: field.to_string(),
        message,
    };
    let Value::Map(entries) = &matrix.value.value else {
        return Err(err(
            matrix.value.mark,
            "matrix",
            format!(
                "expected a mapping of variable names to lists of values, found {}",
                matrix.value.kind()
            ),
        ));
    };
    if entries.is_empty() {
        return Err(err(
            matrix.key_mark,
            "matrix",
            "matrix has no variables".into(),
        ));
    }
    let mut vars = Vec::new();
    for e in entries {
        let field = format!("matrix.{}", e.key);
        if !is_identifier(&e.key) {
            return Err(err(
                e.key_mark,
                &field,
                format!(
                    "matrix variable `{}` must be letters, digits and underscores, starting with a letter",
                    e.key
                ),
            ));
        }
        let items = e.value.items();
        if items.is_empty() {
            return Err(err(
                e.value.mark,
                &field,
                "expected a non-empty list of values".into(),
            ));
        }
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            match item.as_str() {
                Some(s) if !values.iter().any(|v| v == s) => values.push(s.to_string()),
                Some(s) => {
                    return Err(err(
                        item.mark,
                        &field,
                        format!("value `{s}` is listed twice"),
                    ));
                }
                None => {
                    return Err(err(
                        item.mark,
                        &field,
                        format!("expected a plain value, found {}", item.kind()),
                    ));
                }
            }
        }
        vars.push((e.key.clone(), values));
    }
    Ok(vars)
}

/// The identifiers inside `{{ … }}` in `text`. Go-template expressions such as
/// `{{.Spec.Job}}` are not identifiers and are left alone.
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find("{{")?;
            let after = &rest[start + 2..];
            let end = after.find("}}")?;
            let inner = after[..end].trim();
            rest = &after[end + 2..];
            if is_identifier(inner) {
                return Some(inner);
            }
        }
    })
}

fn replace(
    text: &str,
    combo: &[(&str, &str)],
    names: &[&str],
    mark: Mark,
    field: &str,
) -> Result<Option<String>, MatrixError> {
    if !text.contains("{{") {
        return Ok(None);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        let inner = after[..end].trim();
        out.push_str(&rest[..start]);
        if is_identifier(inner) {
            match combo.iter().find(|(k, _)| *k == inner) {
                Some((_, v)) => out.push_str(v),
                None => {
                    return Err(MatrixError {
                        mark,
                        field: field.to_string(),
                        message: format!(
                            "unknown matrix variable `{{{{{inner}}}}}`; this job's matrix defines {}",
                            names.join(", ")
                        ),
                    });
                }
            }
        } else {
            out.push_str(&rest[start..start + 2 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(Some(out))
}

fn substitute(
    node: &mut Node,
    combo: &[(&str, &str)],
    names: &[&str],
    field: &str,
) -> Result<(), MatrixError> {
    let mark = node.mark;
    match &mut node.value {
        Value::Null => {}
        Value::Scalar { text, .. } => {
            if let Some(new) = replace(text, combo, names, mark, field)? {
                *text = new;
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                substitute(item, combo, names, &format!("{field}[{i}]"))?;
            }
        }
        Value::Map(entries) => {
            for e in entries.iter_mut() {
                let child = if field.is_empty() {
                    e.key.clone()
                } else {
                    format!("{field}.{}", e.key)
                };
                if let Some(new) = replace(&e.key, combo, names, e.key_mark, &child)? {
                    e.key = new;
                }
                substitute(&mut e.value, combo, names, &child)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn job(text: &str) -> Node {
        parse(text).unwrap().root
    }

    #[test]
    fn matrix_expands_to_every_combination_first_variable_outermost() {
        let j = job(concat!(
            "name: eks-{{stage}}-{{region}}-conformance\n",
            "matrix: {stage: [beta, prod], region: [us-east-1, us-west-2]}\n",
            "cluster: eks-{{ region }}\n",
            "labels: {stage: '{{stage}}'}\n",
        ));
        let out = expand(&j).unwrap();
        let names: Vec<_> = out
            .iter()
            .map(|e| {
                e.node
                    .get("name")
                    .unwrap()
                    .value
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "eks-beta-us-east-1-conformance",
                "eks-beta-us-west-2-conformance",
                "eks-prod-us-east-1-conformance",
                "eks-prod-us-west-2-conformance"
            ]
        );
        assert_eq!(
            out[3].combination.as_deref(),
            Some("stage=prod, region=us-west-2")
        );
        assert_eq!(
            out[1].node.get("cluster").unwrap().value.as_str(),
            Some("eks-us-west-2")
        );
        assert!(out[0].node.get("matrix").is_none());
        // Positions stay the template's.
        assert_eq!(out[2].node.key_mark("cluster"), Mark { line: 3, col: 1 });
    }

    #[test]
    fn unknown_placeholder_is_an_error_naming_the_variables() {
        let j = job("name: a-{{stage}}\nmatrix: {stage: [x]}\ncluster: '{{regoin}}'\n");
        let e = expand(&j).unwrap_err();
        assert_eq!(e.field, "cluster");
        assert_eq!(e.mark, Mark { line: 3, col: 10 });
        assert_eq!(
            e.message,
            "unknown matrix variable `{{regoin}}`; this job's matrix defines stage"
        );
    }

    #[test]
    fn go_template_expressions_are_left_alone() {
        let j = job("name: a-{{s}}\nmatrix: {s: [x]}\nx: '{{.Spec.Job}}'\n");
        let out = expand(&j).unwrap();
        assert_eq!(
            out[0].node.get("x").unwrap().value.as_str(),
            Some("{{.Spec.Job}}")
        );
    }

    #[test]
    fn a_variable_missing_from_the_name_is_an_error() {
        let j = job("name: same\nmatrix: {s: [x, y]}\n");
        let e = expand(&j).unwrap_err();
        assert_eq!(e.field, "name");
        assert!(
            e.message.contains("`s` is not used in the job name"),
            "{}",
            e.message
        );
    }

    #[test]
    fn malformed_matrices_are_errors() {
        for (text, want) in [
            ("name: a\nmatrix: [x]\n", "expected a mapping"),
            ("name: a\nmatrix: {}\n", "no variables"),
            ("name: a-{{s}}\nmatrix: {s: []}\n", "non-empty list"),
            ("name: a-{{s}}\nmatrix: {s: [x, x]}\n", "listed twice"),
            ("name: a\nmatrix: {1s: [x]}\n", "must be letters"),
        ] {
            let e = expand(&job(text)).unwrap_err();
            assert!(e.message.contains(want), "{text}: {}", e.message);
        }
    }

    #[test]
    fn a_job_without_matrix_is_returned_unchanged() {
        let j = job("name: plain\n");
        let out = expand(&j).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].node, j);
        assert_eq!(out[0].combination, None);
    }
}
