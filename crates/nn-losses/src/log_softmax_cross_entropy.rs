//! Cross-entropy on raw scores: per sample −Σⱼ yⱼ log softmax(ŷ)ⱼ, mean over the batch.

use std::fmt;

use ndarray::{Array1, ArrayD, ArrayView1, ArrayViewD, Zip};
use nn_core::tensor::empty;
use nn_core::{Float, Loss, ShapeError};

use crate::rows::{
    CROSS_ENTROPY_TARGET_HINT, Domain, check_cross_entropy_domain, check_rows, check_target_values,
    grad_rows, inverse_batch, mean_of_rows, per_row,
};

/// Softmax and cross-entropy in one, on raw scores `yhat` (the last `Linear`
/// output, no `Softmax`) against targets `y`, both (batch, classes).
///
/// Reduction: the per-sample loss **sums** over the classes,
/// ℓᵢ = −Σⱼ yᵢⱼ log softmax(ŷᵢ)ⱼ = Σⱼ yᵢⱼ (lse(ŷᵢ) − ŷᵢⱼ), and
/// [`forward`](Loss::forward) is the **mean over the batch** (0 for an empty batch).
///
/// Stable: lse(ŷ) = m + log Σⱼ exp(ŷⱼ − m) with m the row maximum, so scores
/// like 1e4 give finite losses and gradients where `Softmax` followed by
/// [`CrossEntropyLoss`](crate::CrossEntropyLoss) would overflow. For moderate
/// scores the two agree.
///
/// The gradient is (softmax(ŷ) · Σⱼ yⱼ − y) / batch, which is the familiar
/// (softmax(ŷ) − y) / batch when the rows of `y` sum to 1 (one-hot or
/// probability targets), and right for any `y` otherwise.
///
/// ```
/// use ndarray::array;
/// use nn_core::Loss;
/// use nn_losses::LogSoftmaxCrossEntropy;
///
/// // Equal scores over 3 classes: the loss is ln 3 whatever the class.
/// let y = array![[0.0f64, 1.0, 0.0]].into_dyn();
/// let scores = array![[1e4f64, 1e4, 1e4]].into_dyn();
/// let loss = LogSoftmaxCrossEntropy::new().forward(y.view(), scores.view()).unwrap();
/// assert!((loss - 3f64.ln()).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct LogSoftmaxCrossEntropy<F: Float = f32> {
    /// ∂forward/∂yhat of the last [`backward`](Loss::backward), reused while the shape holds.
    grad: ArrayD<F>,
}

impl<F: Float> LogSoftmaxCrossEntropy<F> {
    /// A softmax cross-entropy loss on raw scores; it has no settings.
    pub fn new() -> Self {
        Self { grad: empty() }
    }
}

impl<F: Float> Default for LogSoftmaxCrossEntropy<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// Σⱼ yⱼ (lse(ŷ) − ŷⱼ) for one sample, without allocating, written as
/// Σⱼ yⱼ ((m − ŷⱼ) + ln(1 + r)) with m = maxⱼ ŷⱼ reached at j = a and
/// r = Σ_{j≠a} exp(ŷⱼ − m): exp cannot overflow (it overflows f32 from 89
/// on), and a confident sample's small loss keeps its digits, where
/// (m + ln Σ) − ŷₐ would round it to the spacing of f32 values near m.
/// NaN scores give NaN.
fn sample_loss<F: Float>(y: ArrayView1<'_, F>, scores: ArrayView1<'_, F>) -> F {
    let Some(first) = scores.first() else {
        return F::zero();
    };
    let (argmax, max) =
        scores.indexed_iter().fold((0, *first), |(a, m), (j, &v)| if v > m { (j, v) } else { (a, m) });
    let rest = scores
        .indexed_iter()
        .fold(F::zero(), |acc, (j, &v)| if j == argmax { acc } else { acc + (v - max).exp() });
    let log_sum = rest.ln_1p();
    Zip::from(y).and(scores).fold(F::zero(), |acc, &t, &s| acc + t * ((max - s) + log_sum))
}

impl<F: Float> Loss<F> for LogSoftmaxCrossEntropy<F> {
    /// ℓᵢ = −Σⱼ yᵢⱼ log softmax(ŷᵢ)ⱼ, shape (batch,).
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, classes) shape;
    /// [`ShapeError::Value`] if a target is negative, infinite or NaN.
    fn per_sample(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<Array1<F>, ShapeError> {
        per_row(self, y, yhat, |y, yhat| check_cross_entropy_domain(self, y, yhat), sample_loss)
    }

    /// The mean over the batch of [`per_sample`](Loss::per_sample), row by
    /// row, without allocating.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, classes) shape;
    /// [`ShapeError::Value`] if a target is negative, infinite or NaN.
    fn forward(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<F, ShapeError> {
        mean_of_rows(self, y, yhat, |y, yhat| check_cross_entropy_domain(self, y, yhat), sample_loss)
    }

    /// (softmax(ŷ) · Σⱼ yⱼ − y) / batch, shape of `yhat`, written into the kept buffer.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, classes) shape;
    /// [`ShapeError::Value`] if a target is negative, infinite or NaN.
    fn backward(&mut self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let (y, yhat) = check_rows(self, y, yhat)?;
        check_cross_entropy_domain(self, y.view(), yhat.view())?;
        let scale = inverse_batch::<F>(y.nrows());
        let mut grad = grad_rows(&mut self.grad, yhat.shape());
        // One exp per score: g ← s − max row by row, then e = exp(g) over the
        // whole buffer in one vectorised pass, then g ← e/Σe·total − t.
        Zip::from(grad.rows_mut()).and(yhat.rows()).for_each(|mut g, s| {
            let max = s.fold(F::neg_infinity(), |m, &v| if v > m { v } else { m });
            Zip::from(&mut g).and(s).for_each(|g, &s| *g = s - max);
        });
        match grad.as_slice_mut() {
            Some(values) => F::exp_in_place(values),
            None => grad.mapv_inplace(F::exp),
        }
        Zip::from(grad.rows_mut()).and(y.rows()).for_each(|mut g, t| {
            let softmax_scale = t.sum() / g.sum();
            Zip::from(&mut g).and(t).for_each(|g, &t| *g = scale * (*g * softmax_scale - t));
        });
        Ok(&self.grad)
    }

    /// Refuses a target that is negative, infinite or NaN.
    ///
    /// # Errors
    /// [`ShapeError::Value`] naming the first such value and its (row, column).
    fn check_targets(&self, y: ArrayViewD<'_, F>) -> Result<(), ShapeError> {
        check_target_values(self, y, Domain::non_negative(), CROSS_ENTROPY_TARGET_HINT)
    }
}

impl<F: Float> fmt::Display for LogSoftmaxCrossEntropy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogSoftmaxCrossEntropy()")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ArrayD, Axis, IxDyn, array};
    use nn_core::gradcheck;
    use rand::RngExt;

    use crate::CrossEntropyLoss;

    fn assert_close(found: &ArrayD<f64>, expected: &ArrayD<f64>, tolerance: f64) {
        assert_eq!(found.shape(), expected.shape());
        for (f, e) in found.iter().zip(expected) {
            assert!((f - e).abs() <= tolerance, "{found} != {expected}");
        }
    }

    /// Scores whose softmax is (1/3, 1/3, 1/3) and (1/8, 2/8, 5/8).
    fn scores() -> ArrayD<f64> {
        array![[0.0, 0.0, 0.0], [0.0, 2f64.ln(), 5f64.ln()]].into_dyn()
    }

    #[test]
    fn a_confident_samples_small_loss_keeps_its_digits_in_f32() {
        // ln(1 + e^−18) ≈ 1.523e-8: m + ln Σ − ŷ would give 0 in f32.
        let y = array![[1.0f32, 0.0]].into_dyn();
        let scores = array![[9.0f32, -9.0]].into_dyn();
        let loss = LogSoftmaxCrossEntropy::new().forward(y.view(), scores.view()).unwrap();
        let exact = (-18f64).exp().ln_1p();
        assert!((f64::from(loss) - exact).abs() < 1e-6 * exact, "{loss} vs {exact}");
    }

    #[test]
    fn log_softmax_ce_forward_matches_hand_computed_values() {
        let y = array![[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]].into_dyn();
        let loss = LogSoftmaxCrossEntropy::<f64>::new();
        // ln 3 and −ln(5/8)
        let per_sample = loss.per_sample(y.view(), scores().view()).unwrap();
        assert_close(&per_sample.into_dyn(), &array![1.0986122887, 0.4700036292].into_dyn(), 1e-10);
        let mean = loss.forward(y.view(), scores().view()).unwrap();
        assert!((mean - 0.7843079590).abs() < 1e-10, "{mean}");
    }

    #[test]
    fn log_softmax_ce_backward_matches_hand_computed_values() {
        let y = array![[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]].into_dyn();
        let mut loss = LogSoftmaxCrossEntropy::<f64>::new();
        // (softmax − y) / 2
        let grad = loss.backward(y.view(), scores().view()).unwrap();
        let expected = array![[-1.0 / 3.0, 1.0 / 6.0, 1.0 / 6.0], [0.0625, 0.125, -0.1875]].into_dyn();
        assert_close(grad, &expected, 1e-15);
    }

    #[test]
    fn log_softmax_ce_is_finite_for_huge_scores() {
        let y = array![[0.0f32, 1.0, 0.0], [1.0, 0.0, 0.0]].into_dyn();
        let scores = array![[1e4f32, 0.0, -1e4], [1e4, 1e4, 1e4]].into_dyn();
        let mut loss = LogSoftmaxCrossEntropy::<f32>::new();
        let per_sample = loss.per_sample(y.view(), scores.view()).unwrap();
        assert_eq!(per_sample[0], 1e4);
        assert!((per_sample[1] - 3f32.ln()).abs() < 1e-3, "{per_sample}");
        let grad = loss.backward(y.view(), scores.view()).unwrap();
        assert!(grad.iter().all(|g| g.is_finite()), "{grad}");
        assert_eq!(grad.index_axis(Axis(0), 0), array![0.5f32, -0.5, 0.0].into_dyn());
    }

    #[test]
    fn log_softmax_ce_equals_cross_entropy_of_softmax() {
        let mut rng = gradcheck::seeded(4);
        let scores = gradcheck::uniform(&[6, 5], -3.0..3.0, &mut rng);
        let mut y = Array2::<f64>::zeros((6, 5));
        for mut row in y.rows_mut() {
            row[rng.random_range(0..5)] = 1.0;
        }
        let y = y.into_dyn();
        let mut probabilities = scores.mapv(f64::exp);
        for mut row in probabilities.axis_iter_mut(Axis(0)) {
            let total = row.sum();
            row /= total;
        }
        let direct = LogSoftmaxCrossEntropy::<f64>::new().per_sample(y.view(), scores.view()).unwrap();
        let composed = CrossEntropyLoss::<f64>::new().per_sample(y.view(), probabilities.view()).unwrap();
        assert_close(&direct.into_dyn(), &composed.into_dyn(), 1e-12);
    }

    #[test]
    fn log_softmax_ce_refuses_negative_and_nan_targets_in_every_method() {
        let y = array![[0.0f32, 1.0], [f32::NAN, 0.0]].into_dyn();
        let scores = array![[0.5f32, -3.0], [2.0, 0.5]].into_dyn();
        let expected = "LogSoftmaxCrossEntropy(): target y holds NaN at row 1, column 0, outside [0, inf) (finite, non-negative); \
                        cross-entropy targets are one-hot rows (or other non-negative weights)";
        let mut loss = LogSoftmaxCrossEntropy::<f32>::new();
        assert_eq!(loss.forward(y.view(), scores.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.per_sample(y.view(), scores.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.backward(y.view(), scores.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.check_targets(y.view()).unwrap_err().to_string(), expected);
        let negative = array![[0.0f64, -1.0]].into_dyn();
        let err = LogSoftmaxCrossEntropy::<f64>::new().check_targets(negative.view()).unwrap_err();
        assert!(matches!(err, ShapeError::Value { row: 0, column: 1, .. }), "{err}");
    }

    #[test]
    fn log_softmax_ce_keeps_nan_scores_visible() {
        // A diverging network shows as a NaN loss, which training reports as divergence.
        let y = array![[0.0f32, 1.0]].into_dyn();
        let scores = array![[f32::NAN, 0.0]].into_dyn();
        assert!(LogSoftmaxCrossEntropy::<f32>::new().forward(y.view(), scores.view()).unwrap().is_nan());
    }

    #[test]
    fn log_softmax_ce_displays_in_report_notation() {
        assert_eq!(LogSoftmaxCrossEntropy::<f32>::default().to_string(), "LogSoftmaxCrossEntropy()");
    }

    #[test]
    fn log_softmax_ce_rejects_labels_instead_of_one_hot_rows() {
        let y = ArrayD::<f32>::zeros(IxDyn(&[8]));
        let yhat = ArrayD::<f32>::zeros(IxDyn(&[8, 10]));
        let mut loss = LogSoftmaxCrossEntropy::<f32>::new();
        let expected = "LogSoftmaxCrossEntropy(): target y has shape (8,) but prediction yhat has shape (8, 10); \
                        y looks like class labels: pass one-hot rows";
        assert_eq!(loss.forward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.backward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
    }

    #[test]
    fn log_softmax_ce_gradient_matches_finite_differences() {
        let mut rng = gradcheck::seeded(5);
        // Targets whose rows do not sum to 1 check the general formula.
        let y = gradcheck::uniform(&[4, 5], 0.0..1.0, &mut rng);
        let scores = gradcheck::uniform(&[4, 5], -3.0..3.0, &mut rng);
        let report =
            gradcheck::check_loss(&mut LogSoftmaxCrossEntropy::<f64>::new(), &y, &scores, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
        assert_eq!(report.checked, 20);
    }
}
