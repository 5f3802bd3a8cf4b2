//! The f32 code paths (nn-core's own matrix kernel, the vectorised tanh and
//! sigmoid, the slice loops of the layers) agree with the f64 ones, which go
//! through ndarray and the standard library.
//!
//! Each case builds a module in f32, copies its parameters (widened, so
//! exactly) into the same module built in f64, runs both on the same input
//! and the same delta, and compares the outputs, the input gradients and the
//! parameter gradients: they must agree within [`TOLERANCE`] of the largest
//! magnitude of the f64 tensor. Shapes are drawn so that the products hit
//! every edge of the kernel: sizes that are not multiples of its tile, 1-row
//! batches, thin outputs, transposed operands, more than one pass over k,
//! and operands large enough to be packed.
//!
//! Run them alone with `cargo test --test f32_matches_f64`.

use ndarray::{ArrayD, IxDyn};
use nn::core::gradcheck;
use nn::layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU, Sigmoid, Softmax, TanH, Unflatten, Upsample1D};
use nn::losses::{BCELoss, CrossEntropyLoss, LogSoftmaxCrossEntropy, MSELoss};
use nn::models::{AutoEncoder, Sequential};
use nn::prelude::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Largest accepted |f32 − f64|, relative to the largest |f64| of the tensor (or [`FLOOR`]).
const TOLERANCE: f64 = 1e-4;

/// Tensors whose largest magnitude is below this are compared as if it were
/// this: they are differences of O(1) quantities (1 − y² at a saturated tanh)
/// that f32 resolves only to about 1e-7.
const FLOOR: f64 = 1e-3;

/// Pre-activations of a ReLU closer than this to 0, or max-pool windows whose
/// two largest values are closer than this, make the case ambiguous: f32
/// rounding may pick the other side, and the gradients differ by design.
const AMBIGUOUS: f64 = 1e-5;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, ..ProptestConfig::default() }
}

/// Values in `range` that f32 represents exactly, as f64.
fn values(shape: &[usize], range: std::ops::Range<f64>, rng: &mut StdRng) -> ArrayD<f64> {
    gradcheck::uniform(shape, range, rng).mapv_into(|v| f64::from(v as f32))
}

fn narrow(x: &ArrayD<f64>) -> ArrayD<f32> {
    x.mapv(|v| v as f32)
}

/// Fails unless `found` (f32) is within tolerance of `expected` (f64).
fn assert_close(found: &ArrayD<f32>, expected: &ArrayD<f64>, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(found.shape(), expected.shape(), "{}: shapes differ", what);
    let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(FLOOR);
    let worst = found.iter().zip(expected).map(|(&f, &e)| (f64::from(f) - e).abs()).fold(0.0f64, f64::max);
    prop_assert!(
        worst <= TOLERANCE * scale,
        "{}: largest |f32 − f64| is {:e}, {:e} of the largest magnitude {:e}",
        what,
        worst,
        worst / scale,
        scale
    );
    Ok(())
}

/// Copies the f32 parameters into the f64 module (widening is exact).
fn copy_parameters<M32: Module<f32>, M64: Module<f64>>(from: &M32, to: &mut M64) {
    let mut values = Vec::new();
    from.visit_parameters(&mut |p| values.push(p.value.mapv(f64::from)));
    let mut next = values.into_iter();
    to.visit_parameters_mut(&mut |mut p| {
        let value = next.next().expect("both modules have the same parameters");
        p.value.assign(&value);
    });
    assert!(next.next().is_none(), "both modules have the same parameters");
}

fn gradients<F: Float, M: Module<F> + ?Sized>(module: &M) -> Vec<ArrayD<F>> {
    let mut grads = Vec::new();
    module.visit_parameters(&mut |p| grads.push(p.grad.to_owned()));
    grads
}

/// Whether `input` to `module` sits on a ReLU kink or a max-pool tie (see [`AMBIGUOUS`]).
fn ambiguous(module: &str, input: &ArrayD<f64>) -> bool {
    if module == "ReLU()" {
        return input.iter().any(|v| v.abs() < AMBIGUOUS);
    }
    let Some(args) = module.strip_prefix("MaxPool1D(").and_then(|s| s.strip_suffix(')')) else {
        return false;
    };
    let mut args = args.split(", ").map(|a| a.parse::<usize>().expect("MaxPool1D(k, stride)"));
    let (k, stride) = (args.next().expect("k"), args.next().expect("stride"));
    let (batch, length, channels) = (input.shape()[0], input.shape()[1], input.shape()[2]);
    let windows = if length < k { 0 } else { (length - k) / stride + 1 };
    (0..batch).any(|b| {
        (0..windows).any(|w| {
            (0..channels).any(|c| {
                let mut top = [f64::NEG_INFINITY; 2];
                for t in w * stride..w * stride + k {
                    let v = input[[b, t, c]];
                    if v > top[0] {
                        top = [v, top[0]];
                    } else if v > top[1] {
                        top[1] = v;
                    }
                }
                k > 1 && top[0] - top[1] < AMBIGUOUS
            })
        })
    })
}

/// Whether any module of `chain` got an ambiguous input in its last forward.
fn chain_ambiguous(chain: &Sequential<f64>, x: &ArrayD<f64>) -> bool {
    let mut input = x;
    for module in chain.modules() {
        if ambiguous(&module.to_string(), input) {
            return true;
        }
        input = module.output();
    }
    false
}

/// Runs the f32 and f64 modules (parameters already equal) on `x` and a
/// random delta, through forward, both backward methods one by one, then
/// `backward`, comparing every result. `skip` says whether a forward in f64
/// made the case ambiguous.
fn compare<M32: Module<f32>, M64: Module<f64>>(
    m32: &mut M32,
    m64: &mut M64,
    x: &ArrayD<f64>,
    rng: &mut StdRng,
    skip: impl Fn(&M64) -> bool,
) -> Result<(), TestCaseError> {
    let x32 = narrow(x);
    let y32 = m32.forward(x32.view()).map_err(|e| TestCaseError::fail(e.to_string()))?.clone();
    let y64 = m64.forward(x.view()).map_err(|e| TestCaseError::fail(e.to_string()))?.clone();
    prop_assume!(!skip(m64), "on a kink or a tie");
    let name = m64.to_string();
    assert_close(&y32, &y64, &format!("{name} output"))?;

    let delta = values(y64.shape(), -1.0..1.0, rng);
    let d32 = narrow(&delta);
    m32.zero_grad();
    m64.zero_grad();
    m32.backward_update_gradient(x32.view(), d32.view()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    m64.backward_update_gradient(x.view(), delta.view()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let g32 = m32.backward_delta(x32.view(), d32.view()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let g64 = m64.backward_delta(x.view(), delta.view()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    assert_close(g32, g64, &format!("{name} grad_input"))?;
    for (i, (p32, p64)) in gradients(&*m32).iter().zip(&gradients(&*m64)).enumerate() {
        assert_close(p32, p64, &format!("{name} gradient of parameter {i}"))?;
    }

    m32.zero_grad();
    m64.zero_grad();
    let g32 = m32.backward(x32.view(), d32.view()).map_err(|e| TestCaseError::fail(e.to_string()))?.clone();
    let g64 = m64.backward(x.view(), delta.view()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    assert_close(&g32, g64, &format!("{name} backward"))?;
    for (i, (p32, p64)) in gradients(&*m32).iter().zip(&gradients(&*m64)).enumerate() {
        assert_close(p32, p64, &format!("{name} backward, gradient of parameter {i}"))?;
    }
    Ok(())
}

/// Builds the same module in f32 and f64, with the f32 parameters copied into the f64 one.
fn pair<M32: Module<f32>, M64: Module<f64>>(
    seed: u64,
    build32: impl FnOnce(&mut StdRng) -> M32,
    build64: impl FnOnce(&mut StdRng) -> M64,
) -> (M32, M64) {
    let m32 = build32(&mut StdRng::seed_from_u64(seed));
    let mut m64 = build64(&mut StdRng::seed_from_u64(seed));
    copy_parameters(&m32, &mut m64);
    (m32, m64)
}

fn compare_layer<M32: Module<f32>, M64: Module<f64>>(
    (mut m32, mut m64): (M32, M64),
    x: &ArrayD<f64>,
    rng: &mut StdRng,
) -> Result<(), TestCaseError> {
    compare(&mut m32, &mut m64, x, rng, |m| ambiguous(&m.to_string(), x))
}

/// W2's chain with the given sizes: Conv1D → MaxPool1D → Flatten → Linear → ReLU → Linear.
fn conv_chain<F: Float>(
    (length, chan_in, chan_out, k, stride): (usize, usize, usize, usize, usize),
    (pool, hidden, classes): (usize, usize, usize),
    rng: &mut StdRng,
) -> Sequential<F> {
    let conv_len = (length - k) / stride + 1;
    let pooled = (conv_len - pool) / pool + 1;
    Sequential::new()
        .add(Conv1D::new(k, chan_in, chan_out, stride, rng))
        .add(MaxPool1D::new(pool, pool))
        .add(Flatten::new())
        .add(Linear::new(pooled * chan_out, hidden, rng))
        .add(ReLU::new())
        .add(Linear::new(hidden, classes, rng))
}

/// W1's chain with the given sizes: Linear → ReLU → Linear.
fn dense_chain<F: Float>(inputs: usize, hidden: usize, classes: usize, rng: &mut StdRng) -> Sequential<F> {
    Sequential::new()
        .add(Linear::new(inputs, hidden, rng))
        .add(ReLU::new())
        .add(Linear::new(hidden, classes, rng))
}

/// W3's auto-encoder with the given sizes: Linear → TanH → Linear → TanH / Linear → TanH → Linear → Sigmoid.
fn autoencoder<F: Float>(
    (inputs, hidden, latent): (usize, usize, usize),
    rng: &mut StdRng,
) -> AutoEncoder<F> {
    let encoder = Sequential::new()
        .add(Linear::new(inputs, hidden, rng))
        .add(TanH::new())
        .add(Linear::new(hidden, latent, rng))
        .add(TanH::new());
    let decoder = Sequential::new()
        .add(Linear::new(latent, hidden, rng))
        .add(TanH::new())
        .add(Linear::new(hidden, inputs, rng))
        .add(Sigmoid::new());
    AutoEncoder::new(encoder, decoder)
}

fn compare_losses(y: &ArrayD<f64>, yhat: &ArrayD<f64>) -> Result<(), TestCaseError> {
    fn one<L32: Loss<f32>, L64: Loss<f64>>(
        mut l32: L32,
        mut l64: L64,
        y: &ArrayD<f64>,
        yhat: &ArrayD<f64>,
    ) -> Result<(), TestCaseError> {
        let (y32, yhat32) = (narrow(y), narrow(yhat));
        let name = l64.to_string();
        let v32 = l32.forward(y32.view(), yhat32.view()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let v64 = l64.forward(y.view(), yhat.view()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let v = ArrayD::from_elem(IxDyn(&[]), v32);
        assert_close(&v, &ArrayD::from_elem(IxDyn(&[]), v64), &format!("{name} forward"))?;
        let g32 = l32.backward(y32.view(), yhat32.view()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let g64 = l64.backward(y.view(), yhat.view()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        assert_close(g32, g64, &format!("{name} backward"))
    }
    // yhat in (0.05, 0.95): probabilities for the losses that take them.
    one(MSELoss::new(), MSELoss::new(), y, yhat)?;
    one(BCELoss::new(), BCELoss::new(), y, yhat)?;
    one(CrossEntropyLoss::new(), CrossEntropyLoss::new(), y, yhat)?;
    let scores = yhat.mapv(|p| f64::from(((p - 0.5) * 20.0) as f32));
    one(LogSoftmaxCrossEntropy::new(), LogSoftmaxCrossEntropy::new(), y, &scores)
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn linear_f32_matches_f64(
        batch in 1usize..40, in_features in 1usize..80, out_features in 1usize..70, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let layers = pair(seed, |r| Linear::new(in_features, out_features, r), |r| Linear::new(in_features, out_features, r));
        let x = values(&[batch, in_features], -2.0..2.0, &mut rng);
        compare_layer(layers, &x, &mut rng)?;
    }

    #[test]
    fn conv1d_f32_matches_f64(
        batch in 1usize..6, length in 1usize..70, chan_in in 1usize..5, chan_out in 1usize..40,
        k in 1usize..6, stride in 1usize..4, seed: u64,
    ) {
        prop_assume!(k <= length);
        let mut rng = StdRng::seed_from_u64(seed);
        let layers = pair(seed, |r| Conv1D::new(k, chan_in, chan_out, stride, r), |r| Conv1D::new(k, chan_in, chan_out, stride, r));
        let x = values(&[batch, length, chan_in], -2.0..2.0, &mut rng);
        compare_layer(layers, &x, &mut rng)?;
    }

    #[test]
    fn parameterless_layers_f32_match_f64(
        batch in 1usize..6, length in 1usize..40, channels in 1usize..40,
        k in 1usize..5, stride in 1usize..4, scale in 1usize..4, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        // Wide enough for tanh and sigmoid to saturate, and past the vector width.
        let dense = values(&[batch, length * channels], -12.0..12.0, &mut rng);
        let sequence = values(&[batch, length, channels], -12.0..12.0, &mut rng);
        compare_layer((TanH::new(), TanH::new()), &dense, &mut rng)?;
        compare_layer((Sigmoid::new(), Sigmoid::new()), &dense, &mut rng)?;
        compare_layer((ReLU::new(), ReLU::new()), &dense, &mut rng)?;
        compare_layer((Softmax::new(), Softmax::new()), &dense, &mut rng)?;
        compare_layer((Flatten::new(), Flatten::new()), &sequence, &mut rng)?;
        compare_layer((Unflatten::new(length, channels), Unflatten::new(length, channels)), &dense, &mut rng)?;
        compare_layer((Upsample1D::new(scale), Upsample1D::new(scale)), &sequence, &mut rng)?;
        if k <= length {
            compare_layer((MaxPool1D::new(k, stride), MaxPool1D::new(k, stride)), &sequence, &mut rng)?;
        }
    }

    #[test]
    fn losses_f32_match_f64(batch in 1usize..40, classes in 1usize..40, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut y = ArrayD::zeros(IxDyn(&[batch, classes]));
        for row in 0..batch {
            y[[row, rng.random_range(0..classes)]] = 1.0;
        }
        let yhat = values(&[batch, classes], 0.05..0.95, &mut rng);
        compare_losses(&y, &yhat)?;
    }

    #[test]
    fn w1_like_chain_f32_matches_f64(
        batch in 1usize..40, inputs in 1usize..70, hidden in 1usize..130, classes in 1usize..12, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut m32, mut m64) =
            pair(seed, |r| dense_chain(inputs, hidden, classes, r), |r| dense_chain(inputs, hidden, classes, r));
        let x = values(&[batch, inputs], 0.0..16.0, &mut rng);
        compare(&mut m32, &mut m64, &x, &mut rng, |m| chain_ambiguous(m, &x))?;
    }

    #[test]
    fn w2_like_chain_f32_matches_f64(
        batch in 1usize..12, length in 8usize..70, chan_out in 1usize..40, k in 1usize..5, stride in 1usize..3,
        pool in 1usize..4, hidden in 1usize..110, classes in 1usize..12, seed: u64,
    ) {
        let conv_len = (length - k) / stride + 1;
        prop_assume!(pool <= conv_len);
        let mut rng = StdRng::seed_from_u64(seed);
        let sizes = ((length, 1, chan_out, k, stride), (pool, hidden, classes));
        let (mut m32, mut m64) = pair(seed, |r| conv_chain(sizes.0, sizes.1, r), |r| conv_chain(sizes.0, sizes.1, r));
        let x = values(&[batch, length, 1], 0.0..16.0, &mut rng);
        compare(&mut m32, &mut m64, &x, &mut rng, |m| chain_ambiguous(m, &x))?;
    }

    #[test]
    fn w3_like_autoencoder_f32_matches_f64(
        batch in 1usize..40, inputs in 1usize..70, hidden in 1usize..210, latent in 1usize..60, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let sizes = (inputs, hidden, latent);
        let (mut m32, mut m64) = pair(seed, |r| autoencoder(sizes, r), |r| autoencoder(sizes, r));
        let x = values(&[batch, inputs], 0.0..1.0, &mut rng);
        compare(&mut m32, &mut m64, &x, &mut rng, |_| false)?;
    }
}

proptest! {
    // Large enough that the kernel packs its operands and makes several passes over k.
    #![proptest_config(config(8))]

    #[test]
    fn large_linear_chains_f32_match_f64(
        batch in 120usize..300, inputs in 250usize..800, hidden in 100usize..400, classes in 1usize..40, seed: u64,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut m32, mut m64) =
            pair(seed, |r| dense_chain(inputs, hidden, classes, r), |r| dense_chain(inputs, hidden, classes, r));
        let x = values(&[batch, inputs], -1.0..1.0, &mut rng);
        compare(&mut m32, &mut m64, &x, &mut rng, |m| chain_ambiguous(m, &x))?;
    }
}
