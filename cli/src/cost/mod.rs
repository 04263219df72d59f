//! `skiff cost`: what Skiff's control plane costs a month for a job volume,
//! offline (a price table in the source, no AWS account), next to an
//! always-on Prow on EKS, and how close the volume comes to GitHub's API
//! limit.

mod model;
mod prices;
mod svg;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use model::{Bill, Volume};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Jobs a day (presubmits, postsubmits and periodics).
    #[arg(long)]
    pub jobs_per_day: f64,
    /// Share of the jobs that are presubmits.
    #[arg(long, default_value_t = 0.8)]
    pub presubmit_share: f64,
    /// Jobs one pull request event (or push) starts.
    #[arg(long, default_value_t = 3.0)]
    pub jobs_per_pr: f64,
    /// Log and artifacts kept per job, KB.
    #[arg(long, default_value_t = 100.0)]
    pub log_kb: f64,
    /// AWS region whose prices to use.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Also draw cost against jobs/day (10 to 1,000,000, log scale) for
    /// Skiff and Prow as an SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Print the model as JSON (bills, calls per job) instead of tables.
    #[arg(long)]
    pub json: bool,
}

fn check(args: &Args) -> Result<Volume, String> {
    let finite = |name: &str, v: f64, min: f64| {
        if v.is_finite() && v >= min {
            Ok(v)
        } else {
            Err(format!("--{name} must be a number ≥ {min}, got {v}"))
        }
    };
    let share = finite("presubmit-share", args.presubmit_share, 0.0)?;
    if share > 1.0 {
        return Err(format!(
            "--presubmit-share must be between 0 and 1, got {share}"
        ));
    }
    Ok(Volume {
        jobs_per_day: finite("jobs-per-day", args.jobs_per_day, 0.0)?,
        presubmit_share: share,
        jobs_per_pr: finite("jobs-per-pr", args.jobs_per_pr, 1.0)?,
        log_kb: finite("log-kb", args.log_kb, 0.0)?,
    })
}

pub fn run(args: &Args) -> ExitCode {
    let (v, p) = match check(args).and_then(|v| Ok((v, prices::of(&args.region)?))) {
        Ok(vp) => vp,
        Err(e) => {
            eprintln!("skiff cost: {e}");
            return ExitCode::from(2);
        }
    };
    let skiff = model::skiff(&v, p);
    let idle = model::skiff(
        &Volume {
            jobs_per_day: 0.0,
            ..v.clone()
        },
        p,
    );
    let prow = model::prow(&v, p);
    if let Some(path) = &args.svg {
        let chart = svg::chart(&v, p);
        if let Err(e) = std::fs::write(path, chart) {
            eprintln!("skiff cost: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let out = if args.json {
        json(&v, p, &skiff, &idle, &prow)
    } else {
        text(&v, p, &skiff, &idle, &prow)
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    ExitCode::SUCCESS
}

fn json(v: &Volume, p: &prices::Prices, skiff: &Bill, idle: &Bill, prow: &Bill) -> String {
    let calls = |t: &[(&str, u32)]| {
        t.iter()
            .map(|(k, n)| ((*k).to_string(), serde_json::Value::from(*n)))
            .collect::<serde_json::Map<_, _>>()
    };
    let doc = serde_json::json!({
        "region": p.region,
        "prices_as_of": prices::AS_OF,
        "jobs_per_day": v.jobs_per_day,
        "skiff": skiff,
        "skiff_idle": idle,
        "prow": prow,
        "measured_jobs": model::MEASURED_JOBS,
        "calls_per_measured_event": calls(model::CALLS_PER_MEASURED_EVENT),
        "calls_per_delivery": calls(model::CALLS_PER_DELIVERY),
        "calls_per_idle_sync": calls(model::CALLS_PER_IDLE_SYNC),
        "calls_per_idle_tick": calls(model::CALLS_PER_IDLE_TICK),
        "github_calls_per_hour": model::github_per_hour(v, &model::GITHUB_PROW_COMMENT),
    });
    format!("{doc:#}\n")
}

fn money(usd: f64) -> String {
    let usd = usd + 0.0;
    if usd < 10.0 {
        format!("${usd:.2}")
    } else {
        format!("${usd:.0}")
    }
}

/// A quantity as a bill shows it: whole units, decimals below 10.
fn quantity(q: f64) -> String {
    // `+ 0.0` turns a -0 into 0.
    let q = q + 0.0;
    if q.abs() < 10.0 {
        format!("{q:.2}")
    } else {
        format!("{q:.0}")
    }
}

fn bill_table(out: &mut String, title: &str, bill: &Bill) {
    out.push_str(&format!("{title}\n"));
    for l in &bill.lines {
        out.push_str(&format!(
            "  {:<16} {:<44} {:>14} {:<15} {:>9}\n",
            l.service,
            l.item,
            quantity(l.quantity),
            l.unit,
            money(l.usd)
        ));
    }
    out.push_str(&format!(
        "  {:<16} {:<44} {:>40}\n",
        "total",
        "",
        money(bill.total)
    ));
}

fn text(v: &Volume, p: &prices::Prices, skiff: &Bill, idle: &Bill, prow: &Bill) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Skiff control plane, {} jobs/day ({:.0}% presubmits, {} jobs per PR, {} KB of logs per job), {}, 30-day month\nprices: {}\n\n",
        v.jobs_per_day,
        v.presubmit_share * 100.0,
        v.jobs_per_pr,
        v.log_kb,
        p.region,
        prices::AS_OF
    ));
    bill_table(&mut out, "Skiff", skiff);
    out.push_str(&format!(
        "\nIdle (no jobs at all): {} a month (schedules, Lambda's SQS polls, the syncer's empty passes, the scheduler's health tick)\n\n",
        money(idle.total)
    ));
    bill_table(&mut out, "Always-on Prow on EKS, same month", prow);
    out.push_str("  assumptions:\n");
    for a in model::PROW_ASSUMPTIONS {
        out.push_str(&format!("  - {a}\n"));
    }
    out.push_str(&format!(
        "\nSkiff {} vs Prow {} a month.\n\n",
        money(skiff.total),
        money(prow.total)
    ));
    out.push_str("AWS calls per job (measured on moto by cli/tests/cost_calls.rs):\n");
    for (op, n) in model::per_job_calls() {
        if n > 0.0 {
            out.push_str(&format!("  {op:<24} {n:.1}\n"));
        }
    }
    out.push_str(&format!(
        "\nGitHub API, App installation limit {:.0}/hour:\n",
        model::GITHUB_LIMIT_PER_HOUR
    ));
    for (mode, g) in [
        ("Prow's failure comment", &model::GITHUB_PROW_COMMENT),
        ("summary_comment_repos", &model::GITHUB_SUMMARY_COMMENT),
    ] {
        out.push_str(&format!(
            "  {mode:<24} {:>8.0} calls/hour here; the limit is reached at {:>9.0} jobs/day\n",
            model::github_per_hour(v, g),
            model::github_limit_jobs_per_day(v, g)
        ));
    }
    out.push_str(
        "  check runs instead of statuses: the same count (a run is created, then updated)\n",
    );
    out
}
