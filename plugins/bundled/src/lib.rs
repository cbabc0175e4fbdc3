//! The reward plugins bundled into the `gavel` binary, as component bytes.
//!
//! Built by this crate's build script from `plugins/<name>` with the `gavel-plugin` SDK, so
//! one `cargo build` at the root yields a CLI that needs no separate plugin files.
#![deny(missing_docs)]

/// A plugin component embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// The short name users pass to `--plugin`.
    pub name: &'static str,
    /// The component's bytes (a `wasm32-wasip2` component).
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The bundled plugin with this short name.
pub fn find(name: &str) -> Option<&'static Bundled> {
    PLUGINS.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_bundled_plugin_is_a_component() {
        assert!(!super::PLUGINS.is_empty());
        for plugin in super::PLUGINS {
            // The component-model preamble: magic, then version 0x0d with layer 1.
            assert_eq!(&plugin.wasm[..8], b"\0asm\x0d\0\x01\0", "{}", plugin.name);
        }
    }
}
