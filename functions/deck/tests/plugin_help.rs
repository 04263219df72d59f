//! The deck's help pages (`/plugins`, `/command-help`) and Prow's help JSON
//! (`/plugin-help`, `/plugin-help.js`), from one plugins.yaml: what each
//! repo enables, its setup, its commands, and that the pages and the JSON
//! say the same. The browser test (cli/tests/deck_browser.rs) loads the
//! pages in Chromium.

use skiff_core::config::{Config, FileRole, SourceFile};
use skiff_deck::{DeckOptions, DeckRequest, DeckResponse, Deps};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::memory::{ManualClock, MemoryStore};

const CONFIG: &str = r#"
in_repo_config:
  enabled:
    acme/gadgets: true
"#;

const PLUGINS: &str = r#"
plugins:
  acme:
    plugins: [trigger, lgtm, approve, hold, label, cat]
    excluded_repos: [private]
  acme/widgets:
    plugins: [size]
lgtm:
- repos: [acme/widgets]
  review_acts_as_lgtm: true
label:
  additional_labels: [api-review]
external_plugins:
  acme/widgets:
  - name: cherrypicker
    events: [issue_comment]
"#;

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: pull-widgets-unit
    always_run: true
    spec: {containers: [{image: golang, command: [make, unit]}]}
  acme/gadgets:
  - name: pull-gadgets-unit
    always_run: true
    spec: {containers: [{image: golang, command: [make, unit]}]}
"#;

fn config() -> Config {
    let file = |path: &str, text: &str, role| SourceFile {
        path: path.into(),
        text: text.into(),
        role,
    };
    let loaded = skiff_core::config::load(&[
        file("config.yaml", CONFIG, FileRole::ProwConfig),
        file("plugins.yaml", PLUGINS, FileRole::PluginConfig),
        file("jobs.yaml", JOBS, FileRole::JobConfig),
    ]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

async fn send(req: DeckRequest) -> DeckResponse {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = std::sync::Arc::new(ManualClock::new(
        "2026-12-04T12:00:00Z".parse().expect("a time"),
    ));
    let store = MemoryStore::new(clock.clone());
    let logs = FsLogStore::new(dir.path().join("logs"));
    let config = config();
    let options = DeckOptions::default();
    let deps = Deps {
        store: &store,
        logs: &logs,
        config: Some(&config),
        clock: clock.as_ref(),
        clusters: None,
        options: &options,
        operator: None,
        viewer: None,
    };
    skiff_deck::handle(&req, &deps).await
}

async fn page(target: &str) -> String {
    let r = send(DeckRequest::get(target)).await;
    assert_eq!(r.status, 200, "{target}: {}", r.text());
    r.text()
}

/// The part of a page from the section of plugin `name` to the next one.
fn section<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"plugin-{name}\""))
        .unwrap_or_else(|| panic!("no section for {name}"));
    let end = html[start..]
        .find("</section>")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}

fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[tokio::test]
async fn plugins_lists_each_repos_enabled_plugins_with_their_setup_and_commands() {
    let html = page("/plugins?repo=acme/widgets").await;
    for name in ["trigger", "lgtm", "approve", "hold", "label", "size"] {
        section(&html, name);
    }
    let lgtm = section(&html, "lgtm");
    assert!(
        lgtm.contains("Reviews that approve or request changes act as adding or removing lgtm."),
        "the repo's own setup: {lgtm}"
    );
    assert!(lgtm.contains("<code>/lgtm cancel</code>"), "{lgtm}");
    assert!(
        section(&html, "label").contains("api-review"),
        "additional_labels are listed"
    );
    assert!(html.contains("<td>cherrypicker</td>"), "external plugins");
    assert!(
        html.contains("<code>http://cherrypicker</code>"),
        "Prow's default endpoint"
    );
    assert!(
        html.contains("Skiff accepts them and they do nothing: cat."),
        "plugins Skiff does not run are named: {html}"
    );

    // Another repo of the org: the org's plugins, not widgets' own.
    let gadgets = page("/plugins?repo=acme/gadgets").await;
    assert!(!gadgets.contains("id=\"plugin-size\""));
    assert!(!section(&gadgets, "lgtm").contains("Reviews that approve"));
    // An excluded repo gets none of the org's.
    let private = page("/plugins?repo=acme/private").await;
    assert!(!private.contains("id=\"plugin-lgtm\""), "{private}");
    assert!(private.contains("No plugin Skiff runs is enabled here."));
}

#[tokio::test]
async fn plugins_for_every_repo_says_where_each_is_enabled() {
    let html = page("/plugins").await;
    assert!(
        section(&html, "size").contains("Enabled for: acme/widgets</p>"),
        "{}",
        section(&html, "size")
    );
    assert!(section(&html, "lgtm").contains("acme/gadgets, acme/widgets, acme"));
    // The repo picker offers every known repo and the org.
    for option in [
        "<option value=\"acme/gadgets\">",
        "<option value=\"acme/widgets\">",
        "<option value=\"acme\">",
    ] {
        assert!(html.contains(option), "{option}");
    }
}

#[tokio::test]
async fn command_help_lists_each_command_with_who_and_examples_and_the_repos_jobs() {
    let html = page("/command-help?repo=acme/widgets").await;
    let table = html
        .split("<table id=\"commands\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the commands table");
    assert!(table.contains("<code>/hold</code>"), "hold's example");
    assert!(
        table.contains("Collaborators on the repository, not the PR"),
        "who may use /lgtm"
    );
    assert!(table.contains("<a href=\"/plugins#plugin-hold\">hold</a>"));
    assert!(
        html.contains("<code>/test pull-widgets-unit</code>"),
        "the trigger's job commands"
    );
    assert!(
        !html.contains("pull-gadgets-unit"),
        "only the chosen repo's jobs"
    );
    assert!(
        !html.contains("id=\"in-repo\""),
        "widgets has no in-repo config"
    );

    let gadgets = page("/command-help?repo=acme/gadgets").await;
    let note = gadgets
        .split("<p id=\"in-repo\">")
        .nth(1)
        .expect("the in-repo note");
    assert!(
        note.contains("cannot be listed without a pull request"),
        "{note}"
    );

    // Every repo: every command of every plugin enabled anywhere.
    let all = page("/command-help").await;
    assert!(all.contains("<code>/lgtm cancel</code>"));
    assert!(all.contains("pull-gadgets-unit") && all.contains("pull-widgets-unit"));
}

#[tokio::test]
async fn a_repo_that_cannot_be_one_is_a_400_naming_it() {
    for target in ["/command-help?repo=a/b/c", "/plugins?repo=%3Cx%3E"] {
        let r = send(DeckRequest::get(target)).await;
        assert_eq!(r.status, 400, "{target}");
        assert!(r.text().contains("repo=&quot;"), "{}", r.text());
    }
}

#[tokio::test]
async fn plugin_help_is_prows_json_and_says_what_the_pages_say() {
    let r = send(DeckRequest::get("/plugin-help")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(
        v["AllRepos"],
        serde_json::json!(["acme/gadgets", "acme/widgets"])
    );
    assert_eq!(
        v["RepoPlugins"]["acme"],
        serde_json::json!(["trigger", "lgtm", "approve", "hold", "label", "cat"])
    );
    assert_eq!(
        v["RepoPlugins"]["acme/widgets"],
        serde_json::json!(["size"])
    );
    assert_eq!(
        v["RepoExternalPlugins"]["acme/widgets"],
        serde_json::json!(["cherrypicker"])
    );
    let lgtm = &v["PluginHelp"]["lgtm"];
    assert!(
        lgtm["Config"]["acme/widgets"]
            .as_str()
            .is_some_and(|c| c.contains("Reviews that approve")),
        "{lgtm}"
    );
    assert!(lgtm["Config"].get("acme/gadgets").is_none(), "{lgtm}");
    assert!(
        lgtm["Events"]
            .as_array()
            .is_some_and(|e| e.contains(&serde_json::json!("issue_comment")))
    );
    let command = &lgtm["Commands"][0];
    for field in ["Usage", "Featured", "Description", "Examples", "WhoCanUse"] {
        assert!(command.get(field).is_some(), "{field}: {command}");
    }

    // The page shows every command the JSON has, for every plugin enabled.
    let html = page("/command-help").await;
    let enabled = ["trigger", "lgtm", "approve", "hold", "label", "size"];
    for name in enabled {
        for c in v["PluginHelp"][name]["Commands"]
            .as_array()
            .expect("commands")
        {
            let usage = c["Usage"].as_str().expect("a usage");
            assert!(
                html.contains(&format!("<code>{}</code>", escaped(usage))),
                "{name}: {usage}"
            );
        }
    }

    // Prow's deck: /plugin-help.js (?var= makes it a script), and a
    // browser asking /plugin-help for a page goes to /command-help.
    let js = send(DeckRequest::get("/plugin-help.js?var=allHelp")).await;
    assert_eq!(js.status, 200);
    assert!(js.text().starts_with("var allHelp = {\"AllRepos\""));
    assert_eq!(
        send(DeckRequest::get("/plugin-help.js?var=1x"))
            .await
            .status,
        400
    );
    let browser = send(DeckRequest {
        headers: vec![("Accept".into(), "text/html,application/xhtml+xml".into())],
        ..DeckRequest::get("/plugin-help")
    })
    .await;
    assert_eq!(
        (browser.status, browser.header("location")),
        (301, Some("/command-help"))
    );
}
