//! gavel's shared data types: the [`Sample`] every entry point accepts and the [`Outcome`]
//! every scorer returns.
//!
//! These types are defined once, here, and converted at the edges (WIT, JSON lines, HTTP,
//! Python). An outcome is never a bare number: a failure is a typed [`Outcome::Timeout`] or
//! [`Outcome::Error`] that a trainer can mask, not a silent reward of 0.
#![deny(missing_docs)]

pub mod batch;
mod outcome;
mod record;
mod reference;
mod sample;

pub use outcome::{ErrorKind, Outcome, Score, Status, TimeoutKind};
pub use record::{Field, Record};
pub use reference::Reference;
pub use sample::{Sample, SampleError};
