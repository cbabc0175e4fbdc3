//! `gavel plugin new | build | test`: writing a plugin of one's own, from an empty folder to a
//! component that scores.

mod build;
mod scaffold;
mod test;

use std::path::PathBuf;

use anyhow::Context;
use gavel_host::{LoadOptions, PluginSource};
use gavel_sandbox::{Capability, Grants};

use build::{build, ship_files};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a new plugin (code, test cases, README, the SDK and the WIT contract): a Rust
    /// crate, or with `--lang python` a Python plugin for componentize-py.
    New {
        /// The plugin's name (lowercase letters, digits, '-', '_').
        name: String,
        /// Where to write it (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The language to write it in.
        #[arg(long, value_enum, default_value_t = scaffold::Lang::Rust)]
        lang: scaffold::Lang,
    },
    /// Build a plugin into a component (a Rust crate with cargo, a Python plugin with
    /// componentize-py), check that gavel loads it, and print its path and sha256.
    Build {
        /// The plugin's folder: a crate (`Cargo.toml`) or a Python plugin (`app.py`).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Score test cases with a plugin and compare each outcome with the case's `expect`.
    Test {
        /// A `.wasm` component, a bundled plugin's name, or a crate folder (built first).
        plugin: String,
        /// JSON lines: samples, each with an `expect` object (`status`, `reward`, `components`).
        #[arg(long)]
        input: PathBuf,
        /// The plugin's config, as JSON.
        #[arg(long, default_value = "{}")]
        config: String,
        #[command(flatten)]
        grants: crate::plugins::GrantArgs,
    },
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::New { name, dir, lang } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            scaffold::write(&dir, &name, lang)?;
            println!("wrote plugin {name} in {}", dir.display());
            let grant = match lang {
                scaffold::Lang::Rust => "",
                scaffold::Lang::Python => " --grant clock,random,files,sockets",
            };
            println!(
                "next: gavel plugin build {0} && gavel plugin test {0} --input {0}/tests/cases.jsonl{grant}",
                dir.display()
            );
            Ok(())
        }
        Command::Build { dir } => {
            let wasm = build(&dir)?;
            ship_files(&dir, &wasm)?;
            let host = crate::plugins::new_host()?;
            // The author's check: everything granted, so what it requests can be reported.
            let options =
                LoadOptions { grants: Grants::of(Capability::ALL), ..LoadOptions::default() };
            let spinner = crate::plugins::spinner("compiling and checking the component");
            let plugin = host.load_with(PluginSource::file(&wasm), &options).with_context(|| {
                format!("{} was built but gavel does not load it", wasm.display())
            });
            spinner.finish_and_clear();
            let plugin = plugin?;
            let info = plugin.info();
            let bytes = std::fs::read(&wasm)?;
            println!("{}", wasm.display());
            eprintln!("plugin {} {}: {}", info.name, info.version, info.description);
            if !info.capabilities.is_empty() {
                let list = info.capabilities.join(",");
                eprintln!(
                    "it requests capabilities {list}: an operator grants them with \
                     `grant = {:?}` in the policy's source (or --grant {list})",
                    info.capabilities
                );
            }
            eprintln!("pin it in a policy: sha256 = \"{}\"", gavel_host::sha256_hex(&bytes));
            Ok(())
        }
        Command::Test { plugin, input, config, grants } => {
            test::test(&plugin, &input, &config, &grants.grants())
        }
    }
}
