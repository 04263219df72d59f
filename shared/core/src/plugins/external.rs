//! Prow's external plugins: HTTP services hook forwards events to.

use crate::config::Config;
use crate::config::plugins::ExternalPlugin;

/// Prow ships needs-rebase as an external plugin; Skiff runs it in-process.
/// An entry named `needs-rebase` whose endpoint is empty or Prow's default
/// in-cluster service stands for the built-in, not a URL to call.
pub fn is_builtin(plugin: &ExternalPlugin) -> bool {
    plugin.name == "needs-rebase" && matches!(plugin.endpoint.as_str(), "" | "http://needs-rebase")
}

/// One external plugin an event goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    pub name: String,
    pub endpoint: String,
}

/// The external plugins of `org/repo` (exact `org` and `org/repo` keys, as
/// Prow matches them; `excluded_repos` does not apply) that asked for
/// `event`, each with its endpoint (Prow's default `http://<name>`). The
/// built-in needs-rebase is not among them.
pub fn targets(config: &Config, org: &str, repo: &str, event: &str) -> Vec<Forward> {
    config
        .plugins
        .external_plugins_for(org, repo)
        .into_iter()
        .filter(|p| !is_builtin(p))
        .filter(|p| p.events.is_empty() || p.events.iter().any(|e| e == event))
        .map(|p| Forward {
            name: p.name.clone(),
            endpoint: if p.endpoint.is_empty() {
                format!("http://{}", p.name)
            } else {
                p.endpoint.clone()
            },
        })
        .collect()
}

/// The headers hook sends an external plugin: GitHub's own, unchanged (so
/// the plugin checks `X-Hub-Signature-256` with the secret GitHub signed
/// with), and `User-Agent: ProwHook`.
pub fn headers(event: &str, delivery: &str, signature: &str) -> Vec<(String, String)> {
    let mut out = vec![
        ("X-GitHub-Event".to_string(), event.to_string()),
        ("X-GitHub-Delivery".to_string(), delivery.to_string()),
        ("Content-Type".to_string(), "application/json".to_string()),
        ("User-Agent".to_string(), "ProwHook".to_string()),
    ];
    if !signature.is_empty() {
        out.push(("X-Hub-Signature-256".to_string(), signature.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        use crate::config::{FileRole, SourceFile, load};
        let loaded = load(&[SourceFile {
            path: "plugins.yaml".into(),
            text: yaml.into(),
            role: FileRole::PluginConfig,
        }]);
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        loaded.config
    }

    #[test]
    fn targets_match_exact_keys_default_endpoints_and_filter_events() {
        let c = config(
            r#"
external_plugins:
  acme:
  - name: cherrypicker
    events: [issue_comment, pull_request]
  acme/widgets:
  - name: needs-rebase
  - name: everything
    endpoint: http://127.0.0.1:9/hook
"#,
        );
        let names = |event: &str| -> Vec<(String, String)> {
            targets(&c, "acme", "widgets", event)
                .into_iter()
                .map(|f| (f.name, f.endpoint))
                .collect()
        };
        assert_eq!(
            names("issue_comment"),
            [
                (
                    "cherrypicker".to_string(),
                    "http://cherrypicker".to_string()
                ),
                (
                    "everything".to_string(),
                    "http://127.0.0.1:9/hook".to_string()
                ),
            ]
        );
        assert_eq!(
            names("push"),
            [(
                "everything".to_string(),
                "http://127.0.0.1:9/hook".to_string()
            )]
        );
        assert!(targets(&c, "other", "widgets", "push").is_empty());
    }

    #[test]
    fn forwarded_headers_are_githubs_own_with_prows_user_agent() {
        let h = headers("issue_comment", "d-1", "sha256=ab");
        assert!(h.contains(&("X-Hub-Signature-256".into(), "sha256=ab".into())));
        assert!(h.contains(&("X-GitHub-Delivery".into(), "d-1".into())));
        assert!(h.contains(&("User-Agent".into(), "ProwHook".into())));
    }
}
