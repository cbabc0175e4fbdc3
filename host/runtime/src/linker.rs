//! The linker: the WASI interfaces of [`gavel_sandbox::STD_IMPORTS`], one line each, and
//! nothing else. A component importing anything more is refused before linking, with the
//! import named ([`check_imports`]).

use wasmtime::Engine;
use wasmtime::component::{Component, HasData, Linker, ResourceTable};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::WasiCli;
use wasmtime_wasi::p2::bindings::sync as wasi;

use crate::LoadError;
use crate::state::HostState;

struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// A linker with exactly the granted WASI interfaces.
pub(crate) fn new_linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    let l = &mut linker;
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<HostState, HasIo>(l, |s| {
        s.ctx().table
    })?;
    wasi::io::poll::add_to_linker::<HostState, HasIo>(l, |s| s.ctx().table)?;
    wasi::io::streams::add_to_linker::<HostState, HasIo>(l, |s| s.ctx().table)?;
    use wasmtime_wasi::p2::bindings::cli;
    cli::environment::add_to_linker::<HostState, WasiCli>(
        l,
        <HostState as wasmtime_wasi::cli::WasiCliView>::cli,
    )?;
    cli::exit::add_to_linker::<HostState, WasiCli>(
        l,
        <HostState as wasmtime_wasi::cli::WasiCliView>::cli,
    )?;
    cli::stdin::add_to_linker::<HostState, WasiCli>(
        l,
        <HostState as wasmtime_wasi::cli::WasiCliView>::cli,
    )?;
    cli::stdout::add_to_linker::<HostState, WasiCli>(
        l,
        <HostState as wasmtime_wasi::cli::WasiCliView>::cli,
    )?;
    cli::stderr::add_to_linker::<HostState, WasiCli>(
        l,
        <HostState as wasmtime_wasi::cli::WasiCliView>::cli,
    )?;
    cli::terminal_input::add_to_linker::<HostState, WasiCli>(
        l,
        <HostState as wasmtime_wasi::cli::WasiCliView>::cli,
    )?;
    cli::terminal_output::add_to_linker::<HostState, WasiCli>(
        l,
        <HostState as wasmtime_wasi::cli::WasiCliView>::cli,
    )?;
    cli::terminal_stdin::add_to_linker::<HostState, WasiCli>(
        l,
        <HostState as wasmtime_wasi::cli::WasiCliView>::cli,
    )?;
    cli::terminal_stdout::add_to_linker::<HostState, WasiCli>(
        l,
        <HostState as wasmtime_wasi::cli::WasiCliView>::cli,
    )?;
    cli::terminal_stderr::add_to_linker::<HostState, WasiCli>(
        l,
        <HostState as wasmtime_wasi::cli::WasiCliView>::cli,
    )?;
    Ok(linker)
}

/// The imports a component's bytes declare at its top level, read without compiling it, so an
/// untrusted component asking for too much is refused before it costs a compilation. `None`
/// when the bytes do not parse (compilation then reports why).
pub(crate) fn declared_imports(wasm: &[u8]) -> Option<Vec<String>> {
    use wasmparser::{Parser, Payload};
    let (mut names, mut depth) = (Vec::new(), 0usize);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    names.push(import.ok()?.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    Some(names)
}

/// The component's imports, by name.
pub(crate) fn imports(engine: &Engine, component: &Component) -> Vec<String> {
    component.component_type().imports(engine).map(|(name, _)| name.to_owned()).collect()
}

/// Refuses any import outside the sandbox's grant. `gavel:reward/*` imports carry only the
/// contract's types and are always allowed.
pub(crate) fn check_imports(plugin: &str, imports: &[String]) -> Result<(), LoadError> {
    let forbidden: Vec<String> = imports
        .iter()
        .filter(|name| !name.starts_with("gavel:reward/") && !gavel_sandbox::is_std_import(name))
        .cloned()
        .collect();
    if forbidden.is_empty() {
        return Ok(());
    }
    Err(LoadError::ForbiddenImport { plugin: plugin.to_owned(), imports: forbidden })
}
