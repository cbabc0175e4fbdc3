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

    /// Queues `work` for the next free worker thread; its result arrives on the receiver (an
    /// error when it panicked). Work whose receiver is gone before a thread takes it up is
    /// skipped: its caller went away.
    ///
    /// Queued, not handed over by the async runtime: a worker that finishes takes the next
    /// job at once, whether or not any thread is driving the runtime at that moment.
    pub(crate) fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> tokio::sync::oneshot::Receiver<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if !done.is_closed() {
                let _ = done.send(work());
            }
        });
        self.jobs.send(job).expect("the worker threads live as long as the host");
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_their_panics() {
        let workers = Workers::start(2).unwrap();
        assert_eq!(workers.submit(|| 6 * 7).await.ok(), Some(42));
        assert!(workers.submit(|| -> u8 { panic!("a plugin call bug") }).await.is_err());
        for _ in 0..4 {
            let name = workers.submit(|| std::thread::current().name().map(str::to_owned)).await;
            let name = name.ok().flatten().unwrap_or_default();
            assert!(name.starts_with("gavel-worker-"), "{name}");
        }
    }

    #[test]
    fn skips_jobs_whose_caller_went_away() {
        let workers = Workers::start(1).unwrap();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let running = workers.submit(move || hold.recv().is_ok());
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        drop(workers.submit(move || flag.store(true, std::sync::atomic::Ordering::SeqCst)));
        release.send(()).unwrap();
        assert_eq!(running.blocking_recv(), Ok(true));
        // The worker takes jobs in order: once this one ran, the dropped one was passed over.
        assert_eq!(workers.submit(|| 1).blocking_recv(), Ok(1));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }
}
