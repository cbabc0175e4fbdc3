//! gavel's SWE test verifier: a model's patch is applied to a repository in a Docker container
//! and the repository's tests decide the reward, graded the way the SWE-bench harness grades.
//!
//! ```text
//! sample ─> Task (the reference) + patch::extract (the completion)
//!        ─> run: a started container (pool: created under ContainerLimits ahead of need)
//!               → upload script + patches → exec the script
//!               → stream output: markers + logs (per-test statuses), deadline, output cap
//!               → remove (always; the reaper catches what a killed process left)
//!        ─> grade (SWE-bench rules) ─> Outcome: resolved 0/1 with applied, f2p_passed,
//!           p2p_kept (and similarity); or timeout / error(engine | setup | output_limit)
//! ```
//!
//! Infrastructure failures are never a reward of 0: an unreachable engine, a missing image, a
//! killed script, a failing setup step are `error` outcomes a trainer masks.
#![deny(missing_docs)]

pub mod engine;
pub mod grade;
pub mod logs;
pub mod patch;
mod pool;
pub mod run;
pub mod script;
pub mod similarity;
pub mod task;
mod verifier;

pub use engine::{Engine, EngineError, LABEL};
pub use task::Task;
pub use verifier::{SweConfig, SweVerifier, register};
