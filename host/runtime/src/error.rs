//! The host's errors. Per-sample failures are outcomes, not errors: these are the failures of
//! whole operations (a plugin that cannot be loaded, a host with no capacity left).

use std::path::PathBuf;

use gavel_sandbox::Capability;

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The plugin file could not be read.
    #[error("cannot read plugin {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error (in the message, not a separate source: printed once).
        error: std::io::Error,
    },
    /// The component is larger than a plugin may be; it was neither read whole nor compiled.
    #[error("plugin {plugin} is {bytes} bytes, more than the {limit} bytes a plugin may be")]
    TooLarge {
        /// The plugin's name.
        plugin: String,
        /// Its size.
        bytes: u64,
        /// The largest size the host loads.
        limit: u64,
    },
    /// The operator pinned the plugin to a hash and its bytes have another one.
    #[error(
        "plugin {plugin} has sha256 {found}, but it is pinned to {expected}: \
         these are not the bytes that were reviewed"
    )]
    PinMismatch {
        /// The plugin's name.
        plugin: String,
        /// The pinned hash.
        expected: String,
        /// The hash of the bytes found.
        found: String,
    },
    /// A pin that is not a sha256 in hex.
    #[error("plugin {plugin}: the pin {pin:?} is not a sha256 (64 hex digits)")]
    BadPin {
        /// The plugin's name.
        plugin: String,
        /// The pin as given.
        pin: String,
    },
    /// The bytes are not a WebAssembly component (a core module, or not wasm at all).
    #[error("plugin {plugin} is not a WebAssembly component: {reason}")]
    NotAComponent {
        /// The plugin's name.
        plugin: String,
        /// What was found instead.
        reason: String,
    },
    /// wasmtime refused to compile the component.
    #[error("plugin {plugin} does not compile: {message}")]
    Compile {
        /// The plugin's name.
        plugin: String,
        /// wasmtime's message.
        message: String,
    },
    /// Compiling the component went past a bound (time or memory): it is refused, and
    /// whatever was under way stopped.
    #[error("plugin {plugin} is refused: {limit}")]
    CompileLimit {
        /// The plugin's name.
        plugin: String,
        /// Which bound, and its value.
        limit: String,
    },
    /// The component imports something this plugin was not granted.
    #[error(
        "plugin {plugin} imports {}, which it was not granted ({})",
        quoted(.imports),
        grant_hint(.imports)
    )]
    ForbiddenImport {
        /// The plugin's name.
        plugin: String,
        /// Every import outside the grant, such as `wasi:filesystem/types@0.2.6`.
        imports: Vec<String>,
    },
    /// The component does not export any supported version of `gavel:reward/plugin`.
    #[error(
        "plugin {plugin} exports no supported version of gavel:reward/plugin \
         (this host supports {supported}; the component exports {found})"
    )]
    UnsupportedVersion {
        /// The plugin's name.
        plugin: String,
        /// The versions this host supports.
        supported: String,
        /// What the component exports.
        found: String,
    },
    /// The files the component ships (its `gavel:files` section) are malformed or cannot be
    /// written out.
    #[error("plugin {plugin} ships files gavel cannot use: {message}")]
    ShippedFiles {
        /// The plugin's name.
        plugin: String,
        /// What is wrong.
        message: String,
    },
    /// The operator pinned a contract version and the plugin speaks another.
    #[error(
        "plugin {plugin} speaks gavel:reward {found}, but the operator pinned contract {expected}"
    )]
    ContractMismatch {
        /// The plugin's name.
        plugin: String,
        /// The pinned version.
        expected: String,
        /// The version the plugin exports.
        found: String,
    },
    /// The component exports the interface but with the wrong shape, or fails to instantiate.
    #[error("plugin {plugin} cannot be linked: {message}")]
    Link {
        /// The plugin's name.
        plugin: String,
        /// wasmtime's message.
        message: String,
    },
    /// The plugin requests capabilities the operator did not grant it.
    #[error(
        "plugin {plugin} requests {}, which the operator did not grant it (granted: {}); \
         grant them in the plugin's config to load it",
        quoted(.requested),
        granted_list(.granted)
    )]
    CapabilityNotGranted {
        /// The plugin's name.
        plugin: String,
        /// What it asked for beyond the grant.
        requested: Vec<String>,
        /// What was granted.
        granted: Vec<Capability>,
    },
    /// The plugin requests a capability gavel does not have.
    #[error(
        "plugin {plugin} requests the capability {name:?}, which gavel does not have \
         (capabilities: clock, random, files, sockets)"
    )]
    UnknownCapability {
        /// The plugin's name.
        plugin: String,
        /// The name it requested.
        name: String,
    },
    /// The plugin imports an interface of a capability it does not request in its
    /// `plugin-info`: its declaration does not match what it uses.
    #[error(
        "plugin {plugin} imports `{import}` but does not request the `{capability}` capability \
         in its plugin-info; a plugin must declare every capability it uses"
    )]
    UndeclaredCapability {
        /// The plugin's name.
        plugin: String,
        /// The import.
        import: String,
        /// The capability the import belongs to.
        capability: Capability,
    },
    /// `describe` failed.
    #[error("plugin {plugin} failed to describe itself: {message}")]
    Describe {
        /// The plugin's name.
        plugin: String,
        /// What went wrong.
        message: String,
    },
    /// The plugin's limits are not enforceable.
    #[error("plugin {plugin}: {error}")]
    Limits {
        /// The plugin's name.
        plugin: String,
        /// The invalid limit.
        error: gavel_sandbox::LimitError,
    },
}

/// Errors of the host as a whole.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The wasmtime engine could not be created.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
    /// The precompiled-component cache directory is unusable.
    #[error("cache directory {path}: {error}")]
    Cache {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A plugin could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Too many calls are already waiting; the call was refused rather than queued.
    #[error("host overloaded: {pending} calls in flight (limit {limit}); retry later")]
    Overloaded {
        /// Calls in flight when this one arrived.
        pending: usize,
        /// The admission limit.
        limit: usize,
    },
    /// The plugin rejected its config.
    #[error("plugin {plugin} rejected its config: {message}")]
    Config {
        /// The plugin's name.
        plugin: String,
        /// The plugin's message.
        message: String,
    },
    /// The config is not a JSON object or null.
    #[error("plugin config must be a JSON object, got {0}")]
    ConfigShape(String),
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// What would allow `imports`: the capabilities to grant, or that they are never linked.
fn grant_hint(imports: &[String]) -> String {
    let mut needed: Vec<Capability> =
        imports.iter().filter_map(|i| Capability::for_import(i)).collect();
    needed.sort();
    needed.dedup();
    let never = imports.iter().any(|i| Capability::for_import(i).is_none());
    match (needed.is_empty(), never) {
        (true, _) => "gavel never links these; plugins get wasi:io, wasi:cli and the \
                      capabilities granted to them"
            .into(),
        (false, false) => format!("they need {}", capability_list(&needed)),
        (false, true) => {
            format!("some need {}; the others gavel never links", capability_list(&needed))
        }
    }
}

fn capability_list(capabilities: &[Capability]) -> String {
    let noun = if capabilities.len() == 1 { "capability" } else { "capabilities" };
    format!("the {noun} {}", granted_list(capabilities))
}

fn granted_list(capabilities: &[Capability]) -> String {
    if capabilities.is_empty() {
        return "none".into();
    }
    capabilities.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
}
