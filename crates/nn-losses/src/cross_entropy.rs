//! Cross-entropy on probabilities: per sample −Σⱼ yⱼ log ŷⱼ, mean over the batch.

use std::fmt;

use ndarray::{Array1, ArrayD, ArrayView1, ArrayViewD, Zip};
use nn_core::tensor::empty;
use nn_core::{Float, Loss, ShapeError};

use crate::clamp::{clamped_ln, floor_probability};
use crate::rows::{
    CROSS_ENTROPY_TARGET_HINT, Domain, check_cross_entropy_domain, check_rows, check_target_values,
    grad_rows, inverse_batch, mean_of_rows, per_row,
};

/// Cross-entropy between one-hot (or any non-negative) targets `y` and
/// probabilities `yhat` (e.g. a `Softmax` output), both (batch, classes).
///
/// Reduction: the per-sample loss **sums** over the classes,
/// ℓᵢ = −Σⱼ yᵢⱼ log ŷᵢⱼ, and [`forward`](Loss::forward) is the **mean over
/// the batch** (0 for an empty batch). The gradient is −y / ŷ / batch.
///
/// Finite at ŷ = 0: the logarithm is clamped at −100 (PyTorch's choice), and
/// the backward pass divides by max(ŷ, δ) with δ = max(1e-12, machine
/// epsilon) (1e-12 in f64, about 1.19e-7 in f32). On raw scores prefer
/// [`LogSoftmaxCrossEntropy`](crate::LogSoftmaxCrossEntropy), which is stable
/// and cheaper.
///
/// ```
/// use ndarray::array;
/// use nn_core::Loss;
/// use nn_losses::CrossEntropyLoss;
///
/// let y = array![[0.0f64, 1.0]].into_dyn();
/// let yhat = array![[0.75f64, 0.25]].into_dyn();
/// let loss = CrossEntropyLoss::new().forward(y.view(), yhat.view()).unwrap();
/// assert!((loss - 4f64.ln()).abs() < 1e-15);
/// ```
#[derive(Debug, Clone)]
pub struct CrossEntropyLoss<F: Float = f32> {
    /// ∂forward/∂yhat of the last [`backward`](Loss::backward), reused while the shape holds.
    grad: ArrayD<F>,
}

impl<F: Float> CrossEntropyLoss<F> {
    /// A cross-entropy loss on probabilities; it has no settings.
    pub fn new() -> Self {
        Self { grad: empty() }
    }
}

impl<F: Float> Default for CrossEntropyLoss<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// −Σⱼ yⱼ log ŷⱼ for one sample, the log clamped at −100.
fn sample_loss<F: Float>(y: ArrayView1<'_, F>, yhat: ArrayView1<'_, F>) -> F {
    Zip::from(y).and(yhat).fold(F::zero(), |acc, &t, &p| acc - t * clamped_ln(p))
}

impl<F: Float> Loss<F> for CrossEntropyLoss<F> {
    /// ℓᵢ = −Σⱼ yᵢⱼ log ŷᵢⱼ, shape (batch,).
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, classes) shape;
    /// [`ShapeError::Value`] if a target is negative, infinite or NaN.
    fn per_sample(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<Array1<F>, ShapeError> {
        per_row(self, y, yhat, |y, yhat| check_cross_entropy_domain(self, y, yhat), sample_loss)
    }

    /// The mean over the batch of [`per_sample`](Loss::per_sample), without allocating.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, classes) shape;
    /// [`ShapeError::Value`] if a target is negative, infinite or NaN.
    fn forward(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<F, ShapeError> {
        mean_of_rows(self, y, yhat, |y, yhat| check_cross_entropy_domain(self, y, yhat), sample_loss)
    }

    /// −y / max(ŷ, δ) / batch, shape of `yhat`, written into the kept buffer.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, classes) shape;
    /// [`ShapeError::Value`] if a target is negative, infinite or NaN.
    fn backward(&mut self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let (y, yhat) = check_rows(self, y, yhat)?;
        check_cross_entropy_domain(self, y.view(), yhat.view())?;
        let scale = inverse_batch::<F>(y.nrows());
        let grad = grad_rows(&mut self.grad, yhat.shape());
        Zip::from(grad).and(y).and(yhat).for_each(|g, &t, &p| *g = -scale * t / floor_probability(p));
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

impl<F: Float> fmt::Display for CrossEntropyLoss<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CrossEntropyLoss()")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn, array};
    use nn_core::gradcheck;

    #[test]
    fn cross_entropy_forward_matches_hand_computed_values() {
        let y = array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]].into_dyn();
        let yhat = array![[0.2, 0.5, 0.3], [0.25, 0.25, 0.5]].into_dyn();
        let loss = CrossEntropyLoss::<f64>::new();
        // −ln 0.5 and −ln 0.25
        let per_sample = loss.per_sample(y.view(), yhat.view()).unwrap();
        assert!((per_sample[0] - std::f64::consts::LN_2).abs() < 1e-10, "{per_sample}");
        assert!((per_sample[1] - 1.3862943611).abs() < 1e-10, "{per_sample}");
        let mean = loss.forward(y.view(), yhat.view()).unwrap();
        assert!((mean - 1.0397207708).abs() < 1e-10, "{mean}");
    }

    #[test]
    fn cross_entropy_backward_matches_hand_computed_values() {
        let y = array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]].into_dyn();
        let yhat = array![[0.2, 0.5, 0.3], [0.25, 0.25, 0.5]].into_dyn();
        let mut loss = CrossEntropyLoss::<f64>::new();
        // −y / ŷ / 2
        let grad = loss.backward(y.view(), yhat.view()).unwrap();
        assert_eq!(grad, &array![[0.0, -1.0, 0.0], [-2.0, 0.0, 0.0]].into_dyn());
    }

    #[test]
    fn cross_entropy_is_finite_at_zero() {
        let y = array![[1.0f32, 0.0], [0.0, 1.0]].into_dyn();
        let yhat = array![[0.0f32, 1.0], [0.0, 1.0]].into_dyn();
        let mut loss = CrossEntropyLoss::<f32>::new();
        // (100 + 0) / 2: the certain mistake costs the clamped 100.
        assert_eq!(loss.forward(y.view(), yhat.view()).unwrap(), 50.0);
        let grad = loss.backward(y.view(), yhat.view()).unwrap();
        assert!(grad.iter().all(|g| g.is_finite()), "{grad}");
        assert_eq!(grad[[1, 0]], 0.0);
    }

    #[test]
    fn cross_entropy_refuses_negative_and_nan_targets_in_every_method() {
        let y = array![[0.0f32, 1.0], [-1.0, 0.0]].into_dyn();
        let yhat = array![[0.5f32, 0.5], [0.5, 0.5]].into_dyn();
        let expected = "CrossEntropyLoss(): target y holds -1 at row 1, column 0, outside [0, inf) (finite, non-negative); \
                        cross-entropy targets are one-hot rows (or other non-negative weights)";
        let mut loss = CrossEntropyLoss::<f32>::new();
        assert_eq!(loss.forward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.per_sample(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.backward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.check_targets(y.view()).unwrap_err().to_string(), expected);
        for bad in [f32::NAN, f32::INFINITY] {
            let y = array![[0.0f32, bad]].into_dyn();
            let err = loss.forward(y.view(), array![[0.5f32, 0.5]].into_dyn().view()).unwrap_err();
            assert!(matches!(err, ShapeError::Value { row: 0, column: 1, .. }), "{err}");
        }
    }

    #[test]
    fn cross_entropy_displays_in_report_notation() {
        assert_eq!(CrossEntropyLoss::<f32>::default().to_string(), "CrossEntropyLoss()");
    }

    #[test]
    fn cross_entropy_rejects_mismatched_shapes() {
        let y = ArrayD::<f32>::zeros(IxDyn(&[3, 10]));
        let yhat = ArrayD::<f32>::zeros(IxDyn(&[4, 10]));
        let mut loss = CrossEntropyLoss::<f32>::new();
        let expected = "CrossEntropyLoss(): target y has shape (3, 10) but prediction yhat has shape (4, 10)";
        assert_eq!(loss.forward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.backward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
    }

    #[test]
    fn cross_entropy_gradient_matches_finite_differences() {
        let mut rng = gradcheck::seeded(3);
        let y = gradcheck::uniform(&[4, 5], 0.0..1.0, &mut rng);
        let yhat = gradcheck::uniform(&[4, 5], 0.05..0.95, &mut rng);
        let report = gradcheck::check_loss(&mut CrossEntropyLoss::<f64>::new(), &y, &yhat, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
        assert_eq!(report.checked, 20);
    }
}
