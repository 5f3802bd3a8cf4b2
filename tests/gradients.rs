//! Property-based gradient checks: for every module and loss of the library,
//! both backward methods agree with central finite differences, in f64, over
//! random shapes, strides, kernel sizes and values.
//!
//! Run them alone with `cargo test --test gradients`.

use ndarray::{ArrayD, IxDyn};
use nn::core::gradcheck::{self, Report};
use nn::layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU, Sigmoid, Softmax, TanH, Unflatten, Upsample1D};
use nn::losses::{BCELoss, CrossEntropyLoss, LogSoftmaxCrossEntropy, MSELoss};
use nn::models::{AutoEncoder, Sequential};
use nn::prelude::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

/// Step of the central differences; with f64 the truncation error is ~1e-12.
const EPS: f64 = 1e-6;
/// Largest accepted |analytic − numeric| / max(1, |analytic|, |numeric|).
const TOLERANCE: f64 = 1e-6;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 128, ..ProptestConfig::default() }
}

fn assert_passes(report: Report) -> Result<(), TestCaseError> {
    prop_assert!(report.checked > 0, "nothing was checked: {report}");
    prop_assert!(report.passes(TOLERANCE), "{report}");
    Ok(())
}

fn check_module(module: &mut dyn Module<f64>, x: &ArrayD<f64>) -> Result<(), TestCaseError> {
    let report = gradcheck::check(module, x, EPS).map_err(|e| TestCaseError::fail(e.to_string()))?;
    assert_passes(report)
}

/// Values with no two closer than 0.05, so a ±EPS nudge never changes which
/// element of a pooling window is the max.
fn distinct_values(shape: &[usize], rng: &mut StdRng) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let values = order.into_iter().map(|i| i as f64 * 0.05 - n as f64 * 0.025 + rng.random_range(0.0..0.01));
    ArrayD::from_shape_vec(IxDyn(shape), values.collect()).expect("n elements")
}

/// Values at least 0.01 away from 0, the kink of ReLU.
fn off_kink(shape: &[usize], rng: &mut StdRng) -> ArrayD<f64> {
    gradcheck::uniform(shape, 0.01..2.0, rng).mapv_into(|v| if rng.random_bool(0.5) { v } else { -v })
}

fn one_hot_rows(batch: usize, classes: usize, rng: &mut StdRng) -> ArrayD<f64> {
    let mut y = ArrayD::zeros(IxDyn(&[batch, classes]));
    for row in 0..batch {
        y[[row, rng.random_range(0..classes)]] = 1.0;
    }
    y
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn linear_gradients_match_finite_differences(
        batch in 1usize..5, in_features in 1usize..7, out_features in 1usize..7, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut layer = Linear::<f64>::new(in_features, out_features, &mut rng);
        let x = gradcheck::uniform(&[batch, in_features], -2.0..2.0, &mut rng);
        check_module(&mut layer, &x)?;
    }

    #[test]
    fn flatten_gradients_match_finite_differences(
        batch in 1usize..4, dims in prop::collection::vec(1usize..5, 1..4), seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let shape: Vec<usize> = std::iter::once(batch).chain(dims).collect();
        let x = gradcheck::uniform(&shape, -2.0..2.0, &mut rng);
        check_module(&mut Flatten::<f64>::new(), &x)?;
    }

    #[test]
    fn max_pool1d_gradients_match_finite_differences(
        batch in 1usize..4, length in 1usize..14, channels in 1usize..4,
        k_size in 1usize..5, stride in 1usize..4, seed: u64,
    ) {
        prop_assume!(k_size <= length);
        let mut rng = StdRng::seed_from_u64(seed);
        let x = distinct_values(&[batch, length, channels], &mut rng);
        check_module(&mut MaxPool1D::<f64>::new(k_size, stride), &x)?;
    }

    #[test]
    fn conv1d_gradients_match_finite_differences(
        batch in 1usize..4, length in 1usize..14, chan_in in 1usize..4,
        chan_out in 1usize..4, k_size in 1usize..5, stride in 1usize..4, seed: u64,
    ) {
        prop_assume!(k_size <= length);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut conv = Conv1D::<f64>::new(k_size, chan_in, chan_out, stride, &mut rng);
        let x = gradcheck::uniform(&[batch, length, chan_in], -2.0..2.0, &mut rng);
        check_module(&mut conv, &x)?;
    }

    #[test]
    fn conv1d_with_kernel_1_and_equal_channels_matches_finite_differences(
        batch in 1usize..4, length in 1usize..10, channels in 1usize..5, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut conv = Conv1D::<f64>::new(1, channels, channels, 1, &mut rng);
        let x = gradcheck::uniform(&[batch, length, channels], -2.0..2.0, &mut rng);
        check_module(&mut conv, &x)?;
    }

    #[test]
    fn conv1d_with_a_stride_that_does_not_divide_the_length_matches_finite_differences(
        batch in 1usize..3, k_size in 1usize..4, stride in 2usize..5, extra in 1usize..4, seed: u64,
    ) {
        // (length − k_size) is not a multiple of the stride: the tail is dropped.
        let length = k_size + 2 * stride + (extra % stride).max(1);
        prop_assume!((length - k_size) % stride != 0);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut conv = Conv1D::<f64>::new(k_size, 2, 3, stride, &mut rng);
        let x = gradcheck::uniform(&[batch, length, 2], -2.0..2.0, &mut rng);
        check_module(&mut conv, &x)?;
    }

    #[test]
    fn unflatten_gradients_match_finite_differences(
        batch in 1usize..4, length in 1usize..6, channels in 1usize..4, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = gradcheck::uniform(&[batch, length * channels], -2.0..2.0, &mut rng);
        check_module(&mut Unflatten::<f64>::new(length, channels), &x)?;
    }

    #[test]
    fn upsample1d_gradients_match_finite_differences(
        batch in 1usize..4, length in 1usize..8, channels in 1usize..4, scale in 1usize..4, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = gradcheck::uniform(&[batch, length, channels], -2.0..2.0, &mut rng);
        check_module(&mut Upsample1D::<f64>::new(scale), &x)?;
    }

    #[test]
    fn tanh_gradients_match_finite_differences(
        shape in prop::collection::vec(1usize..5, 1..4), seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = gradcheck::uniform(&shape, -3.0..3.0, &mut rng);
        check_module(&mut TanH::<f64>::new(), &x)?;
    }

    #[test]
    fn sigmoid_gradients_match_finite_differences(
        shape in prop::collection::vec(1usize..5, 1..4), seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = gradcheck::uniform(&shape, -6.0..6.0, &mut rng);
        check_module(&mut Sigmoid::<f64>::new(), &x)?;
    }

    #[test]
    fn relu_gradients_match_finite_differences(
        shape in prop::collection::vec(1usize..5, 1..4), seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = off_kink(&shape, &mut rng);
        check_module(&mut ReLU::<f64>::new(), &x)?;
    }

    #[test]
    fn softmax_gradients_match_finite_differences(
        shape in prop::collection::vec(1usize..6, 1..4), seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = gradcheck::uniform(&shape, -4.0..4.0, &mut rng);
        check_module(&mut Softmax::<f64>::new(), &x)?;
    }

    #[test]
    fn mse_loss_gradient_matches_finite_differences(batch in 1usize..6, outputs in 1usize..8, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let y = gradcheck::uniform(&[batch, outputs], -2.0..2.0, &mut rng);
        let yhat = gradcheck::uniform(&[batch, outputs], -2.0..2.0, &mut rng);
        assert_passes(gradcheck::check_loss(&mut MSELoss::<f64>::new(), &y, &yhat, EPS).unwrap())?;
    }

    #[test]
    fn bce_loss_gradient_matches_finite_differences(batch in 1usize..6, outputs in 1usize..8, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let y = gradcheck::uniform(&[batch, outputs], 0.0..1.0, &mut rng);
        let yhat = gradcheck::uniform(&[batch, outputs], 0.05..0.95, &mut rng);
        assert_passes(gradcheck::check_loss(&mut BCELoss::<f64>::new(), &y, &yhat, EPS).unwrap())?;
    }

    #[test]
    fn cross_entropy_loss_gradient_matches_finite_differences(
        batch in 1usize..6, classes in 2usize..8, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let y = one_hot_rows(batch, classes, &mut rng);
        let yhat = gradcheck::uniform(&[batch, classes], 0.05..0.95, &mut rng);
        assert_passes(gradcheck::check_loss(&mut CrossEntropyLoss::<f64>::new(), &y, &yhat, EPS).unwrap())?;
    }

    #[test]
    fn log_softmax_cross_entropy_gradient_matches_finite_differences(
        batch in 1usize..6, classes in 2usize..8, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let y = one_hot_rows(batch, classes, &mut rng);
        let scores = gradcheck::uniform(&[batch, classes], -5.0..5.0, &mut rng);
        let report = gradcheck::check_loss(&mut LogSoftmaxCrossEntropy::<f64>::new(), &y, &scores, EPS).unwrap();
        assert_passes(report)?;
    }

    #[test]
    fn sequential_gradients_match_finite_differences(
        batch in 1usize..4, length in 6usize..14, channels in 1usize..4, hidden in 1usize..6, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let conv_len = length - 2;
        let pooled = (conv_len - 2) / 2 + 1;
        let mut net = Sequential::<f64>::new()
            .add(Conv1D::new(3, 1, channels, 1, &mut rng))
            .add(TanH::new())
            .add(MaxPool1D::new(2, 2))
            .add(Flatten::new())
            .add(Linear::new(pooled * channels, hidden, &mut rng))
            .add(Sigmoid::new());
        // Ties in the pooling windows are measure-zero for random weights and inputs.
        let x = gradcheck::uniform(&[batch, length, 1], -2.0..2.0, &mut rng);
        check_module(&mut net, &x)?;
    }

    #[test]
    fn autoencoder_gradients_match_finite_differences(
        batch in 1usize..4, features in 2usize..8, latent in 1usize..4, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let encoder = Sequential::<f64>::new().add(Linear::new(features, latent, &mut rng)).add(TanH::new());
        let decoder = Sequential::<f64>::new().add(Linear::new(latent, features, &mut rng)).add(Sigmoid::new());
        let mut net = AutoEncoder::new(encoder, decoder);
        let x = gradcheck::uniform(&[batch, features], 0.0..1.0, &mut rng);
        check_module(&mut net, &x)?;
    }
}
