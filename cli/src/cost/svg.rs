//! `skiff cost --svg`: cost a month against jobs a day, 10 to 1,000,000 on a
//! log scale (both axes), Skiff and an always-on Prow.

use super::model::{self, Volume};
use super::prices::Prices;

const W: f64 = 720.0;
const H: f64 = 420.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 50.0;

/// The chart for `v`'s mix and `p`'s prices.
pub fn chart(v: &Volume, p: &Prices) -> String {
    let points: Vec<(f64, f64, f64)> = (0..=50)
        .map(|i| {
            let jobs = 10f64.powf(1.0 + 5.0 * f64::from(i) / 50.0);
            let at = Volume {
                jobs_per_day: jobs,
                ..v.clone()
            };
            (jobs, model::skiff(&at, p).total, model::prow(&at, p).total)
        })
        .collect();
    let max = points.iter().map(|(_, s, p)| s.max(*p)).fold(1.0, f64::max);
    let (lo, hi) = (0.0, max.log10().ceil());
    let x = |jobs: f64| LEFT + (jobs.log10() - 1.0) / 5.0 * (W - LEFT - RIGHT);
    let y = |usd: f64| {
        let l = usd.max(1.0).log10();
        H - BOTTOM - (l - lo) / (hi - lo).max(1.0) * (H - TOP - BOTTOM)
    };
    let path = |pick: fn(&(f64, f64, f64)) -> f64| {
        points
            .iter()
            .enumerate()
            .map(|(i, pt)| {
                format!(
                    "{}{:.1},{:.1}",
                    if i == 0 { "M" } else { "L" },
                    x(pt.0),
                    y(pick(pt))
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>Control plane cost a month against jobs a day ({})</title>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        p.region
    );
    for e in 1..=6 {
        let jobs = 10f64.powi(e);
        let xe = x(jobs);
        s.push_str(&format!(
            "<line x1=\"{xe:.1}\" y1=\"{TOP}\" x2=\"{xe:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n<text x=\"{xe:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            H - BOTTOM,
            H - BOTTOM + 18.0,
            thousands(jobs)
        ));
    }
    for e in 0..=(hi as i32) {
        let usd = 10f64.powi(e);
        let ye = y(usd);
        s.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{ye:.1}\" x2=\"{:.1}\" y2=\"{ye:.1}\" stroke=\"#ddd\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">${}</text>\n",
            W - RIGHT,
            LEFT - 6.0,
            ye + 4.0,
            thousands(usd)
        ));
    }
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">jobs a day</text>\n\
         <text x=\"16\" y=\"{:.1}\" transform=\"rotate(-90 16 {:.1})\" text-anchor=\"middle\">US$ a month</text>\n\
         <path d=\"{}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n\
         <path d=\"{}\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#1f77b4\">Skiff</text>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#d62728\">Prow on EKS</text>\n</svg>\n",
        (LEFT + W - RIGHT) / 2.0,
        H - 10.0,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        path(|p| p.1),
        path(|p| p.2),
        LEFT + 10.0,
        TOP + 14.0,
        LEFT + 10.0,
        TOP + 30.0,
    ));
    s
}

fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
