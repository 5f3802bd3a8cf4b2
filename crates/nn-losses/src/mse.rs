//! Mean squared error: per sample Σⱼ (yⱼ − ŷⱼ)², mean over the batch.

use std::fmt;

use ndarray::{Array1, ArrayD, ArrayView1, ArrayView2, ArrayViewD, Zip};
use nn_core::tensor::empty;
use nn_core::{Float, Loss, ShapeError};

use crate::rows::{
    Domain, check_rows, check_target_values, check_values, grad_rows, inverse_batch, mean_of_rows, per_row,
};

/// Squared error between targets `y` and predictions `yhat`, both (batch, outputs).
///
/// Reduction: the per-sample loss **sums** over the outputs,
/// ℓᵢ = Σⱼ (yᵢⱼ − ŷᵢⱼ)², and [`forward`](Loss::forward) is the **mean over the
/// batch**, (1/batch) Σᵢ ℓᵢ (0 for an empty batch). The gradient is
/// 2 (ŷ − y) / batch. Unlike PyTorch's `MSELoss`, which also divides by the
/// number of outputs, this is the report's per-sample sum.
///
/// ```
/// use ndarray::array;
/// use nn_core::Loss;
/// use nn_losses::MSELoss;
///
/// let y = array![[1.0f32, 0.0], [0.0, 1.0]].into_dyn();
/// let yhat = array![[0.5f32, 0.5], [0.25, 1.0]].into_dyn();
/// // ((0.25 + 0.25) + (0.0625 + 0)) / 2
/// assert_eq!(MSELoss::new().forward(y.view(), yhat.view()).unwrap(), 0.28125);
/// ```
#[derive(Debug, Clone)]
pub struct MSELoss<F: Float = f32> {
    /// ∂forward/∂yhat of the last [`backward`](Loss::backward), reused while the shape holds.
    grad: ArrayD<F>,
}

impl<F: Float> MSELoss<F> {
    /// A squared-error loss; it has no settings.
    pub fn new() -> Self {
        Self { grad: empty() }
    }
}

impl<F: Float> Default for MSELoss<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// Σⱼ (yⱼ − ŷⱼ)² for one sample.
fn sample_loss<F: Float>(y: ArrayView1<'_, F>, yhat: ArrayView1<'_, F>) -> F {
    Zip::from(y).and(yhat).fold(F::zero(), |acc, &t, &p| acc + (t - p) * (t - p))
}

/// Advice for a target outside the domain.
const TARGET_HINT: &str = "";

/// Refuses a target outside the finite numbers; predictions are not checked (a NaN one
/// gives a NaN loss, which a training loop reports as divergence).
fn check_domain<F: Float>(
    loss: &dyn fmt::Display,
    y: ArrayView2<'_, F>,
    _yhat: ArrayView2<'_, F>,
) -> Result<(), ShapeError> {
    check_values(loss, "target y", y, Domain::finite(), TARGET_HINT)
}

impl<F: Float> Loss<F> for MSELoss<F> {
    /// ℓᵢ = Σⱼ (yᵢⱼ − ŷᵢⱼ)², shape (batch,).
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape;
    /// [`ShapeError::Value`] if a target is NaN or infinite.
    fn per_sample(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<Array1<F>, ShapeError> {
        per_row(self, y, yhat, |y, yhat| check_domain(self, y, yhat), sample_loss)
    }

    /// (1/batch) Σᵢ Σⱼ (yᵢⱼ − ŷᵢⱼ)², without allocating.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape;
    /// [`ShapeError::Value`] if a target is NaN or infinite.
    fn forward(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<F, ShapeError> {
        mean_of_rows(self, y, yhat, |y, yhat| check_domain(self, y, yhat), sample_loss)
    }

    /// 2 (ŷ − y) / batch, shape of `yhat`, written into the kept buffer.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape;
    /// [`ShapeError::Value`] if a target is NaN or infinite.
    fn backward(&mut self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let (y, yhat) = check_rows(self, y, yhat)?;
        check_domain(self, y.view(), yhat.view())?;
        let scale = F::of_f64(2.0) * inverse_batch::<F>(y.nrows());
        let grad = grad_rows(&mut self.grad, yhat.shape());
        Zip::from(grad).and(y).and(yhat).for_each(|g, &t, &p| *g = scale * (p - t));
        Ok(&self.grad)
    }

    /// Refuses a target that is NaN or infinite.
    ///
    /// # Errors
    /// [`ShapeError::Value`] naming the first such value and its (row, column).
    fn check_targets(&self, y: ArrayViewD<'_, F>) -> Result<(), ShapeError> {
        check_target_values(self, y, Domain::finite(), TARGET_HINT)
    }
}

impl<F: Float> fmt::Display for MSELoss<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MSELoss()")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn, array};
    use nn_core::gradcheck;

    #[test]
    fn mse_forward_matches_hand_computed_values() {
        let y = array![[1.0, 0.0], [0.0, 1.0]].into_dyn();
        let yhat = array![[0.5, 0.5], [0.25, 1.0]].into_dyn();
        let loss = MSELoss::<f64>::new();
        assert_eq!(loss.per_sample(y.view(), yhat.view()).unwrap(), array![0.5, 0.0625]);
        assert_eq!(loss.forward(y.view(), yhat.view()).unwrap(), 0.28125);
    }

    #[test]
    fn mse_backward_is_the_gradient_of_the_batch_mean() {
        let y = array![[1.0, 0.0], [0.0, 1.0]].into_dyn();
        let yhat = array![[0.5, 0.5], [0.25, 1.0]].into_dyn();
        let mut loss = MSELoss::<f64>::new();
        // 2 (ŷ − y) / 2
        let grad = loss.backward(y.view(), yhat.view()).unwrap();
        assert_eq!(grad, &array![[-0.5, 0.5], [0.25, 0.0]].into_dyn());
    }

    #[test]
    fn mse_backward_reuses_its_buffer() {
        let y = ArrayD::<f32>::zeros(IxDyn(&[3, 4]));
        let mut loss = MSELoss::<f32>::new();
        let first = loss.backward(y.view(), y.view()).unwrap().as_ptr();
        let second = loss.backward(y.view(), y.view()).unwrap().as_ptr();
        assert_eq!(first, second);
    }

    #[test]
    fn mse_of_an_empty_batch_is_zero() {
        let y = ArrayD::<f32>::zeros(IxDyn(&[0, 3]));
        let mut loss = MSELoss::<f32>::new();
        assert_eq!(loss.forward(y.view(), y.view()).unwrap(), 0.0);
        assert_eq!(loss.backward(y.view(), y.view()).unwrap().shape(), &[0, 3]);
    }

    #[test]
    fn mse_refuses_nan_targets_in_every_method() {
        let y = array![[1.0f32, f32::NAN]].into_dyn();
        let yhat = array![[0.5f32, 0.5]].into_dyn();
        let expected = "MSELoss(): target y holds NaN at row 0, column 1, outside the finite numbers";
        let mut loss = MSELoss::<f32>::new();
        assert_eq!(loss.forward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.per_sample(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.backward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.check_targets(y.view()).unwrap_err().to_string(), expected);
        // A NaN prediction stays a NaN loss: training reports it as divergence.
        let y = array![[1.0f32, 0.0]].into_dyn();
        let yhat = array![[f32::NAN, 0.5]].into_dyn();
        assert!(loss.forward(y.view(), yhat.view()).unwrap().is_nan());
    }

    #[test]
    fn mse_displays_in_report_notation() {
        assert_eq!(MSELoss::<f32>::default().to_string(), "MSELoss()");
    }

    #[test]
    fn mse_rejects_mismatched_shapes() {
        let y = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
        let yhat = ArrayD::<f32>::zeros(IxDyn(&[2, 4]));
        let mut loss = MSELoss::<f32>::new();
        let expected = "MSELoss(): target y has shape (2, 3) but prediction yhat has shape (2, 4)";
        assert_eq!(loss.forward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.per_sample(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.backward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
    }

    #[test]
    fn mse_gradient_matches_finite_differences() {
        let mut rng = gradcheck::seeded(1);
        let y = gradcheck::uniform(&[4, 5], -1.0..1.0, &mut rng);
        let yhat = gradcheck::uniform(&[4, 5], -2.0..2.0, &mut rng);
        let report = gradcheck::check_loss(&mut MSELoss::<f64>::new(), &y, &yhat, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
        assert_eq!(report.checked, 20);
    }
}
