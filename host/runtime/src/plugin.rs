//! A loaded plugin: compiled, import-checked, linked against its contract version and
//! described, ready to be instantiated afresh for every call.

use std::borrow::Cow;
use std::path::PathBuf;

use gavel_sandbox::{Grants, WasmLimits};

use crate::info::PluginInfo;
use crate::shipped::ShippedDir;
use crate::versions::PluginPre;

/// Where a plugin's component comes from.
#[derive(Debug, Clone)]
pub enum PluginSource {
    /// Component bytes in memory (a bundled plugin, an upload), with a name for messages.
    Bytes {
        /// A name for messages, such as `format`.
        name: String,
        /// The component.
        wasm: Cow<'static, [u8]>,
    },
    /// A `.wasm` component file.
    File(PathBuf),
}

impl PluginSource {
    /// Component bytes with a name for messages.
    pub fn bytes(name: impl Into<String>, wasm: impl Into<Cow<'static, [u8]>>) -> Self {
        Self::Bytes { name: name.into(), wasm: wasm.into() }
    }

    /// A component file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::File(path.into())
    }

    /// The name used in messages before the plugin has described itself.
    pub fn label(&self) -> String {
        match self {
            Self::Bytes { name, .. } => name.clone(),
            Self::File(path) => path.display().to_string(),
        }
    }
}

/// A loaded plugin. Cheap to share (`Arc<Plugin>`); every call instantiates it afresh, so no
/// state passes from one call to the next.
pub struct Plugin {
    pub(crate) info: PluginInfo,
    pub(crate) pre: PluginPre,
    pub(crate) limits: WasmLimits,
    pub(crate) grants: Grants,
    pub(crate) shipped: Option<ShippedDir>,
    pub(crate) imports: Vec<String>,
    pub(crate) digest: String,
    /// Whether the host has already warned that its batches go past one sample's budget.
    pub(crate) warned_heavy: std::sync::atomic::AtomicBool,
}

impl Plugin {
    /// What the plugin says about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The limits its calls run under.
    pub fn limits(&self) -> &WasmLimits {
        &self.limits
    }

    /// What the operator granted it.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// Where the files it ships are written out, when it ships any and was granted `files`.
    pub(crate) fn files(&self) -> Option<&std::path::Path> {
        self.shipped.as_ref().map(ShippedDir::path)
    }

    /// The component's imports.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// SHA-256 of the component's bytes, hex: pin this to know exactly which plugin scored.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("info", &self.info)
            .field("limits", &self.limits)
            .field("grants", &self.grants)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}
