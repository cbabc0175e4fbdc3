//! The evaluation script run inside the container, and the markers it prints.
//!
//! It applies the model's patch the way the SWE-bench harness does (`git apply`, then
//! `git apply --3way`, then `patch --fuzz=5`, resetting the tree between tries; in an image
//! without git, such as busybox, whose `patch` has no fuzz, plain `patch -N`), runs the
//! task's setup, restores the files the test patch touches to the base commit (so a patch
//! cannot delete or rewrite the deciding tests), applies the test patch, and runs the tests
//! between markers. Everything is printed on stdout, in order.

use crate::patch;
use crate::task::Task;

/// Where the script unpacks the patches (a tar on its stdin), on the container's `/tmp` tmpfs.
/// The script itself is an argument of the shell, never a file a test could rewrite.
pub const DIR: &str = "/tmp/gavel";
/// The model's patch.
pub const MODEL_PATCH: &str = "/tmp/gavel/model.patch";
/// The test patch.
pub const TEST_PATCH: &str = "/tmp/gavel/test.patch";

/// Marker prefix; every marker line starts with it.
pub const MARK: &str = ">>>>> gavel ";
/// The patch applied; the rest of the line says how.
pub const APPLIED: &str = ">>>>> gavel applied: ";
/// The patch did not apply.
pub const APPLY_FAILED: &str = ">>>>> gavel apply failed";
/// Setup or the test patch failed; the rest of the line says which.
pub const SETUP_FAILED: &str = ">>>>> gavel setup failed: ";
/// The tests start.
pub const TESTS_START: &str = ">>>>> gavel tests start";
/// The tests ended; the rest of the line is the exit code.
pub const TESTS_EXIT: &str = ">>>>> gavel tests exit: ";

/// Quotes `s` for a POSIX shell.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The script for `task`.
pub fn script(task: &Task) -> String {
    let mut s = String::new();
    s.push_str("# gavel SWE evaluation\nexec 2>&1\n");
    s.push_str(&format!(
        "mkdir -p {DIR} && tar -x -f - -C {DIR} || {{ echo '{SETUP_FAILED}cannot unpack the patches into {DIR}'; exit 0; }}\n"
    ));
    s.push_str("export PYTHONDONTWRITEBYTECODE=1 GIT_PAGER=cat PAGER=cat\n");
    s.push_str(&format!(
        "cd {} || {{ echo {}; exit 0; }}\n",
        quote(&task.workdir),
        quote(&format!("{SETUP_FAILED}no workdir {}", task.workdir))
    ));
    s.push_str("if command -v git >/dev/null 2>&1 && git rev-parse --git-dir >/dev/null 2>&1; then GIT=1; else GIT=; fi\n");
    s.push_str("has_git() { [ -n \"$GIT\" ]; }\n");
    s.push_str("reset_tree() { has_git && { git checkout -q -- . ; git clean -fdq; }; }\n");
    s.push_str(&format!(
        "if has_git && git apply --verbose {m} >/dev/null 2>&1; then echo '{APPLIED}git apply'\n\
         elif reset_tree; has_git && git apply --verbose --3way {m} >/dev/null 2>&1; then echo '{APPLIED}git apply --3way'\n\
         elif reset_tree; patch --batch --forward --fuzz=5 -p1 -i {m} >/dev/null 2>&1; then echo '{APPLIED}patch --fuzz=5'\n\
         elif reset_tree; ! has_git && patch -N -p1 -i {m} >/dev/null 2>&1; then echo '{APPLIED}patch'\n\
         else reset_tree; echo '{APPLY_FAILED}'; exit 0; fi\n",
        m = MODEL_PATCH
    ));
    for (i, step) in task.setup.iter().enumerate() {
        s.push_str(&format!(
            "( {step}\n) || {{ echo {}; exit 0; }}\n",
            quote(&format!("{SETUP_FAILED}setup step {} exited with an error", i + 1))
        ));
    }
    if let Some(test_patch) = &task.test_patch {
        for file in patch::files(test_patch) {
            // Back to the base commit's version (or gone, for a file the test patch creates).
            let f = quote(&file.path);
            s.push_str(&format!(
                "if has_git && git cat-file -e HEAD:{f} 2>/dev/null; then git checkout -q HEAD -- {f}; else rm -rf -- {f}; fi\n"
            ));
        }
        s.push_str(&format!(
            "if has_git; then git apply {t} >/dev/null 2>&1; else patch -N -p1 -i {t} >/dev/null 2>&1; fi \
             || {{ echo '{SETUP_FAILED}the test patch did not apply'; exit 0; }}\n",
            t = TEST_PATCH
        ));
    }
    s.push_str(&format!("echo '{TESTS_START}'\n"));
    s.push_str(&format!("( {}\n)\n", task.test_cmd));
    s.push_str(&format!("echo \"{TESTS_EXIT}$?\"\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn restores_the_test_patch_files_before_applying_it() {
        let task = Task::from_json(&serde_json::json!({
            "image": "i", "test_cmd": "pytest -rA", "log_parser": "pytest", "fail_to_pass": ["t"],
            "setup": ["pip install -e ."],
            "test_patch": "--- a/tests/test_it's.py\n+++ b/tests/test_it's.py\n@@ -1 +1 @@\n-a\n+b\n"
        }))
        .unwrap();
        let s = script(&task);
        let restore = s.find(r"git checkout -q HEAD -- 'tests/test_it'\''s.py'").unwrap();
        let apply_tests = s.find("git apply /tmp/gavel/test.patch").unwrap();
        let setup = s.find("( pip install -e .").unwrap();
        let start = s.find(TESTS_START).unwrap();
        assert!(s.find(MODEL_PATCH).unwrap() < setup);
        assert!(setup < restore && restore < apply_tests && apply_tests < start);
    }
}
