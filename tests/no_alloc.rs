//! Steady-state training allocates nothing: the report's workloads W1–W4
//! through the library API, counted with a counting global allocator.
//!
//! - `Optim::step`: after a few warm-up steps, ten more steps allocate nothing.
//! - `train`: an epoch allocates nothing either, its last, partial batch
//!   included (the 1437 training rows of the digits = 44 batches of 32 and one of 29): training
//!   for 3 epochs allocates exactly as much as training for 1 (the setup).
#![allow(unsafe_code)] // a counting `GlobalAlloc` needs `unsafe impl`; see the SAFETY comment.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ndarray::{Array2, ArrayD, Axis};
use nn::core::{Loss, Module};
use nn::data::{digits, one_hot, stratified_split};
use nn::layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU, Sigmoid, TanH};
use nn::losses::{BCELoss, LogSoftmaxCrossEntropy};
use nn::models::{AutoEncoder, Sequential};
use nn::train::{Optim, TrainConfig, train};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Forwards every call to [`System`] and counts, per thread, the calls that
/// may allocate (`alloc`, `alloc_zeroed`, `realloc`).
struct Counting;

thread_local! {
    /// Allocations made by this thread. A `const`-initialised `Cell<usize>`
    /// has no destructor and its access never allocates, so the allocator
    /// can use it on any thread at any time, without recursion.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    ALLOCATIONS.with(|c| c.set(c.get() + 1));
}

// SAFETY: `GlobalAlloc`'s contract is about the memory returned; every method
// returns exactly what `System` returns for the same arguments, and passes
// `dealloc`/`realloc` pointers back to `System`, which allocated them. The
// only other work is incrementing a thread-local counter, which neither
// allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` came from `System` through this allocator, with this `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while `f` runs.
fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// The 1437 training rows of the digits (seeded 80/20 split): x (1437, 64) and one-hot y (1437, 10).
fn digits_train() -> (ArrayD<f32>, ArrayD<f32>) {
    let data = digits();
    let (rows, _) = stratified_split(&data.labels, 0.2, 0).expect("the digits split");
    let part = data.select(&rows);
    let y = part.one_hot().into_dyn();
    (part.x.into_dyn(), y)
}

fn w1() -> Sequential {
    let mut rng = StdRng::seed_from_u64(0);
    Sequential::new().add(Linear::new(64, 100, &mut rng)).add(ReLU::new()).add(Linear::new(100, 10, &mut rng))
}

fn w2() -> Sequential {
    let mut rng = StdRng::seed_from_u64(0);
    Sequential::new()
        .add(Conv1D::new(3, 1, 32, 1, &mut rng))
        .add(MaxPool1D::new(2, 2))
        .add(Flatten::new())
        .add(Linear::new(992, 100, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(100, 10, &mut rng))
}

fn w3() -> AutoEncoder {
    let mut rng = StdRng::seed_from_u64(0);
    let encoder = Sequential::new()
        .add(Linear::new(64, 200, &mut rng))
        .add(TanH::new())
        .add(Linear::new(200, 50, &mut rng))
        .add(TanH::new());
    let decoder = Sequential::new()
        .add(Linear::new(50, 200, &mut rng))
        .add(TanH::new())
        .add(Linear::new(200, 64, &mut rng))
        .add(Sigmoid::new());
    AutoEncoder::new(encoder, decoder)
}

fn w4() -> Sequential {
    let mut rng = StdRng::seed_from_u64(0);
    Sequential::new()
        .add(Linear::new(784, 1024, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(1024, 1024, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(1024, 10, &mut rng))
}

/// Allocations of ten `Optim::step` calls on the first `batch` rows, after three warm-up steps.
fn allocations_per_ten_steps<N: Module, L: Loss>(
    net: N,
    loss: L,
    x: &ArrayD<f32>,
    y: &ArrayD<f32>,
    batch: usize,
) -> usize {
    let bx = x.slice_axis(Axis(0), (0..batch).into()).to_owned();
    let by = y.slice_axis(Axis(0), (0..batch).into()).to_owned();
    let mut optim = Optim::new(net, loss, 0.01).expect("a valid learning rate");
    for _ in 0..3 {
        optim.step(bx.view(), by.view()).expect("a finite step");
    }
    allocations_during(|| {
        for _ in 0..10 {
            optim.step(bx.view(), by.view()).expect("a finite step");
        }
    })
}

/// Allocations of `train` for 1 and for 3 epochs on a network that already saw both batch sizes.
fn allocations_of_1_and_3_epochs<N: Module, L: Loss>(
    mut net: N,
    mut loss: L,
    x: &ArrayD<f32>,
    y: &ArrayD<f32>,
) -> (usize, usize) {
    let config = |epochs| TrainConfig { epochs, learning_rate: 0.01, ..TrainConfig::default() };
    let mut run = |epochs| {
        allocations_during(|| {
            train(&mut net, &mut loss, (x.view(), y.view()), &config(epochs)).expect("training runs");
        })
    };
    run(1);
    (run(1), run(3))
}

#[test]
fn w1_steps_and_epochs_allocate_nothing() {
    let (x, y) = digits_train();
    assert_eq!(allocations_per_ten_steps(w1(), LogSoftmaxCrossEntropy::new(), &x, &y, 32), 0);
    let (one, three) = allocations_of_1_and_3_epochs(w1(), LogSoftmaxCrossEntropy::new(), &x, &y);
    assert_eq!(one, three, "2 more epochs of W1 allocated");
}

#[test]
fn w2_steps_and_epochs_allocate_nothing() {
    let (x, y) = digits_train();
    let rows = x.shape()[0];
    let x = x.into_shape_with_order((rows, 64, 1)).expect("64 = 64 × 1").into_dyn();
    assert_eq!(allocations_per_ten_steps(w2(), LogSoftmaxCrossEntropy::new(), &x, &y, 32), 0);
    let (one, three) = allocations_of_1_and_3_epochs(w2(), LogSoftmaxCrossEntropy::new(), &x, &y);
    assert_eq!(one, three, "2 more epochs of W2 allocated");
}

#[test]
fn w3_steps_and_epochs_allocate_nothing() {
    let (x, _) = digits_train();
    assert_eq!(allocations_per_ten_steps(w3(), BCELoss::new(), &x, &x, 32), 0);
    let (one, three) = allocations_of_1_and_3_epochs(w3(), BCELoss::new(), &x, &x);
    assert_eq!(one, three, "2 more epochs of W3 allocated");
}

#[test]
fn w4_steps_allocate_nothing() {
    let mut rng = StdRng::seed_from_u64(4);
    let x = Array2::from_shape_fn((256, 784), |_| rng.random_range(0.0f32..1.0)).into_dyn();
    let labels: Vec<usize> = (0..256).map(|_| rng.random_range(0..10)).collect();
    let y = one_hot(&labels, 10).into_dyn();
    assert_eq!(allocations_per_ten_steps(w4(), LogSoftmaxCrossEntropy::new(), &x, &y, 256), 0);
}
