//! The training loop: the report's `sgd` and its full form, `train`.

use std::path::Path;

use ndarray::{ArrayViewD, Axis};
use nn_core::{Float, Loss, Module};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::batches::Batches;
use crate::checkpoint::{self, Checkpointing};
use crate::data_check::check_pair;
use crate::evaluate::evaluate_checked;
use crate::progress;
use crate::stepper::{At, Stepper};
use crate::{History, OptimizerKind, TrainConfig, TrainError};

/// The report's `sgd(net, data, loss, batch_size, nb_epochs, eps, step)`:
/// mini-batch gradient descent with early stopping.
///
/// `data` is (X, Y): X (n, …) as `net` takes it, e.g. (n, 64) or (n, 64, 1);
/// Y (n, outputs). Each epoch shuffles the samples (seed 0 and the epoch
/// number), runs every
/// mini-batch of `batch_size` (the last, partial one included) and stops
/// when |epoch loss − previous epoch loss| < `eps` (`eps` = 0: never).
/// `step` is the learning rate of plain SGD. Trains `net` in place.
///
/// The same as [`train`] with [`TrainConfig`] `{ batch_size, epochs:
/// nb_epochs, early_stop_eps: Some(eps), learning_rate: step, ..Default::default() }`.
///
/// # Errors
/// As [`train`].
pub fn sgd<F: Float, N: Module<F> + ?Sized, L: Loss<F> + ?Sized>(
    net: &mut N,
    data: (ArrayViewD<'_, F>, ArrayViewD<'_, F>),
    loss: &mut L,
    batch_size: usize,
    nb_epochs: usize,
    eps: f64,
    step: f64,
) -> Result<History, TrainError> {
    let config = TrainConfig {
        batch_size,
        epochs: nb_epochs,
        early_stop_eps: Some(eps),
        optimizer: OptimizerKind::Sgd,
        learning_rate: step,
        ..TrainConfig::default()
    };
    train(net, loss, data, &config)
}

/// Trains `net` in place on `data` = (X, Y), X (n, …) as `net` takes it and
/// Y (n, outputs), as `config` says, and returns the per-epoch history.
///
/// Each epoch shuffles the sample order with a generator seeded from
/// `config.seed` and the epoch number (same seed, same history, bit for bit;
/// and the order of an epoch does not depend on the ones before, which is
/// what lets [`resume`](crate::resume) continue a run exactly), gathers each
/// mini-batch into a buffer allocated once, and takes one
/// [`Optim`](crate::Optim)-style guarded step per batch. The epoch loss is
/// the mean of the batch losses weighted by batch size. With
/// `config.validation`, the validation loss (and accuracy for one-hot
/// targets) is computed after each epoch in chunks of `batch_size` rows.
///
/// # Errors
/// - [`TrainError::ZeroBatchSize`], [`TrainError::ZeroEpochs`],
///   [`TrainError::LearningRate`], [`TrainError::EarlyStopEps`],
///   [`TrainError::Momentum`]: a bad hyper-parameter;
/// - [`TrainError::EmptyData`], [`TrainError::RowMismatch`],
///   [`TrainError::NoBatchAxis`], [`TrainError::NonFiniteData`]: bad
///   training or validation data;
/// - [`TrainError::Shape`]: the loss refuses a target value before the
///   first step (`Loss::check_targets`, e.g. a `BCELoss` target outside
///   [0, 1], naming its row and column in `y`), or the network or loss
///   refuses a batch, naming the epoch and batch;
/// - [`TrainError::Diverged`]: the loss or a gradient became NaN or
///   infinite, naming the epoch, batch and first non-finite layer; `net` then
///   keeps the parameters it had before the failing step.
pub fn train<F: Float, N: Module<F> + ?Sized, L: Loss<F> + ?Sized>(
    net: &mut N,
    loss: &mut L,
    data: (ArrayViewD<'_, F>, ArrayViewD<'_, F>),
    config: &TrainConfig<F>,
) -> Result<History, TrainError> {
    let mut history = History::default();
    train_into(net, loss, data, config, &mut history)?;
    Ok(history)
}

/// [`train`], recording into `history` as it goes, so a caller keeps the
/// epochs completed before an error (grid search plots them).
pub(crate) fn train_into<F: Float, N: Module<F> + ?Sized, L: Loss<F> + ?Sized>(
    net: &mut N,
    loss: &mut L,
    data: (ArrayViewD<'_, F>, ArrayViewD<'_, F>),
    config: &TrainConfig<F>,
    history: &mut History,
) -> Result<(), TrainError> {
    run(net, loss, data, config, history, None, None)
}

/// The training loop behind [`train`], [`train_checkpointed`](crate::train_checkpointed)
/// and [`resume`](crate::resume): checks everything, restores the run from
/// `resume_from` if given (parameters, optimizer state, `history`), then runs
/// epochs `history.epochs_run + 1 ..= config.epochs`, writing a checkpoint as
/// `checkpointing` says.
pub(crate) fn run<F: Float, N: Module<F> + ?Sized, L: Loss<F> + ?Sized>(
    net: &mut N,
    loss: &mut L,
    (x, y): (ArrayViewD<'_, F>, ArrayViewD<'_, F>),
    config: &TrainConfig<F>,
    history: &mut History,
    resume_from: Option<&Path>,
    checkpointing: Option<&Checkpointing>,
) -> Result<(), TrainError> {
    config.validate()?;
    if checkpointing.is_some_and(|c| c.every == 0) {
        return Err(TrainError::ZeroCheckpointEvery);
    }
    let rows = checked_rows("training data", &x, &y)?;
    // Targets the loss cannot take (a BCE target of 16) are refused here,
    // naming the row of the data, rather than at a shuffled batch's row.
    loss.check_targets(y.view()).map_err(|e| TrainError::shape("training data", e))?;
    if let Some((vx, vy)) = &config.validation {
        checked_rows("validation data", &vx.view(), &vy.view())?;
        loss.check_targets(vy.view()).map_err(|e| TrainError::shape("validation data", e))?;
    }
    let mut optimizer = config.optimizer.build(config.learning_rate)?;
    *history = History::default();
    if let Some(path) = resume_from {
        *history = checkpoint::restore(path, net, &mut *optimizer, config)?;
        if converged(history, config.early_stop_eps) {
            history.stopped_early = history.epochs_run < config.epochs;
        }
    }
    let mut stepper = Stepper::new(optimizer);
    let batch_size = config.batch_size.min(rows);
    let mut x_batches = Batches::new(x, batch_size);
    let mut y_batches = Batches::new(y, batch_size);
    let mut order: Vec<usize> = (0..rows).collect();
    let first = history.epochs_run + 1;
    let last = if history.stopped_early { history.epochs_run } else { config.epochs };
    let bar = progress::bar(config.progress && first <= last, config.epochs, "epoch");
    if let Some(bar) = &bar {
        bar.set_position(history.epochs_run as u64);
    }
    let mut written = None;

    for epoch in first..=last {
        // The order of epoch e depends on (seed, e) only: a resumed run needs no RNG state.
        for (slot, i) in order.iter_mut().zip(0..) {
            *slot = i;
        }
        order.shuffle(&mut StdRng::seed_from_u64(epoch_seed(config.seed, epoch)));
        let mut sum = 0.0;
        for (b, indices) in order.chunks(batch_size).enumerate() {
            let at = At { epoch, batch: b + 1 };
            let bx = x_batches.gather(indices);
            let by = y_batches.gather(indices);
            let value = stepper.step(net, loss, bx, by, at)?;
            sum += value.as_f64() * indices.len() as f64;
        }
        let epoch_loss = sum / rows as f64;
        history.train_loss.push(epoch_loss);
        history.epochs_run = epoch;
        if let Some((vx, vy)) = &config.validation {
            let what = format!("validation after epoch {epoch}");
            let e = evaluate_checked(net, &*loss, vx.view(), vy.view(), config.batch_size, &what)?;
            history.val_loss.push(e.loss);
            if let Some(acc) = e.accuracy {
                history.val_accuracy.push(acc);
            }
        }
        if let Some(bar) = &bar {
            bar.set_message(format!("loss {epoch_loss:.5}"));
            bar.inc(1);
        }
        let stop = converged(history, config.early_stop_eps);
        if stop {
            history.stopped_early = epoch < config.epochs;
        }
        if let Some(c) = checkpointing
            && (epoch % c.every == 0 || stop || epoch == last)
        {
            checkpoint::write(c, net, stepper.optimizer(), history, config, rows)?;
            written = Some(epoch);
        }
        if stop {
            break;
        }
    }
    if let Some(c) = checkpointing
        && written != Some(history.epochs_run)
    {
        // A resumed run with nothing left to do still leaves its checkpoint.
        checkpoint::write(c, net, stepper.optimizer(), history, config, rows)?;
    }
    if let Some(bar) = bar {
        bar.finish();
    }
    Ok(())
}

/// [`check_pair`], which every call of [`train`] runs on its data, made
/// cheap for good data: its element-by-element scan through ndarray's
/// iterator took 5% of a W1 epoch. Contiguous data with matching rows are
/// scanned as slices in one branch-free pass; anything else, or any
/// non-finite value, goes to `check_pair`, which names the problem.
fn checked_rows<F: Float>(
    what: &'static str,
    x: &ArrayViewD<'_, F>,
    y: &ArrayViewD<'_, F>,
) -> Result<usize, TrainError> {
    let finite = |a: &ArrayViewD<'_, F>| {
        a.as_slice_memory_order()
            .is_some_and(|s| s.iter().fold(true, |ok, v| ok & (v.abs() <= F::max_value())))
    };
    let rows = |a: &ArrayViewD<'_, F>| (a.ndim() > 0).then(|| a.len_of(Axis(0)));
    match (rows(x), rows(y)) {
        (Some(n), Some(m)) if n > 0 && n == m && finite(x) && finite(y) => Ok(n),
        _ => check_pair(what, x, y),
    }
}

/// Early stopping: whether the last two epoch losses differ by less than `eps`.
fn converged(history: &History, eps: Option<f64>) -> bool {
    match (eps, history.train_loss.as_slice()) {
        (Some(eps), [.., previous, last]) => (last - previous).abs() < eps,
        _ => false,
    }
}

/// The seed of epoch `epoch`'s shuffle: SplitMix64 of the run's seed and the
/// epoch, so each epoch's order depends on nothing else.
pub(crate) fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    mix(mix(seed) ^ epoch as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{TinyLinear, TinyMse};
    use ndarray::{Array, ArrayD, Axis, IxDyn};

    /// 10 samples of y = 2·x0 − x1 + 0.5.
    fn line(n: usize) -> (ArrayD<f32>, ArrayD<f32>) {
        let x = Array::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0 - 0.5).into_dyn();
        let y = Array::from_shape_fn((n, 1), |(i, _)| 2.0 * x[[i, 0]] - x[[i, 1]] + 0.5).into_dyn();
        (x, y)
    }

    #[test]
    fn the_last_partial_batch_is_used() {
        let (x, y) = line(10);
        let mut net = TinyLinear::new(2, 1);
        let h = sgd(&mut net, (x.view(), y.view()), &mut TinyMse::new(), 4, 3, 0.0, 0.01).unwrap();
        assert_eq!(h.epochs_run, 3);
        assert_eq!(net.backward_calls, 9);
        assert_eq!(net.batch_sizes, vec![4, 4, 2, 4, 4, 2, 4, 4, 2]);
    }

    #[test]
    fn a_batch_larger_than_the_data_is_one_batch() {
        let (x, y) = line(10);
        let mut net = TinyLinear::new(2, 1);
        sgd(&mut net, (x.view(), y.view()), &mut TinyMse::new(), 64, 2, 0.0, 0.01).unwrap();
        assert_eq!(net.batch_sizes, vec![10, 10]);
    }

    #[test]
    fn training_fits_a_line_and_losses_fall() {
        let (x, y) = line(40);
        let mut net = TinyLinear::new(2, 1);
        let h = sgd(&mut net, (x.view(), y.view()), &mut TinyMse::new(), 8, 200, 0.0, 0.2).unwrap();
        assert!(h.train_loss[199] < 1e-6, "{:?}", &h.train_loss[190..]);
        assert!((net.weight[[0, 0]] - 2.0).abs() < 1e-2);
        assert!(!h.stopped_early);
    }

    #[test]
    fn early_stopping_stops_before_the_last_epoch() {
        let (x, y) = line(40);
        let mut net = TinyLinear::new(2, 1);
        let h = sgd(&mut net, (x.view(), y.view()), &mut TinyMse::new(), 8, 500, 1e-3, 0.2).unwrap();
        assert!(h.stopped_early);
        assert!(h.epochs_run < 500 && h.epochs_run >= 2);
        assert_eq!(h.train_loss.len(), h.epochs_run);
        let n = h.epochs_run;
        assert!((h.train_loss[n - 1] - h.train_loss[n - 2]).abs() < 1e-3);
        assert!(h.train_loss[..n - 1].windows(2).all(|w| (w[1] - w[0]).abs() >= 1e-3));
    }

    #[test]
    fn same_seed_same_history_bit_for_bit() {
        let (x, y) = line(37);
        let run = |seed| {
            let mut net = TinyLinear::new(2, 1);
            let config = TrainConfig::<f32> {
                batch_size: 5,
                epochs: 20,
                seed,
                optimizer: OptimizerKind::Adam,
                learning_rate: 0.01,
                validation: Some((x.clone(), y.clone())),
                ..Default::default()
            };
            let h = train(&mut net, &mut TinyMse::new(), (x.view(), y.view()), &config).unwrap();
            (h, net.weight.clone())
        };
        let (a, wa) = run(7);
        let (b, wb) = run(7);
        let (c, _) = run(8);
        assert_eq!(a, b);
        assert_eq!(wa, wb);
        assert_ne!(a.train_loss, c.train_loss);
        assert_eq!(a.val_loss.len(), 20);
        assert!(a.val_accuracy.is_empty());
    }

    #[test]
    fn epoch_orders_depend_on_seed_and_epoch_only() {
        assert_eq!(epoch_seed(3, 5), epoch_seed(3, 5));
        let seeds = [epoch_seed(0, 1), epoch_seed(0, 2), epoch_seed(1, 1), epoch_seed(1, 2)];
        for i in 0..seeds.len() {
            for j in 0..i {
                assert_ne!(seeds[i], seeds[j]);
            }
        }
    }

    #[test]
    fn early_stopping_looks_at_the_last_two_losses() {
        let h = |losses: &[f64]| History { train_loss: losses.to_vec(), ..Default::default() };
        assert!(!converged(&h(&[1.0]), Some(0.5)));
        assert!(converged(&h(&[3.0, 1.0, 0.75]), Some(0.5)));
        assert!(!converged(&h(&[3.0, 1.0, 0.75]), Some(0.25)));
        assert!(!converged(&h(&[1.0, 1.0]), None));
    }

    #[test]
    fn sequence_shaped_inputs_train() {
        let (x, y) = line(12);
        let x3 = x.into_shape_with_order(IxDyn(&[12, 2, 1])).unwrap();
        let mut net = TinyLinear::new(2, 1);
        let h = sgd(&mut net, (x3.view(), y.view()), &mut TinyMse::new(), 5, 2, 0.0, 0.1).unwrap();
        assert_eq!(net.batch_sizes, vec![5, 5, 2, 5, 5, 2]);
        assert_eq!(h.epochs_run, 2);
    }

    #[test]
    fn a_huge_learning_rate_diverges_with_the_last_finite_weights() {
        let (x, y) = line(10);
        // First find where it diverges, then rerun one step short to get the weights before.
        let mut net = TinyLinear::new(2, 1);
        let err = sgd(&mut net, (x.view(), y.view()), &mut TinyMse::new(), 4, 100, 0.0, 1e6).unwrap_err();
        let TrainError::Diverged { epoch, batch, ref layer, .. } = err else { panic!("{err}") };
        assert!(epoch >= 1 && (1..=3).contains(&batch));
        // Here the outputs stay finite while their squares overflow: no layer to name.
        assert_eq!(*layer, None);
        assert_eq!(
            err.to_string(),
            format!(
                "training diverged at epoch {epoch}, batch {batch}: loss is inf; every layer's output is finite, the loss is not; try a smaller learning rate (now 1000000)"
            )
        );
        assert!(net.weight.iter().chain(net.bias.iter()).all(|v| v.is_finite()));
        let steps_before = (epoch - 1) * 3 + batch - 1;
        assert_eq!(net.backward_calls, steps_before);
        // Replay the finite steps on a fresh network: same weights, bit for bit.
        let mut replay = TinyLinear::new(2, 1);
        let mut stepper = Stepper::new(OptimizerKind::Sgd.build(1e6).unwrap());
        let (mut xb, mut yb) = (Batches::new(x.view(), 4), Batches::new(y.view(), 4));
        let mut done = 0;
        'outer: for e in 1.. {
            let mut order: Vec<usize> = (0..10).collect();
            order.shuffle(&mut StdRng::seed_from_u64(epoch_seed(0, e)));
            for (b, idx) in order.chunks(4).enumerate() {
                if done == steps_before {
                    break 'outer;
                }
                stepper
                    .step(
                        &mut replay,
                        &mut TinyMse::new(),
                        xb.gather(idx),
                        yb.gather(idx),
                        At { epoch: 1, batch: b + 1 },
                    )
                    .unwrap();
                done += 1;
            }
        }
        assert_eq!(replay.weight, net.weight);
        assert_eq!(replay.bias, net.bias);
    }

    #[test]
    fn checked_rows_agrees_with_check_pair() {
        let x = ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let y = ArrayD::from_shape_vec(IxDyn(&[3, 1]), vec![1.0f32, 0.0, 1.0]).unwrap();
        assert_eq!(checked_rows("data", &x.view(), &y.view()).unwrap(), 3);
        let mut bad = x.clone();
        bad[[2, 1]] = f32::NAN;
        let expected = check_pair("data", &bad.view(), &y.view()).unwrap_err().to_string();
        assert_eq!(checked_rows("data", &bad.view(), &y.view()).unwrap_err().to_string(), expected);
        bad[[2, 1]] = f32::INFINITY;
        assert!(checked_rows("data", &x.view(), &bad.view()).is_err());
        let short = y.slice_axis(Axis(0), (0..2).into());
        let expected = check_pair("data", &x.view(), &short).unwrap_err().to_string();
        assert_eq!(checked_rows("data", &x.view(), &short).unwrap_err().to_string(), expected);
        // A strided view takes the full check.
        let strided = x.slice_axis(Axis(1), (0..1).into());
        assert_eq!(checked_rows("data", &strided, &y.view()).unwrap(), 3);
    }

    #[test]
    fn bad_arguments_are_named() {
        let (x, y) = line(10);
        let mut net = TinyLinear::new(2, 1);
        let mut loss = TinyMse::new();
        let mut run = |bs, epochs, eps, lr| {
            sgd(&mut net, (x.view(), y.view()), &mut loss, bs, epochs, eps, lr).unwrap_err().to_string()
        };
        assert_eq!(run(0, 1, 0.0, 0.1), "batch size must be at least 1, got 0");
        assert_eq!(run(1, 0, 0.0, 0.1), "number of epochs must be at least 1, got 0");
        assert_eq!(run(1, 1, 0.0, 0.0), "learning rate must be positive and finite, got 0");
        assert_eq!(
            run(1, 1, f64::NAN, 0.1),
            "early-stopping threshold eps must be non-negative and finite, got NaN"
        );
        let short = y.slice_axis(Axis(0), ndarray::Slice::from(0..9));
        let err = sgd(&mut net, (x.view(), short), &mut TinyMse::new(), 4, 1, 0.0, 0.1).unwrap_err();
        assert_eq!(err.to_string(), "training data: x has 10 rows but y has 9; each sample needs one");
        let mut bad = x.clone();
        bad[[3, 1]] = f32::NAN;
        let err = sgd(&mut net, (bad.view(), y.view()), &mut TinyMse::new(), 4, 1, 0.0, 0.1).unwrap_err();
        assert_eq!(err.to_string(), "training data: x holds a non-finite value (NaN) in row 3");
        let empty = ArrayD::<f32>::zeros(IxDyn(&[0, 2]));
        let err =
            sgd(&mut net, (empty.view(), empty.view()), &mut TinyMse::new(), 4, 1, 0.0, 0.1).unwrap_err();
        assert_eq!(err.to_string(), "training data is empty: x has 0 rows");
        let config = TrainConfig {
            validation: Some((x.clone(), y.slice_axis(Axis(0), ndarray::Slice::from(0..3)).to_owned())),
            ..Default::default()
        };
        let err = train(&mut net, &mut TinyMse::new(), (x.view(), y.view()), &config).unwrap_err();
        assert_eq!(err.to_string(), "validation data: x has 10 rows but y has 3; each sample needs one");
        let wide = ArrayD::<f32>::zeros(IxDyn(&[10, 3]));
        let err = sgd(&mut net, (wide.view(), y.view()), &mut TinyMse::new(), 4, 1, 0.0, 0.1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "epoch 1, batch 1: TinyLinear(2, 1) expects 2 features but receives [4, 3]"
        );
    }
}
