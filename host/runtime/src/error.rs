//! The host's errors. Per-sample failures are outcomes, not errors: these are the failures of
//! whole operations (a plugin that cannot be loaded, a host with no capacity left).

use std::path::PathBuf;

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
    /// The component imports something the sandbox does not grant.
    #[error(
        "plugin {plugin} imports {}, which the sandbox does not grant \
         (plugins may import only the WASI interfaces Rust's std needs: wasi:io and wasi:cli)",
        quoted(.imports)
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
    /// The component exports the interface but with the wrong shape, or fails to instantiate.
    #[error("plugin {plugin} cannot be linked: {message}")]
    Link {
        /// The plugin's name.
        plugin: String,
        /// wasmtime's message.
        message: String,
    },
    /// The plugin requests capabilities the host does not grant.
    #[error(
        "plugin {plugin} requests {}, which this host does not grant \
         (plugins get pure computation only: no clock, randomness, files or network)",
        quoted(.requested)
    )]
    CapabilityNotGranted {
        /// The plugin's name.
        plugin: String,
        /// What it asked for.
        requested: Vec<String>,
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
