//! `memcmp` for wasm guests, eight bytes at a time.
//!
//! wasi-libc's `memcmp` is a byte-at-a-time loop, and every string and slice comparison of a
//! plugin ends there: map lookups by key, `==` on names, sorting. Defining the symbol in the
//! SDK links this one instead (an archive member is only pulled in for a symbol nothing else
//! defines), for every plugin built on it.

/// C's `memcmp` over [`compare`].
///
/// # Safety
///
/// `a` and `b` must be valid for reads of `n` bytes.
#[cfg(all(target_family = "wasm", target_os = "wasi"))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // C callers may pass null with a length of 0, which a slice may not hold.
    if n == 0 {
        return 0;
    }
    // SAFETY: the caller's contract, and neither pointer is null when `n > 0`.
    unsafe { compare(std::slice::from_raw_parts(a, n), std::slice::from_raw_parts(b, n)) }
}

/// Compares two slices of the same length as unsigned bytes: negative, zero or positive.
/// Written without slice comparisons, which would call `memcmp` itself.
#[cfg_attr(not(any(test, all(target_family = "wasm", target_os = "wasi"))), allow(dead_code))]
fn compare(a: &[u8], b: &[u8]) -> i32 {
    let (words_a, words_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let (tail_a, tail_b) = (words_a.remainder(), words_b.remainder());
    for (x, y) in words_a.zip(words_b) {
        let x = u64::from_le_bytes(x.try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(y.try_into().expect("8 bytes"));
        if x != y {
            // Byte-swapped, the first differing byte in memory is the most significant one.
            return if x.swap_bytes() < y.swap_bytes() { -1 } else { 1 };
        }
    }
    for (&x, &y) in tail_a.iter().zip(tail_b) {
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::compare;
    use proptest::prelude::*;

    proptest! {
        /// The sign is that of the lexicographic order of the bytes.
        #[test]
        fn orders_like_slices(common in prop::collection::vec(any::<u8>(), 0..40),
                              a in prop::collection::vec(any::<u8>(), 0..20),
                              b in prop::collection::vec(any::<u8>(), 0..20)) {
            let n = a.len().min(b.len());
            let a = [&common[..], &a[..n]].concat();
            let b = [&common[..], &b[..n]].concat();
            prop_assert_eq!(compare(&a, &b).signum(), a.cmp(&b) as i32);
        }
    }
}
