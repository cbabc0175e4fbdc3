//! Compiles guest crates of this workspace to `wasm32-wasip2` components from a build script.
//!
//! The pattern of wasmtime's test-programs artifacts: a host crate's `build.rs` runs a nested
//! `cargo build --target wasm32-wasip2` over the guest packages, in a target directory of its
//! own (so it never waits on the outer build's lock), and embeds or points at the results.
//! One `cargo build` at the root therefore builds the host and every guest.
//!
//! [`Guest::optimized`] then runs binaryen's `wasm-opt` over a component's core module
//! ([`optimize`], which `gavel plugin build` also runs on a plugin author's crate): LLVM
//! cannot inline across what Rust's standard library links in precompiled (the allocator's
//! entry points, an empty call on every allocation), and every call left in wasm pays its
//! callee's fuel and epoch checks.
#![deny(missing_docs)]

mod optimize;

pub use optimize::{optimize, wasm_opt};

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target guests are compiled for.
pub const TARGET: &str = "wasm32-wasip2";

/// A compiled guest component.
#[derive(Debug, Clone)]
pub struct Guest {
    /// The guest's package name, e.g. `gavel-plugin-format`.
    pub package: String,
    /// The component file.
    pub wasm: PathBuf,
}

/// Builds each guest package (by its directory) in release mode and returns the components.
///
/// Panics with an actionable message when the build fails: build scripts have no other way
/// to report errors.
pub fn build(guest_dirs: &[PathBuf]) -> Vec<Guest> {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    // OUT_DIR is <target>/<profile>/build/<crate>-<hash>/out: one guest target dir per outer
    // target dir and checkout, so the build scripts of a checkout share compiled guest deps,
    // while two checkouts building at once (each a different path) never overwrite each
    // other's components between building and embedding them.
    let checkout = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        workspace_root().hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    };
    let target_dir =
        out_dir.ancestors().nth(4).unwrap_or(&out_dir).join("wasm-guests").join(checkout);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut packages = Vec::new();
    for dir in guest_dirs {
        println!("cargo:rerun-if-changed={}", dir.display());
        packages.push(package_name(&dir.join("Cargo.toml")));
    }
    let root = workspace_root();
    let (sdk, wit) = (root.join("plugins/sdk"), root.join("wit"));
    println!("cargo:rerun-if-changed={}", sdk.display());
    println!("cargo:rerun-if-changed={}", wit.display());
    // The workspace manifest holds the guests' release profile and dependency versions, and
    // the cargo config their code-generation flags.
    println!("cargo:rerun-if-changed={}", root.join("Cargo.toml").display());
    println!("cargo:rerun-if-changed={}", root.join(".cargo/config.toml").display());

    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir)
        .arg("--manifest-path")
        .arg(guest_dirs[0].join("Cargo.toml"));
    for package in &packages {
        cmd.args(["-p", package]);
    }
    scrub_build_script_env(&mut cmd);
    let status = cmd.status().expect("failed to run cargo for the wasm guests");
    assert!(
        status.success(),
        "building the wasm guests {packages:?} failed; is the target installed? \
         (`rustup target add {TARGET}`)"
    );

    packages
        .into_iter()
        .map(|package| {
            let wasm = target_dir
                .join(TARGET)
                .join("release")
                .join(format!("{}.wasm", package.replace('-', "_")));
            assert!(wasm.exists(), "cargo built {package} but {} is missing", wasm.display());
            Guest { package, wasm }
        })
        .collect()
}

/// The directory of the crate whose build script is running, read at run time. Build-script
/// binaries are shared by every checkout that uses the same target directory (CI clones
/// elsewhere), so a path compiled in with `env!` could point at another, stale checkout.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo"),
    )
}

/// The workspace root: the nearest ancestor of [`manifest_dir`] holding `wit/`.
fn workspace_root() -> PathBuf {
    let dir = manifest_dir();
    dir.ancestors()
        .find(|d| d.join("wit").is_dir() && d.join("Cargo.toml").is_file())
        .unwrap_or_else(|| panic!("no workspace root with wit/ above {}", dir.display()))
        .to_owned()
}

/// The `[package] name` of a manifest, read without a TOML parser: the first `name = "…"`.
fn package_name(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    text.lines()
        .find_map(|line| {
            let rest = line.trim().strip_prefix("name")?.trim().strip_prefix('=')?;
            Some(rest.trim().trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| panic!("{} has no package name", manifest.display()))
}

/// Removes what cargo sets for the *outer* build script so the nested build is a plain one:
/// target-specific flags, wrappers (clippy's among them) and the outer crate's metadata.
fn scrub_build_script_env(cmd: &mut Command) {
    const KEEP: &[&str] = &["CARGO_HOME", "CARGO_MAKEFLAGS", "CARGO_NET_OFFLINE"];
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let outer = (key.starts_with("CARGO_") && !KEEP.contains(&key))
            || key.starts_with("RUSTC_")
            || matches!(
                key,
                "RUSTFLAGS"
                    | "RUSTDOCFLAGS"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "PROFILE"
                    | "NUM_JOBS"
            );
        if outer {
            cmd.env_remove(key);
        }
    }
}

/// All guest crate directories directly under `dir` (those with a `Cargo.toml`), sorted.
pub fn guest_dirs_in(dir: &Path) -> Vec<PathBuf> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    dirs
}
