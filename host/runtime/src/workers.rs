//! The host's worker threads: `workers` of them, started with the host, each running plugin
//! calls one after another.
//!
//! Dedicated threads rather than tokio's blocking pool: the same few threads stay on their
//! cores. Through the blocking pool a batch's chunks often ran one after another on one thread
//! while a core sat idle: the pool had grown more threads than cores, and the kernel queued the
//! one it woke behind a busy one (on two cores, 15–25% of the async path's throughput). It also
//! leaves the embedding runtime's blocking pool to the embedder.
//!
//! A thread that waits for results may run queued jobs itself ([`Workers::help`]): an embedder
//! whose calling thread has work of its own between calls (the Python package) starts one
//! worker fewer than cores and lends that thread while it waits, so that its own work and the
//! plugin calls share the cores without one more thread than cores competing for them.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads running jobs in the order they come.
pub(crate) struct Workers {
    queue: Arc<Queue>,
}

/// The jobs no thread has taken up yet: a deque under a lock, which the threads lock only to
/// take a job (a helping caller must be able to take one while the threads wait).
#[derive(Default)]
struct Queue {
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    closed: bool,
}

impl Queue {
    /// The state, locked. A job never runs under the lock, so a poisoned one is still whole.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job` and wakes one waiting thread.
    fn push(&self, job: Job) {
        self.lock().jobs.push_back(job);
        self.ready.notify_one();
    }

    /// Lets the threads end once the queue is empty.
    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// The next job, waiting for one; `None` once the queue is closed and empty.
    fn next(&self) -> Option<Job> {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The next job, if one is waiting.
    fn try_next(&self) -> Option<Job> {
        self.lock().jobs.pop_front()
    }
}

/// Runs a job; a job reports a panic by dropping its result channel, and the thread lives on.
fn run(job: Job) {
    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
}

impl Workers {
    /// Starts `count` threads. They end when the `Workers` is dropped and their jobs are done.
    pub(crate) fn start(count: usize) -> std::io::Result<Self> {
        let queue = Arc::new(Queue::default());
        for i in 0..count.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new().name(format!("gavel-worker-{i}")).spawn(move || {
                while let Some(job) = queue.next() {
                    run(job);
                }
            })?;
        }
        Ok(Self { queue })
    }

    /// Runs the next queued job on the calling thread, if there is one; whether there was.
    /// Its panic is caught as on a worker thread.
    pub(crate) fn help(&self) -> bool {
        match self.queue.try_next() {
            Some(job) => {
                run(job);
                true
            }
            None => false,
        }
    }

    /// Queues `work` for the next free worker thread (or a caller helping while it waits); its
    /// result arrives on the receiver (an error when it panicked). Work whose receiver is gone
    /// before a thread takes it up is skipped: its caller went away.
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
        self.queue.push(job);
        result
    }
}

impl Drop for Workers {
    /// The threads finish the queued jobs, then end.
    fn drop(&mut self) {
        self.queue.close();
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
    fn a_helping_caller_runs_a_queued_job_on_its_own_thread() {
        let workers = Workers::start(1).unwrap();
        assert!(!workers.help(), "nothing is queued");
        // Hold the one worker so that the next job stays queued for the caller.
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let busy = workers.submit(move || {
            started.send(()).unwrap();
            hold.recv().is_ok()
        });
        running.recv().unwrap();
        let here = std::thread::current().id();
        let ran_on = workers.submit(move || std::thread::current().id() == here);
        let panics = workers.submit(|| -> u8 { panic!("a plugin call bug") });
        assert!(workers.help() && workers.help() && !workers.help());
        assert_eq!(ran_on.blocking_recv(), Ok(true));
        assert!(panics.blocking_recv().is_err(), "the panic drops the result channel");
        release.send(()).unwrap();
        assert_eq!(busy.blocking_recv(), Ok(true));
    }

    #[test]
    fn dropping_the_workers_finishes_the_queued_jobs() {
        let workers = Workers::start(1).unwrap();
        let results: Vec<_> = (0..8).map(|i| workers.submit(move || i * 2)).collect();
        drop(workers);
        for (i, result) in results.into_iter().enumerate() {
            assert_eq!(result.blocking_recv(), Ok(i * 2));
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
