//! Containers started ahead of need. Starting a container (runc, namespaces, cgroups, mounts)
//! is most of an evaluation's overhead, so after an evaluation takes a started, idle container
//! for its image, a replacement is started in the background. Each container still serves one
//! evaluation only and is removed after it: isolation is unchanged, only the wait is gone.
//!
//! Bounded: at most `prestart` idle containers per (image, workdir), at most four images' worth
//! in all, none older than [`MAX_IDLE`]. Dropping the pool removes its idle containers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use gavel_sandbox::ContainerLimits;

use crate::engine::{ContainerGuard, Engine, EngineError};
use crate::task::Task;

/// An idle container older than this is removed rather than used.
pub const MAX_IDLE: Duration = Duration::from_secs(120);

/// Images (image, workdir pairs) with idle containers at most.
const MAX_KEYS: usize = 4;

type Key = (String, String);

/// Started containers, per image, for one verifier's limits.
pub(crate) struct Pool {
    pub(crate) engine: Engine,
    pub(crate) limits: ContainerLimits,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    idle: HashMap<Key, Vec<(ContainerGuard, Instant)>>,
    starting: HashMap<Key, usize>,
}

fn key(task: &Task) -> Key {
    (task.image.clone(), task.workdir.clone())
}

impl Pool {
    pub(crate) fn new(engine: Engine, limits: ContainerLimits) -> Self {
        Self { engine, limits, state: Mutex::new(State::default()) }
    }

    /// A started container for `task`: an idle one when there is one, else one started now.
    /// Then a replacement is started in the background.
    pub(crate) async fn take(self: &Arc<Self>, task: &Task) -> Result<ContainerGuard, EngineError> {
        let (idle, stale) = {
            let mut state = self.state.lock().expect("pool lock");
            let list = state.idle.entry(key(task)).or_default();
            let (fresh, stale): (Vec<_>, Vec<_>) =
                std::mem::take(list).into_iter().partition(|(_, since)| since.elapsed() < MAX_IDLE);
            *list = fresh;
            (list.pop().map(|(guard, _)| guard), stale)
        };
        // Stale ones are removed by their guards, outside the lock.
        drop(stale);
        let container = match idle {
            Some(guard) => guard,
            None => self.start(task).await?,
        };
        self.refill(task);
        Ok(container)
    }

    /// Starts one replacement for `task` in the background, if the pool has room.
    fn refill(self: &Arc<Self>, task: &Task) {
        let k = key(task);
        {
            let mut state = self.state.lock().expect("pool lock");
            let have = state.idle.get(&k).map_or(0, Vec::len)
                + state.starting.get(&k).copied().unwrap_or(0);
            let keys = state.idle.iter().filter(|(_, v)| !v.is_empty()).count();
            if have >= self.limits.prestart || (have == 0 && keys >= MAX_KEYS) {
                return;
            }
            *state.starting.entry(k.clone()).or_default() += 1;
        }
        let pool = Arc::clone(self);
        let task = task.clone();
        tokio::spawn(async move {
            let started = pool.start(&task).await;
            let mut state = pool.state.lock().expect("pool lock");
            if let Some(n) = state.starting.get_mut(&k) {
                *n = n.saturating_sub(1);
            }
            match started {
                Ok(guard) => state.idle.entry(k).or_default().push((guard, Instant::now())),
                Err(e) => tracing::debug!("could not start a container ahead: {e}"),
            }
        });
    }

    /// Creates and starts an idle container for `task`, under every limit.
    async fn start(&self, task: &Task) -> Result<ContainerGuard, EngineError> {
        let docker = &self.engine.docker;
        // The guard exists before the container does: it removes by a name chosen here, so a
        // cancellation while the engine is still creating it leaves nothing behind either.
        let mut guard = ContainerGuard::new(docker.clone(), self.engine.next_name());
        let options = CreateContainerOptionsBuilder::default().name(guard.id()).build();
        let body = create_body(&self.engine, &self.limits, task);
        let created = docker.create_container(Some(options), body).await;
        // The engine answered: the container exists, or never will.
        guard.answered();
        created.map_err(|e| create_error(task, e))?;
        docker
            .start_container(guard.id(), None)
            .await
            .map_err(|e| EngineError::new("starting the container", e))?;
        Ok(guard)
    }
}

fn create_error(task: &Task, e: bollard::errors::Error) -> EngineError {
    let err = EngineError::new(format!("creating a container from image {:?}", task.image), e);
    if !err.is_not_found() {
        return err;
    }
    let doing = format!(
        "image {:?} is not on the engine (gavel never pulls images; build or import it first)",
        task.image
    );
    EngineError { doing, source: err.source }
}

/// The container: idle (a shell waiting) until an evaluation execs its script in it.
fn create_body(engine: &Engine, limits: &ContainerLimits, task: &Task) -> ContainerCreateBody {
    // With a read-only root the workdir must be a volume (the engine copies the image's
    // workdir into it); with a writable root the container's own layer is cheaper.
    let volumes = if limits.read_only_root { vec![task.workdir.clone()] } else { vec![] };
    let memory = limits.memory_bytes();
    ContainerCreateBody {
        image: Some(task.image.clone()),
        cmd: Some(vec!["/bin/sh".into(), "-c".into(), "while :; do sleep 3600; done".into()]),
        entrypoint: Some(vec![]),
        working_dir: Some(task.workdir.clone()),
        user: limits.user.clone(),
        env: Some(vec!["HOME=/tmp".into(), "TMPDIR=/tmp".into()]),
        labels: Some(engine.labels()),
        network_disabled: Some(true),
        tty: Some(false),
        volumes: Some(volumes),
        host_config: Some(HostConfig {
            memory: Some(memory),
            memory_swap: Some(memory),
            nano_cpus: Some(limits.nano_cpus()),
            pids_limit: Some(limits.pids),
            network_mode: Some("none".into()),
            readonly_rootfs: Some(limits.read_only_root),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            tmpfs: Some(HashMap::from([(
                "/tmp".to_owned(),
                format!("rw,nosuid,nodev,size={}m,mode=1777", limits.tmp_mib),
            )])),
            init: Some(true),
            auto_remove: Some(false),
            // Output is read from the exec stream; the engine keeps no log file to grow.
            log_config: Some(HostConfigLogConfig { typ: Some("none".into()), config: None }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
