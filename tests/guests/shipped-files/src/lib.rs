//! Reads the files it ships (`data/words.txt`, added to the component by the test): the reward
//! is its number of lines; components say whether writing was refused, whether the host's
//! `/etc/passwd` is out of sight, and the file's modification time. Requests `files` (and
//! `clock`, which std's file metadata imports).

use gavel_plugin::{NoConfig, Outcome, Sample, Score};

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    let lines = std::fs::read_to_string("data/words.txt").map(|s| s.lines().count()).unwrap_or(0);
    let write_refused = std::fs::write("data/new.txt", "x").is_err()
        && std::fs::OpenOptions::new().append(true).open("data/words.txt").is_err();
    let host_hidden = std::fs::read("/etc/passwd").is_err();
    let mtime = std::fs::metadata("/data/words.txt")
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(-1.0, |d| d.as_secs_f64());
    Score::new(lines as f64)
        .with("write_refused", f64::from(u8::from(write_refused)))
        .with("host_hidden", f64::from(u8::from(host_hidden)))
        .with("mtime", mtime)
        .into()
}

gavel_plugin::export!(reward, name = "shipped-files", capabilities = &["files", "clock"]);
