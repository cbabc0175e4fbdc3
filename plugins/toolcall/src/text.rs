//! Byte-string searching and comparing that stay fast in wasm.
//!
//! `str::find` builds a Two-Way searcher per call, and slice equality goes to the C library's
//! `memcmp`, which in wasm is a byte-at-a-time loop. For the short needles and the kilobyte
//! references compared per sample here, a first-byte scan and a word-at-a-time comparison are
//! several times faster.

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &str, needle: &str) -> Option<usize> {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    let (&first, rest) = needle.split_first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last_start {
        let at = from + hay[from..=last_start].iter().position(|&b| b == first)?;
        if hay[at + 1..at + needle.len()] == *rest {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Where `needle` last occurs in `hay`.
pub fn rfind(hay: &str, needle: &str) -> Option<usize> {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    let (&first, rest) = needle.split_first()?;
    let mut end = hay.len().checked_sub(needle.len())? + 1;
    while end > 0 {
        let at = hay[..end].iter().rposition(|&b| b == first)?;
        if hay[at + 1..at + needle.len()] == *rest {
            return Some(at);
        }
        end = at;
    }
    None
}

/// Whether `hay` contains `needle`.
pub fn contains(hay: &str, needle: &str) -> bool {
    find(hay, needle).is_some()
}

/// `a == b`, eight bytes at a time.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let tails_equal = a_words.remainder() == b_words.remainder();
    tails_equal
        && a_words.zip(b_words).all(|(x, y)| {
            u64::from_ne_bytes(x.try_into().expect("8 bytes"))
                == u64::from_ne_bytes(y.try_into().expect("8 bytes"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        assert_eq!(find("", "a"), None);
        assert_eq!(find("a", ""), None);
        assert_eq!(find("<tool_call>x</tool_call>", "</tool_call>"), Some(12));
        assert_eq!(rfind("a</think>b</think>c", "</think>"), Some(10));
        assert_eq!(rfind("</think>", "</think>"), Some(0));
        assert_eq!(rfind("think>", "</think>"), None);
        assert!(same("", ""));
        assert!(!same("abcdefghi", "abcdefghj"));
        assert!(!same("abcdefgh1", "abcdefgx1"));
    }

    proptest! {
        #[test]
        fn agree_with_std(hay in "[ab<>/]{0,40}", needle in "[ab<>/]{1,4}") {
            prop_assert_eq!(find(&hay, &needle), hay.find(&*needle));
            prop_assert_eq!(rfind(&hay, &needle), hay.rfind(&*needle));
            prop_assert_eq!(same(&hay, &needle), hay == needle);
            let copy = hay.clone();
            prop_assert!(same(&hay, &copy));
        }
    }
}
