use super::*;

/// go-junit-report v2 over `go test -v`: one suite per package, messages in
/// CDATA, a `<properties>` block.
const GO_JUNIT_REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="4" failures="1">
	<testsuite name="github.com/acme/widgets" tests="3" failures="1" errors="0" id="0" hostname="ci" time="0.130" timestamp="2026-12-04T12:00:00Z">
		<properties>
			<property name="go.version" value="go1.25.0 linux/amd64"></property>
		</properties>
		<testcase name="TestAdd" classname="github.com/acme/widgets" time="0.000"></testcase>
		<testcase name="TestWidgets" classname="github.com/acme/widgets" time="0.120">
			<failure message="Failed"><![CDATA[    widgets_test.go:42: want 3 widgets, got 2]]></failure>
		</testcase>
		<testcase name="TestGPU" classname="github.com/acme/widgets" time="0.000">
			<skipped message="Skipped"><![CDATA[    widgets_test.go:50: needs a GPU]]></skipped>
		</testcase>
	</testsuite>
	<testsuite name="github.com/acme/widgets/store" tests="1" failures="0" errors="0" id="1" hostname="ci" time="0.010" timestamp="2026-12-04T12:00:00Z">
		<testcase name="TestStore" classname="github.com/acme/widgets/store" time="0.010"></testcase>
	</testsuite>
</testsuites>
"#;

/// pytest's `--junitxml` (xunit2), on one line as pytest writes it: a
/// failure, a setup error, a skip and captured output.
const PYTEST: &str = r#"<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4" time="0.051" timestamp="2026-12-04T12:00:00.000000+00:00" hostname="ci"><testcase classname="tests.test_api" name="test_ok" time="0.001" /><testcase classname="tests.test_api" name="test_fails" time="0.002"><failure message="assert 1 == 2">def test_fails():
&gt;       assert 1 == 2
E       assert 1 == 2

tests/test_api.py:5: AssertionError</failure><system-out>--- Captured stdout call ---
talking to the API</system-out></testcase><testcase classname="tests.test_api" name="test_skipped" time="0.000"><skipped type="pytest.skip" message="not on linux">tests/test_api.py:8: not on linux</skipped></testcase><testcase classname="tests.test_api" name="test_db" time="0.000"><error message="failed on setup with &quot;RuntimeError: no db&quot;">@pytest.fixture
E       RuntimeError: no db</error></testcase></testsuite></testsuites>"#;

/// jest-junit: the title path as classname, the failure's text but no
/// message, an empty `<skipped/>`.
const JEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="3" failures="1" errors="0" time="1.234">
  <testsuite name="widgets" errors="0" failures="1" skipped="1" timestamp="2026-12-04T12:00:00" time="1.1" tests="3">
    <testcase classname="widgets renders a widget" name="widgets renders a widget" time="0.05">
    </testcase>
    <testcase classname="widgets counts widgets" name="widgets counts widgets" time="0.01">
      <failure>Error: expect(received).toBe(expected) // Object.is equality

Expected: 3
Received: 2
    at Object.&lt;anonymous&gt; (/src/widgets.test.js:10:20)</failure>
    </testcase>
    <testcase classname="widgets todo" name="widgets todo" time="0">
      <skipped/>
    </testcase>
  </testsuite>
</testsuites>
"#;

fn failed(r: &Report) -> Vec<(&str, &str)> {
    r.cases
        .iter()
        .filter(|c| c.status() == Status::Failed)
        .map(|c| (c.name.as_str(), c.message()))
        .collect()
}

#[test]
fn real_reports_give_their_totals_failed_cases_and_messages() {
    struct Case {
        what: &'static str,
        xml: &'static str,
        tests: usize,
        failures: usize,
        errors: usize,
        skipped: usize,
        duration: f64,
        failed: Vec<(&'static str, &'static str)>,
    }
    let cases = [
        Case {
            what: "go-junit-report",
            xml: GO_JUNIT_REPORT,
            tests: 4,
            failures: 1,
            errors: 0,
            skipped: 1,
            duration: 0.140,
            // go-junit-report's message only says "Failed": the text says how.
            failed: vec![(
                "TestWidgets",
                "    widgets_test.go:42: want 3 widgets, got 2",
            )],
        },
        Case {
            what: "pytest",
            xml: PYTEST,
            tests: 4,
            failures: 1,
            errors: 1,
            skipped: 1,
            duration: 0.051,
            failed: vec![
                ("test_fails", "assert 1 == 2"),
                ("test_db", "failed on setup with \"RuntimeError: no db\""),
            ],
        },
        Case {
            what: "jest-junit",
            xml: JEST,
            tests: 3,
            failures: 1,
            errors: 0,
            skipped: 1,
            duration: 1.234,
            failed: vec![(
                "widgets counts widgets",
                "Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 3\nReceived: 2\n    at Object.<anonymous> (/src/widgets.test.js:10:20)",
            )],
        },
    ];
    for c in cases {
        let r = parse(c.xml.as_bytes());
        assert_eq!(r.incomplete, None, "{}", c.what);
        let t = &r.totals;
        assert_eq!(
            (t.tests, t.failures, t.errors, t.skipped),
            (c.tests, c.failures, c.errors, c.skipped),
            "{}",
            c.what
        );
        assert_eq!(
            t.passed,
            c.tests - c.failures - c.errors - c.skipped,
            "{}",
            c.what
        );
        assert!(
            (t.duration - c.duration).abs() < 1e-9,
            "{}: {}",
            c.what,
            t.duration
        );
        assert_eq!(failed(&r), c.failed, "{}", c.what);
    }
}

#[test]
fn a_failure_keeps_its_text_type_and_the_cases_output() {
    let r = parse(PYTEST.as_bytes());
    let fails = &r.cases[1];
    assert_eq!(fails.classname, "tests.test_api");
    assert_eq!(fails.suite, "pytest");
    let f = fails.failure.as_ref().unwrap();
    assert!(!f.error);
    assert!(
        f.text
            .starts_with("def test_fails():\n>       assert 1 == 2\n"),
        "{}",
        f.text
    );
    assert_eq!(
        fails.system_out,
        "--- Captured stdout call ---\ntalking to the API"
    );
    let db = &r.cases[3];
    assert!(db.failure.as_ref().unwrap().error, "<error> is an error");
    assert_eq!(
        r.cases[2].skipped.as_deref(),
        Some("not on linux"),
        "the message attribute"
    );
    // jest's empty <skipped/> is still a skip.
    let jest = parse(JEST.as_bytes());
    assert_eq!(jest.cases[2].skipped.as_deref(), Some(""));
    assert_eq!(jest.cases[2].status(), Status::Skipped);
    // go-junit-report: text in CDATA, the message attribute first.
    let go = parse(GO_JUNIT_REPORT.as_bytes());
    assert_eq!(
        go.cases[1].failure.as_ref().unwrap().text,
        "    widgets_test.go:42: want 3 widgets, got 2"
    );
    assert_eq!(go.cases[2].skipped.as_deref(), Some("Skipped"));
    assert_eq!(go.cases[3].suite, "github.com/acme/widgets/store");
}

#[test]
fn status_is_skipped_then_failed_then_passed_like_the_lens() {
    let xml = r#"<testsuite name="s">
        <testcase name="both"><failure message="f"/><skipped/></testcase>
        <testcase name="err"><error/></testcase>
        <testcase name="fail"><failure/></testcase>
        <testcase name="out"><system-out>hi</system-out><system-err>oops</system-err></testcase>
        <testcase name="ok"/>
    </testsuite>"#;
    let r = parse(xml.as_bytes());
    let got: Vec<(&str, Status)> = r
        .cases
        .iter()
        .map(|c| (c.name.as_str(), c.status()))
        .collect();
    assert_eq!(
        got,
        [
            ("both", Status::Skipped),
            ("err", Status::Failed),
            ("fail", Status::Failed),
            ("out", Status::Passed),
            ("ok", Status::Passed),
        ]
    );
    assert_eq!(
        (
            r.totals.skipped,
            r.totals.errors,
            r.totals.failures,
            r.totals.passed
        ),
        (1, 1, 1, 2)
    );
    // The message falls back from failure to stderr to stdout.
    assert_eq!(r.cases[3].message(), "oops");
    assert_eq!(r.cases[4].message(), "");
}

#[test]
fn nested_suites_name_the_innermost_and_sum_their_times() {
    let xml = r#"<testsuites>
      <testsuite name="outer">
        <testcase name="a" time="1.5"/>
        <testsuite name="inner" time="10">
          <testcase name="b" time="2"/>
        </testsuite>
        <testsuite name="untimed">
          <testcase name="c" time="1,000.25"/>
          <testcase name="d" time="-3"/>
          <testcase name="e" time="NaN"/>
        </testsuite>
      </testsuite>
      <testsuite name="bare"><testcase name="f" time="0.25"/></testsuite>
    </testsuites>"#;
    let r = parse(xml.as_bytes());
    assert_eq!(r.incomplete, None);
    let suites: Vec<(&str, &str, f64)> = r
        .cases
        .iter()
        .map(|c| (c.name.as_str(), c.suite.as_str(), c.time))
        .collect();
    assert_eq!(
        suites,
        [
            ("a", "outer", 1.5),
            ("b", "inner", 2.0),
            ("c", "untimed", 1000.25),
            ("d", "untimed", 0.0),
            ("e", "untimed", 0.0),
            ("f", "bare", 0.25),
        ]
    );
    // outer = 1.5 + inner's own 10 + untimed's 1000.25; then bare.
    assert!(
        (r.totals.duration - 1012.0).abs() < 1e-9,
        "{}",
        r.totals.duration
    );
}

#[test]
fn ten_thousand_levels_of_nesting_stop_at_the_cap_with_what_was_read() {
    let mut xml = String::from(r#"<testsuites><testsuite name="top"><testcase name="kept"/>"#);
    for _ in 0..10_000 {
        xml.push_str(r#"<testsuite name="deep">"#);
    }
    xml.push_str(r#"<testcase name="lost"/>"#);
    for _ in 0..10_000 {
        xml.push_str("</testsuite>");
    }
    xml.push_str("</testsuite></testsuites>");
    let r = parse(xml.as_bytes());
    let names: Vec<&str> = r.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["kept"]);
    match &r.incomplete {
        Some(Incomplete::TooDeep { max, at }) => {
            assert_eq!(*max, MAX_DEPTH);
            assert_eq!(at.line, 1);
        }
        other => panic!("{other:?}"),
    }
    let why = r.incomplete.unwrap().to_string();
    assert!(why.contains("deeper than 100 levels"), "{why}");
}

#[test]
fn a_file_over_the_cap_is_refused_unread() {
    // 100 MB of valid JUnit, made here rather than committed.
    let case = r#"<testcase name="t" classname="c" time="0.001"/>"#;
    let mut xml = String::with_capacity(100 * 1024 * 1024 + 64);
    xml.push_str("<testsuite name=\"big\">");
    while xml.len() < 100 * 1024 * 1024 {
        xml.push_str(case);
    }
    xml.push_str("</testsuite>");
    let started = std::time::Instant::now();
    let r = parse(xml.as_bytes());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "refused without reading"
    );
    assert!(r.cases.is_empty());
    assert_eq!(
        r.incomplete,
        Some(Incomplete::TooLarge {
            size: xml.len() as u64,
            max: MAX_BYTES
        })
    );
    assert!(r.incomplete.unwrap().to_string().contains("was not read"));
}

#[test]
fn more_cases_than_the_cap_keep_the_first_ones() {
    let mut xml = String::from("<testsuite name=\"many\">");
    for i in 0..=MAX_CASES {
        xml.push_str(&format!("<testcase name=\"t{i}\"/>"));
    }
    xml.push_str("</testsuite>");
    let r = parse(xml.as_bytes());
    assert_eq!(r.cases.len(), MAX_CASES);
    assert_eq!(r.totals.tests, MAX_CASES);
    assert!(matches!(
        r.incomplete,
        Some(Incomplete::TooManyCases { max: MAX_CASES, .. })
    ));
}

#[test]
fn what_is_not_junit_says_what_it_is_and_never_panics() {
    let cases: [(&str, &[u8], &str); 7] = [
        (
            "plain text",
            b"hello, world\n",
            "not a JUnit file: text outside any element at line 1",
        ),
        (
            "JSON",
            br#"{"tests": 3}"#,
            "not a JUnit file: text outside any element",
        ),
        (
            "HTML",
            b"<!DOCTYPE html><html><body>hi</body></html>",
            "not a JUnit file: the root element is <html> at line 1",
        ),
        (
            "another XML",
            b"<?xml version=\"1.0\"?>\n<project><name>x</name></project>",
            "the root element is <project> at line 2",
        ),
        (
            "a stray end tag",
            b"</testsuite>",
            "malformed XML at line 1, column 1",
        ),
        (
            "binary",
            &[0x00, 0xff, 0xfe, b'<', 0x01, b'>', 0x80],
            "not a JUnit file",
        ),
        ("a lone <", b"<", "malformed XML at line 1, column 1"),
    ];
    for (what, bytes, want) in cases {
        let r = parse(bytes);
        assert!(r.cases.is_empty(), "{what}");
        let why = r
            .incomplete
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| panic!("{what}: read as JUnit"));
        assert!(why.contains(want), "{what}: {why}");
    }
    // Nothing at all, or only whitespace, is an empty report (testgrid's).
    for empty in ["", "  \n", "<?xml version=\"1.0\"?>\n"] {
        assert_eq!(parse(empty.as_bytes()), Report::default(), "{empty:?}");
    }
}

#[test]
fn malformed_xml_keeps_what_came_before_the_error_and_says_where() {
    let xml = "<testsuite name=\"s\">\n  <testcase name=\"ok\"/>\n  <testcase name=\"bad\"><failure>x</fail></testcase>\n</testsuite>\n";
    let r = parse(xml.as_bytes());
    let names: Vec<&str> = r.cases.iter().map(|c| c.name.as_str()).collect();
    // The case open at the error is kept with what it had.
    assert_eq!(names, ["ok", "bad"]);
    match &r.incomplete {
        Some(Incomplete::Malformed { error, at }) => {
            // The `<` of `</fail>`.
            assert_eq!((at.line, at.column), (3, 34), "{error}");
            assert!(error.contains("fail"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // A file cut off mid-way (a job killed while writing it).
    let cut = &GO_JUNIT_REPORT[..GO_JUNIT_REPORT.find("<testcase name=\"TestGPU\"").unwrap()];
    let r = parse(cut.as_bytes());
    assert_eq!(r.cases.len(), 2);
    let why = r.incomplete.unwrap().to_string();
    assert!(
        why.contains("the file ends before <testsuite> is closed"),
        "{why}"
    );
}

#[test]
fn every_prefix_of_a_real_report_parses_without_panicking() {
    for end in 0..=PYTEST.len() {
        if PYTEST.is_char_boundary(end) {
            let r = parse(&PYTEST.as_bytes()[..end]);
            assert!(r.cases.len() <= 4);
        }
    }
}

#[test]
fn entities_resolve_xmls_own_and_never_a_dtds() {
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<testsuite name="s"><testcase name="a &lt;b&gt; &#x41;&#66;"><failure message="&quot;q&quot; &amp; &apos;">&lol2; &lt;x&gt;</failure></testcase></testsuite>"#;
    let r = parse(xml.as_bytes());
    assert_eq!(r.incomplete, None);
    let c = &r.cases[0];
    assert_eq!(c.name, "a <b> AB");
    let f = c.failure.as_ref().unwrap();
    assert_eq!(f.message, "\"q\" & '");
    assert_eq!(f.text, "&lol2; <x>", "a DTD's entity is shown as written");
}

#[test]
fn long_texts_keep_their_head_and_tail() {
    let long = format!("HEAD{}TAIL", "é".repeat(MAX_TEXT));
    let xml = format!(
        "<testsuite><testcase name=\"t\"><failure message=\"{long}\">{long}</failure><system-out>{long}</system-out></testcase></testsuite>"
    );
    let r = parse(xml.as_bytes());
    let c = &r.cases[0];
    let f = c.failure.as_ref().unwrap();
    for text in [&f.message, &f.text, &c.system_out] {
        assert!(text.len() < MAX_TEXT + 64, "{}", text.len());
        assert!(text.starts_with("HEAD") && text.ends_with("TAIL"));
        assert!(text.contains(" bytes left out "));
    }
}

#[test]
fn repeated_runs_of_a_test_group_into_one_result() {
    let xml = r#"<testsuite name="s">
        <testcase classname="p" name="TestFlaky"><failure/></testcase>
        <testcase classname="p" name="TestFlaky"/>
        <testcase classname="p" name="TestBroken"><failure/></testcase>
        <testcase classname="p" name="TestBroken"><failure/></testcase>
        <testcase classname="q" name="TestFlaky"/>
        <testcase classname="p" name="TestSkip"><skipped/></testcase>
    </testsuite>"#;
    let r = parse(xml.as_bytes());
    let got: Vec<(&str, &str, usize, Outcome)> = r
        .results()
        .iter()
        .map(|t| {
            (
                t.runs[0].classname.as_str(),
                t.runs[0].name.as_str(),
                t.runs.len(),
                t.outcome,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("p", "TestFlaky", 2, Outcome::Flaky),
            ("p", "TestBroken", 2, Outcome::Failed),
            ("q", "TestFlaky", 1, Outcome::Passed),
            ("p", "TestSkip", 1, Outcome::Skipped),
        ]
    );
}

#[test]
fn the_lens_reads_junit_files_under_artifacts_only() {
    for (name, want) in [
        ("artifacts/junit.xml", true),
        ("artifacts/junit_01.xml", true),
        ("artifacts/e2e/junit_runner.xml", true),
        ("artifacts/a/b/junit-report.xml", true),
        // Prow's `junit.*` may cross a directory.
        ("artifacts/junit/results.xml", true),
        ("junit.xml", false),
        ("artifacts/report.xml", false),
        ("artifacts/junit.xml.gz", false),
        ("artifacts/JUNIT.xml", false),
        ("logs/artifacts/junit.xml", false),
        ("artifacts/junit\n.xml", false),
    ] {
        assert_eq!(is_junit_artifact(name), want, "{name:?}");
    }
}
