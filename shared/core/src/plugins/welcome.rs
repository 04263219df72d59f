//! Prow's welcome plugin: a first pull request by a person (not a bot) who
//! is not trusted gets a welcome comment from `message_template`; with
//! `always_post`, every new pull request does. "First" means GitHub's search
//! `is:pr repo:o/r author:u` finds nothing but this one.

use crate::config::Config;
use crate::config::plugins::DEFAULT_WELCOME_TEMPLATE;
use crate::plan::FactError;

use super::pluginhelp::PluginHelp;
use super::{Cached, Ctx, PluginEvent, PluginPlan, trusted_user};

/// HTML-escapes a value, as Go's `html/template` does in text.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Renders a welcome template: `{{.Org}}`, `{{.Repo}}`, `{{.AuthorLogin}}`
/// and `{{.AuthorName}}` (spaces inside the braces allowed). Anything else
/// in braces is refused, so a template Skiff cannot render fails in
/// `check-config`, not on a contributor's first PR.
pub fn render(
    template: &str,
    org: &str,
    repo: &str,
    login: &str,
    name: &str,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!(
                "template: unclosed action at byte {}: add `}}}}`",
                template.len() - rest.len() + start
            ));
        };
        let action = after[..end]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        let value = match action {
            ".Org" => org,
            ".Repo" => repo,
            ".AuthorLogin" => login,
            ".AuthorName" => name,
            other => {
                return Err(format!(
                    "template: `{{{{{other}}}}}` is not supported: use {{{{.Org}}}}, {{{{.Repo}}}}, {{{{.AuthorLogin}}}} or {{{{.AuthorName}}}}"
                ));
            }
        };
        out.push_str(&escape(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

pub async fn plan(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    facts: &mut Cached<'_>,
) -> Result<PluginPlan, FactError> {
    let mut p = PluginPlan::new("welcome", ev.number());
    let Some(issue) = &ev.issue else {
        return Ok(p);
    };
    if ev.name != "pull_request" || ev.action != "opened" {
        return Ok(p);
    }
    if issue.author_is_bot {
        p.note("bots are not welcomed");
        return Ok(p);
    }
    let (org, repo) = (&ev.repo.org, &ev.repo.repo);
    let opts = ctx.config.plugins.welcome_for(org, repo);
    if !opts.always_post {
        let t = ctx.config.plugins.trigger_for(org, repo);
        if trusted_user(&t, &ev.repo, &issue.author, facts).await? {
            p.note("the author is trusted");
            return Ok(p);
        }
    }
    let pulls = facts.pulls_by_author(&ev.repo, &issue.author).await?;
    let first = pulls.is_empty() || pulls == [issue.number];
    if !opts.always_post && !first {
        p.note("the author has opened pull requests here before");
        return Ok(p);
    }
    let template = if opts.message_template.is_empty() {
        DEFAULT_WELCOME_TEMPLATE
    } else {
        &opts.message_template
    };
    match render(template, org, repo, &issue.author, "") {
        Ok(msg) => p.comment(msg),
        Err(e) => p.note(format!("welcome.message_template: {e}")),
    }
    Ok(p)
}

pub fn help(config: &Config, org: &str, repo: &str) -> PluginHelp {
    let opts = config.plugins.welcome_for(org, repo);
    let t = if opts.message_template.is_empty() {
        DEFAULT_WELCOME_TEMPLATE.to_string()
    } else {
        opts.message_template
    };
    PluginHelp::new("welcome", "Greets first-time contributors' pull requests.")
        .config(format!("The welcome message template: {t}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_template_renders_and_escapes() {
        assert_eq!(
            render(DEFAULT_WELCOME_TEMPLATE, "acme", "w", "a<b", "").unwrap(),
            "Welcome @a&lt;b! It looks like this is your first PR to acme/w 🎉"
        );
        assert!(render("Hi {{.Who}}", "o", "r", "u", "").is_err());
        assert!(render("Hi {{.Org", "o", "r", "u", "").is_err());
        assert_eq!(render("{{ .Repo }}", "o", "r", "u", "").unwrap(), "r");
    }
}
