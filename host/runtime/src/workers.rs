//! The host's worker threads: `workers` of them, started with the host, each running plugin
//! calls one after another.
//!
//! Dedicated threads rather than tokio's blocking pool: the same few threads stay on their
//! cores. Through the blocking pool a batch's chunks often ran one after another on one thread
//! while a core sat idle: the pool had grown more threads than cores, and the kernel queued the
//! one it woke behind a busy one (on two cores, 15–25% of the async path's throughput). It also
//! leaves the embedding runtime's blocking pool to the embedder.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads running jobs in the order they come.
pub(crate) struct Workers {
    jobs: mpsc::Sender<Job>,
}

impl Workers {
    /// Starts `count` threads. They end when the `Workers` is dropped and their jobs are done.
    pub(crate) fn start(count: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..count.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new().name(format!("gavel-worker-{i}")).spawn(move || {
                loop {
                    // The lock is held only while waiting for the next job, not while running it.
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(job) = next else { return };
                    // A job reports a panic by dropping its result channel; the thread lives on.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                }
            })?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` on a worker thread; `None` when it panicked.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).expect("the worker threads live as long as the host");
        result.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_their_panics() {
        let workers = Workers::start(2).unwrap();
        assert_eq!(workers.run(|| 6 * 7).await, Some(42));
        assert_eq!(workers.run(|| -> u8 { panic!("a plugin call bug") }).await, None);
        for _ in 0..4 {
            let name = workers.run(|| std::thread::current().name().map(str::to_owned)).await;
            let name = name.flatten().unwrap_or_default();
            assert!(name.starts_with("gavel-worker-"), "{name}");
        }
    }
}
