//! The plugin `gavel plugin new` writes, in Rust (a crate) or Python (for componentize-py): a
//! plugin, its test cases, a README, and beside them the SDK and the WIT contract this gavel
//! was built with, so it builds offline from any registry and against exactly the contract its
//! host speaks.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The SDK's sources and the contract, as this binary was built with them.
const SDK_FILES: [(&str, &str); 5] = [
    ("gavel/sdk/src/lib.rs", include_str!("../../../../plugins/sdk/src/lib.rs")),
    ("gavel/sdk/src/alloc.rs", include_str!("../../../../plugins/sdk/src/alloc.rs")),
    ("gavel/sdk/src/memcmp.rs", include_str!("../../../../plugins/sdk/src/memcmp.rs")),
    ("gavel/sdk/src/outcome.rs", include_str!("../../../../plugins/sdk/src/outcome.rs")),
    ("gavel/sdk/src/sample.rs", include_str!("../../../../plugins/sdk/src/sample.rs")),
];
pub const WIT: (&str, &str) =
    ("wit/since_v0_2_0/reward.wit", include_str!("../../../../wit/since_v0_2_0/reward.wit"));

/// gavel's Python SDK, as this binary was built with it.
pub const PY_SDK: (&str, &str) =
    ("gavel_plugin.py", include_str!("../../../../plugins/sdk/python/gavel_plugin.py"));

/// The languages `gavel plugin new` writes plugins in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A Rust crate built for wasm32-wasip2 with gavel's SDK.
    Rust,
    /// A Python module built with componentize-py, with gavel's Python SDK.
    Python,
}

/// A plugin name: lowercase ASCII letters, digits, `-` and `_`, starting with a letter.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        bail!(
            "{name:?} is not a plugin name: use lowercase letters, digits, '-' and '_', starting with a letter (at most 64)"
        );
    }
    Ok(())
}

/// Writes plugin `name` in `lang` into `dir` (which must not exist yet).
pub fn write(dir: &Path, name: &str, lang: Lang) -> anyhow::Result<Vec<PathBuf>> {
    check_name(name)?;
    if dir.exists() {
        bail!("{} already exists: choose another name or --dir", dir.display());
    }
    let files: Vec<(&str, String)> = match lang {
        Lang::Rust => [
            ("Cargo.toml", cargo_toml(name)),
            ("src/lib.rs", lib_rs(name)),
            ("tests/cases.jsonl", CASES.to_owned()),
            ("README.md", readme(name)),
            (".gitignore", "/target\n".to_owned()),
            (".cargo/config.toml", CARGO_CONFIG.to_owned()),
            ("gavel/sdk/Cargo.toml", SDK_CARGO_TOML.to_owned()),
            (WIT.0, WIT.1.to_owned()),
        ]
        .into_iter()
        .chain(SDK_FILES.iter().map(|(path, text)| (*path, (*text).to_owned())))
        .collect(),
        Lang::Python => vec![
            ("app.py", app_py(name)),
            ("tests/cases.jsonl", CASES.to_owned()),
            ("README.md", readme_py(name)),
            (".gitignore", "/build\n__pycache__/\n".to_owned()),
            ("wit/reward.wit", WIT.1.to_owned()),
            (PY_SDK.0, PY_SDK.1.to_owned()),
        ],
    };
    let mut written = Vec::new();
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn cargo_toml(name: &str) -> String {
    format!(
        r#"# A gavel reward plugin. Build it with `gavel plugin build` (or `cargo build --release
# --target wasm32-wasip2`), test it with `gavel plugin test . --input tests/cases.jsonl`.
[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
description = "Rewards completions that contain the reference answer."
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
# The SDK and the WIT contract of the gavel that made this crate (gavel/sdk, wit/).
gavel-plugin = {{ path = "gavel/sdk" }}
serde = {{ version = "1", features = ["derive"] }}

# A crate of its own, even when made inside another workspace.
[workspace]
"#
    )
}

/// How the plugin is built: with wasm SIMD, which every gavel engine runs deterministically
/// (the bundled `math` plugin: 23% fewer instructions), and linked with a heap to start from,
/// so that a batch seldom grows its memory (a grown memory costs the host an mprotect and a
/// TLB shootdown on the slot's next instance).
const CARGO_CONFIG: &str = r#"# A plugin uses wasm SIMD, which every gavel host runs (deterministically): byte scans and
# vectorised loops go 16 bytes at a time. It starts with 1 MiB of heap: one whose memory grows
# during a batch makes the host take the grown pages back before the next instance.
[target.wasm32-wasip2]
rustflags = ["-C", "target-feature=+simd128", "-C", "link-arg=--initial-heap=1048576"]
"#;

const SDK_CARGO_TOML: &str = r#"# gavel's plugin SDK, copied here by `gavel plugin new` from the gavel that made this crate.
[package]
name = "gavel-plugin"
version = "0.1.0"
edition = "2024"
description = "The SDK for writing gavel reward plugins: one plain Rust function and one macro line."
license = "Apache-2.0"
publish = false

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = { version = "1", features = ["raw_value"] }
wit-bindgen = { version = "0.61", default-features = false, features = ["macros", "realloc"] }
"#;

fn lib_rs(name: &str) -> String {
    format!(
        r#"//! The `{name}` gavel plugin: rewards 1 when the completion contains `reference.answer`.
//!
//! Build: `gavel plugin build` (the component lands in `target/wasm32-wasip2/release/`).
//! Test:  `gavel plugin test . --input tests/cases.jsonl`, and `cargo test` for the unit tests.

use gavel_plugin::{{Outcome, Sample, Score}};

/// The plugin's options (the `config` a policy or `--config` passes). `deny_unknown_fields`
/// turns a misspelt option into an `invalid` outcome instead of a silent default.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {{
    /// Compare case-sensitively.
    pub case_sensitive: bool,
}}

/// 1 when the completion contains `reference.answer`, 0 when not; not applicable when the
/// sample has no answer to look for: never a 0 for a sample the plugin cannot judge.
pub fn reward(sample: &Sample, config: &Config) -> Outcome {{
    let Some(answer) = sample.reference_str("answer") else {{
        return Outcome::not_applicable("no reference.answer");
    }};
    let found = if config.case_sensitive {{
        sample.completion.contains(&answer)
    }} else {{
        sample.completion.to_lowercase().contains(&answer.to_lowercase())
    }};
    let value = f64::from(u8::from(found));
    Score::new(value).with("found", value).into()
}}

gavel_plugin::export!(reward, name = "{name}");

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn finds_the_answer_whatever_its_case() {{
        let sample = Sample::new("It is PARIS.", gavel_plugin::serde_json::json!({{"answer": "Paris"}}));
        assert_eq!(reward(&sample, &Config::default()), Score::new(1.0).with("found", 1.0).into());
    }}
}}
"#
    )
}

const CASES: &str = r#"{"id": "found", "completion": "The capital of France is Paris.", "reference": {"answer": "Paris"}, "expect": {"status": "ok", "reward": 1.0}}
{"id": "case", "completion": "PARIS, of course.", "reference": {"answer": "Paris"}, "expect": {"status": "ok", "reward": 1.0}}
{"id": "missing", "completion": "Lyon.", "reference": {"answer": "Paris"}, "expect": {"status": "ok", "reward": 0.0}}
{"id": "no-answer", "completion": "Paris.", "expect": {"status": "not_applicable"}}
"#;

fn readme(name: &str) -> String {
    format!(
        r#"# {name}

A gavel reward plugin: a WebAssembly component against the `gavel:reward` contract (`wit/`),
written in Rust with gavel's SDK (`gavel/sdk`, copied here by `gavel plugin new`).

```sh
rustup target add wasm32-wasip2                          # once
gavel plugin build                                       # -> target/wasm32-wasip2/release/*.wasm
gavel plugin test . --input tests/cases.jsonl            # every case's expected outcome
cargo test                                               # the unit tests, natively
gavel score --plugin target/wasm32-wasip2/release/{lib}.wasm --input samples.jsonl
```

A case in `tests/cases.jsonl` is a sample (`id`, `completion`, `reference`, ...) with an
`expect` object: `status` (`ok`, `not_applicable`, `invalid`, `timeout`, `error`), and for `ok`
the `reward` and any `components`.

The plugin runs with no filesystem, network, clock or randomness, under fuel, a deadline and a
memory cap. A panic is an `error` outcome, never a reward of 0.
"#,
        lib = name.replace('-', "_")
    )
}

fn app_py(name: &str) -> String {
    format!(
        r#""""The `{name}` gavel plugin: rewards 1 when the completion contains `reference.answer`.

Build: `gavel plugin build` (componentize-py; the component lands in `build/`).
Test:  `gavel plugin test . --input tests/cases.jsonl --grant clock,random,files,sockets`.
"""

import gavel_plugin


def reward(sample, config):
    """1 when the completion contains the answer, 0 when not; not applicable when the sample
    has no answer to look for: never a 0 for a sample the plugin cannot judge."""
    answer = sample.reference.get("answer") if isinstance(sample.reference, dict) else None
    if not isinstance(answer, str):
        return gavel_plugin.not_applicable("no reference.answer")
    case_sensitive = config.get("case_sensitive", False)
    found = answer in sample.completion if case_sensitive else \
        answer.lower() in sample.completion.lower()
    value = 1.0 if found else 0.0
    return gavel_plugin.score(value, {{"found": value}})


def check_config(config):
    """A misspelt option is an error naming it, not a silent default."""
    unknown = sorted(set(config) - {{"case_sensitive"}})
    if unknown:
        return f"unknown config field {{unknown[0]!r}} (fields: case_sensitive)"
    if not isinstance(config.get("case_sensitive", False), bool):
        return "case_sensitive must be true or false"
    return None


Plugin = gavel_plugin.plugin(
    reward,
    name="{name}",
    version="0.1.0",
    description="Rewards completions that contain the reference answer.",
    check_config=check_config,
)
"#
    )
}

fn readme_py(name: &str) -> String {
    format!(
        r#"# {name}

A gavel reward plugin in Python: `app.py`, built into a WebAssembly component against the
`gavel:reward` contract (`wit/`) by componentize-py, with gavel's Python SDK
(`gavel_plugin.py`, copied here by `gavel plugin new`).

```sh
pip install componentize-py                              # once
gavel plugin build                                       # -> build/{name}.wasm
gavel plugin test . --input tests/cases.jsonl --grant clock,random,files,sockets
gavel score --plugin build/{name}.wasm --grant clock,random,files,sockets --input samples.jsonl
```

A case in `tests/cases.jsonl` is a sample (`id`, `completion`, `reference`, ...) with an
`expect` object: `status` (`ok`, `not_applicable`, `invalid`, `timeout`, `error`), and for `ok`
the `reward` and any `components`.

componentize-py's interpreter imports the clocks, randomness, the filesystem and sockets, so
the plugin requests those four capabilities and loads only where they are granted. Each is
virtual: the clock is stopped at 2000-01-01, randomness comes from the operator's seed, there
are only the files the plugin ships (its `files/` folder, read at `/`) and every socket call is
refused. So the same input gives the same reward on any machine. An exception in `reward` is an `error` outcome, never a reward of 0.
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copied_sdk_is_every_source_file_of_the_sdk() {
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/sdk/src");
        let mut on_disk: Vec<String> = std::fs::read_dir(sdk)
            .unwrap()
            .map(|entry| format!("gavel/sdk/src/{}", entry.unwrap().file_name().to_string_lossy()))
            .collect();
        on_disk.sort();
        let mut copied: Vec<String> =
            SDK_FILES.iter().map(|(path, _)| (*path).to_owned()).collect();
        copied.sort();
        assert_eq!(copied, on_disk, "SDK_FILES must list every file of plugins/sdk/src");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("keyword-bonus").is_ok());
        for bad in ["", "Upper", "9lives", "has space", "dot.ted", &"x".repeat(65)] {
            assert!(check_name(bad).unwrap_err().to_string().contains("not a plugin name"));
        }
    }

    #[test]
    fn cases_are_samples_with_an_expectation() {
        for line in CASES.lines() {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(v.as_object_mut().unwrap().remove("expect").is_some());
            gavel_core::Sample::from_json_line(&v.to_string()).unwrap();
        }
    }
}
