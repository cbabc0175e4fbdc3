//! Counters and latency histograms, rendered as Prometheus text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gavel_core::{Outcome, Status};
use gavel_policy::{LATENCY_BUCKETS, LatencyHistogram};

/// The daemon's metrics.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency: Mutex<BTreeMap<&'static str, LatencyHistogram>>,
    outcomes: [AtomicU64; 5],
    /// Samples scored.
    pub samples: AtomicU64,
    /// Requests refused with 503.
    pub rejected: AtomicU64,
    /// Successful policy reloads.
    pub reloads: AtomicU64,
    /// Reloads refused (the old policy kept).
    pub failed_reloads: AtomicU64,
}

const STATUSES: [Status; 5] =
    [Status::Ok, Status::NotApplicable, Status::Invalid, Status::Timeout, Status::Error];

impl Metrics {
    /// Counts a request to `route` answered with `code` after `took`.
    pub fn observe(&self, route: &'static str, code: u16, took: Duration) {
        *self.requests.lock().expect("metrics lock").entry((route, code)).or_default() += 1;
        self.latency.lock().expect("metrics lock").entry(route).or_default().observe(took);
    }

    /// Counts one sample's outcome by class.
    pub fn outcome(&self, outcome: &Outcome) {
        let i = STATUSES.iter().position(|s| *s == outcome.status()).expect("every status");
        self.outcomes[i].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus exposition text, with the policy's per-source figures.
    pub fn render(
        &self,
        queued: usize,
        in_flight: usize,
        sources: &[gavel_policy::SourceStats],
    ) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# TYPE gavel_source_samples_total counter");
        for s in sources {
            let _ =
                writeln!(out, "gavel_source_samples_total{{source=\"{}\"}} {}", s.name, s.samples);
        }
        let _ = writeln!(out, "# TYPE gavel_source_call_duration_seconds histogram");
        for s in sources {
            histogram(
                &mut out,
                "gavel_source_call_duration_seconds",
                "source",
                &s.name,
                &s.latency,
            );
        }
        let _ = writeln!(out, "# TYPE gavel_requests_total counter");
        for ((route, code), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "gavel_requests_total{{route=\"{route}\",code=\"{code}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# TYPE gavel_samples_total counter\ngavel_samples_total {}",
            self.samples.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# TYPE gavel_outcomes_total counter");
        for (status, n) in STATUSES.iter().zip(&self.outcomes) {
            let _ = writeln!(
                out,
                "gavel_outcomes_total{{status=\"{status}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# TYPE gavel_request_duration_seconds histogram");
        for (route, h) in self.latency.lock().expect("metrics lock").iter() {
            histogram(&mut out, "gavel_request_duration_seconds", "route", route, h);
        }
        let gauges = [
            ("gavel_queue_depth", queued as u64),
            ("gavel_in_flight_requests", in_flight as u64),
            ("gavel_rejected_total", self.rejected.load(Ordering::Relaxed)),
            ("gavel_policy_reloads_total", self.reloads.load(Ordering::Relaxed)),
            ("gavel_policy_reload_failures_total", self.failed_reloads.load(Ordering::Relaxed)),
            // No container-backed source is built in yet; the SWE verifier reports here.
            ("gavel_containers_in_flight", 0),
        ];
        for (name, value) in gauges {
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

/// One labelled Prometheus histogram: its buckets, `+Inf`, sum and count.
fn histogram(out: &mut String, name: &str, key: &str, label: &str, h: &LatencyHistogram) {
    for (bound, n) in LATENCY_BUCKETS.iter().zip(h.buckets) {
        let _ = writeln!(out, "{name}_bucket{{{key}=\"{label}\",le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{{key}=\"{label}\",le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum{{{key}=\"{label}\"}} {}", h.sum);
    let _ = writeln!(out, "{name}_count{{{key}=\"{label}\"}} {}", h.count);
}
