//! Plain SGD taken inside the backward pass (`Module::sgd_check` and
//! `sgd_apply`, which the training step uses for `Sgd`) gives, bit for bit,
//! the losses and parameters of the unfused step (gradients stored, checked,
//! then w − lr·g), on chains (with a Conv1D too) and auto-encoders, at batch sizes up to the
//! one-pass limit and past it (where the step falls back to the unfused one);
//! leaves the gradients at zero; and on a step it cannot prove finite falls
//! back to the unfused step, whose error and untouched parameters it then
//! reports.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array2, ArrayD};
use nn::core::{Float, Loss, Module};
use nn::layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU, Sigmoid, TanH, Unflatten};
use nn::losses::{BCELoss, LogSoftmaxCrossEntropy};
use nn::models::{AutoEncoder, Sequential};
use nn::train::{NonFinite, Optim, Optimizer, Sgd, TrainError};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// `Sgd`, optionally without its fused path, counting the fused steps taken.
#[derive(Debug)]
struct Counted {
    sgd: Sgd,
    fused: bool,
    fused_steps: Arc<AtomicUsize>,
}

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.sgd, f)
    }
}

impl<F: Float> Optimizer<F> for Counted {
    fn step(&mut self, module: &mut dyn Module<F>) {
        Optimizer::<F>::step(&mut self.sgd, module);
    }
    fn checked_step(
        &mut self,
        module: &mut dyn Module<F>,
        undo: &mut Vec<ArrayD<F>>,
    ) -> Result<(), NonFinite> {
        Optimizer::<F>::checked_step(&mut self.sgd, module, undo)
    }
    fn fused_learning_rate(&self) -> Option<f64> {
        if self.fused { Optimizer::<F>::fused_learning_rate(&self.sgd) } else { None }
    }
    fn record_fused_step(&mut self) {
        self.fused_steps.fetch_add(1, Ordering::Relaxed);
        Optimizer::<F>::record_fused_step(&mut self.sgd);
    }
    fn learning_rate(&self) -> f64 {
        Optimizer::<F>::learning_rate(&self.sgd)
    }
    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), TrainError> {
        Optimizer::<F>::set_learning_rate(&mut self.sgd, learning_rate)
    }
    fn steps(&self) -> u64 {
        Optimizer::<F>::steps(&self.sgd)
    }
    fn load_state(&mut self, steps: u64, state: Vec<Vec<ArrayD<F>>>) -> Result<(), TrainError> {
        Optimizer::<F>::load_state(&mut self.sgd, steps, state)
    }
}

fn optimizer(learning_rate: f64, fused: bool) -> (Box<dyn Optimizer<f32>>, Arc<AtomicUsize>) {
    let fused_steps = Arc::new(AtomicUsize::new(0));
    let sgd = Sgd::new(learning_rate).unwrap();
    (Box::new(Counted { sgd, fused, fused_steps: Arc::clone(&fused_steps) }), fused_steps)
}

fn classifier(seed: u64) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .add(Linear::new(64, 100, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(100, 40, &mut rng))
        .add(TanH::new())
        .add(Linear::new(40, 10, &mut rng))
}

/// The report's convolutional network, from 64 inputs: Conv1D stores its
/// gradients and checks them exactly, the Linear layers take the step inside
/// their products.
fn convolutional(seed: u64) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .add(Unflatten::new(64, 1))
        .add(Conv1D::new(3, 1, 32, 1, &mut rng))
        .add(MaxPool1D::new(2, 2))
        .add(Flatten::new())
        .add(Linear::new(992, 100, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(100, 10, &mut rng))
}

fn autoencoder(seed: u64) -> AutoEncoder<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let encoder = Sequential::new().add(Linear::new(64, 30, &mut rng)).add(TanH::new());
    let decoder = Sequential::new().add(Linear::new(30, 64, &mut rng)).add(Sigmoid::new());
    AutoEncoder::new(encoder, decoder)
}

fn inputs(rows: usize, seed: u64) -> Array2<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, 64), || rng.random_range(0.0..16.0))
}

fn one_hot(rows: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, 10), |(i, j)| if (i * 7 + 3) % 10 == j { 1.0 } else { 0.0 })
}

fn bits(net: &dyn Module<f32>) -> Vec<(String, Vec<u32>, Vec<u32>)> {
    let mut out = Vec::new();
    net.visit_parameters(&mut |p| {
        let value = p.value.iter().map(|v| v.to_bits()).collect();
        let grad = p.grad.iter().map(|v| v.to_bits()).collect();
        out.push((p.name.to_string(), value, grad));
    });
    out
}

/// Trains `make(seed)` fused and unfused on the same batches and compares
/// every loss and parameter bit for bit; returns the fused steps taken.
fn same_training<N: Module<f32>, L: Loss<f32>>(
    make: impl Fn() -> N,
    loss: impl Fn() -> L,
    batches: &[(Array2<f32>, Array2<f32>)],
    learning_rate: f64,
) -> usize {
    let (fused_optimizer, fused_steps) = optimizer(learning_rate, true);
    let (plain_optimizer, _) = optimizer(learning_rate, false);
    let mut fused = Optim::with_optimizer(make(), loss(), fused_optimizer);
    let mut plain = Optim::with_optimizer(make(), loss(), plain_optimizer);
    for (step, (x, y)) in batches.iter().enumerate() {
        let a = fused.step(x.view().into_dyn(), y.view().into_dyn()).unwrap();
        let b = plain.step(x.view().into_dyn(), y.view().into_dyn()).unwrap();
        assert_eq!(a.to_bits(), b.to_bits(), "loss of step {step}: {a} vs {b}");
        let (after_fused, after_plain) = (bits(fused.net()), bits(plain.net()));
        for ((name, value, grad), (_, plain_value, _)) in after_fused.iter().zip(&after_plain) {
            assert!(value == plain_value, "{name} after step {step} differs");
            assert!(grad.iter().all(|&g| g == 0), "{name}: gradient left at zero after step {step}");
        }
    }
    assert_eq!(Optimizer::<f32>::steps(fused.optimizer()), batches.len() as u64);
    fused_steps.load(Ordering::Relaxed)
}

#[test]
fn fused_steps_equal_unfused_steps_bit_for_bit() {
    for batch in [1, 7, 32, 256] {
        let batches: Vec<_> = (0..6).map(|s| (inputs(batch, s) / 16.0, one_hot(batch))).collect();
        let fused = same_training(|| classifier(1), LogSoftmaxCrossEntropy::new, &batches, 0.05);
        assert_eq!(fused, batches.len(), "batch {batch}: every step fused");
        let fused = same_training(|| convolutional(7), LogSoftmaxCrossEntropy::new, &batches, 0.05);
        assert_eq!(fused, batches.len(), "batch {batch}: every convolutional step fused");
        let images: Vec<_> = batches.iter().map(|(x, _)| (x.clone(), x.clone())).collect();
        let fused = same_training(|| autoencoder(2), BCELoss::new, &images, 0.5);
        assert_eq!(fused, images.len(), "batch {batch}: every auto-encoder step fused");
    }
}

#[test]
fn batches_past_one_pass_take_the_unfused_step() {
    let batches: Vec<_> = (0..3).map(|s| (inputs(257, s) / 16.0, one_hot(257))).collect();
    let fused = same_training(|| classifier(3), LogSoftmaxCrossEntropy::new, &batches, 0.05);
    assert_eq!(fused, 0);
}

#[test]
fn a_diverging_step_falls_back_and_reports_as_unfused() {
    let (x, y) = (inputs(16, 5) * 100.0, one_hot(16));
    let mut outcomes = Vec::new();
    for fused in [true, false] {
        let (optimizer, fused_steps) = optimizer(3e38, fused);
        let net = classifier(4);
        let before = bits(&net);
        let mut optim = Optim::with_optimizer(net, LogSoftmaxCrossEntropy::new(), optimizer);
        let error = optim.step(x.view().into_dyn(), y.view().into_dyn()).unwrap_err();
        assert!(matches!(error, TrainError::Diverged { .. }), "{error}");
        assert_eq!(fused_steps.load(Ordering::Relaxed), 0);
        for ((name, value, _), (_, was, _)) in bits(optim.net()).iter().zip(&before) {
            assert!(value == was, "{name} changed by a failed step");
        }
        outcomes.push(error.to_string());
    }
    assert_eq!(outcomes[0], outcomes[1]);
}

#[test]
fn a_weight_too_large_to_prove_takes_the_unfused_step() {
    // 3·10³⁸ on an input that is always 0: the forward pass and the step
    // are finite, but no bound can prove it, so every step is unfused.
    let batches: Vec<_> = (0..3)
        .map(|s| {
            let mut x = inputs(32, s) / 16.0;
            x.column_mut(3).fill(0.0);
            (x, one_hot(32))
        })
        .collect();
    let make = || {
        let mut net = classifier(6);
        net.visit_parameters_mut(&mut |mut p| {
            if p.name.to_string() == "0.weight" {
                p.value[[5, 3]] = 3e38;
            }
        });
        net
    };
    assert_eq!(same_training(make, LogSoftmaxCrossEntropy::new, &batches, 0.05), 0);
}
