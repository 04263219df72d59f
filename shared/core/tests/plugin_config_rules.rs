//! One case per `check-config --plugin-config` rule for the plugins Skiff
//! models: a plugins.yaml and the exact diagnostics (file, line, column,
//! field path, message) `skiff check-config` prints for it, notes included
//! (they list what Skiff accepts and does not act on).

use skiff_core::config::{FileRole, SourceFile, load};

fn diagnostics(plugins: &str) -> Vec<String> {
    let loaded = load(&[SourceFile {
        path: "plugins.yaml".into(),
        text: plugins.into(),
        role: FileRole::PluginConfig,
    }]);
    loaded.diagnostics.iter().map(ToString::to_string).collect()
}

/// Asserts the plugins.yaml produces exactly these diagnostics.
macro_rules! rule {
    ($name:ident, $plugins:expr, [$($want:expr),* $(,)?]) => {
        #[test]
        fn $name() {
            let got = diagnostics($plugins);
            let want: Vec<&str> = vec![$($want),*];
            assert_eq!(got, want, "\n--- got:\n{}\n", got.join("\n"));
        }
    };
}

rule!(
    the_plugins_skiff_runs_with_their_sections_are_clean,
    "plugins:\n  acme: [trigger, lgtm, approve, hold, size, label]\nsize: {s: 10, m: 30, l: 100, xl: 500, xxl: 1000}\nlabel:\n  additional_labels: [api-review]\n",
    []
);

rule!(
    an_unknown_plugin_name_is_an_error_with_the_nearest_name,
    "plugins:\n  acme: [trigger, lgmt]\n",
    ["plugins.yaml:2:19: error: plugins.acme[1]: unknown plugin: lgmt — did you mean `lgtm`?"]
);

rule!(
    an_unknown_name_in_the_new_form_is_located_in_its_list,
    "plugins:\n  acme:\n    plugins: [hold, nosuchplugin]\n",
    ["plugins.yaml:3:21: error: plugins.acme[1]: unknown plugin: nosuchplugin"]
);

rule!(
    a_prow_plugin_skiff_does_not_run_is_a_warning_naming_what_skiff_runs,
    "plugins:\n  acme: [cat]\n",
    [
        "plugins.yaml:2:10: warning: plugins.acme[0]: Skiff does not run Prow's `cat` plugin: it is accepted and does nothing (Skiff runs trigger, lgtm, approve, hold, wip, label, assign, size, needs-rebase, lifecycle, help, blunderbuss, welcome, skip, override, verify-owners)"
    ]
);

rule!(
    a_bad_regex_is_an_error_at_its_field,
    "plugins:\n  acme: [blunderbuss]\nblunderbuss:\n  wait_for_status:\n    description: \"needs (lgtm\"\n",
    [
        "plugins.yaml:5:18: error: blunderbuss.wait_for_status.description: not a valid regular expression: regex parse error:\n    needs (lgtm\n          ^\nerror: unclosed group"
    ]
);

rule!(
    a_size_alone_fails_as_in_prow_because_left_out_sizes_count_as_zero,
    "plugins:\n  acme: [size]\nsize: {s: 20}\n",
    [
        "plugins.yaml:3:1: error: size: invalid size plugin configuration - one of the smaller sizes is bigger than a larger one (s 20, m 0, l 0, xl 0, xxl 0; a field left out counts as 0 here, as in Prow)"
    ]
);

rule!(
    sizes_must_grow_and_none_may_be_negative,
    "plugins:\n  acme: [size]\nsize: {s: -1, m: 30, l: 20, xl: 500, xxl: 1000}\n",
    [
        "plugins.yaml:3:1: error: size: invalid size plugin configuration - one of the smaller sizes is bigger than a larger one (s -1, m 30, l 20, xl 500, xxl 1000; a field left out counts as 0 here, as in Prow)",
        "plugins.yaml:3:11: error: size.s: -1 is negative: a size is a number of changed lines",
    ]
);

rule!(
    label_names_github_would_refuse_are_errors,
    "plugins:\n  acme: [label]\nlabel:\n  additional_labels:\n  - \"\"\n  - \" padded\"\n  - aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n  restricted_labels:\n    acme:\n    - label: \"\"\n      allowed_users: [bob]\n",
    [
        "plugins.yaml:5:5: error: label.additional_labels[0]: a label needs a name",
        "plugins.yaml:6:5: error: label.additional_labels[1]: label \" padded\" starts or ends with white space, which GitHub trims: commands would never match it",
        "plugins.yaml:7:5: error: label.additional_labels[2]: label \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" has 51 characters; GitHub refuses names longer than 50",
        "plugins.yaml:10:14: error: label.restricted_labels.acme[0].label: a label needs a name",
    ]
);

rule!(
    a_plugin_on_an_org_and_one_of_its_repos_is_an_error,
    "plugins:\n  acme: [hold]\n  acme/widgets: [hold]\n",
    [
        "plugins.yaml:3:3: error: plugins.acme/widgets: plugins [hold] are duplicated for widgets and acme: list them on one of the two"
    ]
);

rule!(
    a_section_skiff_does_not_act_on_is_listed,
    "plugins:\n  acme: [hold]\nslack:\n  mergewarnings: []\n",
    ["plugins.yaml:3:1: note: slack: a plugin section Skiff does not use; accepted and ignored"]
);
