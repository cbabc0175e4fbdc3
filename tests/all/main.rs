//! gavel's integration tests: one binary, one module per capability.

mod adversarial;
mod bundled;
mod cache;
mod capabilities;
mod contract;
mod imports;
mod math;
mod policy;
mod prm;
mod scheduling;
mod swe;
mod toolcall;
