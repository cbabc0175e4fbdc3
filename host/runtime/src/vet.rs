//! The checks a component passes to be loaded, apart from its imports (`linker.rs`): before
//! compiling, that it is small enough, has the pinned hash and is a component at all; after
//! `describe`, that it speaks the pinned contract and asks for no capability it was not
//! granted or does not declare. Each refusal is a [`LoadError`] that says exactly why.

use std::borrow::Cow;

use gavel_sandbox::{Capability, Grants};
use sha2::{Digest, Sha256};

use crate::info::PluginInfo;
use crate::shipped::FILES_SECTION;
use crate::{LoadError, PluginSource, cache, linker};

/// The largest component the host loads (64 MiB): a bigger file is refused before it is read,
/// so a stray blob costs neither memory nor compile time.
pub const MAX_COMPONENT_BYTES: u64 = 64 << 20;

/// The sha256 of `bytes` in lowercase hex: what an operator pins a plugin to.
pub fn sha256_hex(bytes: &[u8]) -> String {
    cache::hex(&Sha256::digest(bytes))
}

/// The component's bytes, refusing one over [`MAX_COMPONENT_BYTES`] (a file from its size,
/// before reading it).
pub(crate) fn read(source: PluginSource, label: &str) -> Result<Cow<'static, [u8]>, LoadError> {
    let too_large =
        |bytes| LoadError::TooLarge { plugin: label.to_owned(), bytes, limit: MAX_COMPONENT_BYTES };
    let wasm = match source {
        PluginSource::Bytes { wasm, .. } => wasm,
        PluginSource::File(path) => {
            let size = std::fs::metadata(&path)
                .map_err(|error| LoadError::Read { path: path.clone(), error })?
                .len();
            if size > MAX_COMPONENT_BYTES {
                return Err(too_large(size));
            }
            std::fs::read(&path).map_err(|error| LoadError::Read { path, error })?.into()
        }
    };
    if wasm.len() as u64 > MAX_COMPONENT_BYTES {
        return Err(too_large(wasm.len() as u64));
    }
    Ok(wasm)
}

/// What a component's bytes hold at their top level, read in one pass without compiling it:
/// an untrusted component asking for too much is refused before it costs a compilation.
pub(crate) struct TopLevel<'a> {
    /// Its imports, by name; `None` when the bytes do not parse (compilation then says why).
    pub(crate) imports: Option<Vec<String>>,
    /// The payloads of its `gavel:files` sections, as far as the bytes parse.
    pub(crate) files: Vec<&'a [u8]>,
}

/// Reads [`TopLevel`] from `wasm`, skipping over nested modules and components.
pub(crate) fn top_level(wasm: &[u8]) -> TopLevel<'_> {
    use wasmparser::{Parser, Payload};
    let (mut imports, mut files, mut depth) = (Some(Vec::new()), Vec::new(), 0usize);
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else {
            imports = None;
            break;
        };
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 0 => {
                let names = section.into_iter().map(|i| i.map(|i| i.name.name.to_owned()));
                match (imports.as_mut(), names.collect::<Result<Vec<_>, _>>()) {
                    (Some(all), Ok(names)) => all.extend(names),
                    _ => imports = None,
                }
            }
            Payload::CustomSection(section) if depth == 0 && section.name() == FILES_SECTION => {
                files.push(section.data());
            }
            _ => {}
        }
    }
    TopLevel { imports, files }
}

/// Refuses bytes whose sha256 is not `pin` (hex, any case), and a pin that is not a sha256.
pub(crate) fn check_pin(label: &str, wasm: &[u8], pin: &str) -> Result<(), LoadError> {
    let pin = pin.trim().to_ascii_lowercase();
    if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LoadError::BadPin { plugin: label.to_owned(), pin });
    }
    let found = sha256_hex(wasm);
    if found != pin {
        return Err(LoadError::PinMismatch { plugin: label.to_owned(), expected: pin, found });
    }
    Ok(())
}

/// Refuses core modules and non-wasm bytes with a message saying what they are.
pub(crate) fn check_header(label: &str, wasm: &[u8]) -> Result<(), LoadError> {
    let not = |reason: &str| {
        Err(LoadError::NotAComponent { plugin: label.to_owned(), reason: reason.to_owned() })
    };
    match wasm.get(..8) {
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => Ok(()),
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => not(
            "it is a core wasm module; build the plugin for the wasm32-wasip2 target to get a component",
        ),
        _ if wasm.starts_with(b"\0asm") => not("unknown wasm version or layer"),
        _ => not("the bytes do not start with the wasm magic number"),
    }
}

/// What the plugin says about itself against what the operator allows: the pinned contract
/// version, capabilities requested but not granted, and imports of capabilities it does not
/// declare.
pub(crate) fn check_info(
    info: &PluginInfo,
    imports: &[String],
    grants: &Grants,
    contract: Option<&str>,
) -> Result<(), LoadError> {
    if let Some(expected) = contract.map(str::trim)
        && expected != info.api_version
    {
        return Err(LoadError::ContractMismatch {
            plugin: info.name.clone(),
            expected: expected.to_owned(),
            found: info.api_version.clone(),
        });
    }
    if let Some(unknown) = info.capabilities.iter().find(|n| n.parse::<Capability>().is_err()) {
        return Err(LoadError::UnknownCapability {
            plugin: info.name.clone(),
            name: unknown.clone(),
        });
    }
    let not_granted: Vec<String> = info
        .capabilities
        .iter()
        .filter(|name| !name.parse().is_ok_and(|c| grants.allows(c)))
        .cloned()
        .collect();
    if !not_granted.is_empty() {
        return Err(LoadError::CapabilityNotGranted {
            plugin: info.name.clone(),
            requested: not_granted,
            granted: grants.capabilities.iter().copied().collect(),
        });
    }
    let requested: Vec<Capability> =
        info.capabilities.iter().filter_map(|name| name.parse().ok()).collect();
    linker::check_declared(&info.name, imports, &requested)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(capabilities: &[&str]) -> PluginInfo {
        PluginInfo {
            name: "p".into(),
            version: "1.0.0".into(),
            description: String::new(),
            config_schema: "{}".into(),
            reference_schema: "{}".into(),
            api_version: "0.2.0".into(),
            capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn what_a_plugin_asks_for_is_held_to_its_grants_and_declaration() {
        let clock = Grants::of([Capability::Clock]);
        let wall = ["wasi:clocks/wall-clock@0.2.6".to_owned()];
        assert!(check_info(&info(&["clock"]), &wall, &clock, Some("0.2.0")).is_ok());
        let err = check_info(&info(&["network"]), &[], &clock, None).unwrap_err();
        assert!(matches!(err, LoadError::UnknownCapability { .. }), "{err}");
        assert!(err.to_string().contains("clock, random, files, sockets"), "{err}");
        let err = check_info(&info(&["clock", "random"]), &[], &clock, None).unwrap_err();
        assert!(err.to_string().contains("requests `random`"), "{err}");
        let err = check_info(&info(&[]), &wall, &clock, None).unwrap_err();
        assert!(matches!(err, LoadError::UndeclaredCapability { .. }), "{err}");
        let err = check_info(&info(&["clock"]), &wall, &clock, Some("0.1.0")).unwrap_err();
        assert!(matches!(err, LoadError::ContractMismatch { .. }), "{err}");
    }

    #[test]
    fn headers_say_what_the_bytes_are() {
        assert!(check_header("c", b"\0asm\x0d\0\x01\0rest").is_ok());
        let reason = |bytes: &[u8]| match check_header("p", bytes) {
            Err(LoadError::NotAComponent { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert!(reason(b"\0asm\x01\0\0\0").contains("core wasm module"));
        assert!(reason(b"\0asm\x0d\0\x02\0").contains("unknown wasm version"));
        assert!(reason(b"ELF").contains("magic number"));
    }
}
