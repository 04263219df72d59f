//! The part of Go's `text/template` that Prow's `plank.report_templates` use,
//! executed against the ProwJob as Prow does:
//!
//! - field chains with Go's names: `{{.Spec.Job}}`, `{{.Spec.Refs.Org}}`,
//!   `{{.Status.URL}}`, `{{.ObjectMeta.Name}}` (or `{{.Name}}`), label maps
//!   (`{{.Labels.foo}}`), and `{{.}}`;
//! - `{{with X}}`, `{{if X}}`, `{{else}}`, `{{end}}`, where X is a field chain
//!   or `index <chain> <n>` (`{{with index .Spec.Refs.Pulls 0}}{{.Number}}{{end}}`);
//! - `{{- ` / ` -}}` whitespace trimming and `{{/* comments */}}`.
//!
//! Anything else is an error; the caller then leaves the extra text out of the
//! comment rather than failing the report.

use std::collections::BTreeMap;

use skiff_core::prowjob::{ObjectMeta, ProwJob, ProwJobSpec, ProwJobStatus, Pull, Refs};

/// Renders `template` with `job` as dot.
pub(crate) fn render(template: &str, job: &ProwJob) -> Result<String, String> {
    let tokens = lex(template)?;
    let mut pos = 0;
    let (nodes, end) = parse(&tokens, &mut pos)?;
    if let Some(end) = end {
        return Err(format!("unexpected {{{{{end}}}}}"));
    }
    let mut out = String::new();
    exec(&nodes, &Value::Job(job), &mut out)?;
    Ok(out)
}

enum Token {
    Text(String),
    Action(String),
}

fn lex(src: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "unclosed action".to_owned())?;
        let mut inner = &after[..close];
        if let Some(stripped) = inner.strip_prefix("- ") {
            text = text.trim_end();
            inner = stripped;
        }
        trim_next = false;
        if let Some(stripped) = inner.strip_suffix(" -") {
            trim_next = true;
            inner = stripped;
        }
        if !text.is_empty() {
            tokens.push(Token::Text(text.to_owned()));
        }
        let inner = inner.trim();
        if !(inner.starts_with("/*") && inner.ends_with("*/")) {
            tokens.push(Token::Action(inner.to_owned()));
        }
        rest = &after[close + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        tokens.push(Token::Text(text.to_owned()));
    }
    Ok(tokens)
}

enum Expr {
    /// `.A.B`; empty is dot itself.
    Path(Vec<String>),
    Index(Vec<String>, usize),
}

enum Node {
    Text(String),
    Print(Expr),
    With(Expr, Vec<Node>, Vec<Node>),
    If(Expr, Vec<Node>, Vec<Node>),
}

/// Parses nodes up to an `else` or `end`, which is returned.
fn parse(tokens: &[Token], pos: &mut usize) -> Result<(Vec<Node>, Option<String>), String> {
    let mut nodes = Vec::new();
    while let Some(token) = tokens.get(*pos) {
        *pos += 1;
        let action = match token {
            Token::Text(t) => {
                nodes.push(Node::Text(t.clone()));
                continue;
            }
            Token::Action(a) => a.as_str(),
        };
        let words: Vec<&str> = action.split_whitespace().collect();
        match words.as_slice() {
            ["end"] | ["else"] => return Ok((nodes, Some(action.to_owned()))),
            [kw @ ("with" | "if"), expr @ ..] => {
                let expr = parse_expr(expr)?;
                let (then, end) = parse(tokens, pos)?;
                let otherwise = match end.as_deref() {
                    Some("end") => Vec::new(),
                    Some("else") => match parse(tokens, pos)? {
                        (nodes, Some(end)) if end == "end" => nodes,
                        _ => return Err(format!("{{{{{kw}}}}} without {{{{end}}}}")),
                    },
                    _ => return Err(format!("{{{{{kw}}}}} without {{{{end}}}}")),
                };
                nodes.push(if *kw == "with" {
                    Node::With(expr, then, otherwise)
                } else {
                    Node::If(expr, then, otherwise)
                });
            }
            expr => nodes.push(Node::Print(parse_expr(expr)?)),
        }
    }
    Ok((nodes, None))
}

fn parse_expr(words: &[&str]) -> Result<Expr, String> {
    match words {
        [path] => Ok(Expr::Path(parse_path(path)?)),
        ["index", path, n] => {
            let n = n
                .parse()
                .map_err(|_| format!("index {n:?} is not a number"))?;
            Ok(Expr::Index(parse_path(path)?, n))
        }
        _ => Err(format!("unsupported action {:?}", words.join(" "))),
    }
}

fn parse_path(word: &str) -> Result<Vec<String>, String> {
    if word == "." {
        return Ok(Vec::new());
    }
    let fields = word
        .strip_prefix('.')
        .ok_or_else(|| format!("unsupported action {word:?}"))?;
    fields
        .split('.')
        .map(|f| {
            if !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                Ok(f.to_owned())
            } else {
                Err(format!("bad field {word:?}"))
            }
        })
        .collect()
}

#[derive(Clone)]
enum Value<'a> {
    Job(&'a ProwJob),
    Meta(&'a ObjectMeta),
    Spec(&'a ProwJobSpec),
    Status(&'a ProwJobStatus),
    Refs(&'a Refs),
    Pulls(&'a [Pull]),
    Pull(&'a Pull),
    Map(&'a BTreeMap<String, String>),
    Str(&'a str),
    Int(i64),
    Bool(bool),
    /// A nil pointer (`Spec.Refs` of a periodic).
    Nil,
    /// A missing map key: Go prints `<no value>`.
    Missing,
}

impl<'a> Value<'a> {
    fn field(&self, name: &str) -> Result<Value<'a>, String> {
        let unknown = || Err(format!("can't evaluate field {name}"));
        Ok(match self {
            Value::Job(j) => match name {
                "Spec" => Value::Spec(&j.spec),
                "Status" => Value::Status(&j.status),
                "ObjectMeta" => Value::Meta(&j.metadata),
                // ObjectMeta is embedded in Go, so its fields are the job's.
                _ => return Value::Meta(&j.metadata).field(name),
            },
            Value::Meta(m) => match name {
                "Name" => Value::Str(&m.name),
                "Namespace" => Value::Str(&m.namespace),
                "Labels" => Value::Map(&m.labels),
                "Annotations" => Value::Map(&m.annotations),
                _ => return unknown(),
            },
            Value::Spec(s) => match name {
                "Type" => Value::Str(s.r#type.map_or("", |t| t.as_str())),
                "Agent" => Value::Str(&s.agent),
                "Cluster" => Value::Str(&s.cluster),
                "Namespace" => Value::Str(&s.namespace),
                "Job" => Value::Str(&s.job),
                "Refs" => s.refs.as_ref().map_or(Value::Nil, Value::Refs),
                "Report" => Value::Bool(s.report),
                "Context" => Value::Str(&s.context),
                "RerunCommand" => Value::Str(&s.rerun_command),
                "MaxConcurrency" => Value::Int(s.max_concurrency),
                _ => return unknown(),
            },
            Value::Status(s) => match name {
                "State" => Value::Str(s.state.map_or("", |t| t.as_str())),
                "Description" => Value::Str(&s.description),
                "URL" => Value::Str(&s.url),
                "BuildID" => Value::Str(&s.build_id),
                "PodName" => Value::Str(&s.pod_name),
                _ => return unknown(),
            },
            Value::Refs(r) => match name {
                "Org" => Value::Str(&r.org),
                "Repo" => Value::Str(&r.repo),
                "RepoLink" => Value::Str(&r.repo_link),
                "BaseRef" => Value::Str(&r.base_ref),
                "BaseSHA" => Value::Str(&r.base_sha),
                "BaseLink" => Value::Str(&r.base_link),
                "PathAlias" => Value::Str(&r.path_alias),
                "Pulls" => Value::Pulls(&r.pulls),
                _ => return unknown(),
            },
            Value::Pull(p) => match name {
                "Number" => Value::Int(p.number),
                "Author" => Value::Str(&p.author),
                "SHA" => Value::Str(&p.sha),
                "Title" => Value::Str(&p.title),
                "Ref" => Value::Str(&p.r#ref),
                "HeadRef" => Value::Str(&p.head_ref),
                "Link" => Value::Str(&p.link),
                "CommitLink" => Value::Str(&p.commit_link),
                "AuthorLink" => Value::Str(&p.author_link),
                _ => return unknown(),
            },
            Value::Map(m) => m.get(name).map_or(Value::Missing, |v| Value::Str(v)),
            Value::Nil => return Err(format!("nil pointer evaluating .{name}")),
            _ => return unknown(),
        })
    }

    fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Int(n) => *n != 0,
            Value::Bool(b) => *b,
            Value::Pulls(p) => !p.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Nil | Value::Missing => false,
            _ => true,
        }
    }

    fn print(&self, out: &mut String) -> Result<(), String> {
        match self {
            Value::Str(s) => out.push_str(s),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Nil => out.push_str("<nil>"),
            Value::Missing => out.push_str("<no value>"),
            _ => return Err("cannot print a structure".to_owned()),
        }
        Ok(())
    }
}

fn eval<'a>(expr: &Expr, dot: &Value<'a>) -> Result<Value<'a>, String> {
    let walk = |path: &[String]| path.iter().try_fold(dot.clone(), |v, name| v.field(name));
    match expr {
        Expr::Path(path) => walk(path),
        Expr::Index(path, n) => match walk(path)? {
            Value::Pulls(pulls) => pulls
                .get(*n)
                .map(Value::Pull)
                .ok_or_else(|| format!("index out of range: {n}")),
            _ => Err("can only index a list".to_owned()),
        },
    }
}

fn exec(nodes: &[Node], dot: &Value<'_>, out: &mut String) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Print(e) => eval(e, dot)?.print(out)?,
            Node::With(e, then, otherwise) => {
                let v = eval(e, dot)?;
                if v.truthy() {
                    exec(then, &v, out)?;
                } else {
                    exec(otherwise, dot, out)?;
                }
            }
            Node::If(e, then, otherwise) => {
                let branch = if eval(e, dot)?.truthy() {
                    then
                } else {
                    otherwise
                };
                exec(branch, dot, out)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::prowjob::{ProwJobState, ProwJobType};

    fn job() -> ProwJob {
        let mut j = ProwJob::default();
        j.metadata.name = "0f1e".into();
        j.metadata.labels.insert("team".into(), "infra".into());
        j.spec.r#type = Some(ProwJobType::Presubmit);
        j.spec.job = "pull-widgets-unit".into();
        j.spec.refs = Some(Refs {
            org: "acme".into(),
            repo: "widgets".into(),
            pulls: vec![Pull {
                number: 42,
                author: "alice".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        j.status.state = Some(ProwJobState::Failure);
        j.status.url = "https://deck/1".into();
        j
    }

    #[test]
    fn kubernetes_style_report_template_renders() {
        let t = "[Full PR test history](https://prow.example/pr-history?org={{.Spec.Refs.Org}}&repo={{.Spec.Refs.Repo}}&pr={{with index .Spec.Refs.Pulls 0}}{{.Number}}{{end}}). [Your dashboard](https://dash.example/pr/{{with index .Spec.Refs.Pulls 0}}{{.Author}}{{end}}).";
        assert_eq!(
            render(t, &job()).unwrap(),
            "[Full PR test history](https://prow.example/pr-history?org=acme&repo=widgets&pr=42). [Your dashboard](https://dash.example/pr/alice)."
        );
    }

    #[test]
    fn fields_conditionals_trimming_and_comments() {
        let t = "{{/* note */}}Job {{.Spec.Job}} of type {{.Spec.Type}} ended with state {{.Status.State}}.\n{{- if .Status.URL }} <{{.Status.URL}}>{{else}} none{{end}} {{.Name}} {{.ObjectMeta.Name}} {{.Labels.team}} {{.Labels.nope}}";
        assert_eq!(
            render(t, &job()).unwrap(),
            "Job pull-widgets-unit of type presubmit ended with state failure. <https://deck/1> 0f1e 0f1e infra <no value>"
        );
        assert_eq!(
            render("a  {{- .Spec.Job -}}  b", &job()).unwrap(),
            "apull-widgets-unitb"
        );
    }

    #[test]
    fn what_the_subset_cannot_do_is_an_error() {
        let mut periodic = job();
        periodic.spec.refs = None;
        let cases: [(&str, &ProwJob); 6] = [
            ("{{.Spec.Refs.Org}}", &periodic),
            ("{{.Spec.Nope}}", &job()),
            ("{{printf \"%s\" .Spec.Job}}", &job()),
            ("{{with index .Spec.Refs.Pulls 3}}x{{end}}", &job()),
            ("{{if .Spec.Job}}unclosed", &job()),
            ("{{.Spec}}", &job()),
        ];
        for (t, j) in cases {
            assert!(render(t, j).is_err(), "{t}");
        }
    }
}
