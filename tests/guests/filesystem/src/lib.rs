//! Tries to read `/etc/passwd` and to list `/` and `.`, which imports `wasi:filesystem`;
//! requests `files` (and `clock`, which std's file metadata imports). The reward is the
//! number of bytes and entries it saw.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    let leaked = std::fs::read_to_string("/etc/passwd").map(|s| s.len()).unwrap_or(0);
    let listed: usize =
        ["/", "."].iter().map(|dir| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)).sum();
    ((leaked + listed) as f64).into()
}

gavel_plugin::export!(reward, name = "filesystem", capabilities = &["files", "clock"]);
