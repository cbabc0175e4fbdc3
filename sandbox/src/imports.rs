//! The imports a plugin may have.

/// The WASI interfaces a Rust `wasm32-wasip2` guest's standard library imports, and all a
/// pure plugin gets. They are backed by a context with no environment variables, no
/// arguments, a closed stdin, stdout discarded and stderr captured (capped) for diagnostics.
///
/// `wasi:clocks`, `wasi:random`, `wasi:filesystem` and `wasi:sockets` come only with a
/// granted [`Capability`](crate::Capability), each virtual; anything else (`wasi:http`, …)
/// is never linked. A plugin importing what it was not granted is refused at load.
pub const STD_IMPORTS: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
];

/// Whether an import name such as `wasi:io/streams@0.2.6` is one of [`STD_IMPORTS`], in any
/// `0.2.x` version (the linker matches semver-compatible versions).
pub fn is_std_import(name: &str) -> bool {
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    STD_IMPORTS.contains(&interface) && (version.is_empty() || version.starts_with("0.2."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_imports_in_any_0_2_version() {
        assert!(is_std_import("wasi:io/streams@0.2.6"));
        assert!(is_std_import("wasi:cli/stderr@0.2.0"));
        assert!(!is_std_import("wasi:cli/stderr@0.3.0"));
        assert!(!is_std_import("wasi:filesystem/types@0.2.6"));
        assert!(!is_std_import("wasi:clocks/wall-clock@0.2.6"));
        assert!(!is_std_import("wasi:io/streamsx@0.2.6"));
    }
}
