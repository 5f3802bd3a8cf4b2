//! Steady-state training steps allocate nothing: counted with a global
//! allocator that tallies the allocations of the current thread.
#![allow(unsafe_code)] // a counting GlobalAlloc needs `unsafe impl`; it only forwards to System.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ndarray::{ArrayD, Axis};
use nn_core::{Loss, Module};
use nn_layers::{Linear, ReLU};
use nn_losses::LogSoftmaxCrossEntropy;
use nn_models::Sequential;
use nn_train::{Optim, OptimizerKind};
use rand::SeedableRng;
use rand::rngs::StdRng;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a const-initialised thread-local Cell, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn mlp() -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(0);
    Sequential::new().add(Linear::new(64, 100, &mut rng)).add(ReLU::new()).add(Linear::new(100, 10, &mut rng))
}

/// Once warm, a step allocates nothing: the modules keep their buffers, the
/// products (nn-core's `matmul_into`) keep their packing buffers, and the
/// optimizers their state. Checked for the same step written out by hand with
/// the modules' own methods, and for `Optim` with each optimizer.
#[test]
fn optim_steps_allocate_nothing_once_warm() {
    let digits = nn_data::digits();
    let x: ArrayD<f32> = digits.x.slice_axis(Axis(0), (0..32).into()).to_owned().into_dyn();
    let y: ArrayD<f32> = nn_data::one_hot(&digits.labels[..32], 10).into_dyn();

    let mut net = mlp();
    let mut loss = LogSoftmaxCrossEntropy::new();
    let mut manual_step = || {
        net.forward(x.view()).unwrap();
        loss.forward(y.view(), net.output().view()).unwrap();
        let delta = loss.backward(y.view(), net.output().view()).unwrap();
        net.backward(x.view(), delta.view()).unwrap();
        net.update_parameters(0.01);
        net.zero_grad();
    };
    manual_step();
    manual_step();
    let before = allocations();
    for _ in 0..10 {
        manual_step();
    }
    assert_eq!(allocations() - before, 0, "allocations in 10 warm hand-written steps");

    for kind in [OptimizerKind::Sgd, OptimizerKind::Momentum { momentum: 0.9 }, OptimizerKind::Adam] {
        let mut optim =
            Optim::with_optimizer(mlp(), LogSoftmaxCrossEntropy::new(), kind.build(0.01).unwrap());
        for _ in 0..2 {
            optim.step(x.view(), y.view()).unwrap();
        }
        let before = allocations();
        for _ in 0..10 {
            optim.step(x.view(), y.view()).unwrap();
        }
        assert_eq!(allocations() - before, 0, "{kind}: allocations in 10 warm steps");
    }
}
