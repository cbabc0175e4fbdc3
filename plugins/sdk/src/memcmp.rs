//! `memcmp` for wasm guests, a word at a time.
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
#[target_feature(enable = "simd128")]
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
///
/// In wasm every loop iteration pays fuel and an interruption check, so the work is in as few
/// iterations as possible: whole blocks at a time, then 8 bytes, then one last word that overlaps
/// bytes already found equal; below 8 bytes, one word assembled without a loop.
#[cfg_attr(not(any(test, all(target_family = "wasm", target_os = "wasi"))), allow(dead_code))]
#[inline(always)]
fn compare(a: &[u8], b: &[u8]) -> i32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    // Most calls are key comparisons in ordered maps, which mostly differ in the first byte.
    if let (Some(&x), Some(&y)) = (a.first(), b.first())
        && x != y
    {
        return i32::from(x) - i32::from(y);
    }
    if n < 8 {
        return order(short(a), short(b));
    }
    let mut done = equal_blocks(a, b);
    for (x, y) in a[done..].chunks_exact(8).zip(b[done..].chunks_exact(8)) {
        let (x, y) = (word(x), word(y));
        if x != y {
            return order(x, y);
        }
        done += 8;
    }
    if done < n {
        // The last 8 bytes; those before `done` among them are already known to be equal.
        return order(word(&a[n - 8..]), word(&b[n - 8..]));
    }
    0
}

/// How many leading bytes, whole blocks of them, are equal: wasm compares 64 bytes in each
/// loop iteration, 16 per SIMD instruction (integer SIMD is deterministic, unlike relaxed SIMD).
#[cfg(all(target_family = "wasm", target_os = "wasi"))]
#[target_feature(enable = "simd128")]
fn equal_blocks(a: &[u8], b: &[u8]) -> usize {
    use std::arch::wasm32::{v128, v128_any_true, v128_load, v128_or, v128_xor};
    let mut done = 0;
    for (x, y) in a.chunks_exact(64).zip(b.chunks_exact(64)) {
        let (x, y) = (x.as_ptr().cast::<v128>(), y.as_ptr().cast::<v128>());
        // SAFETY: each chunk holds 64 bytes, read as four 16-byte lanes; wasm loads need no
        // alignment.
        let differ = unsafe {
            v128_or(
                v128_or(
                    v128_xor(v128_load(x), v128_load(y)),
                    v128_xor(v128_load(x.add(1)), v128_load(y.add(1))),
                ),
                v128_or(
                    v128_xor(v128_load(x.add(2)), v128_load(y.add(2))),
                    v128_xor(v128_load(x.add(3)), v128_load(y.add(3))),
                ),
            )
        };
        if v128_any_true(differ) {
            break;
        }
        done += 64;
    }
    done
}

/// How many leading bytes, whole blocks of them, are equal: 32 bytes in each loop iteration,
/// elsewhere than in wasm (the unit tests).
#[cfg(not(all(target_family = "wasm", target_os = "wasi")))]
#[cfg_attr(not(test), allow(dead_code))]
fn equal_blocks(a: &[u8], b: &[u8]) -> usize {
    let mut done = 0;
    for (x, y) in a.chunks_exact(32).zip(b.chunks_exact(32)) {
        let differ = (0..4).fold(0, |acc, k| acc | (word(&x[8 * k..]) ^ word(&y[8 * k..])));
        if differ != 0 {
            break;
        }
        done += 32;
    }
    done
}

/// Fewer than 8 bytes as one little-endian word, from loads that may overlap (an overlapping
/// byte lands on the same bits twice): the first and the last 4 bytes, or the first, middle
/// and last byte.
fn short(s: &[u8]) -> u64 {
    let n = s.len();
    if n >= 4 {
        let half = |i: usize| u64::from(u32::from_le_bytes(s[i..i + 4].try_into().expect("4")));
        half(0) | half(n - 4) << (8 * (n - 4))
    } else if n > 0 {
        u64::from(s[0])
            | u64::from(s[n / 2]) << (8 * (n / 2))
            | u64::from(s[n - 1]) << (8 * (n - 1))
    } else {
        0
    }
}

/// The first 8 bytes of `s` as a little-endian word.
fn word(s: &[u8]) -> u64 {
    u64::from_le_bytes(s[..8].try_into().expect("8 bytes"))
}

/// The order of two little-endian words by their first differing byte in memory: the lowest
/// one (wasm has no byte swap, but counts trailing zeros in one instruction).
fn order(x: u64, y: u64) -> i32 {
    if x == y {
        return 0;
    }
    let shift = (x ^ y).trailing_zeros() & !7;
    ((x >> shift) & 0xff) as i32 - ((y >> shift) & 0xff) as i32
}

#[cfg(test)]
mod tests {
    use super::compare;
    use proptest::prelude::*;

    proptest! {
        /// The sign is that of the lexicographic order of the bytes.
        #[test]
        fn orders_like_slices(common in prop::collection::vec(any::<u8>(), 0..80),
                              a in prop::collection::vec(any::<u8>(), 0..20),
                              b in prop::collection::vec(any::<u8>(), 0..20)) {
            let n = a.len().min(b.len());
            let a = [&common[..], &a[..n]].concat();
            let b = [&common[..], &b[..n]].concat();
            prop_assert_eq!(compare(&a, &b).signum(), a.cmp(&b) as i32);
        }
    }

    /// Every length up to past two 32-byte blocks, with one byte differing at every position,
    /// both ways round: each path (short, blocks, words, the overlapping last word) is taken.
    #[test]
    fn finds_the_first_difference_anywhere() {
        for n in 0..72 {
            let a: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            assert_eq!(compare(&a, &a), 0, "length {n}");
            for at in 0..n {
                for delta in [1u8, 0x80] {
                    let mut b = a.clone();
                    b[at] = b[at].wrapping_add(delta);
                    assert_eq!(compare(&a, &b).signum(), a.cmp(&b) as i32, "length {n}, at {at}");
                    assert_eq!(compare(&b, &a).signum(), b.cmp(&a) as i32, "length {n}, at {at}");
                }
            }
        }
    }
}
