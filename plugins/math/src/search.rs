//! Substring search for short texts.
//!
//! `str::find` with a string pattern builds a Two-Way searcher on every call, which for answers
//! and most completions (a few hundred bytes) costs more than the search. These find the
//! needle's first byte with `memchr` (word-at-a-time, or 16 bytes at a time where the guest is
//! built with wasm SIMD) and compare there.

/// Every byte offset where `needle` starts in `hay`, first to last; none for an empty needle.
/// (A match of a whole UTF-8 needle starts and ends on character boundaries.)
pub fn positions<'a>(hay: &'a str, needle: &'a str) -> impl DoubleEndedIterator<Item = usize> + 'a {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    let (first, searched) = match needle.first() {
        Some(&first) => (first, hay),
        None => (0, &hay[..0]),
    };
    memchr::memchr_iter(first, searched).filter(move |&i| hay[i..].starts_with(needle))
}

/// Byte offset of the first `needle` in `hay`.
pub fn find(hay: &str, needle: &str) -> Option<usize> {
    positions(hay, needle).next()
}

/// Byte offset of the last `needle` in `hay`.
pub fn rfind(hay: &str, needle: &str) -> Option<usize> {
    positions(hay, needle).next_back()
}

/// The first place in `hay` where one of `needles`, which all start with the byte `first`,
/// starts: its byte offset and that needle's length (the first listed, where several start
/// there).
pub fn find_any(hay: &str, first: u8, needles: &[&str]) -> Option<(usize, usize)> {
    debug_assert!(needles.iter().all(|n| n.as_bytes().first() == Some(&first)));
    let bytes = hay.as_bytes();
    memchr::memchr_iter(first, bytes).find_map(|i| {
        let needle = needles.iter().find(|n| bytes[i..].starts_with(n.as_bytes()))?;
        Some((i, needle.len()))
    })
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &str, needle: &str) -> bool {
    find(hay, needle).is_some()
}

/// `hay` with every `from` replaced by `to`, left to right, as `str::replace` does.
pub fn replace(hay: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(hay.len());
    let mut rest = hay;
    while let Some(at) = find(rest, from) {
        out.push_str(&rest[..at]);
        out.push_str(to);
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The same answers as the standard library's searches, on texts and needles drawn
        /// from a small alphabet (so that partial and overlapping matches are common).
        #[test]
        fn agrees_with_the_standard_library(hay in "[ab\\\\{}é]{0,40}", needle in "[ab\\\\{}é]{1,4}") {
            prop_assert_eq!(find(&hay, &needle), hay.find(needle.as_str()));
            prop_assert_eq!(rfind(&hay, &needle), hay.rfind(needle.as_str()));
            prop_assert_eq!(contains(&hay, &needle), hay.contains(needle.as_str()));
            prop_assert_eq!(replace(&hay, &needle, "x"), hay.replace(needle.as_str(), "x"));
            let all: Vec<usize> = positions(&hay, &needle).collect();
            let expected: Vec<usize> =
                (0..hay.len()).filter(|&i| hay.get(i..).is_some_and(|t| t.starts_with(needle.as_str()))).collect();
            prop_assert_eq!(all, expected);
        }
    }

    #[test]
    fn an_empty_needle_is_never_found() {
        assert_eq!(find("abc", ""), None);
        assert_eq!(rfind("abc", ""), None);
        assert_eq!(positions("abc", "").count(), 0);
    }
}
