//! The on-disk cache of precompiled components.
//!
//! Compiling a component with Cranelift takes tens of milliseconds; deserialising the
//! precompiled form takes a fraction of one. Entries are keyed by the SHA-256 of the
//! component's bytes, the wasmtime version and the engine's compatibility hash (a `.cwasm`
//! built under another configuration is refused by wasmtime anyway), and hold only bytes this
//! host produced: plugin authors hand over `.wasm`, never `.cwasm`, because wasmtime cannot
//! fully validate precompiled code. Each entry carries the SHA-256 of its own contents,
//! checked before loading, so a truncated or corrupted file is recompiled, not trusted.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// A cache directory bound to one engine configuration.
#[derive(Debug)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine_key: String,
}

impl ComponentCache {
    pub(crate) fn new(engine: &Engine, dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("wasmtime{}-{:016x}", crate::WASMTIME_VERSION, hasher.finish());
        Ok(Self { dir, engine_key })
    }

    fn entry(&self, wasm: &[u8]) -> PathBuf {
        self.dir.join(format!("{}-{}.cwasm", hex(&Sha256::digest(wasm)), self.engine_key))
    }

    /// The cached component for `wasm`, if there is a sound entry.
    pub(crate) fn get(&self, engine: &Engine, wasm: &[u8]) -> Option<Component> {
        let path = self.entry(wasm);
        let bytes = std::fs::read(&path).ok()?;
        let (digest, cwasm) = bytes.split_at_checked(32)?;
        if Sha256::digest(cwasm).as_slice() != digest {
            tracing::warn!(path = %path.display(), "corrupt cache entry; recompiling");
            return None;
        }
        // SAFETY: the entry was written by `put` below from `Component::serialize` under an
        // engine with the same compatibility hash (part of the file name), and its checksum
        // matches, so these are bytes this host produced and nobody truncated.
        match unsafe { Component::deserialize(engine, cwasm) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unusable cache entry; recompiling");
                None
            }
        }
    }

    /// Stores a compiled component. Failures only cost a recompilation later, so they are
    /// logged rather than returned.
    pub(crate) fn put(&self, wasm: &[u8], component: &Component) {
        let result = component.serialize().map_err(|e| e.to_string()).and_then(|cwasm| {
            let mut bytes = Sha256::digest(&cwasm).to_vec();
            bytes.extend_from_slice(&cwasm);
            write_atomically(&self.entry(wasm), &bytes).map_err(|e| e.to_string())
        });
        if let Err(error) = result {
            tracing::warn!(dir = %self.dir.display(), %error, "cannot write cache entry");
        }
    }
}

/// Writes through a temporary file in the same directory and renames it into place, so
/// readers never see a partial entry and concurrent writers never interleave.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".tmp-{}-{:?}", std::process::id(), std::thread::current().id()));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The default cache directory: `$GAVEL_CACHE_DIR`, else `$XDG_CACHE_HOME/gavel/components`,
/// else `$HOME/.cache/gavel/components`.
pub(crate) fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GAVEL_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("gavel").join("components"))
}
