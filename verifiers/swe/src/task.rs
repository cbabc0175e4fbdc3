//! The task a sample's reference describes: where the repository is, how to test it, and which
//! tests decide the verdict.

use serde::Deserialize;

use crate::logs::LogParser;

/// A SWE task, read from a sample's reference (unknown fields refused).
///
/// ```json
/// {"image": "gavel-fixture:1", "workdir": "/testbed", "test_cmd": "python3 -m pytest -rA",
///  "fail_to_pass": ["tests/test_x.py::test_bug"], "pass_to_pass": ["tests/test_x.py::test_ok"],
///  "log_parser": "pytest", "test_patch": "diff --git ...", "timeout_s": 60}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// The image holding the repository at its base commit. gavel never pulls: the image must
    /// be on the engine already.
    pub image: String,
    /// The repository's directory inside the image. Default `/testbed`.
    #[serde(default = "default_workdir")]
    pub workdir: String,
    /// Shell commands run after the patch is applied and before the tests (an editable
    /// install, a build). A failing one is a `setup` error, not a verdict.
    #[serde(default)]
    pub setup: Vec<String>,
    /// The shell command that runs the tests.
    pub test_cmd: String,
    /// A diff adding or changing the tests; the files it touches are restored to the base
    /// commit first, so a model's patch cannot delete or rewrite them.
    #[serde(default)]
    pub test_patch: Option<String>,
    /// Tests that fail before the fix and must pass after it.
    #[serde(default)]
    pub fail_to_pass: Vec<String>,
    /// Tests that pass before the fix and must still pass.
    #[serde(default)]
    pub pass_to_pass: Vec<String>,
    /// How to read per-test statuses from the output.
    pub log_parser: LogParser,
    /// Deadline in seconds; the operator's limit caps it.
    #[serde(default)]
    pub timeout_s: Option<u64>,
    /// The reference solution: when given, the `similarity` component (SWE-RL's patch
    /// similarity) compares the model's patch with it.
    #[serde(default)]
    pub gold_patch: Option<String>,
}

fn default_workdir() -> String {
    "/testbed".to_owned()
}

impl Task {
    /// Reads and checks a task; the error names the field at fault.
    pub fn from_json(reference: &serde_json::Value) -> Result<Self, String> {
        let task: Task = serde_json::from_value(reference.clone()).map_err(|e| e.to_string())?;
        task.check()?;
        Ok(task)
    }

    fn check(&self) -> Result<(), String> {
        if self.image.trim().is_empty() {
            return Err("`image` is empty".into());
        }
        if !self.workdir.starts_with('/') || self.workdir.contains(['\'', '\n', '\0']) {
            return Err(format!("`workdir` must be an absolute path, got {:?}", self.workdir));
        }
        if self.test_cmd.trim().is_empty() {
            return Err("`test_cmd` is empty".into());
        }
        if self.fail_to_pass.is_empty() && self.pass_to_pass.is_empty() {
            return Err(
                "the task names no tests: `fail_to_pass` and `pass_to_pass` are both empty".into(),
            );
        }
        if self.timeout_s == Some(0) {
            return Err("`timeout_s` must be greater than 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn base() -> serde_json::Value {
        json!({"image": "img:1", "test_cmd": "pytest", "fail_to_pass": ["t::a"], "log_parser": "pytest"})
    }

    #[test]
    fn defaults_fill_in() {
        let task = Task::from_json(&base()).unwrap();
        assert_eq!(task.workdir, "/testbed");
        assert!(task.setup.is_empty() && task.test_patch.is_none());
    }

    #[test]
    fn errors_name_the_field() {
        let mut bad = base();
        bad["log_parser"] = json!("jest");
        assert!(Task::from_json(&bad).unwrap_err().contains("jest"));
        let mut bad = base();
        bad["fail_to_pass"] = json!([]);
        assert!(Task::from_json(&bad).unwrap_err().contains("names no tests"));
        let mut bad = base();
        bad["imgae"] = json!("x");
        assert!(Task::from_json(&bad).unwrap_err().contains("imgae"));
        let mut bad = base();
        bad["workdir"] = json!("relative");
        assert!(Task::from_json(&bad).unwrap_err().contains("workdir"));
    }
}
