//! SWE-bench's grading: from what the run printed to `resolved` and its parts.

use crate::logs::{TestReport, TestStatus};
use crate::task::Task;

/// What the evaluation script reported, besides per-test statuses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunMarkers {
    /// The model's patch applied (`None`: the script never got that far).
    pub applied: Option<bool>,
    /// How the patch applied (`git apply`, `patch --fuzz`), for the explanation.
    pub applied_with: Option<String>,
    /// The tests started.
    pub tests_started: bool,
    /// The test command's exit code, when it finished.
    pub test_exit_code: Option<i64>,
    /// A setup step or the test patch failed: the message.
    pub setup_failed: Option<String>,
}

/// The verdict on one patch.
#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    /// The patch applied.
    pub applied: bool,
    /// Fraction of `fail_to_pass` tests that now pass (1 when there are none).
    pub f2p_passed: f64,
    /// Fraction of `pass_to_pass` tests that still pass (1 when there are none).
    pub p2p_kept: f64,
    /// Every `fail_to_pass` test passes and every `pass_to_pass` test still does.
    pub resolved: bool,
    /// Why, in one line.
    pub explanation: String,
}

impl Grade {
    /// A patch that did not apply (or was not there): nothing ran.
    pub fn not_applied(why: impl Into<String>) -> Self {
        Self {
            applied: false,
            f2p_passed: 0.0,
            p2p_kept: 0.0,
            resolved: false,
            explanation: why.into(),
        }
    }
}

/// Grades a run that applied the patch and ran the tests, by SWE-bench's rules:
/// a `fail_to_pass` test succeeds when PASSED or XFAIL (SKIPPED and missing fail); a
/// `pass_to_pass` test also when SKIPPED. A run whose output cannot be trusted resolves
/// nothing: no test statuses at all, or a failing exit code with no test reported failing
/// (fake `PASSED` lines printed by a patched conftest, a crash after the report).
pub fn grade(task: &Task, markers: &RunMarkers, report: &TestReport) -> Grade {
    let f2p_ok = |s: Option<TestStatus>| matches!(s, Some(TestStatus::Passed | TestStatus::Xfail));
    let p2p_ok = |s: Option<TestStatus>| {
        matches!(s, Some(TestStatus::Passed | TestStatus::Xfail | TestStatus::Skipped))
    };
    let fraction = |tests: &[String], ok: &dyn Fn(Option<TestStatus>) -> bool| {
        if tests.is_empty() {
            return (1.0, None);
        }
        let failing: Vec<&String> = tests.iter().filter(|t| !ok(report.status(t))).collect();
        let first = failing.first().map(|t| (t.to_string(), report.status(t)));
        ((tests.len() - failing.len()) as f64 / tests.len() as f64, first)
    };
    let (f2p, f2p_first) = fraction(&task.fail_to_pass, &f2p_ok);
    let (p2p, p2p_first) = fraction(&task.pass_to_pass, &p2p_ok);

    let untrusted = if report.statuses.is_empty() {
        Some("the test output reported no test statuses".to_owned())
    } else if markers.test_exit_code.is_none() {
        Some("the test command did not finish".to_owned())
    } else if markers.test_exit_code != Some(0) && !report.any_failure() {
        Some(format!(
            "the test command exited with {} but reported no failing test",
            markers.test_exit_code.unwrap_or_default()
        ))
    } else {
        None
    };
    let resolved = untrusted.is_none() && f2p == 1.0 && p2p == 1.0;
    let describe = |(id, status): (String, Option<TestStatus>)| match status {
        None => format!("{id} did not run"),
        Some(status) => format!("{id} is {}", status.as_str()),
    };
    let explanation = if let Some(why) = untrusted {
        format!("not resolved: {why}")
    } else if resolved {
        format!(
            "resolved: {} fail-to-pass and {} pass-to-pass tests pass",
            task.fail_to_pass.len(),
            task.pass_to_pass.len()
        )
    } else if let Some(first) = f2p_first {
        format!("not resolved: fail-to-pass {:.0}% ({})", f2p * 100.0, describe(first))
    } else if let Some(first) = p2p_first {
        format!("not resolved: a pass-to-pass test broke ({})", describe(first))
    } else {
        "not resolved".to_owned()
    };
    Grade { applied: true, f2p_passed: f2p, p2p_kept: p2p, resolved, explanation }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::logs::LogParser;

    fn task() -> Task {
        Task::from_json(&json!({"image": "i", "test_cmd": "pytest", "log_parser": "pytest",
            "fail_to_pass": ["t::bug", "t::bug2"], "pass_to_pass": ["t::ok"]}))
        .unwrap()
    }

    fn run(exit: i64, lines: &str) -> Grade {
        let mut report = TestReport::default();
        lines.lines().for_each(|l| report.read_line(LogParser::Pytest, l));
        let markers = RunMarkers {
            applied: Some(true),
            tests_started: true,
            test_exit_code: Some(exit),
            ..Default::default()
        };
        grade(&task(), &markers, &report)
    }

    #[test]
    fn swe_bench_rules() {
        let g = run(0, "PASSED t::bug\nPASSED t::bug2\nPASSED t::ok");
        assert!(g.resolved, "{g:?}");
        let g = run(1, "PASSED t::bug\nFAILED t::bug2\nPASSED t::ok");
        assert!(!g.resolved);
        assert_eq!(g.f2p_passed, 0.5);
        assert!(g.explanation.contains("t::bug2 is FAILED"), "{}", g.explanation);
        let g = run(0, "PASSED t::bug\nSKIPPED t::bug2\nSKIPPED t::ok");
        assert!(!g.resolved, "a skipped fail-to-pass test fails");
        assert_eq!(g.p2p_kept, 1.0, "a skipped pass-to-pass test is kept");
        let g = run(0, "PASSED t::bug\nPASSED t::bug2");
        assert!(!g.resolved && g.p2p_kept == 0.0);
        assert!(g.explanation.contains("t::ok did not run"), "{}", g.explanation);
    }

    #[test]
    fn untrusted_runs_resolve_nothing() {
        let g = run(2, "PASSED t::bug\nPASSED t::bug2\nPASSED t::ok");
        assert!(!g.resolved, "a failing exit code with only passes is not trusted");
        assert!(g.explanation.contains("exited with 2"));
        let g = run(0, "nothing here");
        assert!(!g.resolved && g.explanation.contains("no test statuses"));
    }
}
