//! gavel's sandbox policy, as data: the limits every plugin call runs under, the imports a
//! plugin may have, the capabilities an operator may grant it, and the limits of the
//! containers a native verifier runs tests in.
//!
//! This crate holds no mechanism. The host runtime enforces what is written here; keeping the
//! policy apart makes it reviewable, serialisable (a limits file, an HTTP request) and
//! validated in one place with errors that name the field at fault.
#![deny(missing_docs)]

mod capabilities;
mod container;
mod imports;
mod limits;

pub use capabilities::{Capability, Grants, UnknownCapability, VIRTUAL_WALL_CLOCK_SECS};
pub use container::ContainerLimits;
pub use imports::{STD_IMPORTS, is_std_import};
pub use limits::{LimitError, WasmLimits};
