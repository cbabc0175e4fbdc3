//! The linker and the import check. The linker holds all of WASI 0.2 (wasmtime-wasi's sync
//! bindings), backed by the virtual, deny-by-default context of [`HostState`]; what a plugin
//! may import is decided per plugin, before linking, by [`check_imports`] (on the bytes before
//! compiling, see `vet::top_level`, and again on the compiled type): the interfaces of
//! Rust's std ([`gavel_sandbox::STD_IMPORTS`]) for every plugin, and the interfaces of each
//! capability the operator granted it. Anything else is refused with the import named.

use gavel_sandbox::{Capability, Grants};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::LoadError;
use crate::state::HostState;

/// A linker with every WASI 0.2 interface wasmtime-wasi implements (no `wasi:http`).
pub(crate) fn new_linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    Ok(linker)
}

/// The component's imports, by name.
pub(crate) fn imports(engine: &Engine, component: &Component) -> Vec<String> {
    component.component_type().imports(engine).map(|(name, _)| name.to_owned()).collect()
}

/// Refuses any import outside what every plugin gets and what `grants` adds. `gavel:reward/*`
/// imports carry only the contract's types and are always allowed.
pub(crate) fn check_imports(
    plugin: &str,
    imports: &[String],
    grants: &Grants,
) -> Result<(), LoadError> {
    let forbidden: Vec<String> = imports
        .iter()
        .filter(|name| {
            !name.starts_with("gavel:reward/")
                && !gavel_sandbox::is_std_import(name)
                && !Capability::for_import(name).is_some_and(|c| grants.allows(c))
        })
        .cloned()
        .collect();
    if forbidden.is_empty() {
        return Ok(());
    }
    Err(LoadError::ForbiddenImport { plugin: plugin.to_owned(), imports: forbidden })
}

/// Refuses a plugin that imports an interface of a capability it did not request in its
/// `plugin-info`: what it declares must be what it uses, so a reviewer can trust the
/// declaration.
pub(crate) fn check_declared(
    plugin: &str,
    imports: &[String],
    requested: &[Capability],
) -> Result<(), LoadError> {
    for import in imports {
        if let Some(capability) = Capability::for_import(import)
            && !requested.contains(&capability)
        {
            return Err(LoadError::UndeclaredCapability {
                plugin: plugin.to_owned(),
                import: import.clone(),
                capability,
            });
        }
    }
    Ok(())
}
