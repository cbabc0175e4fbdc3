//! Compiles every guest under `guests/` to a component (see `gavel-guest-build`) and records
//! their paths for the tests.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let here = gavel_guest_build::manifest_dir();
    let mut dirs = gavel_guest_build::guest_dirs_in(&here.join("guests"));
    // The plugin template is built and tested like a third party's plugin.
    dirs.push(here.join("../plugins/template"));
    let guests = gavel_guest_build::build(&dirs);
    let mut code = String::from(
        "/// Every test guest: (short name, component path).\npub const GUESTS: &[(&str, &str)] = &[\n",
    );
    for (dir, guest) in dirs.iter().zip(&guests) {
        let name = dir.file_name().unwrap().to_str().unwrap();
        writeln!(code, "    ({name:?}, {:?}),", guest.wasm.display()).unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var_os("OUT_DIR").unwrap()).join("guests.rs");
    std::fs::write(out, code).unwrap();
}
