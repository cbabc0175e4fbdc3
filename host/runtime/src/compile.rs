//! Compiling untrusted components within a time and a memory bound.
//!
//! Cranelift's work grows with the component, and a component is whatever a plugin author
//! handed over: an 18 MB componentize-py plugin takes seconds, a hostile one could take much
//! longer or much more memory. So compilation is bounded. Isolated (the CLI and the daemon):
//! in a child process of gavel's own binary, its address space capped with `RLIMIT_AS`, killed
//! at the deadline; its output is gavel's own precompiled code, read back through wasmtime's
//! checks. In process (a library embedding gavel with no binary to spawn): on a thread of its
//! own, abandoned at the deadline (the thread runs on, but the load fails at once), with no
//! memory bound. Either way a load never compiles on the serving path: plugins are loaded
//! when a policy is (at start-up or reload), never per request.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::LoadError;

/// How the host compiles a component it has not compiled before.
#[derive(Debug, Clone)]
pub struct CompileConfig {
    /// Longest one compilation may take. Default 120 s (an 18 MB componentize-py plugin
    /// takes about 8 s on one core).
    pub timeout: Duration,
    /// Most memory one compilation may use, in MiB; enforced when isolated. Default 4096.
    pub memory_mib: u64,
    /// Compile in a child process: `program` with `args`, a binary whose entry point calls
    /// [`run_compile_child`]. `None`: compile in this process (time bound only).
    pub isolate: Option<(PathBuf, Vec<OsString>)>,
}

impl Default for CompileConfig {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(120), memory_mib: 4096, isolate: None }
    }
}

/// Compiles `wasm` under `config`'s bounds.
pub(crate) fn compile(
    engine: &Engine,
    config: &CompileConfig,
    label: &str,
    wasm: &[u8],
) -> Result<Component, LoadError> {
    let started = Instant::now();
    let result = match &config.isolate {
        Some((program, args)) => isolated(engine, config, program, args, label, wasm),
        None => in_thread(engine, config, label, wasm),
    };
    tracing::debug!(
        plugin = label,
        elapsed_ms = started.elapsed().as_millis() as u64,
        ok = result.is_ok(),
        "compiled"
    );
    result
}

fn in_thread(
    engine: &Engine,
    config: &CompileConfig,
    label: &str,
    wasm: &[u8],
) -> Result<Component, LoadError> {
    let (send, receive) = std::sync::mpsc::sync_channel(1);
    let (engine, wasm_owned) = (engine.clone(), wasm.to_vec());
    std::thread::Builder::new()
        .name("gavel-compile".into())
        .spawn(move || {
            let _ = send.send(Component::new(&engine, &wasm_owned));
        })
        .map_err(|e| failed(label, format!("cannot start a compile thread: {e}")))?;
    match receive.recv_timeout(config.timeout) {
        Ok(Ok(component)) => Ok(component),
        Ok(Err(e)) => Err(failed(label, format!("{e:#}"))),
        Err(_) => Err(LoadError::CompileLimit {
            plugin: label.to_owned(),
            limit: took_longer(config.timeout),
        }),
    }
}

fn isolated(
    engine: &Engine,
    config: &CompileConfig,
    program: &PathBuf,
    args: &[OsString],
    label: &str,
    wasm: &[u8],
) -> Result<Component, LoadError> {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // The address-space cap counts reservations as well as use: keep glibc's per-thread malloc
    // arenas (64 MiB reserved each) and the compile threads few, so a many-core machine does
    // not spend the cap on reservations before compiling anything.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    command.env("MALLOC_ARENA_MAX", "2").env("RAYON_NUM_THREADS", threads.to_string());
    limit_memory(&mut command, config.memory_mib);
    let mut child = command.spawn().map_err(|e| {
        failed(label, format!("cannot start the compiler {}: {e}", program.display()))
    })?;
    let (mut stdin, mut stdout, mut stderr) = (
        child.stdin.take().expect("piped"),
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let deadline = Instant::now() + config.timeout;
    // Scoped threads feed the child and drain its pipes while this one watches the clock;
    // every way out of the loop leaves the child exited or killed, so the scope ends.
    let (status, output, errors) = std::thread::scope(|scope| {
        scope.spawn(move || stdin.write_all(wasm));
        let reader = scope.spawn(move || {
            let mut bytes = Vec::new();
            stdout.read_to_end(&mut bytes).map(|_| bytes)
        });
        let errors = scope.spawn(move || {
            let mut text = String::new();
            let _ = stderr.by_ref().take(64 << 10).read_to_string(&mut text);
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            text
        });
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(Some(status)),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                waited => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break waited.map(|_| None);
                }
            }
        };
        let output = reader.join().ok().and_then(Result::ok).unwrap_or_default();
        (status, output, errors.join().unwrap_or_default())
    });
    let status = status.map_err(|e| failed(label, format!("cannot wait for the compiler: {e}")))?;
    let Some(status) = status else {
        return Err(LoadError::CompileLimit {
            plugin: label.to_owned(),
            limit: took_longer(config.timeout),
        });
    };
    if !status.success() {
        let out_of_memory = errors.contains("memory allocation")
            || errors.contains("out of memory")
            || errors.contains("Cannot allocate memory");
        if out_of_memory {
            return Err(LoadError::CompileLimit {
                plugin: label.to_owned(),
                limit: format!("its compilation needed more than {} MiB", config.memory_mib),
            });
        }
        let message = errors.trim();
        let message = if message.is_empty() {
            format!("the compiler exited with {status}")
        } else {
            message.to_owned()
        };
        return Err(failed(label, message));
    }
    // SAFETY: the bytes are `Component::serialize` output of gavel's own binary (the program
    // the operator configured), produced just now from these wasm bytes; wasmtime checks the
    // header and the engine compatibility before using them.
    unsafe { Component::deserialize(engine, &output) }
        .map_err(|e| failed(label, format!("the compiler's output does not load: {e:#}")))
}

#[cfg(unix)]
fn limit_memory(command: &mut Command, memory_mib: u64) {
    use std::os::unix::process::CommandExt;
    let bytes = memory_mib.saturating_mul(1 << 20);
    // SAFETY: between fork and exec only `setrlimit`, which is async-signal-safe, runs.
    unsafe {
        command.pre_exec(move || {
            let limit =
                libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit_memory(_: &mut Command, _: u64) {}

fn took_longer(timeout: Duration) -> String {
    if timeout >= Duration::from_secs(1) {
        format!("its compilation took longer than {} s (the compile timeout)", timeout.as_secs())
    } else {
        format!("its compilation took longer than {} ms (the compile timeout)", timeout.as_millis())
    }
}

fn failed(label: &str, message: String) -> LoadError {
    LoadError::Compile { plugin: label.to_owned(), message }
}

/// The entry point of an isolated compilation: reads a component on stdin, writes its
/// precompiled form on stdout, exits 0; on failure writes why on stderr and exits 1. A binary
/// that names itself in [`CompileConfig::isolate`] calls this from a (hidden) subcommand.
pub fn run_compile_child() -> ExitCode {
    let mut wasm = Vec::new();
    let limit = crate::MAX_COMPONENT_BYTES + 1;
    if let Err(e) = std::io::stdin().lock().take(limit).read_to_end(&mut wasm) {
        eprintln!("cannot read the component: {e}");
        return ExitCode::FAILURE;
    }
    let result = crate::engine::compile_engine()
        .and_then(|engine| Component::new(&engine, &wasm)?.serialize());
    match result {
        Ok(bytes) => match std::io::stdout().lock().write_all(&bytes) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cannot write the compiled component: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
