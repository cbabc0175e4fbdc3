//! `wasm-opt -O3` over the core module of a component: for the bundled plugins (from their
//! build script) and for `gavel plugin build`.
//!
//! A `wasm32-wasip2` component holds the program's core module beside two tiny ones of
//! `wit-component`'s (indirect-call shims). The program's module, the largest, is optimised
//! alone and put back in its place; its imports and exports keep their names and types, so
//! the component around it still fits. Binaryen keeps a module's behaviour, traps included
//! (it is not told that traps never happen), and `-g` keeps the function names that trap
//! backtraces show. A function with one caller is inlined only up to 100 instructions
//! (binaryen's default is any size): inlined into a recursive function, a large one grows
//! every frame of the recursion, and plugins have a fixed stack.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Guest;

/// The component binary's section id of a core module.
const CORE_MODULE: u8 = 1;

impl Guest {
    /// This guest with its core module optimised by `wasm-opt -O3` (see [`wasm_opt`]), written
    /// to the build script's `OUT_DIR`. Without `wasm-opt` the guest is returned as built,
    /// with a cargo warning saying so: it behaves the same and only runs slower. A `wasm-opt`
    /// that fails is a panic.
    pub fn optimized(self) -> Guest {
        println!("cargo:rerun-if-env-changed=WASM_OPT");
        let Some(tool) = wasm_opt() else {
            println!(
                "cargo:warning={} is built without wasm-opt, which was not found \
                 (`apt-get install binaryen`); it runs correctly, only slower",
                self.package
            );
            return self;
        };
        let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
        let wasm = out_dir.join(format!("{}.wasm", self.package));
        optimize(&tool, &self.wasm, &wasm)
            .unwrap_or_else(|why| panic!("optimising {}: {why}", self.wasm.display()));
        Guest { wasm, ..self }
    }
}

/// binaryen's `wasm-opt`: the `WASM_OPT` variable, else `wasm-opt` on the `PATH`; `None`
/// when it does not run.
pub fn wasm_opt() -> Option<PathBuf> {
    let tool =
        std::env::var_os("WASM_OPT").map_or_else(|| PathBuf::from("wasm-opt"), PathBuf::from);
    let runs = Command::new(&tool).arg("--version").output().is_ok_and(|o| o.status.success());
    runs.then_some(tool)
}

/// Writes `component` to `out` with its largest core module run through `tool -O3` (the
/// scratch files go beside `out`). The same input and `wasm-opt` give the same bytes.
pub fn optimize(tool: &Path, component: &Path, out: &Path) -> Result<(), String> {
    let bytes = std::fs::read(component).map_err(|e| format!("cannot read it: {e}"))?;
    let sections = sections(&bytes)?;
    let (largest, core) = sections
        .iter()
        .enumerate()
        .filter(|(_, (id, _))| *id == CORE_MODULE)
        .max_by_key(|(_, (_, contents))| contents.len())
        .ok_or("it holds no core module")?;
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("guest");
    let scratch = out.parent().unwrap_or(Path::new("."));
    let (before, after) =
        (scratch.join(format!("{stem}.core.wasm")), scratch.join(format!("{stem}.core.opt.wasm")));
    std::fs::write(&before, core.1)
        .map_err(|e| format!("cannot write {}: {e}", before.display()))?;
    let status = Command::new(tool)
        .args(["-O3", "-g", "-ocimfs", "100"])
        .arg(&before)
        .arg("-o")
        .arg(&after)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", tool.display()));
    let optimised = match status {
        Ok(status) if status.success() => {
            std::fs::read(&after).map_err(|e| format!("cannot read {}: {e}", after.display()))
        }
        Ok(status) => Err(format!("{} -O3 failed ({status})", tool.display())),
        Err(e) => Err(e),
    };
    for scratch in [&before, &after] {
        let _ = std::fs::remove_file(scratch);
    }
    let optimised = optimised?;
    let mut component = bytes[..8].to_vec();
    for (i, (id, contents)) in sections.iter().enumerate() {
        let contents = if i == largest { &optimised[..] } else { contents };
        component.push(*id);
        leb128(&mut component, contents.len());
        component.extend_from_slice(contents);
    }
    std::fs::write(out, component).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// The top-level sections of a component binary: (id, contents), after the 8-byte preamble.
fn sections(bytes: &[u8]) -> Result<Vec<(u8, &[u8])>, String> {
    // Magic, then version 0x0d and layer 1: a component, not a core module.
    if bytes.len() < 8 || bytes[..4] != *b"\0asm" || bytes[6..8] != [1, 0] {
        return Err("it is not a wasm component".into());
    }
    let mut at = 8;
    let mut out = Vec::new();
    while at < bytes.len() {
        let id = bytes[at];
        let (len, start) = read_leb128(bytes, at + 1).ok_or("a section's size is cut off")?;
        let contents = bytes.get(start..start + len).ok_or("a section runs past the end")?;
        out.push((id, contents));
        at = start + len;
    }
    Ok(out)
}

/// An unsigned LEB128 at `at`: its value and where what follows starts.
fn read_leb128(bytes: &[u8], mut at: usize) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(at)?;
        at += 1;
        value |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
    }
    None
}

fn leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trips() {
        for value in [0, 1, 127, 128, 300, 16_383, 16_384, 830_272, u32::MAX as usize] {
            let mut bytes = Vec::new();
            leb128(&mut bytes, value);
            assert_eq!(read_leb128(&bytes, 0), Some((value, bytes.len())), "{value}");
        }
        assert_eq!(read_leb128(&[0x80, 0x80], 0), None);
    }

    #[test]
    fn sections_of_a_component() {
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        component.extend([CORE_MODULE, 3, 1, 2, 3, 0, 0]);
        assert_eq!(sections(&component), Ok(vec![(CORE_MODULE, &[1, 2, 3][..]), (0, &[][..])]));
        assert!(sections(b"\0asm\x01\0\0\0").is_err(), "a core module is not a component");
        component.push(5);
        assert!(sections(&component).is_err(), "a cut-off section");
    }
}
