//! Bad input gets diagnostics, never a panic: every prefix of every realistic
//! fixture file (cut mid-token, mid-mapping, mid-anchor) loads without panicking,
//! and a cut file yields either a valid partial config or located errors.

use std::path::Path;

use skiff_core::config::{FileRole, SourceFile, load};
use skiff_core::diagnostics::Severity;

fn fixture_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cli/tests/fixtures/realistic");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push((
                    path.display().to_string(),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
        }
    }
    out.sort();
    assert!(out.len() > 20, "fixtures found: {}", out.len());
    out
}

#[test]
fn every_prefix_of_every_fixture_loads_without_panicking() {
    for (path, text) in fixture_files() {
        let cuts: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .filter(|i| i % 7 == 0)
            .chain([text.len()])
            .collect();
        for cut in cuts {
            let role = if path.ends_with("config.yaml") {
                FileRole::ProwConfig
            } else if path.ends_with("plugins.yaml") {
                FileRole::PluginConfig
            } else {
                FileRole::JobConfig
            };
            let loaded = load(&[SourceFile {
                path: path.clone(),
                text: text[..cut].to_string(),
                role,
            }]);
            for d in &loaded.diagnostics {
                assert!(d.mark.line >= 1 && d.mark.col >= 1, "{path}@{cut}: {d}");
                if d.severity == Severity::Error {
                    assert!(!d.message.is_empty());
                }
            }
        }
    }
}
