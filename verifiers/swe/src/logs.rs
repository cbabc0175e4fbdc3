//! Per-test statuses read from test output, one line at a time, the way the SWE-bench
//! harness's parsers read them. Line-at-a-time means the output is never held whole: the
//! runner feeds lines as they stream out of the container.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A test's status as its runner printed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    /// Passed.
    Passed,
    /// Failed an assertion.
    Failed,
    /// Skipped (or ignored).
    Skipped,
    /// Errored outside its assertions (collection, fixture).
    Error,
    /// Failed as expected (`xfail`, `expected failure`).
    Xfail,
}

impl TestStatus {
    /// The status as pytest prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "PASSED",
            Self::Failed => "FAILED",
            Self::Skipped => "SKIPPED",
            Self::Error => "ERROR",
            Self::Xfail => "XFAIL",
        }
    }
}

/// Which test runner printed the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogParser {
    /// pytest with `-rA` (`PASSED tests/x.py::t`) or `-v` (`tests/x.py::t PASSED [ 50%]`).
    Pytest,
    /// Python's unittest with `-v` (`test_x (mod.Class) ... ok`).
    Unittest,
    /// `go test -v` (`--- PASS: TestX (0.00s)`).
    Go,
    /// `cargo test` (`test path::name ... ok`).
    Cargo,
}

/// Most distinct test ids kept; a run printing more is cut off here (memory stays bounded).
pub const MAX_TESTS: usize = 100_000;

/// Statuses collected from a test run's output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestReport {
    /// Status per test id; a test reported twice keeps its last status.
    pub statuses: BTreeMap<String, TestStatus>,
}

impl TestReport {
    /// Reads one line of output.
    pub fn read_line(&mut self, parser: LogParser, line: &str) {
        let line = line.trim_end_matches(['\r', '\n']);
        let parsed = match parser {
            LogParser::Pytest => pytest(line),
            LogParser::Unittest => unittest(line),
            LogParser::Go => go(line),
            LogParser::Cargo => cargo(line),
        };
        if let Some((id, status)) = parsed
            && (self.statuses.len() < MAX_TESTS || self.statuses.contains_key(id))
        {
            self.statuses.insert(id.to_owned(), status);
        }
    }

    /// The status of `id`; a truncated id (SWE-bench datasets cut long parametrised ids)
    /// matches the one reported id it is a prefix of, when exactly one exists.
    pub fn status(&self, id: &str) -> Option<TestStatus> {
        if let Some(status) = self.statuses.get(id) {
            return Some(*status);
        }
        let mut candidates =
            self.statuses.range(id.to_owned()..).take_while(|(k, _)| k.starts_with(id));
        match (candidates.next(), candidates.next()) {
            (Some((_, status)), None) => Some(*status),
            _ => None,
        }
    }

    /// Whether any test failed or errored.
    pub fn any_failure(&self) -> bool {
        self.statuses.values().any(|s| matches!(s, TestStatus::Failed | TestStatus::Error))
    }
}

fn pytest_status(word: &str) -> Option<TestStatus> {
    Some(match word {
        "PASSED" | "XPASS" => TestStatus::Passed,
        "FAILED" => TestStatus::Failed,
        "SKIPPED" => TestStatus::Skipped,
        "ERROR" => TestStatus::Error,
        "XFAIL" => TestStatus::Xfail,
        _ => return None,
    })
}

/// `PASSED id`, `FAILED id - message` (the `-rA` summary), or `id PASSED [ 50%]` (`-v`).
fn pytest(line: &str) -> Option<(&str, TestStatus)> {
    let (first, rest) = line.split_once(' ').unwrap_or((line, ""));
    if let Some(status) = pytest_status(first) {
        // `SKIPPED [2] file.py:10: reason` is a summary of several tests, not an id.
        if rest.starts_with('[') {
            return None;
        }
        let id = rest.split_once(" - ").map_or(rest, |(id, _)| id).trim();
        return (!id.is_empty()).then_some((id, status));
    }
    let mut words = line.split_whitespace();
    let id = words.next()?;
    let status = pytest_status(words.next()?)?;
    id.contains("::").then_some((id, status))
}

/// `test_name (module.Class) ... ok`; the id is everything before ` ... `.
fn unittest(line: &str) -> Option<(&str, TestStatus)> {
    let (id, verdict) = line.rsplit_once(" ... ")?;
    let status = match verdict.trim() {
        "ok" => TestStatus::Passed,
        "FAIL" => TestStatus::Failed,
        "ERROR" => TestStatus::Error,
        "expected failure" => TestStatus::Xfail,
        "unexpected success" => TestStatus::Failed,
        v if v.starts_with("skipped") => TestStatus::Skipped,
        _ => return None,
    };
    Some((id.trim(), status))
}

/// `--- PASS: TestX (0.00s)`, also indented for subtests.
fn go(line: &str) -> Option<(&str, TestStatus)> {
    let rest = line.trim_start().strip_prefix("--- ")?;
    let (word, rest) = rest.split_once(": ")?;
    let status = match word {
        "PASS" => TestStatus::Passed,
        "FAIL" => TestStatus::Failed,
        "SKIP" => TestStatus::Skipped,
        _ => return None,
    };
    let id = rest.split_whitespace().next()?;
    Some((id, status))
}

/// `test path::name ... ok | FAILED | ignored`.
fn cargo(line: &str) -> Option<(&str, TestStatus)> {
    let rest = line.strip_prefix("test ")?;
    let (id, verdict) = rest.rsplit_once(" ... ")?;
    let status = match verdict.trim() {
        "ok" => TestStatus::Passed,
        "FAILED" => TestStatus::Failed,
        v if v.starts_with("ignored") => TestStatus::Skipped,
        _ => return None,
    };
    Some((id.trim(), status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(parser: LogParser, text: &str) -> TestReport {
        let mut report = TestReport::default();
        text.lines().for_each(|l| report.read_line(parser, l));
        report
    }

    #[test]
    fn pytest_summary_and_verbose_lines() {
        let report = read(
            LogParser::Pytest,
            "tests/test_a.py::test_one PASSED                [ 50%]\n\
             tests/test_a.py::test_two FAILED                [100%]\n\
             PASSED tests/test_a.py::test_one\n\
             FAILED tests/test_a.py::test_two - AssertionError: 1 != 2\n\
             SKIPPED [1] tests/test_b.py:3: no numpy\n\
             XFAIL tests/test_a.py::test_x - reason\n\
             ERROR tests/test_c.py::test_setup\n\
             ========= 1 failed, 1 passed in 0.02s =========",
        );
        assert_eq!(report.status("tests/test_a.py::test_one"), Some(TestStatus::Passed));
        assert_eq!(report.status("tests/test_a.py::test_two"), Some(TestStatus::Failed));
        assert_eq!(report.status("tests/test_a.py::test_x"), Some(TestStatus::Xfail));
        assert_eq!(report.status("tests/test_c.py::test_setup"), Some(TestStatus::Error));
        assert_eq!(report.statuses.len(), 4, "{:?}", report.statuses);
        assert!(report.any_failure());
    }

    #[test]
    fn truncated_ids_match_one_prefix_only() {
        let report = read(
            LogParser::Pytest,
            "PASSED t.py::test_p[a-very-long-param]\nPASSED t.py::test_q[x]\nFAILED t.py::test_q[y]",
        );
        assert_eq!(report.status("t.py::test_p[a-very"), Some(TestStatus::Passed));
        assert_eq!(report.status("t.py::test_q["), None, "ambiguous prefix");
        assert_eq!(report.status("t.py::missing"), None);
    }

    #[test]
    fn unittest_go_and_cargo() {
        let u = read(
            LogParser::Unittest,
            "test_add (tests.test_calc.CalcTest) ... ok\n\
             test_div (tests.test_calc.CalcTest) ... FAIL\n\
             test_skip (tests.test_calc.CalcTest) ... skipped 'later'",
        );
        assert_eq!(u.status("test_add (tests.test_calc.CalcTest)"), Some(TestStatus::Passed));
        assert_eq!(u.status("test_div (tests.test_calc.CalcTest)"), Some(TestStatus::Failed));
        assert_eq!(u.status("test_skip (tests.test_calc.CalcTest)"), Some(TestStatus::Skipped));
        let g = read(
            LogParser::Go,
            "=== RUN   TestA\n--- PASS: TestA (0.00s)\n    --- FAIL: TestA/sub (0.01s)",
        );
        assert_eq!(g.status("TestA"), Some(TestStatus::Passed));
        assert_eq!(g.status("TestA/sub"), Some(TestStatus::Failed));
        let c = read(
            LogParser::Cargo,
            "test a::b ... ok\ntest a::c ... FAILED\ntest a::d ... ignored, slow",
        );
        assert_eq!(c.status("a::b"), Some(TestStatus::Passed));
        assert_eq!(c.status("a::c"), Some(TestStatus::Failed));
        assert_eq!(c.status("a::d"), Some(TestStatus::Skipped));
    }

    #[test]
    fn ids_are_capped() {
        let mut report = TestReport::default();
        for i in 0..MAX_TESTS + 10 {
            report.read_line(LogParser::Cargo, &format!("test t{i} ... ok"));
        }
        assert_eq!(report.statuses.len(), MAX_TESTS);
    }
}
