//! `gavel plugin build`: a plugin's folder into a component, with its language's toolchain
//! (cargo for Rust, componentize-py for Python), and its `files/` shipped inside it.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use anyhow::{Context, bail};
use serde_json::Value;

use super::scaffold;

/// The target Rust plugins are compiled for.
const TARGET: &str = "wasm32-wasip2";

/// Builds the plugin in `dir` with its language's toolchain; the component's path.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.join("Cargo.toml").is_file() {
        build_rust(dir)
    } else if dir.join("app.py").is_file() {
        build_python(dir)
    } else {
        bail!(
            "{} holds no plugin: a Rust plugin has a Cargo.toml, a Python plugin an app.py",
            dir.display()
        )
    }
}

/// Puts the files under `dir/files/` (if any) into the component at `wasm`, where a plugin
/// granted `files` reads them at `/` (`files/words.txt` as `/words.txt`).
pub fn ship_files(dir: &Path, wasm: &Path) -> anyhow::Result<()> {
    let root = dir.join("files");
    if !root.is_dir() {
        return Ok(());
    }
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)
            .with_context(|| format!("cannot list {}", folder.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                let name = path.strip_prefix(&root).expect("under root");
                let name = name
                    .to_str()
                    .with_context(|| format!("{} is not a UTF-8 path", path.display()))?;
                let data = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                files.push((name.replace(std::path::MAIN_SEPARATOR, "/"), data));
            }
        }
    }
    files.sort();
    let bytes = std::fs::read(wasm)?;
    let shipped = gavel_host::ship_files(&bytes, &files)
        .map_err(|e| anyhow::anyhow!("cannot ship {}: {e}", root.display()))?;
    std::fs::write(wasm, shipped)?;
    let total: usize = files.iter().map(|(_, d)| d.len()).sum();
    eprintln!(
        "shipped {} files ({total} bytes) from {} (read at / with `files`)",
        files.len(),
        root.display()
    );
    Ok(())
}

/// Whether `dir` is a plugin's source folder (rather than a component or a bundled name).
pub fn is_plugin_dir(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() || dir.join("app.py").is_file()
}

/// `cargo build --release --target wasm32-wasip2` in `dir`; the component's path.
fn build_rust(dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!("{} has no Cargo.toml: give the plugin crate's folder", dir.display());
    }
    if let Ok(out) = Process::new("rustup").args(["target", "list", "--installed"]).output()
        && out.status.success()
        && !String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == TARGET)
    {
        bail!("the Rust target {TARGET} is not installed: run `rustup target add {TARGET}`");
    }
    let mut child = Process::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot run cargo (is Rust installed?)")?;
    let mut wasm = None;
    let stdout = child.stdout.take().expect("piped");
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(&line?) else { continue };
        if message["reason"] == "compiler-artifact"
            && let Some(files) = message["filenames"].as_array()
        {
            for file in files.iter().filter_map(Value::as_str) {
                if file.ends_with(".wasm") {
                    wasm = Some(PathBuf::from(file));
                }
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("cargo build failed ({status}): see the messages above");
    }
    let wasm = wasm.with_context(|| {
        format!("cargo built no .wasm in {}: is it a cdylib crate?", dir.display())
    })?;
    finish(&wasm)
}

/// The component gavel makes of cargo's artifact: `gavel/<name>.wasm` beside it, through
/// `wasm-opt` when binaryen is installed (as the bundled plugins are), a copy otherwise.
/// cargo's artifact is left as cargo wrote it, so building again gives the same bytes.
fn finish(artifact: &Path) -> anyhow::Result<PathBuf> {
    let name = artifact.file_name().context("cargo's artifact has no file name")?;
    let folder = artifact.with_file_name("gavel");
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let out = folder.join(name);
    match gavel_guest_build::wasm_opt() {
        Some(tool) => {
            let spinner = crate::plugins::spinner("optimising with wasm-opt -O3");
            let done = gavel_guest_build::optimize(&tool, artifact, &out);
            spinner.finish_and_clear();
            done.map_err(|why| anyhow::anyhow!("optimising {}: {why}", artifact.display()))?;
            eprintln!("optimised with {}", tool.display());
        }
        None => {
            std::fs::copy(artifact, &out).with_context(|| {
                format!("cannot copy {} to {}", artifact.display(), out.display())
            })?;
            eprintln!(
                "note: wasm-opt (binaryen) was not found, so the component is not optimised: it \
                 scores the same, only slower (`apt-get install binaryen`, or set WASM_OPT)"
            );
        }
    }
    Ok(out)
}

/// `componentize-py` on the Python plugin in `dir` (its `app.py`): `dir/build/<folder
/// name>.wasm`. The contract is the plugin's `wit/` when it has one (`gavel plugin new`
/// copies it), else the one this gavel speaks; the SDK likewise (`gavel_plugin.py`). The tool
/// is `$GAVEL_COMPONENTIZE_PY`, else `componentize-py` on the PATH.
fn build_python(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = dir.canonicalize().with_context(|| format!("cannot resolve {}", dir.display()))?;
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("plugin").to_owned();
    let out = dir.join("build");
    let sdk = out.join("sdk");
    std::fs::create_dir_all(&sdk).with_context(|| format!("cannot create {}", sdk.display()))?;
    std::fs::write(sdk.join(scaffold::PY_SDK.0), scaffold::PY_SDK.1)?;
    let wit = if dir.join("wit").is_dir() {
        dir.join("wit")
    } else {
        let wit = out.join("wit");
        std::fs::create_dir_all(&wit)?;
        std::fs::write(wit.join("reward.wit"), scaffold::WIT.1)?;
        wit
    };
    let wasm = out.join(format!("{name}.wasm"));
    let tool =
        std::env::var_os("GAVEL_COMPONENTIZE_PY").unwrap_or_else(|| "componentize-py".into());
    let status = Process::new(&tool)
        .arg("-d")
        .arg(&wit)
        .args(["-w", "reward-plugin", "componentize", "app", "-p", "."])
        .arg("-p")
        .arg(&sdk)
        .arg("-o")
        .arg(&wasm)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .with_context(|| {
            format!(
                "cannot run {}: install it with `pip install componentize-py` \
                 (or point GAVEL_COMPONENTIZE_PY at it)",
                tool.to_string_lossy()
            )
        })?;
    if !status.success() {
        bail!("componentize-py failed ({status}): see the messages above");
    }
    Ok(wasm)
}
