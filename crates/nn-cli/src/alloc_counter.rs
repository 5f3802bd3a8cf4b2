//! A counting global allocator: `nn bench` reports how many heap allocations
//! a training step makes.
//!
//! [`Counting`] forwards every call to [`System`] and adds one to a global
//! counter for each call that may allocate (`alloc`, `alloc_zeroed`,
//! `realloc`), on every thread. The `nn` binary installs it with
//! `#[global_allocator]`; a program that does not install it reads a counter
//! that never moves, which [`installed`] detects.
#![allow(unsafe_code)] // a `GlobalAlloc` needs `unsafe impl`: see the SAFETY comments.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

/// Allocations so far, all threads together. Relaxed ordering is enough: the
/// counter orders nothing else, and a reader only needs every increment made
/// before it joined (or synchronised with) the allocating threads, which
/// joining already guarantees.
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The global allocator of the `nn` binary: [`System`], counted.
///
/// Install it with `#[global_allocator] static GLOBAL: Counting = Counting;`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counting;

// SAFETY: `GlobalAlloc`'s contract is about the memory handed out and taken
// back. Every method returns exactly what `System` returns for the same
// arguments, and hands `dealloc`/`realloc` pointers back to `System`, which
// allocated them (every allocation of the program goes through this type, so
// every pointer it receives came from `System`). The only other work is a
// relaxed atomic increment, which neither allocates (no recursion into the
// allocator), nor panics, nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract (non-zero size), passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout`; the caller
        // upholds `realloc`'s contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// The allocations counted so far, on all threads (0 forever when
/// [`Counting`] is not the global allocator).
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Whether [`Counting`] is the program's global allocator: allocates one
/// box and looks whether the counter moved.
pub fn installed() -> bool {
    let before = allocations();
    drop(black_box(Box::new(black_box(1u64))));
    allocations() != before
}

// The unit tests of this crate run with the counting allocator, so that they exercise it.
#[cfg(test)]
#[global_allocator]
static GLOBAL: Counting = Counting;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_allocation_and_hands_back_usable_memory() {
        assert!(installed());
        let before = allocations();
        let boxes: Vec<Box<[u64; 4]>> = (0..100u64).map(|i| Box::new([i; 4])).collect();
        // Other tests may allocate at the same time: at least ours are counted.
        assert!(allocations() - before >= 101, "100 boxes and their vector");
        assert!(boxes.iter().enumerate().all(|(i, b)| b.iter().all(|&v| v == i as u64)));
        drop(boxes);

        // realloc: a growing vector keeps its contents.
        let before = allocations();
        let mut v: Vec<u32> = Vec::with_capacity(1);
        for i in 0..1000 {
            v.push(i);
        }
        assert!(allocations() - before >= 2, "with_capacity, then at least one realloc");
        assert!(v.iter().copied().eq(0..1000));

        // alloc_zeroed: zeroed memory reads as zeros.
        let zeros = vec![0u64; 4096];
        assert!(zeros.iter().all(|&z| z == 0));

        // Large, aligned allocations go through System unchanged.
        let layout = Layout::from_size_align(1 << 20, 4096).unwrap();
        // SAFETY: the layout has a non-zero size; the pointer is checked,
        // written within the layout and freed with the same layout.
        unsafe {
            let p = Counting.alloc_zeroed(layout);
            assert!(!p.is_null());
            assert_eq!(p as usize % 4096, 0);
            assert_eq!(*p.add((1 << 20) - 1), 0);
            *p = 7;
            let q = Counting.realloc(p, layout, 2 << 20);
            assert!(!q.is_null());
            assert_eq!(*q, 7);
            Counting.dealloc(q, Layout::from_size_align(2 << 20, 4096).unwrap());
        }
    }
}
