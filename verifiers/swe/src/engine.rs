//! The Docker engine as gavel uses it: one connection, labelled containers, a host-wide
//! concurrency limit, guaranteed removal, and a reaper for what a killed process left behind.
//!
//! Every container carries [`LABEL`] and [`OWNER_LABEL`] (`host/pid/process start time`).
//! Removal is guaranteed by [`ContainerGuard`]: an evaluation removes its container on every
//! path, and if its future is dropped (cancelled, panicked) the guard's `Drop` schedules the
//! removal. A process killed with SIGKILL runs no destructor; the next gavel process to
//! connect reaps containers whose owner process is gone, and looks again every [`REAP_EVERY`]
//! while it runs; it leaves alone those of live processes (tests and daemons running side by
//! side).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};
use tokio::sync::Semaphore;

/// The label on every container gavel creates.
pub const LABEL: &str = "gavel.verifier";
/// The label naming the process that owns a container: `host/pid/start time`.
pub const OWNER_LABEL: &str = "gavel.owner";

/// How often a connected process looks again for containers of gavel processes that are gone:
/// one whose creation was still under way when its process died appears only after the reap
/// at connect.
pub const REAP_EVERY: Duration = Duration::from_secs(60);

/// Per-request timeout of engine API calls (not of the tests, which have their own deadline).
const API_TIMEOUT_S: u64 = 60;

/// An engine failure, with what gavel was doing.
#[derive(Debug, thiserror::Error)]
#[error("{doing}: {source}")]
pub struct EngineError {
    /// What gavel was doing.
    pub doing: String,
    /// The engine's error.
    #[source]
    pub source: bollard::errors::Error,
}

impl EngineError {
    pub(crate) fn new(doing: impl Into<String>, source: bollard::errors::Error) -> Self {
        Self { doing: doing.into(), source }
    }

    /// Whether the engine answered 404 (no such image or container).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.source,
            bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }
        )
    }
}

/// A connection to the engine, shared by every evaluation of a process.
#[derive(Clone)]
pub struct Engine {
    pub(crate) docker: Docker,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) owner: String,
}

impl Engine {
    /// Connects to the engine at `socket` (a unix socket path, `unix://…`), or where
    /// `DOCKER_HOST` or the platform default says when `None`. Checks that the engine answers,
    /// negotiates the API version, then reaps leftovers of dead gavel processes.
    pub async fn connect(socket: Option<&str>, concurrency: usize) -> Result<Self, EngineError> {
        let docker = match socket {
            Some(path) => {
                Docker::connect_with_unix(path, API_TIMEOUT_S, bollard::API_DEFAULT_VERSION)
            }
            None => Docker::connect_with_local_defaults(),
        }
        .map_err(|e| EngineError::new("connecting to the Docker engine", e))?
        .with_timeout(Duration::from_secs(API_TIMEOUT_S));
        // Asking the version is also the check that the engine answers.
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| EngineError::new("asking the Docker engine for its version", e))?;
        let engine = Self {
            docker,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            owner: owner_id(std::process::id())
                .unwrap_or_else(|| format!("unknown/{}", std::process::id())),
        };
        engine.reap().await?;
        engine.reap_every(REAP_EVERY);
        Ok(engine)
    }

    /// Reaps every `period` from now on, on the current tokio runtime, until the last clone of
    /// this engine is dropped.
    pub fn reap_every(&self, period: Duration) {
        // The engine's slots live as long as a clone of it: the loop ends with the last one.
        let alive = Arc::downgrade(&self.slots);
        let docker = self.docker.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if alive.strong_count() == 0 {
                    return;
                }
                if let Err(e) = reap(&docker).await {
                    tracing::warn!("could not look for containers to reap: {e}");
                }
            }
        });
    }

    /// Removes containers labelled by gavel processes of this host that no longer run.
    /// Returns how many it removed.
    pub async fn reap(&self) -> Result<usize, EngineError> {
        reap(&self.docker).await
    }

    /// This process's owner label value (`host/pid/start time`).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// A container name no other container of any process has: `gavel-swe-<pid>-<start>-<n>`.
    pub(crate) fn next_name(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let start = self.owner.rsplit('/').next().unwrap_or("0");
        format!("gavel-swe-{}-{start}-{n}", std::process::id())
    }

    /// The labels of a new container.
    pub(crate) fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (LABEL.to_owned(), "swe".to_owned()),
            (OWNER_LABEL.to_owned(), self.owner.clone()),
        ])
    }
}

/// [`Engine::reap`], for the engine's connection alone.
async fn reap(docker: &Docker) -> Result<usize, EngineError> {
    let filters = HashMap::from([("label", vec![LABEL])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| EngineError::new("listing gavel's containers", e))?;
    let host = hostname();
    let mut removed = 0;
    for container in containers {
        let (Some(id), Some(labels)) = (container.id, container.labels) else { continue };
        let Some(owner) = labels.get(OWNER_LABEL) else { continue };
        if !owner_is_gone(owner, &host) {
            continue;
        }
        match remove(docker, &id, false).await {
            Ok(()) => removed += 1,
            Err(e) => tracing::warn!(container = %id, "could not reap: {e}"),
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed containers left by gavel processes that are gone");
    }
    Ok(removed)
}

/// Force-removes a container and its anonymous volumes. The engine refuses (409) while the
/// container is being created or started, so a refusal is retried for a few seconds. With
/// `may_be_creating`, a container not found yet is waited for as well: a create request
/// cancelled in flight may still complete on the engine after the cancellation.
pub(crate) async fn remove(
    docker: &Docker,
    id: &str,
    may_be_creating: bool,
) -> Result<(), bollard::errors::Error> {
    use bollard::errors::Error::DockerResponseServerError;
    let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
    for attempt in 1.. {
        match docker.remove_container(id, Some(options.clone())).await {
            Ok(()) => return Ok(()),
            Err(DockerResponseServerError { status_code: 404, .. })
                if !may_be_creating || attempt > 10 =>
            {
                return Ok(());
            }
            Err(DockerResponseServerError { status_code: 409, ref message })
                if message.contains("already in progress") =>
            {
                return Ok(());
            }
            Err(e) if attempt > 20 => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100 * attempt.min(5))).await,
        }
    }
    unreachable!("the loop returns")
}

/// Removes its container (by name) when dropped, on whatever path: success, error, timeout,
/// panic or cancellation. Call [`ContainerGuard::remove`] to remove it in line.
pub(crate) struct ContainerGuard {
    docker: Docker,
    id: Option<String>,
    /// The engine answered the create request.
    created: bool,
}

impl ContainerGuard {
    /// A guard for a container about to be created under the name `id`.
    pub(crate) fn new(docker: Docker, id: String) -> Self {
        Self { docker, id: Some(id), created: false }
    }

    /// Records that the engine answered the create request: from here on, a container not
    /// found is one that does not exist.
    pub(crate) fn answered(&mut self) {
        self.created = true;
    }

    pub(crate) fn id(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    /// Removes the container now. The guard keeps the name until the engine has answered:
    /// cancelled on the way (a runtime shutting down as the process ends), it is dropped
    /// still holding it and removes the container itself. (It once let go first, and a
    /// `gavel score` that ended while a removal was in flight left that container running.)
    pub(crate) async fn remove(mut self) {
        let Some(id) = self.id.as_deref() else { return };
        let removed = remove(&self.docker, id, !self.created).await;
        if let Err(e) = removed {
            tracing::warn!(container = %id, "could not remove: {e}; the next start reaps it");
        }
        self.id = None;
    }
}

impl Drop for ContainerGuard {
    /// Removes the container before returning, on a thread of its own with its own runtime:
    /// this runs on cancellation, on panic and while a runtime shuts down, where a spawned
    /// task might never run. It blocks the dropping thread for the engine calls; the normal
    /// path removes with [`ContainerGuard::remove`] instead.
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let (docker, may_be_creating) = (self.docker.clone(), !self.created);
        let removal = std::thread::spawn(move || {
            let removed = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime
                    .block_on(remove(&docker, &id, may_be_creating))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = removed {
                tracing::warn!(container = %id, "could not remove: {e}; the next start reaps it");
            }
        });
        let _ = removal.join();
    }
}

/// This machine's host name (the reaper only judges containers its own host's processes made).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// `host/pid/start time` of a process: the start time (clock ticks since boot, field 22 of
/// `/proc/<pid>/stat`) tells a reused pid from the original.
fn owner_id(pid: u32) -> Option<String> {
    Some(format!("{}/{pid}/{}", hostname(), start_time(pid)?))
}

fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(19)?.parse().ok()
}

/// Whether the owner of a container (a label) is a process of `host` that no longer runs.
fn owner_is_gone(owner: &str, host: &str) -> bool {
    let mut parts = owner.rsplitn(3, '/');
    let (Some(start), Some(pid), Some(owner_host)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if owner_host != host {
        return false;
    }
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else { return false };
    start_time(pid) != Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_owner_is_not_gone_and_a_dead_one_is() {
        let me = owner_id(std::process::id()).unwrap();
        let host = hostname();
        assert!(!owner_is_gone(&me, &host));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let owner = owner_id(pid);
        child.wait().unwrap();
        if let Some(owner) = owner {
            assert!(owner_is_gone(&owner, &host), "{owner}");
        }
        // Reused pid: same pid, other start time.
        let reused = format!("{host}/{}/1", std::process::id());
        assert!(owner_is_gone(&reused, &host));
        assert!(
            !owner_is_gone(&format!("elsewhere/{}/1", std::process::id()), &host),
            "other hosts' containers are theirs"
        );
        assert!(!owner_is_gone("garbage", &host));
    }
}
