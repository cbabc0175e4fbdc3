//! What a plugin's `Store` holds: a deny-by-default, virtual WASI context, the memory
//! limiter, and a capped buffer for the plugin's stdout and stderr.

use std::sync::{Arc, Mutex};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Store data of one plugin call.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) output: CappedOutput,
}

impl HostState {
    /// No environment, no arguments, no preopened directories, every socket address refused,
    /// stdin closed; stdout and stderr go to one capped buffer; clocks and randomness are
    /// virtual (the randomness from `seed`). Which of these a plugin may import at all is
    /// decided at load, by its grants; the context is the same for all, so an interface shows
    /// nothing of the host even when granted.
    /// `files`: a directory of files the plugin shipped, preopened read-only at `/`.
    pub(crate) fn new(
        memory_bytes: usize,
        output_bytes: usize,
        seed: u64,
        files: Option<&std::path::Path>,
    ) -> Self {
        use crate::virtual_wasi::{FixedWallClock, SeededRandom, SteppingClock, insecure_seed};
        let output = CappedOutput::new(output_bytes);
        let mut builder = WasiCtx::builder();
        if let Some(dir) = files
            && let Err(e) = builder.preopened_dir(dir, "/", wasmtime_wasi::FsPerms::ReadOnly)
        {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot open the shipped files");
        }
        let wasi = builder
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .wall_clock(FixedWallClock)
            .monotonic_clock(SteppingClock::default())
            .secure_random(SeededRandom::new(seed, 1))
            .insecure_random(SeededRandom::new(seed, 2))
            .insecure_random_seed(insecure_seed(seed))
            .stdout(output.clone())
            .stderr(output.clone())
            .build();
        Self { wasi, table: ResourceTable::new(), limiter: Limiter::new(memory_bytes), output }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The error a refused memory growth raises, so the call is classified as a memory-limit
/// failure (a plain `StoreLimits` refusal is not a `Trap` and would be indistinguishable).
#[derive(Debug, thiserror::Error)]
#[error("memory limit: the plugin tried to grow its memory to {desired} bytes (cap {cap})")]
pub(crate) struct MemoryLimitHit {
    pub(crate) desired: usize,
    pub(crate) cap: usize,
}

/// Caps each linear memory and the number of instances, tables and table elements.
pub(crate) struct Limiter {
    memory_bytes: usize,
}

impl Limiter {
    /// Table elements per table; a Rust guest uses a few hundred.
    const TABLE_ELEMENTS: usize = 100_000;

    fn new(memory_bytes: usize) -> Self {
        Self { memory_bytes }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(MemoryLimitHit { desired, cap: self.memory_bytes }.into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= Self::TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
    }
}

/// A stdout/stderr sink that keeps the first `cap` bytes and silently drops the rest, so a
/// chatty plugin neither grows host memory nor fails its writes.
#[derive(Clone)]
pub(crate) struct CappedOutput {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    cap: usize,
    dropped: usize,
}

impl CappedOutput {
    fn new(cap: usize) -> Self {
        Self { inner: Arc::new(Mutex::new(Captured { cap, ..Captured::default() })) }
    }

    fn push(&self, bytes: &[u8]) {
        let mut captured = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = captured.cap.saturating_sub(captured.bytes.len());
        let kept = bytes.len().min(room);
        captured.bytes.extend_from_slice(&bytes[..kept]);
        captured.dropped += bytes.len() - kept;
    }

    /// What the plugin wrote, lossily decoded, with a note when some was dropped.
    pub(crate) fn text(&self) -> String {
        let captured = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = String::from_utf8_lossy(&captured.bytes).trim_end().to_owned();
        if captured.dropped > 0 {
            text.push_str(&format!(" […{} more bytes dropped]", captured.dropped));
        }
        text
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_head_and_counts_the_rest() {
        let out = CappedOutput::new(4);
        out.push(b"hello");
        out.push(b"!!");
        assert_eq!(out.text(), "hell […3 more bytes dropped]");
    }
}
