//! One evaluation in one container: take a started container (see [`crate::pool`]) → put the
//! patch and script in → exec the script → read its output as it streams, under the deadline
//! and the output cap → remove the container. Removal happens on every path (see
//! [`crate::engine::ContainerGuard`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::KillContainerOptionsBuilder;
use futures_util::StreamExt;
use gavel_sandbox::ContainerLimits;
use tokio::io::AsyncWriteExt;

use crate::engine::{Engine, EngineError};
use crate::grade::RunMarkers;
use crate::logs::TestReport;
use crate::pool::Pool;
use crate::script;
use crate::task::Task;

/// Longest output line kept whole; the rest of a longer line is dropped.
const MAX_LINE: usize = 64 << 10;
/// Lines of output kept for explanations.
const TAIL_LINES: usize = 8;

/// What a finished run printed and how it ended.
#[derive(Debug, Default)]
pub struct RunOutput {
    /// The script's markers.
    pub markers: RunMarkers,
    /// Per-test statuses from the test command's output.
    pub report: TestReport,
    /// The container's exit code.
    pub exit_code: Option<i64>,
    /// The kernel killed a process for exceeding the memory cap.
    pub oom_killed: bool,
    /// The last lines of output.
    pub tail: Vec<String>,
}

/// Why a run has no verdict.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine failed (unreachable, no such image, a refused request).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The deadline passed; the container was killed.
    #[error("the evaluation passed its {0:?} deadline; the container was killed")]
    Deadline(Duration),
    /// The output passed the cap; the container was killed.
    #[error(
        "the tests printed more than {0} bytes (limit `output_bytes`); the container was killed"
    )]
    OutputCap(u64),
}

/// Runs `task` on `patch` in a fresh container (started ahead by the pool when it could be).
pub(crate) async fn run(pool: &Arc<Pool>, task: &Task, patch: &str) -> Result<RunOutput, RunError> {
    let engine = &pool.engine;
    let slot =
        engine.slots.clone().acquire_owned().await.expect("the slot semaphore is never closed");
    let container = pool.take(task).await?;
    let result = run_in(engine, &pool.limits, task, patch, container.id()).await;
    // The verdict does not wait for the removal; the slot does, so no more containers exist
    // at once than `concurrency` allows. A removal task cancelled by a runtime shutting down
    // drops the guard, which removes the container itself.
    tokio::spawn(async move {
        container.remove().await;
        drop(slot);
    });
    result
}

async fn run_in(
    engine: &Engine,
    limits: &ContainerLimits,
    task: &Task,
    patch: &str,
    id: &str,
) -> Result<RunOutput, RunError> {
    let docker = &engine.docker;
    // One exec runs the script (an argument, so no test can rewrite it) and hands it the
    // patches as a tar on its stdin: cheaper than an archive upload, which the engine serves
    // by mounting the container's filesystem.
    let script = script::script(task);
    let exec = docker
        .create_exec(
            id,
            CreateExecOptions {
                cmd: Some(vec!["/bin/sh", "-c", script.as_str()]),
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| EngineError::new("creating the evaluation in the container", e))?;
    let start = StartExecOptions { detach: false, tty: false, output_capacity: None };
    let StartExecResults::Attached { output: mut stream, mut input } = docker
        .start_exec(&exec.id, Some(start))
        .await
        .map_err(|e| EngineError::new("starting the evaluation", e))?
    else {
        unreachable!("started attached");
    };
    let files = archive(task, patch);
    let sent = async {
        input.write_all(&files).await?;
        input.shutdown().await
    };
    tokio::time::timeout(Duration::from_secs(30), sent)
        .await
        .map_err(|_| std::io::Error::other("timed out"))
        .and_then(|r| r)
        .map_err(|e| {
            EngineError::new(
                "sending the patch into the container",
                bollard::errors::Error::from(e),
            )
        })?;

    // The stream may stay open after the script ends while a background child holds its
    // output (bollard #251): the deadline bounds it, and killing the container ends it.
    let deadline = limits.deadline(task.timeout_s);
    let mut reader = OutputReader::new(task, limits.output_bytes);
    let drained = tokio::time::timeout(deadline, async {
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| EngineError::new("reading the evaluation's output", e))?;
            if !reader.push(&chunk.into_bytes()) {
                return Err(RunError::OutputCap(limits.output_bytes));
            }
        }
        Ok(())
    })
    .await;
    match drained {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            kill(engine, id).await;
            return Err(e);
        }
        Err(_) => {
            kill(engine, id).await;
            return Err(RunError::Deadline(deadline));
        }
    }
    reader.finish();

    let exit_code = docker
        .inspect_exec(&exec.id)
        .await
        .map_err(|e| EngineError::new("inspecting the evaluation", e))?
        .exit_code;
    // The memory cap's verdict matters only for explaining a run that went wrong.
    let oom_killed = if reader.markers.test_exit_code == Some(0) {
        false
    } else {
        docker
            .inspect_container(id, None)
            .await
            .map_err(|e| EngineError::new("inspecting the container", e))?
            .state
            .and_then(|s| s.oom_killed)
            .unwrap_or(false)
    };
    Ok(RunOutput {
        markers: reader.markers,
        report: reader.report,
        exit_code,
        oom_killed,
        tail: reader.tail.into(),
    })
}

async fn kill(engine: &Engine, id: &str) {
    let options = KillContainerOptionsBuilder::default().signal("SIGKILL").build();
    if let Err(e) = engine.docker.kill_container(id, Some(options)).await {
        tracing::debug!(container = %id, "kill: {e}");
    }
}

/// A tar of the model's patch and the test patch.
fn archive(task: &Task, patch: &str) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, name, data).expect("writing a tar to memory cannot fail");
    };
    let name = |path: &str| path.trim_start_matches(script::DIR).trim_start_matches('/').to_owned();
    add(&name(script::MODEL_PATCH), patch.as_bytes());
    add(&name(script::TEST_PATCH), task.test_patch.as_deref().unwrap_or("").as_bytes());
    tar.into_inner().expect("writing a tar to memory cannot fail")
}

/// Reads the output line by line as it streams: markers, test statuses, a short tail. Holds
/// at most one line (capped) besides what it extracted.
struct OutputReader<'t> {
    task: &'t Task,
    cap: u64,
    seen: u64,
    line: Vec<u8>,
    markers: RunMarkers,
    report: TestReport,
    tail: VecDeque<String>,
}

impl<'t> OutputReader<'t> {
    fn new(task: &'t Task, cap: u64) -> Self {
        Self {
            task,
            cap,
            seen: 0,
            line: Vec::new(),
            markers: RunMarkers::default(),
            report: TestReport::default(),
            tail: VecDeque::new(),
        }
    }

    /// Reads a chunk; false once the output passes the cap.
    fn push(&mut self, chunk: &[u8]) -> bool {
        self.seen += chunk.len() as u64;
        let mut rest = chunk;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            self.extend_line(&rest[..newline]);
            self.end_line();
            rest = &rest[newline + 1..];
        }
        self.extend_line(rest);
        self.seen <= self.cap
    }

    fn extend_line(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn finish(&mut self) {
        if !self.line.is_empty() {
            self.end_line();
        }
    }

    fn end_line(&mut self) {
        let text = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        self.read(&text);
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(text.chars().take(240).collect());
    }

    fn read(&mut self, line: &str) {
        let m = &mut self.markers;
        if m.tests_started {
            // After the tests start, only the exit marker is the script's; the last one
            // wins, so a test printing a fake one cannot end the report early.
            if let Some(code) = line.strip_prefix(script::TESTS_EXIT) {
                m.test_exit_code = code.trim().parse().ok();
            } else {
                self.report.read_line(self.task.log_parser, line);
            }
            return;
        }
        if let Some(how) = line.strip_prefix(script::APPLIED) {
            m.applied = Some(true);
            m.applied_with = Some(how.trim().to_owned());
        } else if line.starts_with(script::APPLY_FAILED) {
            m.applied = Some(false);
        } else if let Some(why) = line.strip_prefix(script::SETUP_FAILED) {
            m.setup_failed = Some(why.trim().to_owned());
        } else if line.starts_with(script::TESTS_START) {
            m.tests_started = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_follows_markers_across_chunk_boundaries() {
        let task = Task::from_json(&serde_json::json!({"image": "i", "test_cmd": "t",
            "log_parser": "pytest", "fail_to_pass": ["t::a"]}))
        .unwrap();
        let mut reader = OutputReader::new(&task, 1 << 20);
        let text = format!(
            "{}git apply\nPASSED t::fake_before_start\n{}\nPASSED t::a\n{}0\nFAILED t::b\n{}1\n",
            script::APPLIED,
            script::TESTS_START,
            script::TESTS_EXIT,
            script::TESTS_EXIT
        );
        for chunk in text.as_bytes().chunks(7) {
            assert!(reader.push(chunk));
        }
        reader.finish();
        assert_eq!(reader.markers.applied, Some(true));
        assert_eq!(reader.markers.test_exit_code, Some(1), "the last exit marker wins");
        assert!(!reader.report.statuses.contains_key("t::fake_before_start"));
        assert_eq!(reader.report.statuses.len(), 2);
    }

    #[test]
    fn the_reader_stops_at_the_cap_and_bounds_lines() {
        let task = Task::from_json(&serde_json::json!({"image": "i", "test_cmd": "t",
            "log_parser": "pytest", "fail_to_pass": ["t::a"]}))
        .unwrap();
        let mut reader = OutputReader::new(&task, 4096);
        assert!(reader.push(&[b'x'; 4000]));
        assert!(!reader.push(&[b'x'; 200]));
        let mut reader = OutputReader::new(&task, u64::MAX);
        for _ in 0..100 {
            reader.push(&[b'y'; 4096]);
        }
        assert_eq!(reader.line.len(), MAX_LINE);
    }
}
