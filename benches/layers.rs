//! Forward and backward of each layer and loss at the shapes the report's
//! workloads give them (batch 32, W4's layers at batch 256), f32.
//!
//! `backward` is `Module::backward`: the parameter gradients and ∂loss/∂input.
//! Inputs and deltas are seeded uniform values, built outside the timed loop;
//! ReLU and MaxPool1D inputs have no ties or zeros.
//!
//! Run all: `cargo bench --bench layers`. A quick subset: `cargo bench --bench
//! layers -- Conv1D` (criterion filters by name, e.g. `-- "Linear(64, 100)"`).
//! Quote ratios from one run, never absolute times.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndarray::{ArrayD, IxDyn};
use nn::core::{Loss, Module};
use nn::layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU, Sigmoid, Softmax, TanH, Upsample1D};
use nn::losses::{BCELoss, LogSoftmaxCrossEntropy, MSELoss};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn uniform(shape: &[usize], low: f32, high: f32, rng: &mut StdRng) -> ArrayD<f32> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(low..high))
}

/// Benches `module`'s forward and backward on an input of `shape`.
fn module(c: &mut Criterion, mut module: Box<dyn Module>, shape: &[usize], rng: &mut StdRng) {
    let x = uniform(shape, -1.0, 1.0, rng);
    let out_shape = module.output_shape(shape).expect("the report's shapes fit");
    let delta = uniform(&out_shape, -1.0, 1.0, rng);
    let mut group = c.benchmark_group(module.to_string());
    let batch = shape[0];
    group.bench_function(BenchmarkId::new("forward", batch), |b| {
        b.iter(|| black_box(module.forward(x.view()).expect("fits").as_ptr()))
    });
    module.forward(x.view()).expect("fits");
    group.bench_function(BenchmarkId::new("backward", batch), |b| {
        b.iter(|| black_box(module.backward(x.view(), delta.view()).expect("fits").as_ptr()))
    });
    group.finish();
}

/// Benches `loss`'s forward and backward on predictions `yhat` against targets `y`.
fn loss(c: &mut Criterion, mut loss: Box<dyn Loss>, y: ArrayD<f32>, yhat: ArrayD<f32>) {
    let mut group = c.benchmark_group(loss.to_string());
    let batch = y.shape()[0];
    group.bench_function(BenchmarkId::new("forward", batch), |b| {
        b.iter(|| black_box(loss.forward(y.view(), yhat.view()).expect("fits")))
    });
    group.bench_function(BenchmarkId::new("backward", batch), |b| {
        b.iter(|| black_box(loss.backward(y.view(), yhat.view()).expect("fits").as_ptr()))
    });
    group.finish();
}

fn layers(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(0);
    let linears = [
        (64, 100, 32),
        (100, 10, 32),
        (992, 100, 32),
        (64, 200, 32),
        (200, 50, 32),
        (50, 200, 32),
        (200, 64, 32),
        (784, 1024, 256),
        (1024, 1024, 256),
        (1024, 10, 256),
    ];
    for (inputs, outputs, batch) in linears {
        let layer = Box::new(Linear::new(inputs, outputs, &mut rng));
        module(c, layer, &[batch, inputs], &mut rng);
    }
    module(c, Box::new(Conv1D::new(3, 1, 32, 1, &mut rng)), &[32, 64, 1], &mut rng);
    module(c, Box::new(MaxPool1D::new(2, 2)), &[32, 62, 32], &mut rng);
    module(c, Box::new(Flatten::new()), &[32, 31, 32], &mut rng);
    module(c, Box::new(Upsample1D::new(2)), &[32, 31, 32], &mut rng);
    module(c, Box::new(ReLU::new()), &[32, 100], &mut rng);
    module(c, Box::new(TanH::new()), &[32, 200], &mut rng);
    module(c, Box::new(Sigmoid::new()), &[32, 64], &mut rng);
    module(c, Box::new(Softmax::new()), &[32, 10], &mut rng);

    let classes = ArrayD::from_shape_fn(IxDyn(&[32, 10]), |i| if i[1] == i[0] % 10 { 1.0 } else { 0.0 });
    loss(
        c,
        Box::new(LogSoftmaxCrossEntropy::new()),
        classes.clone(),
        uniform(&[32, 10], -3.0, 3.0, &mut rng),
    );
    let pixels = uniform(&[32, 64], 0.0, 1.0, &mut rng);
    loss(c, Box::new(BCELoss::new()), pixels.clone(), uniform(&[32, 64], 0.01, 0.99, &mut rng));
    loss(c, Box::new(MSELoss::new()), pixels, uniform(&[32, 64], 0.0, 1.0, &mut rng));
}

criterion_group!(benches, layers);
criterion_main!(benches);
