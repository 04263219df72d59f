//! Cron specs, Go durations and JUnit files (a part of `fuzz.rs`).

use super::*;

// ---------------------------------------------------------------------------
// Cron, Go durations, JUnit

fn cron_field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        Just("?".to_string()),
        "[0-9]{1,3}",
        "[0-9]{1,2}-[0-9]{1,3}",
        "\\*/[0-9]{1,3}",
        "[0-9]{1,2}-[0-9]{1,2}/[0-9]{1,2}",
        "[0-9]{1,2}(,[0-9]{1,2}){1,3}",
        "(MON|TUE|SUN|JAN|DEC|mon|xyz)(-(FRI|SAT|NOV))?",
        "[-0-9*/,?A-Z]{0,6}",
    ]
}

fn cron_spec() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(cron_field(), 4..8).prop_map(|f| f.join(" ")),
        "@(yearly|annually|monthly|weekly|daily|midnight|hourly|every|reboot|x)( [0-9a-zµ.]{0,12})?",
        "\\PC{0,30}",
    ]
}

#[test]
fn cron_specs_parse_or_refuse_and_the_next_fire_never_panics() {
    let now: jiff::Timestamp = "2026-12-05T12:00:00Z".parse().expect("a time");
    let hour_later: jiff::Timestamp = "2026-12-05T13:00:00Z".parse().expect("a time");
    fuzz("cron", cases(CI_CASES * 4), cron_spec(), |spec| {
        match CronSchedule::parse(&spec) {
            Ok(schedule) => {
                if let Some(next) = schedule.next_after(now) {
                    prop_assert!(next > now, "{spec:?}: next {next} is not after {now}");
                }
                let fires = schedule.fires_between(now, hour_later);
                prop_assert!(
                    fires.iter().all(|t| *t > now && *t <= hour_later),
                    "{spec:?}: {fires:?}"
                );
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        Ok(())
    });
}

fn duration_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-+]?([0-9]{1,20}(\\.[0-9]{0,12})?(ns|us|µs|μs|ms|s|m|h)){1,4}",
        "[-+]?[0-9.]{0,25}[a-zµ]{0,3}",
        "\\PC{0,20}",
    ]
}

#[test]
fn go_durations_parse_or_refuse_and_print_back_to_themselves() {
    fuzz(
        "Go durations",
        cases(CI_CASES * 4),
        duration_text(),
        |text| {
            if let Ok(d) = GoDuration::parse(&text) {
                let printed = d.to_string();
                prop_assert_eq!(
                    GoDuration::parse(&printed),
                    Ok(d),
                    "{:?} parsed as {:?} printed as {:?}",
                    text,
                    d,
                    printed
                );
            }
            Ok(())
        },
    );
}

const JUNIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="pkg/a" tests="3" failures="1" time="1.5">
    <testcase classname="pkg/a" name="TestOne" time="0.5"/>
    <testcase classname="pkg/a" name="TestTwo" time="0.5">
      <failure message="boom" type="assert">expected 1, got 2 &amp; more</failure>
    </testcase>
    <testcase classname="pkg/a" name="TestThree" time="0.5"><skipped/></testcase>
    <testsuite name="nested"><testcase name="inner"><error>x</error></testcase></testsuite>
  </testsuite>
</testsuites>
"#;

#[test]
fn junit_files_mutated_or_random_are_read_as_far_as_they_go() {
    let bytes = JUNIT.as_bytes().to_vec();
    let mutated = (
        prop::collection::vec((0..bytes.len(), any::<u8>()), 0..6),
        0..=bytes.len(),
    )
        .prop_map(move |(flips, cut)| {
            let mut b = bytes.clone();
            for (i, v) in flips {
                b[i] = v;
            }
            b.truncate(cut);
            b
        });
    let strategy = prop_oneof![
        3 => mutated,
        1 => prop::collection::vec(any::<u8>(), 0..300),
        1 => "(<[a-z/!?]{0,10}( [a-z]{1,6}=\"[^\"]{0,6}\")*>|[^<]{0,8}){0,20}".prop_map(String::into_bytes),
    ];
    fuzz("JUnit", cases(CI_CASES * 2), strategy, |bytes| {
        let report = skiff_core::junit::parse(&bytes);
        let t = &report.totals;
        prop_assert_eq!(
            t.passed + t.failures + t.errors + t.skipped,
            report.cases.len()
        );
        prop_assert!(t.duration.is_finite(), "a duration of {}", t.duration);
        for c in &report.cases {
            prop_assert!(c.time.is_finite(), "{:?} took {}", c.name, c.time);
        }
        Ok(())
    });
}
