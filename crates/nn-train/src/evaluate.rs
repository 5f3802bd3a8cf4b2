//! Scoring a network on held-out data: loss, and accuracy for one-hot targets.

use ndarray::{ArrayViewD, Axis, Slice};
use nn_core::{Float, Loss, Module};

use crate::TrainError;
use crate::data_check::check_pair;
use crate::metrics::argmax;

/// The loss and accuracy of a network on a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss per sample (the loss's batch mean, weighted by chunk size).
    pub loss: f64,
    /// Fraction of rows whose output argmax equals the target's argmax;
    /// `None` when the targets have a single column.
    pub accuracy: Option<f64>,
}

/// Runs `net` on `x` (rows = samples) in chunks of `chunk_size` rows and
/// scores the outputs against `y` (rows, outputs).
///
/// # Errors
/// - [`TrainError::ZeroBatchSize`] if `chunk_size` is 0;
/// - the data errors of [`train`](crate::train) (named `evaluation data`);
/// - [`TrainError::Shape`] if the loss refuses a target value (before any
///   chunk runs) or the network or the loss refuses a chunk.
pub fn evaluate<F: Float, N: Module<F> + ?Sized, L: Loss<F> + ?Sized>(
    net: &mut N,
    loss: &L,
    x: ArrayViewD<'_, F>,
    y: ArrayViewD<'_, F>,
    chunk_size: usize,
) -> Result<Evaluation, TrainError> {
    if chunk_size == 0 {
        return Err(TrainError::ZeroBatchSize);
    }
    check_pair("evaluation data", &x, &y)?;
    loss.check_targets(y.view()).map_err(|e| TrainError::shape("evaluation data", e))?;
    evaluate_checked(net, loss, x, y, chunk_size, "evaluation")
}

/// [`evaluate`] on data already checked; `what` names it in shape errors.
pub(crate) fn evaluate_checked<F: Float, N: Module<F> + ?Sized, L: Loss<F> + ?Sized>(
    net: &mut N,
    loss: &L,
    x: ArrayViewD<'_, F>,
    y: ArrayViewD<'_, F>,
    chunk_size: usize,
    what: &str,
) -> Result<Evaluation, TrainError> {
    let rows = x.len_of(Axis(0));
    let classify = y.ndim() == 2 && y.shape()[1] > 1;
    let (mut loss_sum, mut correct) = (0.0, 0usize);
    for start in (0..rows).step_by(chunk_size) {
        let end = (start + chunk_size).min(rows);
        let context = || format!("{what}, rows {start}..{end}");
        let xc = x.slice_axis(Axis(0), Slice::from(start..end));
        let yc = y.slice_axis(Axis(0), Slice::from(start..end));
        let out = net.forward(xc).map_err(|e| TrainError::shape(context(), e))?;
        let value = loss.forward(yc.view(), out.view()).map_err(|e| TrainError::shape(context(), e))?;
        loss_sum += value.as_f64() * (end - start) as f64;
        if classify {
            correct += out.outer_iter().zip(yc.outer_iter()).filter(|(o, t)| argmax(o) == argmax(t)).count();
        }
    }
    Ok(Evaluation { loss: loss_sum / rows as f64, accuracy: classify.then(|| correct as f64 / rows as f64) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{TinyLinear, TinyMse};
    use ndarray::array;

    #[test]
    fn loss_is_weighted_by_chunk_and_accuracy_compares_argmaxes() {
        // TinyLinear(1, 2): w = [[0.1], [0.2]]: output argmax is 1 for x > 0, 0 for x < 0.
        let mut net = TinyLinear::<f64>::new(1, 2);
        let x = array![[1.0], [-1.0], [2.0]].into_dyn();
        let y = array![[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]].into_dyn();
        let whole = evaluate(&mut net, &TinyMse::new(), x.view(), y.view(), 3).unwrap();
        let chunked = evaluate(&mut net, &TinyMse::new(), x.view(), y.view(), 2).unwrap();
        assert!((whole.loss - chunked.loss).abs() < 1e-12);
        let expect = ((0.1f64.powi(2) + 0.8f64.powi(2))
            + (0.1f64.powi(2) + 1.2f64.powi(2))
            + (0.2f64.powi(2) + 0.6f64.powi(2)))
            / 3.0;
        assert!((whole.loss - expect).abs() < 1e-12);
        assert_eq!(whole.accuracy, Some(2.0 / 3.0));
    }

    #[test]
    fn single_column_targets_have_no_accuracy() {
        let mut net = TinyLinear::<f64>::new(1, 1);
        let x = array![[1.0], [2.0]].into_dyn();
        let e = evaluate(&mut net, &TinyMse::new(), x.view(), x.view(), 8).unwrap();
        assert_eq!(e.accuracy, None);
    }

    #[test]
    fn zero_chunk_size_is_refused() {
        let mut net = TinyLinear::<f64>::new(1, 1);
        let x = array![[1.0]].into_dyn();
        let err = evaluate(&mut net, &TinyMse::new(), x.view(), x.view(), 0).unwrap_err();
        assert_eq!(err.to_string(), "batch size must be at least 1, got 0");
    }
}
