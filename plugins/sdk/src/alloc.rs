//! A fast allocator for plugins that make many small, short-lived allocations.
//!
//! Rust's default allocator in wasm (dlmalloc) costs tens of nanoseconds per call, and parsing
//! JSON or building explanations makes dozens of calls per sample. [`SizeClasses`] serves
//! blocks of up to 4 KiB from one free list per power-of-two size, carved out of 16 KiB chunks:
//! an allocation or a free is a few instructions. Larger blocks go to the system allocator.
//! Freed small blocks are kept for their size class, never coalesced; that suits a plugin,
//! whose instance lives for one batch, and the host's memory cap bounds it like any other.
//!
//! Opt in with two lines in the plugin crate (wasm only: the allocator is single-threaded):
//!
//! ```
//! #[cfg(target_arch = "wasm32")]
//! #[global_allocator]
//! static ALLOCATOR: gavel_plugin::SizeClasses = gavel_plugin::SizeClasses::new();
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr::null_mut;

/// Size classes 8, 16, … 4096 bytes.
const CLASSES: usize = 10;
const CHUNK: usize = 16 << 10;

/// A single-threaded size-class allocator; see the [module](self) docs.
pub struct SizeClasses(UnsafeCell<State>);

struct State {
    /// Heads of the free lists; a free block holds the address of the next.
    free: [*mut u8; CLASSES],
    /// The unused rest of the current chunk.
    bump: *mut u8,
    end: *mut u8,
}

// SAFETY: wasm guests without the threads proposal have one thread; on any other target the
// type is not `Sync`, so it cannot be installed as a global allocator there.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
unsafe impl Sync for SizeClasses {}

impl SizeClasses {
    /// An allocator holding no memory yet.
    pub const fn new() -> Self {
        Self(UnsafeCell::new(State {
            free: [null_mut(); CLASSES],
            bump: null_mut(),
            end: null_mut(),
        }))
    }
}

impl Default for SizeClasses {
    fn default() -> Self {
        Self::new()
    }
}

/// Blocks are aligned to their size up to this; a layout that needs more goes to the system.
const MAX_ALIGN: usize = 16;

/// The size class of a layout, `None` when it is served by the system allocator.
fn class(layout: Layout) -> Option<usize> {
    if layout.align() > MAX_ALIGN {
        return None;
    }
    let size = layout.size().max(layout.align()).max(8).next_power_of_two();
    let class = size.trailing_zeros() as usize - 3;
    (class < CLASSES).then_some(class)
}

// SAFETY: a block of a class is `8 << class` bytes, aligned to its size up to MAX_ALIGN, which
// covers any layout of the class; it is handed out again only after it was freed; and `State`
// is mutated by one thread, with no reentrancy (System never calls back).
//
// The methods are `#[inline]` so that they are compiled into the allocator entry points that
// std calls (`__rust_alloc`, …) instead of being one more call behind them: in wasm a call costs
// its callee's stack, fuel and epoch checks, about 30 instructions, and a plugin allocates
// tens of times per sample (toolcall: 7% fewer instructions a check).
unsafe impl GlobalAlloc for SizeClasses {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class(layout) else { return unsafe { System.alloc(layout) } };
        let state = unsafe { &mut *self.0.get() };
        let head = state.free[class];
        if !head.is_null() {
            state.free[class] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        let size = 8usize << class;
        // At most 8 bytes are skipped to align a block of 16 bytes or more.
        let mut block = state.bump.wrapping_add(state.bump.align_offset(size.min(MAX_ALIGN)));
        if (state.end as usize).saturating_sub(block as usize) < size {
            let chunk =
                unsafe { System.alloc(Layout::from_size_align_unchecked(CHUNK, MAX_ALIGN)) };
            if chunk.is_null() {
                return chunk;
            }
            state.end = chunk.wrapping_add(CHUNK);
            block = chunk;
        }
        state.bump = block.wrapping_add(size);
        block
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class(layout) else { return unsafe { System.dealloc(ptr, layout) } };
        let state = unsafe { &mut *self.0.get() };
        unsafe { ptr.cast::<*mut u8>().write(state.free[class]) };
        state.free[class] = ptr;
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new)) {
            (Some(old), Some(new)) if old == new => ptr,
            (None, None) => unsafe { System.realloc(ptr, layout, new_size) },
            _ => {
                let moved = unsafe { self.alloc(new) };
                if !moved.is_null() {
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn classes() {
        let layout = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(class(layout(1, 1)), Some(0));
        assert_eq!(class(layout(9, 1)), Some(1));
        assert_eq!(class(layout(4096, 8)), Some(9));
        assert_eq!(class(layout(4097, 8)), None);
        assert_eq!(class(layout(8, 16)), Some(1));
        assert_eq!(class(layout(8, 64)), None);
        assert_eq!(class(layout(8, 8192)), None);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc(usize, usize),
        Free(usize),
        Grow(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (prop_oneof![1usize..64, 64usize..5000, 5000usize..20000], 0usize..7)
                .prop_map(|(size, align)| Op::Alloc(size, 1 << align)),
            any::<usize>().prop_map(Op::Free),
            (any::<usize>(), 1usize..9000).prop_map(|(i, size)| Op::Grow(i, size)),
        ]
    }

    proptest! {
        /// Live blocks are aligned, never overlap, and keep their bytes through reallocation.
        #[test]
        fn blocks_stay_apart_and_intact(ops in prop::collection::vec(op(), 1..300)) {
            let heap = SizeClasses::new();
            let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
            for (n, op) in ops.into_iter().enumerate() {
                let fill = n as u8;
                match op {
                    Op::Alloc(size, align) => {
                        let layout = Layout::from_size_align(size, align).unwrap();
                        let ptr = unsafe { heap.alloc(layout) };
                        prop_assert!(!ptr.is_null() && (ptr as usize).is_multiple_of(align));
                        unsafe { ptr.write_bytes(fill, size) };
                        live.push((ptr, layout, fill));
                    }
                    Op::Free(i) if !live.is_empty() => {
                        let (ptr, layout, _) = live.swap_remove(i % live.len());
                        unsafe { heap.dealloc(ptr, layout) };
                    }
                    Op::Grow(i, size) if !live.is_empty() => {
                        let i = i % live.len();
                        let (ptr, layout, old) = live[i];
                        let moved = unsafe { heap.realloc(ptr, layout, size) };
                        let kept = layout.size().min(size);
                        let bytes = unsafe { std::slice::from_raw_parts(moved, kept) };
                        prop_assert!(bytes.iter().all(|&b| b == old));
                        unsafe { moved.write_bytes(fill, size) };
                        let layout = Layout::from_size_align(size, layout.align()).unwrap();
                        live[i] = (moved, layout, fill);
                    }
                    _ => {}
                }
                for &(ptr, layout, fill) in &live {
                    let bytes = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
                    prop_assert!(bytes.iter().all(|&b| b == fill));
                }
            }
            for (ptr, layout, _) in live {
                unsafe { heap.dealloc(ptr, layout) };
            }
        }
    }
}
