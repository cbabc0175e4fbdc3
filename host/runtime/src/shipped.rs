//! Files a plugin ships inside its own component: a word list, a grammar, a small table. They
//! travel in a custom section (`gavel:files`) of the component, so the operator's sha256 pin
//! covers them with the code, and a plugin granted the `files` capability sees them, read-only,
//! at the root of its filesystem. Nothing else of the host is visible there; every file's times
//! read the virtual epoch, so what a plugin can observe is fixed by its own bytes.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// The custom section's name.
pub const FILES_SECTION: &str = "gavel:files";

/// Most bytes of shipped files one component may carry (16 MiB).
pub const MAX_SHIPPED_BYTES: usize = 16 << 20;

/// Most files one component may ship.
const MAX_FILES: usize = 4096;

/// One shipped file: a relative `/`-separated path and its contents.
pub type ShippedFile = (String, Vec<u8>);

/// `wasm` with `files` appended in a `gavel:files` custom section, refusing paths that are not
/// plain relative paths (`..`, absolute, empty parts) and more than [`MAX_SHIPPED_BYTES`].
pub fn ship_files(wasm: &[u8], files: &[ShippedFile]) -> Result<Vec<u8>, String> {
    if shipped_files(wasm)?.is_some() {
        return Err("the component already ships files".into());
    }
    check(files)?;
    let mut payload = Vec::new();
    for (path, data) in files {
        leb128(&mut payload, path.len() as u64);
        payload.extend_from_slice(path.as_bytes());
        leb128(&mut payload, data.len() as u64);
        payload.extend_from_slice(data);
    }
    let mut section = Vec::new();
    leb128(&mut section, FILES_SECTION.len() as u64);
    section.extend_from_slice(FILES_SECTION.as_bytes());
    section.extend_from_slice(&payload);
    let mut out = wasm.to_vec();
    out.push(0); // custom section id
    leb128(&mut out, section.len() as u64);
    out.extend_from_slice(&section);
    Ok(out)
}

/// The files a component ships, if it has a `gavel:files` section at its top level.
pub fn shipped_files(wasm: &[u8]) -> Result<Option<Vec<ShippedFile>>, String> {
    from_sections(&crate::vet::top_level(wasm).files)
}

/// The files in a component's `gavel:files` sections (at most one).
pub(crate) fn from_sections(sections: &[&[u8]]) -> Result<Option<Vec<ShippedFile>>, String> {
    match sections {
        [] => Ok(None),
        [one] => decode(one).map(Some),
        _ => Err(format!("more than one {FILES_SECTION} section")),
    }
}

fn decode(mut data: &[u8]) -> Result<Vec<ShippedFile>, String> {
    let mut files = Vec::new();
    while !data.is_empty() {
        let path = take(&mut data)?;
        let path = String::from_utf8(path.to_vec())
            .map_err(|_| format!("file {} has a path that is not UTF-8", files.len() + 1))?;
        let contents = take(&mut data)?.to_vec();
        files.push((path, contents));
    }
    check(&files)?;
    Ok(files)
}

fn take<'a>(data: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let (mut len, mut shift, mut used) = (0u64, 0u32, 0usize);
    loop {
        let byte = *data.get(used).ok_or("the section ends inside a length")?;
        used += 1;
        len |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return Err("a length does not fit 64 bits".into());
        }
    }
    let len = usize::try_from(len).map_err(|_| "a length does not fit memory")?;
    let rest = &data[used..];
    if rest.len() < len {
        return Err("the section ends inside a file".into());
    }
    let (head, tail) = rest.split_at(len);
    *data = tail;
    Ok(head)
}

fn check(files: &[ShippedFile]) -> Result<(), String> {
    if files.len() > MAX_FILES {
        return Err(format!("{} files, more than the {MAX_FILES} a plugin may ship", files.len()));
    }
    let total: usize = files.iter().map(|(_, data)| data.len()).sum();
    if total > MAX_SHIPPED_BYTES {
        return Err(format!("{total} bytes of files, more than the {MAX_SHIPPED_BYTES} allowed"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (path, _) in files {
        let plain = !path.is_empty()
            && !path.starts_with('/')
            && !path.contains(['\\', '\0'])
            && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..");
        if !plain {
            return Err(format!(
                "{path:?} is not a plain relative path (no '..', '.', '//', '\\\\')"
            ));
        }
        if !seen.insert(path.as_str()) {
            return Err(format!("{path:?} is shipped twice"));
        }
    }
    Ok(())
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
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

/// The shipped files written out for one loaded plugin, removed with it: in memory (a tmpfs,
/// `/dev/shm`) where the machine has one. Preopened read-only at `/` in each call's context.
#[derive(Debug)]
pub(crate) struct ShippedDir(tempfile::TempDir);

impl ShippedDir {
    /// Writes `files` out in memory (`/dev/shm`) where that works, else in the temp dir.
    pub(crate) fn write(files: &[ShippedFile]) -> std::io::Result<Self> {
        let shm = Path::new("/dev/shm");
        if shm.is_dir()
            && let Ok(dir) = Self::write_in(shm, files)
        {
            return Ok(dir);
        }
        Self::write_in(&std::env::temp_dir(), files)
    }

    fn write_in(parent: &Path, files: &[ShippedFile]) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("gavel-files-").tempdir_in(parent)?;
        let epoch =
            SystemTime::UNIX_EPOCH + Duration::from_secs(gavel_sandbox::VIRTUAL_WALL_CLOCK_SECS);
        let mut dirs = std::collections::BTreeSet::from([dir.path().to_owned()]);
        for (path, data) in files {
            let target = dir.path().join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
                // Every folder on the way, so `a/b/f` resets `a` as well as `a/b`.
                let inside = parent.ancestors().take_while(|d| d.starts_with(dir.path()));
                dirs.extend(inside.map(Path::to_owned));
            }
            std::fs::write(&target, data)?;
            std::fs::File::options().write(true).open(&target)?.set_modified(epoch)?;
        }
        // Directories last, deepest first: writing into one changes its time.
        let mut dirs: Vec<_> = dirs.into_iter().collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            std::fs::File::open(&d)?.set_modified(epoch)?;
        }
        Ok(Self(dir))
    }

    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn files_round_trip_through_the_section() {
        let files = vec![
            ("words.txt".to_owned(), b"a\nb\n".to_vec()),
            ("data/big.bin".to_owned(), vec![7u8; 300]),
        ];
        let shipped = ship_files(EMPTY_COMPONENT, &files).unwrap();
        assert_eq!(shipped_files(&shipped).unwrap(), Some(files));
        assert_eq!(shipped_files(EMPTY_COMPONENT).unwrap(), None);
        assert!(ship_files(&shipped, &[]).unwrap_err().contains("already ships"));
    }

    #[test]
    fn paths_must_stay_inside() {
        for bad in ["../x", "/etc/passwd", "a//b", "./a", "a/../b", "", "a\\b"] {
            let err = ship_files(EMPTY_COMPONENT, &[(bad.to_owned(), vec![])]).unwrap_err();
            assert!(err.contains("not a plain relative path"), "{bad}: {err}");
        }
        let twice = [("a".to_owned(), vec![]), ("a".to_owned(), vec![])];
        assert!(ship_files(EMPTY_COMPONENT, &twice).unwrap_err().contains("twice"));
        let big = [("a".to_owned(), vec![0; MAX_SHIPPED_BYTES + 1])];
        assert!(ship_files(EMPTY_COMPONENT, &big).unwrap_err().contains("bytes of files"));
    }

    #[test]
    fn a_truncated_section_is_an_error_not_a_panic() {
        let shipped = ship_files(EMPTY_COMPONENT, &[("a".to_owned(), b"hello".to_vec())]).unwrap();
        let mut cut = shipped[..shipped.len() - 2].to_vec();
        // Fix the section's own size so only the payload is short.
        let size_at = EMPTY_COMPONENT.len() + 1;
        cut[size_at] -= 2;
        assert!(shipped_files(&cut).unwrap_err().contains("ends inside"));
    }
}
