//! The report's training workloads, W1–W4: one training step (`Optim::step` on
//! a fixed batch) and one epoch (`train` for one epoch: shuffled, the last
//! partial batch kept). The data are the seeded 80/20 split of the 8×8 digits
//! (1437 training rows), f32, plain SGD:
//!
//! - W1 `Linear(64,100) -> ReLU -> Linear(100,10)`, LogSoftmax cross-entropy, batch 32;
//! - W2 `Conv1D(3,1,32) -> MaxPool1D(2,2) -> Flatten -> Linear(992,100) -> ReLU -> Linear(100,10)`, batch 32;
//! - W3 auto-encoder `Linear(64,200) -> TanH -> Linear(200,50) -> TanH` /
//!   `Linear(50,200) -> TanH -> Linear(200,64) -> Sigmoid`, BCE, batch 32;
//! - W4 `Linear(784,1024) -> ReLU -> Linear(1024,1024) -> ReLU -> Linear(1024,10)`,
//!   batch 256, 40 batches of seeded random data per epoch.
//!
//! Run all: `cargo bench --bench workloads`. A quick subset: `cargo bench --bench
//! workloads -- W1` (criterion filters by name, e.g. `-- W2/step`). Quote
//! ratios between runs of the same session, never absolute times: the machine
//! is shared and noisy.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndarray::{Array2, ArrayD, Axis};
use nn::core::{Loss, Module};
use nn::data::{digits, one_hot, stratified_split};
use nn::layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU, Sigmoid, TanH};
use nn::losses::{BCELoss, LogSoftmaxCrossEntropy};
use nn::models::{AutoEncoder, Sequential};
use nn::train::{Optim, TrainConfig, train};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// The 1437 training rows of the digits: x (1437, 64) in [0, 1] and one-hot y (1437, 10).
fn digits_train() -> (Array2<f32>, Array2<f32>) {
    let data = digits();
    let (train_rows, _) = stratified_split(&data.labels, 0.2, 0).expect("the digits split");
    let part = data.select(&train_rows);
    let y = part.one_hot();
    (part.x, y)
}

fn w1(rng: &mut StdRng) -> Sequential {
    Sequential::new().add(Linear::new(64, 100, rng)).add(ReLU::new()).add(Linear::new(100, 10, rng))
}

fn w2(rng: &mut StdRng) -> Sequential {
    Sequential::new()
        .add(Conv1D::new(3, 1, 32, 1, rng))
        .add(MaxPool1D::new(2, 2))
        .add(Flatten::new())
        .add(Linear::new(992, 100, rng))
        .add(ReLU::new())
        .add(Linear::new(100, 10, rng))
}

fn w3(rng: &mut StdRng) -> AutoEncoder {
    let encoder = Sequential::new()
        .add(Linear::new(64, 200, rng))
        .add(TanH::new())
        .add(Linear::new(200, 50, rng))
        .add(TanH::new());
    let decoder = Sequential::new()
        .add(Linear::new(50, 200, rng))
        .add(TanH::new())
        .add(Linear::new(200, 64, rng))
        .add(Sigmoid::new());
    AutoEncoder::new(encoder, decoder)
}

fn w4(rng: &mut StdRng) -> Sequential {
    Sequential::new()
        .add(Linear::new(784, 1024, rng))
        .add(ReLU::new())
        .add(Linear::new(1024, 1024, rng))
        .add(ReLU::new())
        .add(Linear::new(1024, 10, rng))
}

/// W4's data: 40 batches of 256 rows, x uniform in [0, 1), one-hot y of random classes.
fn w4_data(rng: &mut StdRng) -> (ArrayD<f32>, ArrayD<f32>) {
    let rows = 40 * 256;
    let x = Array2::from_shape_fn((rows, 784), |_| rng.random_range(0.0f32..1.0));
    let labels: Vec<usize> = (0..rows).map(|_| rng.random_range(0..10)).collect();
    (x.into_dyn(), one_hot(&labels, 10).into_dyn())
}

/// One workload: how to build its network and loss (the same seed each time),
/// its data and its batch size.
struct Workload<N, L> {
    name: &'static str,
    build: fn() -> (N, L),
    x: ArrayD<f32>,
    y: ArrayD<f32>,
    batch: usize,
}

impl<N: Module, L: Loss> Workload<N, L> {
    fn bench(self, c: &mut Criterion, sample_size: usize) {
        let mut group = c.benchmark_group(self.name);
        group.sample_size(sample_size);
        let bx = self.x.slice_axis(Axis(0), (0..self.batch).into()).to_owned();
        let by = self.y.slice_axis(Axis(0), (0..self.batch).into()).to_owned();
        let (net, loss) = (self.build)();
        let mut optim = Optim::new(net, loss, 0.01).expect("a valid learning rate");
        group.bench_function(BenchmarkId::new("step", self.batch), |b| {
            b.iter(|| black_box(optim.step(bx.view(), by.view()).expect("a finite step")))
        });
        let (mut net, mut loss) = (self.build)();
        let config =
            TrainConfig { batch_size: self.batch, epochs: 1, learning_rate: 0.01, ..Default::default() };
        group.bench_function(BenchmarkId::new("epoch", self.batch), |b| {
            b.iter(|| {
                black_box(
                    train(&mut net, &mut loss, (self.x.view(), self.y.view()), &config).expect("an epoch"),
                )
            })
        });
        group.finish();
    }
}

fn workloads(c: &mut Criterion) {
    let (x, y) = digits_train();
    let rows = x.nrows();
    let x_dense = x.into_dyn();
    let x_seq = x_dense.clone().into_shape_with_order((rows, 64, 1)).expect("64 = 64 × 1").into_dyn();
    let y = y.into_dyn();
    let seeded = || StdRng::seed_from_u64(0);
    Workload {
        name: "W1",
        build: || (w1(&mut StdRng::seed_from_u64(0)), LogSoftmaxCrossEntropy::new()),
        x: x_dense.clone(),
        y: y.clone(),
        batch: 32,
    }
    .bench(c, 50);
    Workload {
        name: "W2",
        build: || (w2(&mut StdRng::seed_from_u64(0)), LogSoftmaxCrossEntropy::new()),
        x: x_seq,
        y,
        batch: 32,
    }
    .bench(c, 30);
    Workload {
        name: "W3",
        build: || (w3(&mut StdRng::seed_from_u64(0)), BCELoss::new()),
        x: x_dense.clone(),
        y: x_dense,
        batch: 32,
    }
    .bench(c, 30);
    let (x4, y4) = w4_data(&mut seeded());
    Workload {
        name: "W4",
        build: || (w4(&mut StdRng::seed_from_u64(0)), LogSoftmaxCrossEntropy::new()),
        x: x4,
        y: y4,
        batch: 256,
    }
    .bench(c, 10);
}

criterion_group!(benches, workloads);
criterion_main!(benches);
