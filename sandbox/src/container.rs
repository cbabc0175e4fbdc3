//! The limits a container-executed verifier (the SWE test runner) runs its tests under.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::LimitError;

/// The sandbox of one test container. Network access and privileges are not settings: every
/// container runs with no network, all capabilities dropped and `no-new-privileges`. What a
/// test suite may legitimately need differently (a writable root for tools that write caches
/// there, a specific user) is a field, so the operator decides it per deployment and a task
/// can ask for less but never more.
///
/// As JSON (every field optional, unknown fields refused):
/// `{"memory_mib": 1024, "cpus": 1.0, "pids": 256, "timeout_s": 300, ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContainerLimits {
    /// Memory cap in MiB; swap is set equal, so the container gets no swap. Default 1 024.
    pub memory_mib: u64,
    /// CPU quota in CPUs (CFS quota, fractional allowed). Default 1.
    pub cpus: f64,
    /// Most processes and threads at once: a fork bomb stops here. Default 256.
    pub pids: i64,
    /// Wall-clock deadline of one evaluation, in seconds, from container start to the last
    /// byte of output; past it the container is killed and the outcome is `timeout`. A task
    /// may ask for less with `timeout_s`, never more. Default 300.
    pub timeout_s: u64,
    /// Bytes of test output read; more ends the evaluation with an `output_limit` error.
    /// Output is parsed as it streams, so memory stays bounded. Default 16 MiB.
    pub output_bytes: u64,
    /// Size of the tmpfs mounted at `/tmp`, in MiB. Default 256.
    pub tmp_mib: u64,
    /// The image's root filesystem is mounted read-only; only the workdir (a per-container
    /// volume holding a copy of the image's workdir) and `/tmp` are writable. Default true.
    pub read_only_root: bool,
    /// The user the tests run as (`uid[:gid]` or a name). Default: the image's own `USER`;
    /// images made for gavel declare a non-root one.
    pub user: Option<String>,
    /// Evaluations running at once on this host, across all callers. Default 4.
    pub concurrency: usize,
    /// Idle containers kept started per image, so an evaluation does not wait for one to
    /// start (most of an evaluation's overhead); each still serves one evaluation only.
    /// 0 starts every container on demand. Default 4.
    pub prestart: usize,
}

impl Default for ContainerLimits {
    fn default() -> Self {
        Self {
            memory_mib: 1024,
            cpus: 1.0,
            pids: 256,
            timeout_s: 300,
            output_bytes: 16 << 20,
            tmp_mib: 256,
            read_only_root: true,
            user: None,
            concurrency: 4,
            prestart: 4,
        }
    }
}

impl ContainerLimits {
    /// Checks that every limit is enforceable.
    pub fn validate(&self) -> Result<(), LimitError> {
        let fail = |field, problem: &str| Err(LimitError { field, problem: problem.into() });
        if self.memory_mib < 6 {
            return fail("memory_mib", "must be at least 6 (the engine's minimum)");
        }
        if !(self.cpus.is_finite() && self.cpus >= 0.01) {
            return fail("cpus", "must be a number of at least 0.01");
        }
        if self.pids < 8 {
            return fail("pids", "must be at least 8 (the shell and the test runner need some)");
        }
        if self.timeout_s == 0 {
            return fail("timeout_s", "must be greater than 0");
        }
        if self.output_bytes < 1024 {
            return fail("output_bytes", "must be at least 1024");
        }
        if self.tmp_mib == 0 {
            return fail("tmp_mib", "must be greater than 0");
        }
        if self.concurrency == 0 {
            return fail("concurrency", "must be greater than 0");
        }
        if self.user.as_deref().is_some_and(|u| u.is_empty() || u.contains(char::is_whitespace)) {
            return fail("user", "must be a user name or uid[:gid] without spaces");
        }
        Ok(())
    }

    /// The deadline of one evaluation, given what the task asks for (`None`: the default).
    pub fn deadline(&self, task_timeout_s: Option<u64>) -> Duration {
        let s = task_timeout_s.map_or(self.timeout_s, |t| t.min(self.timeout_s));
        Duration::from_secs(s.max(1))
    }

    /// The memory cap in bytes.
    pub fn memory_bytes(&self) -> i64 {
        i64::try_from(self.memory_mib << 20).unwrap_or(i64::MAX)
    }

    /// The CPU quota in billionths of a CPU, as the engine takes it.
    pub fn nano_cpus(&self) -> i64 {
        (self.cpus * 1e9).round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        ContainerLimits::default().validate().unwrap();
    }

    #[test]
    fn errors_name_the_field() {
        let limits = ContainerLimits { pids: 2, ..ContainerLimits::default() };
        assert_eq!(limits.validate().unwrap_err().field, "pids");
        let limits = ContainerLimits { cpus: f64::NAN, ..ContainerLimits::default() };
        assert_eq!(limits.validate().unwrap_err().field, "cpus");
        let err = serde_json::from_str::<ContainerLimits>(r#"{"network": true}"#).unwrap_err();
        assert!(err.to_string().contains("network"), "{err}");
    }

    #[test]
    fn a_task_can_shorten_the_deadline_but_not_extend_it() {
        let limits = ContainerLimits { timeout_s: 60, ..ContainerLimits::default() };
        assert_eq!(limits.deadline(None), Duration::from_secs(60));
        assert_eq!(limits.deadline(Some(5)), Duration::from_secs(5));
        assert_eq!(limits.deadline(Some(600)), Duration::from_secs(60));
        assert_eq!(limits.nano_cpus(), 1_000_000_000);
    }
}
