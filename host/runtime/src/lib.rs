//! The sandboxed WebAssembly runtime that runs gavel reward plugins.
//!
//! This crate narrows wasmtime to what gavel needs: pure reward functions, compiled once,
//! instantiated fresh for every batch, each call bounded by fuel, a wall-clock deadline, a
//! memory cap and input/output caps, with nothing granted beyond what Rust's standard library
//! imports unless the operator grants a capability, and then a virtual, deterministic one
//! (a stopped clock, seeded randomness; see [`gavel_sandbox::Capability`]). Every failure a plugin can cause — a trap, a panic, a spin, a memory bomb, a NaN —
//! becomes a typed [`Outcome`](gavel_core::Outcome) for the samples it touched; the host and
//! the other samples carry on.
//!
//! ```no_run
//! # fn main() -> Result<(), gavel_host::HostError> {
//! use gavel_core::Sample;
//! use gavel_host::{Host, HostConfig, PluginSource};
//!
//! let host = Host::new(HostConfig::default())?;
//! let wasm = std::fs::read("format.wasm").expect("a plugin component");
//! let plugin = host.load(PluginSource::bytes("format", wasm), Default::default())?;
//! let samples = vec![Sample::new("a", "<think>…</think><answer>42</answer>")];
//! let outcomes = host.score_batch_blocking(&plugin, &samples, &serde_json::json!({}))?;
//! println!("{:?}", outcomes[0].reward());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod cache;
mod call;
mod compile;
mod engine;
mod error;
mod host;
mod info;
mod linker;
mod plugin;
mod shipped;
mod state;
mod versions;
mod vet;
mod virtual_wasi;
mod workers;

pub use compile::{CompileConfig, run_compile_child};
pub use error::{HostError, LoadError};
pub use host::{Host, HostConfig, LoadOptions};
pub use info::PluginInfo;
pub use plugin::{Plugin, PluginSource};
pub use shipped::{FILES_SECTION, MAX_SHIPPED_BYTES, ShippedFile, ship_files, shipped_files};
pub use vet::{MAX_COMPONENT_BYTES, sha256_hex};

/// The wasmtime version this host embeds (part of every precompiled-cache key).
pub const WASMTIME_VERSION: &str = "48.0.8";
