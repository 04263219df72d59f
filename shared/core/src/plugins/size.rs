//! Prow's size plugin: one `size/XS…XXL` label per pull request, from its
//! additions plus deletions, leaving out generated files (`.generated_files`
//! and `linguist-generated=true` in `.gitattributes`, both read at the base
//! SHA). Each configured size is the lower bound of its label.

use crate::config::Config;
use crate::config::plugins::Size;
use crate::plan::FactError;

use super::pluginhelp::PluginHelp;
use super::{Cached, Ctx, PluginEvent, PluginPlan};

pub const PREFIX: &str = "size/";

/// Prow's `bucket`.
pub fn label_for(count: i64, sizes: Size) -> &'static str {
    let s = sizes.or_default();
    if count < s.s {
        "size/XS"
    } else if count < s.m {
        "size/S"
    } else if count < s.l {
        "size/M"
    } else if count < s.xl {
        "size/L"
    } else if count < s.xxl {
        "size/XL"
    } else {
        "size/XXL"
    }
}

/// `.generated_files`: `path`, `file-name`, `file-prefix`, `path-prefix`
/// (or `prefix`) lines; `paths-from-repo` lines name files listing more
/// paths.
#[derive(Debug, Default)]
pub struct Generated {
    paths: Vec<String>,
    file_names: Vec<String>,
    path_prefixes: Vec<String>,
    file_prefixes: Vec<String>,
}

impl Generated {
    /// Reads `.generated_files`; the `paths-from-repo` files it names, and
    /// the line it could not read.
    pub fn parse(text: &str) -> Result<(Generated, Vec<String>), String> {
        let mut g = Generated::default();
        let mut from_repo = Vec::new();
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = l.split_whitespace().collect();
            let [kind, value] = fields[..] else {
                return Err(format!("invalid config line: {l:?}"));
            };
            match kind {
                "prefix" | "path-prefix" => g.path_prefixes.push(value.into()),
                "file-prefix" => g.file_prefixes.push(value.into()),
                // Prow files both under file names (quirk kept).
                "file-name" | "path" => g.file_names.push(value.into()),
                "paths-from-repo" => from_repo.push(value.into()),
                _ => return Err(format!("invalid config line: {l:?}")),
            }
        }
        Ok((g, from_repo))
    }

    /// Adds the paths of a `paths-from-repo` file.
    pub fn add_paths(&mut self, text: &str) {
        for l in text.lines().map(str::trim) {
            if !l.is_empty() && !l.starts_with('#') {
                self.paths.push(l.to_string());
            }
        }
    }

    pub fn matches(&self, path: &str) -> bool {
        let base = path.rsplit('/').next().unwrap_or(path);
        self.paths.iter().any(|p| p == path)
            || self
                .path_prefixes
                .iter()
                .any(|p| path.starts_with(p.as_str()))
            || self.file_names.iter().any(|n| n == base)
            || self
                .file_prefixes
                .iter()
                .any(|p| base.starts_with(p.as_str()))
    }
}

/// Go's `filepath.Match` for one path element: `*`, `?`, `[…]`, `\`.
fn glob(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|i| glob(rest, &name[i..])),
        Some(('?', rest)) => name.split_first().is_some_and(|(_, n)| glob(rest, n)),
        Some(('[', rest)) => {
            let Some((c, n)) = name.split_first() else {
                return false;
            };
            let Some(end) = rest.iter().position(|x| *x == ']') else {
                return false;
            };
            let (class, after) = (&rest[..end], &rest[end + 1..]);
            let (negate, class) = match class.split_first() {
                Some(('^', cls)) => (true, cls),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negate && glob(after, n)
        }
        Some(('\\', rest)) => match (rest.split_first(), name.split_first()) {
            (Some((p, r)), Some((c, n))) => p == c && glob(r, n),
            _ => false,
        },
        Some((p, rest)) => name
            .split_first()
            .is_some_and(|(c, n)| c == p && glob(rest, n)),
    }
}

fn glob_str(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob(&p, &n)
}

/// One `linguist-generated=true` pattern of `.gitattributes`.
#[derive(Debug)]
struct AttrPattern {
    parts: Vec<String>,
    is_path: bool,
}

impl AttrPattern {
    fn matches(&self, path: &str) -> bool {
        let elements: Vec<&str> = path.split('/').collect();
        if !self.is_path {
            return elements.iter().any(|e| glob_str(&self.parts[0], e));
        }
        // Prow's `pathMatch`: `**` lets the next part match further down.
        let mut rest: &[&str] = &elements;
        let mut matched = false;
        let mut traverse = false;
        for (i, part) in self.parts.iter().enumerate() {
            if part.is_empty() {
                traverse = false;
                continue;
            }
            if part == "**" {
                if i == self.parts.len() - 1 {
                    break;
                }
                traverse = true;
                continue;
            }
            if part.contains("**") || rest.is_empty() {
                return false;
            }
            if traverse {
                traverse = false;
                matched = false;
                while let Some((e, r)) = rest.split_first() {
                    rest = r;
                    if glob_str(part, e) {
                        matched = true;
                        break;
                    }
                }
            } else {
                if !glob_str(part, rest[0]) {
                    return false;
                }
                matched = true;
                rest = &rest[1..];
            }
        }
        matched
    }
}

/// The `linguist-generated=true` patterns of `.gitattributes`.
#[derive(Debug, Default)]
pub struct Attributes {
    generated: Vec<AttrPattern>,
}

impl Attributes {
    pub fn parse(text: &str) -> Result<Attributes, String> {
        let mut out = Attributes::default();
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = l.split_whitespace().collect();
            if fields.len() < 2 || !fields[1..].contains(&"linguist-generated=true") {
                continue;
            }
            let p = fields[0];
            if p.starts_with('!') {
                return Err(format!("negative patterns are forbidden: <{p}>"));
            }
            if p.ends_with('/') {
                return Err(format!(
                    "directory patterns are not matched recursively, use path/** instead: <{p}>"
                ));
            }
            out.generated.push(AttrPattern {
                parts: p.split('/').map(String::from).collect(),
                is_path: p.contains('/'),
            });
        }
        Ok(out)
    }

    pub fn is_generated(&self, path: &str) -> bool {
        self.generated.iter().any(|p| p.matches(path))
    }
}

pub async fn plan(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    facts: &mut Cached<'_>,
) -> Result<PluginPlan, FactError> {
    let mut p = PluginPlan::new("size", ev.number());
    let (Some(issue), Some(pull)) = (&ev.issue, &ev.pull) else {
        return Ok(p);
    };
    if ev.name != "pull_request"
        || !matches!(
            ev.action.as_str(),
            "opened" | "reopened" | "synchronize" | "edited"
        )
    {
        return Ok(p);
    }
    let sha = &pull.base_sha;
    let mut generated = Generated::default();
    if let Some(text) = facts.file(&ev.repo, ".generated_files", sha).await? {
        match Generated::parse(&text) {
            Ok((g, from_repo)) => {
                generated = g;
                for f in from_repo {
                    if let Some(more) = facts.file(&ev.repo, &f, sha).await? {
                        generated.add_paths(&more);
                    }
                }
            }
            Err(e) => p.note(format!(".generated_files ignored: {e}")),
        }
    }
    let attributes = match facts.file(&ev.repo, ".gitattributes", sha).await? {
        Some(text) => Attributes::parse(&text).unwrap_or_else(|e| {
            p.note(format!(".gitattributes ignored: {e}"));
            Attributes::default()
        }),
        None => Attributes::default(),
    };
    let files = facts.pull_files(&ev.repo, issue.number).await?;
    let count: i64 = files
        .iter()
        .filter(|f| !generated.matches(&f.filename) && !attributes.is_generated(&f.filename))
        .map(|f| f.additions + f.deletions)
        .sum();
    let wanted = label_for(count, ctx.config.plugins.sections.size);
    p.note(format!("{count} changed lines: {wanted}"));
    let mut has = false;
    for l in &issue.labels {
        if l == wanted {
            has = true;
        } else if l.starts_with(PREFIX) {
            p.remove_label(l);
        }
    }
    if !has {
        p.add_label(wanted);
    }
    Ok(p)
}

pub fn help(config: &Config, _: &str, _: &str) -> PluginHelp {
    let s = config.plugins.sections.size.or_default();
    PluginHelp::new(
        "size",
        "Keeps one `size/*` label on each pull request, from the lines it adds and deletes; files listed in `.generated_files` or marked `linguist-generated=true` in `.gitattributes` are not counted.",
    )
    .config(format!(
        "size/XS: 0-{}, size/S: {}-{}, size/M: {}-{}, size/L: {}-{}, size/XL: {}-{}, size/XXL: {}+",
        s.s - 1,
        s.s,
        s.m - 1,
        s.m,
        s.l - 1,
        s.l,
        s.xl - 1,
        s.xl,
        s.xxl - 1,
        s.xxl
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_gos_filepath_match() {
        for (p, n, m) in [
            ("*.pb.go", "api.pb.go", true),
            ("*.pb.go", "api.go", false),
            ("zz_generated?.go", "zz_generated1.go", true),
            ("[a-c]x", "bx", true),
            ("[^a-c]x", "bx", false),
        ] {
            assert_eq!(glob_str(p, n), m, "{p} {n}");
        }
    }
}
