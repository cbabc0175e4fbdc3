//! The model's patch: found in a completion, and read as a set of per-file diffs.

/// The unified diff in a completion: the body of the last `<patch>…</patch>`, else of the last
/// fenced block that holds a diff (```` ```diff ````, ```` ```patch ````, or any fence whose
/// body has diff headers), else the whole completion when it is itself a diff. `None` when
/// there is no diff at all.
pub fn extract(completion: &str) -> Option<String> {
    if let Some(start) = completion.rfind("<patch>") {
        let body = &completion[start + "<patch>".len()..];
        let body = body.split_once("</patch>").map_or(body, |(b, _)| b);
        let body = unfence(body).unwrap_or(body);
        return looks_like_diff(body).then(|| normalise(body));
    }
    if let Some(body) = fenced_blocks(completion).into_iter().rev().find(|b| looks_like_diff(b)) {
        return Some(normalise(body));
    }
    looks_like_diff(completion).then(|| normalise(completion))
}

/// Whether `text` has the headers of a unified diff.
fn looks_like_diff(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("diff --git "))
        || (text.lines().any(|l| l.starts_with("--- "))
            && text.lines().any(|l| l.starts_with("+++ ")))
}

/// The bodies of ```` ``` ```` fenced blocks, in order.
fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let Some(newline) = after.find('\n') else { break };
        let body = &after[newline + 1..];
        let Some(close) = find_fence_close(body) else { break };
        blocks.push(&body[..close]);
        rest = &body[close + 3..];
    }
    blocks
}

/// A closing fence: ```` ``` ```` at the start of a line.
fn find_fence_close(body: &str) -> Option<usize> {
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            return Some(offset + (line.len() - line.trim_start().len()));
        }
        offset += line.len();
    }
    None
}

fn unfence(body: &str) -> Option<&str> {
    fenced_blocks(body).into_iter().next()
}

/// Trims blank lines around the diff and ends it with a newline, as `git apply` wants.
fn normalise(body: &str) -> String {
    let body = body.trim_matches('\n');
    let start = body.lines().position(|l| !l.trim().is_empty()).unwrap_or(0);
    let mut out: String = body.lines().skip(start).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}

/// One file's part of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The path, without the `a/`/`b/` prefix (the new path; the old one for a deletion).
    pub path: String,
    /// The hunks (everything after the `+++` header).
    pub hunks: String,
}

/// Splits a diff by file. Hunk bodies are consumed by their `@@` line counts, so a removed
/// line that reads `-- x` is never taken for a file header.
pub fn files(diff: &str) -> Vec<FileDiff> {
    let lines: Vec<&str> = diff.split_inclusive('\n').collect();
    let mut out: Vec<FileDiff> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let next = lines.get(i + 1).copied().unwrap_or("");
        if let (Some(old), Some(new)) = (line.strip_prefix("--- "), next.strip_prefix("+++ ")) {
            let (old, new) = (strip_prefix_dir(old), strip_prefix_dir(new));
            let path = if new == "/dev/null" { old } else { new };
            out.push(FileDiff { path, hunks: String::new() });
            i += 2;
            continue;
        }
        if let (Some(file), Some((mut old, mut new))) = (out.last_mut(), hunk_counts(line)) {
            file.hunks.push_str(line);
            i += 1;
            while i < lines.len() && (old > 0 || new > 0) {
                let body = lines[i];
                match body.as_bytes().first() {
                    Some(b'-') => old = old.saturating_sub(1),
                    Some(b'+') => new = new.saturating_sub(1),
                    Some(b'\\') => {}
                    _ => {
                        old = old.saturating_sub(1);
                        new = new.saturating_sub(1);
                    }
                }
                file.hunks.push_str(body);
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    out
}

/// The old and new line counts of a `@@ -a,b +c,d @@` header (a missing count is 1).
fn hunk_counts(line: &str) -> Option<(usize, usize)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let count = |r: &str| r.split_once(',').map_or(Some(1), |(_, n)| n.parse().ok());
    Some((count(old)?, count(new)?))
}

fn strip_prefix_dir(path: &str) -> String {
    let path = path.trim_end_matches(['\n', '\r']);
    let path = path.split('\t').next().unwrap_or(path).trim();
    if path == "/dev/null" {
        return path.to_owned();
    }
    path.strip_prefix("a/").or_else(|| path.strip_prefix("b/")).unwrap_or(path).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "diff --git a/src/calc.py b/src/calc.py\n--- a/src/calc.py\n+++ b/src/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n";

    #[test]
    fn finds_the_diff_in_each_wrapping() {
        assert_eq!(extract(DIFF).as_deref(), Some(DIFF));
        let tagged = format!("I fixed it.\n<patch>\n{DIFF}</patch>\nDone.");
        assert_eq!(extract(&tagged).as_deref(), Some(DIFF));
        let fenced = format!(
            "First try:\n```diff\n{DIFF}```\nBetter:\n```diff\n{}```\n",
            DIFF.replace("a + b", "b + a")
        );
        assert!(extract(&fenced).unwrap().contains("b + a"), "the last block wins");
        let python_then_diff = format!("```python\nprint(1)\n```\n```\n{DIFF}```");
        assert_eq!(extract(&python_then_diff).as_deref(), Some(DIFF));
        let tagged_fence = format!("<patch>\n```diff\n{DIFF}```\n</patch>");
        assert_eq!(extract(&tagged_fence).as_deref(), Some(DIFF));
    }

    #[test]
    fn no_diff_is_none() {
        assert_eq!(extract("I could not find the bug."), None);
        assert_eq!(extract("```python\nprint(1)\n```"), None);
        assert_eq!(extract("<patch>not a diff</patch>"), None);
    }

    #[test]
    fn splits_by_file() {
        let two = format!(
            "{DIFF}diff --git a/tests/test_calc.py b/tests/test_calc.py\ndeleted file mode 100644\n--- a/tests/test_calc.py\n+++ /dev/null\n@@ -1 +0,0 @@\n--- removed line that looks like a header\n"
        );
        let files = files(&two);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, "src/calc.py");
        assert!(files[0].hunks.starts_with("@@ -1,2 +1,2 @@"));
        assert_eq!(files[1].path, "tests/test_calc.py");
        assert!(files[1].hunks.contains("--- removed line"), "{:?}", files[1].hunks);
    }
}
