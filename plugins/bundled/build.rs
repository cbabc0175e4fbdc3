//! Compiles the bundled plugins to components and embeds them (see `gavel-guest-build`).

use std::fmt::Write;
use std::path::Path;

const BUNDLED: &[&str] = &["format", "exact", "math", "toolcall"];

fn main() {
    let plugins = gavel_guest_build::manifest_dir().join("..");
    let dirs: Vec<_> = BUNDLED.iter().map(|name| plugins.join(name)).collect();
    // The bundled plugins run in every trainer's reward loop: they get wasm-opt as well.
    let guests: Vec<_> =
        gavel_guest_build::build(&dirs).into_iter().map(|guest| guest.optimized()).collect();
    let mut code = String::from(
        "/// The bundled plugins, by short name.\npub static PLUGINS: &[Bundled] = &[\n",
    );
    for (name, guest) in BUNDLED.iter().zip(&guests) {
        writeln!(
            code,
            "    Bundled {{ name: {name:?}, wasm: include_bytes!({:?}) }},",
            guest.wasm.display()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var_os("OUT_DIR").unwrap()).join("bundled.rs");
    std::fs::write(out, code).unwrap();
}
