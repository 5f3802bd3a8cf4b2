//! Binary cross-entropy: per sample −Σⱼ [yⱼ log ŷⱼ + (1 − yⱼ) log(1 − ŷⱼ)], mean over the batch.

use std::fmt;

use ndarray::{Array1, ArrayD, ArrayView1, ArrayView2, ArrayViewD, Zip};
use nn_core::tensor::empty;
use nn_core::{Float, Loss, ShapeError};

use crate::clamp::{LOG_FLOOR, clamp_probability, clamped_ln};
use crate::rows::{
    Domain, check_rows, check_target_values, check_values, grad_rows, inverse_batch, mean_of_rows, per_row,
};

/// Binary cross-entropy between targets `y` in [0, 1] and probabilities
/// `yhat` in [0, 1] (e.g. a `Sigmoid` output), both (batch, outputs).
///
/// Reduction: the per-sample loss **sums** over the outputs,
/// ℓᵢ = −Σⱼ [yᵢⱼ log ŷᵢⱼ + (1 − yᵢⱼ) log(1 − ŷᵢⱼ)], and
/// [`forward`](Loss::forward) is the **mean over the batch** (0 for an empty batch).
///
/// Finite at ŷ = 0 and ŷ = 1, as PyTorch's `BCELoss`: each logarithm is
/// clamped at −100 in the forward pass, and the backward pass,
/// [(1 − y)/(1 − ŷ) − y/ŷ] / batch, uses ŷ clamped into [δ, 1 − δ] with
/// δ = max(1e-12, machine epsilon) (1e-12 in f64, about 1.19e-7 in f32), so
/// its largest magnitude is about 1/δ per sample. Inside (δ, 1 − δ) the
/// gradient is exact.
///
/// Every method refuses a target or a prediction outside [0, 1], NaN
/// included, with [`ShapeError::Value`] naming the value and its (row,
/// column): a target of 16 (unscaled pixels) would otherwise give a
/// negative "loss" that training happily minimises, a prediction of 1.5 a
/// NaN. The check is one vectorised pass over each tensor.
///
/// ```
/// use ndarray::array;
/// use nn_core::Loss;
/// use nn_losses::BCELoss;
///
/// let y = array![[1.0f64, 0.0]].into_dyn();
/// let yhat = array![[0.5f64, 0.5]].into_dyn();
/// let loss = BCELoss::new().forward(y.view(), yhat.view()).unwrap();
/// assert!((loss - 2.0 * 2f64.ln()).abs() < 1e-15);
/// ```
#[derive(Debug, Clone)]
pub struct BCELoss<F: Float = f32> {
    /// ∂forward/∂yhat of the last [`backward`](Loss::backward), reused while the shape holds.
    grad: ArrayD<F>,
}

impl<F: Float> BCELoss<F> {
    /// A binary cross-entropy loss; it has no settings.
    pub fn new() -> Self {
        Self { grad: empty() }
    }
}

impl<F: Float> Default for BCELoss<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// Advice for a target outside [0, 1].
const TARGET_HINT: &str =
    "; BCELoss takes targets in [0, 1]: scale the data (e.g. divide by its largest value)";

/// Advice for a prediction outside [0, 1].
const PREDICTION_HINT: &str = "; BCELoss takes probabilities: end the network with Sigmoid";

/// Refuses a target or a prediction outside [0, 1] (NaN included), targets first.
fn check_domain<F: Float>(
    loss: &dyn fmt::Display,
    y: ArrayView2<'_, F>,
    yhat: ArrayView2<'_, F>,
) -> Result<(), ShapeError> {
    check_values(loss, "target y", y, Domain::unit(), TARGET_HINT)?;
    check_values(loss, "prediction yhat", yhat, Domain::unit(), PREDICTION_HINT)
}

/// −Σⱼ [yⱼ log ŷⱼ + (1 − yⱼ) log(1 − ŷⱼ)] for one sample, logs clamped at −100.
fn sample_loss<F: Float>(y: ArrayView1<'_, F>, yhat: ArrayView1<'_, F>) -> F {
    let (Some(y), Some(yhat)) = (y.as_slice(), yhat.as_slice()) else {
        return Zip::from(y).and(yhat).fold(F::zero(), |acc, &t, &p| {
            acc - (t * clamped_ln(p) + (F::one() - t) * clamped_ln(F::one() - p))
        });
    };
    // The logarithms of a chunk in two calls of the vectorised `ln_into`
    // rather than one libm call per value; the sum keeps the same order.
    const CHUNK: usize = 64;
    let floor = F::of_f64(LOG_FLOOR);
    let clamp = |l: F| if l < floor { floor } else { l };
    let mut acc = F::zero();
    for (y, yhat) in y.chunks(CHUNK).zip(yhat.chunks(CHUNK)) {
        let (mut q, mut ln_p, mut ln_q) = ([F::zero(); CHUNK], [F::zero(); CHUNK], [F::zero(); CHUNK]);
        let (q, ln_p, ln_q) = (&mut q[..y.len()], &mut ln_p[..y.len()], &mut ln_q[..y.len()]);
        for (q, &p) in q.iter_mut().zip(yhat) {
            *q = F::one() - p;
        }
        F::ln_into(yhat, ln_p);
        F::ln_into(q, ln_q);
        for ((&t, &lp), &lq) in y.iter().zip(&*ln_p).zip(&*ln_q) {
            acc -= t * clamp(lp) + (F::one() - t) * clamp(lq);
        }
    }
    acc
}

impl<F: Float> Loss<F> for BCELoss<F> {
    /// ℓᵢ = −Σⱼ [yᵢⱼ log ŷᵢⱼ + (1 − yᵢⱼ) log(1 − ŷᵢⱼ)], shape (batch,).
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape;
    /// [`ShapeError::Value`] if a value of `y` or `yhat` is outside [0, 1] or NaN.
    fn per_sample(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<Array1<F>, ShapeError> {
        per_row(self, y, yhat, |y, yhat| check_domain(self, y, yhat), sample_loss)
    }

    /// The mean over the batch of [`per_sample`](Loss::per_sample), without allocating.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape;
    /// [`ShapeError::Value`] if a value of `y` or `yhat` is outside [0, 1] or NaN.
    fn forward(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<F, ShapeError> {
        mean_of_rows(self, y, yhat, |y, yhat| check_domain(self, y, yhat), sample_loss)
    }

    /// [(1 − y)/(1 − ŷ) − y/ŷ] / batch with ŷ clamped into [δ, 1 − δ],
    /// shape of `yhat`, written into the kept buffer.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape;
    /// [`ShapeError::Value`] if a value of `y` or `yhat` is outside [0, 1] or NaN.
    fn backward(&mut self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let (y, yhat) = check_rows(self, y, yhat)?;
        check_domain(self, y.view(), yhat.view())?;
        let scale = inverse_batch::<F>(y.nrows());
        let grad = grad_rows(&mut self.grad, yhat.shape());
        Zip::from(grad).and(y).and(yhat).for_each(|g, &t, &p| {
            // Clamping ŷ in both terms keeps the gradient right at ŷ = 0 with
            // y = 0 (it is 1, not 0) and finite everywhere.
            let p = clamp_probability(p);
            *g = scale * ((F::one() - t) / (F::one() - p) - t / p);
        });
        Ok(&self.grad)
    }

    /// Refuses a target outside [0, 1], NaN included.
    ///
    /// # Errors
    /// [`ShapeError::Value`] naming the first such value and its (row, column).
    fn check_targets(&self, y: ArrayViewD<'_, F>) -> Result<(), ShapeError> {
        check_target_values(self, y, Domain::unit(), TARGET_HINT)
    }
}

impl<F: Float> fmt::Display for BCELoss<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BCELoss()")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn, array};
    use nn_core::gradcheck;

    fn assert_close(found: &ArrayD<f64>, expected: &ArrayD<f64>, tolerance: f64) {
        assert_eq!(found.shape(), expected.shape());
        for (f, e) in found.iter().zip(expected) {
            assert!((f - e).abs() <= tolerance, "{found} != {expected}");
        }
    }

    #[test]
    fn bce_forward_matches_hand_computed_values() {
        let y = array![[1.0, 0.0], [0.0, 1.0]].into_dyn();
        let yhat = array![[0.8, 0.4], [0.5, 0.9]].into_dyn();
        let loss = BCELoss::<f64>::new();
        // −(ln 0.8 + ln 0.6) and −(ln 0.5 + ln 0.9)
        let per_sample = loss.per_sample(y.view(), yhat.view()).unwrap();
        assert_close(&per_sample.into_dyn(), &array![0.7339691751, 0.7985076963].into_dyn(), 1e-10);
        let mean = loss.forward(y.view(), yhat.view()).unwrap();
        assert!((mean - 0.7662384357).abs() < 1e-10, "{mean}");
    }

    #[test]
    fn bce_backward_matches_hand_computed_values() {
        let y = array![[1.0, 0.0], [0.0, 1.0]].into_dyn();
        let yhat = array![[0.8, 0.4], [0.5, 0.9]].into_dyn();
        let mut loss = BCELoss::<f64>::new();
        // [(1 − y)/(1 − ŷ) − y/ŷ] / 2
        let grad = loss.backward(y.view(), yhat.view()).unwrap();
        assert_close(grad, &array![[-0.625, 1.0 / 1.2], [1.0, -1.0 / 1.8]].into_dyn(), 1e-15);
    }

    #[test]
    fn bce_is_finite_at_zero_and_one() {
        let y = array![[1.0f32, 0.0, 1.0, 0.0]].into_dyn();
        let wrong = array![[0.0f32, 1.0, 1.0, 0.0]].into_dyn();
        let mut loss = BCELoss::<f32>::new();
        // Two certain mistakes at −log clamped to 100, two certain hits at 0.
        assert_eq!(loss.forward(y.view(), wrong.view()).unwrap(), 200.0);
        let grad = loss.backward(y.view(), wrong.view()).unwrap();
        assert!(grad.iter().all(|g| g.is_finite()), "{grad}");
        assert!(grad[[0, 0]] < -1e6 && grad[[0, 1]] > 1e6, "{grad}");
        assert!((grad[[0, 2]] + 1.0).abs() < 1e-6 && (grad[[0, 3]] - 1.0).abs() < 1e-6, "{grad}");

        let y64 = y.mapv(f64::from);
        let wrong64 = wrong.mapv(f64::from);
        let mut loss64 = BCELoss::<f64>::new();
        assert_eq!(loss64.forward(y64.view(), wrong64.view()).unwrap(), 200.0);
        let grad64 = loss64.backward(y64.view(), wrong64.view()).unwrap();
        assert!(grad64.iter().all(|g| g.is_finite()), "{grad64}");
    }

    #[test]
    fn bce_refuses_nan_predictions_naming_them() {
        // A NaN prediction is never clamped into a finite loss: it is named.
        let y = array![[1.0f32]].into_dyn();
        let yhat = array![[f32::NAN]].into_dyn();
        let err = BCELoss::<f32>::new().forward(y.view(), yhat.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "BCELoss(): prediction yhat holds NaN at row 0, column 0, outside [0, 1]; \
             BCELoss takes probabilities: end the network with Sigmoid"
        );
    }

    #[test]
    fn bce_refuses_targets_outside_0_1_in_every_method() {
        let y = array![[1.0f32, 0.0], [0.5, 2.0]].into_dyn();
        let yhat = array![[0.5f32, 0.5], [0.5, 0.5]].into_dyn();
        let expected = "BCELoss(): target y holds 2 at row 1, column 1, outside [0, 1]; \
                        BCELoss takes targets in [0, 1]: scale the data (e.g. divide by its largest value)";
        let mut loss = BCELoss::<f32>::new();
        assert_eq!(loss.forward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.per_sample(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.backward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.check_targets(y.view()).unwrap_err().to_string(), expected);
        let negative = array![[-0.25f64]].into_dyn();
        let err = BCELoss::<f64>::new().forward(negative.view(), array![[0.5f64]].into_dyn().view());
        assert!(
            err.unwrap_err().to_string().starts_with("BCELoss(): target y holds -0.25 at row 0, column 0")
        );
        let nan = array![[f64::NAN]].into_dyn();
        let err = BCELoss::<f64>::new().check_targets(nan.view()).unwrap_err();
        assert!(matches!(err, ShapeError::Value { argument: "target y", row: 0, column: 0, .. }), "{err}");
    }

    #[test]
    fn bce_refuses_predictions_outside_0_1_in_every_method() {
        let y = array![[1.0f32, 0.0, 1.0]].into_dyn();
        let yhat = array![[0.5f32, 0.25, 1.5]].into_dyn();
        let expected = "BCELoss(): prediction yhat holds 1.5 at row 0, column 2, outside [0, 1]; \
                        BCELoss takes probabilities: end the network with Sigmoid";
        let mut loss = BCELoss::<f32>::new();
        assert_eq!(loss.forward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.per_sample(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.backward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        // Not contiguous: the element-by-element path finds the same value.
        let (yt, yhatt) = (y.t().to_owned(), yhat.t().to_owned());
        assert_eq!(loss.forward(yt.t(), yhatt.t()).unwrap_err().to_string(), expected);
    }

    #[test]
    fn bce_takes_the_ends_of_0_1() {
        // 0 and 1 are in the domain, for targets and predictions, over several chunks.
        let y = ndarray::Array2::from_shape_fn((2, 130), |(i, j)| ((i + j) % 2) as f32).into_dyn();
        let mut loss = BCELoss::<f32>::new();
        assert_eq!(loss.forward(y.view(), y.view()).unwrap(), 0.0);
        assert!(loss.backward(y.view(), y.view()).is_ok());
        assert!(loss.check_targets(y.view()).is_ok());
    }

    #[test]
    fn bce_f32_over_several_chunks_and_strided_rows_matches_f64() {
        // 150 outputs: chunks of 64, 64 and 22 for the contiguous rows; the
        // transposed views take the element-by-element path.
        let yhat = ndarray::Array2::from_shape_fn((3, 150), |(i, j)| ((i * 150 + j) as f64 * 0.618).fract());
        let y = yhat.mapv(|p| if p > 0.4 { 1.0 } else { 0.3 });
        let expected = BCELoss::<f64>::new().forward(y.view().into_dyn(), yhat.view().into_dyn()).unwrap();
        let (y32, yhat32) = (y.mapv(|v| v as f32), yhat.mapv(|v| v as f32));
        let found = BCELoss::<f32>::new().forward(y32.view().into_dyn(), yhat32.view().into_dyn()).unwrap();
        assert!((f64::from(found) - expected).abs() < 1e-5 * expected, "{found} vs {expected}");
        let (yt, yhatt) = (y32.t().to_owned(), yhat32.t().to_owned());
        let strided = BCELoss::<f32>::new().forward(yt.t().into_dyn(), yhatt.t().into_dyn()).unwrap();
        assert!((f64::from(strided) - expected).abs() < 1e-5 * expected, "{strided} vs {expected}");
    }

    #[test]
    fn bce_displays_in_report_notation() {
        assert_eq!(BCELoss::<f32>::default().to_string(), "BCELoss()");
    }

    #[test]
    fn bce_rejects_mismatched_shapes() {
        let y = ArrayD::<f32>::zeros(IxDyn(&[4, 1]));
        let yhat = ArrayD::<f32>::zeros(IxDyn(&[4, 10]));
        let mut loss = BCELoss::<f32>::new();
        let expected = "BCELoss(): target y has shape (4, 1) but prediction yhat has shape (4, 10); \
                        y looks like class labels: pass one-hot rows";
        assert_eq!(loss.forward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
        assert_eq!(loss.backward(y.view(), yhat.view()).unwrap_err().to_string(), expected);
    }

    #[test]
    fn bce_gradient_matches_finite_differences() {
        let mut rng = gradcheck::seeded(2);
        let y = gradcheck::uniform(&[4, 5], 0.0..1.0, &mut rng);
        let yhat = gradcheck::uniform(&[4, 5], 0.05..0.95, &mut rng);
        let report = gradcheck::check_loss(&mut BCELoss::<f64>::new(), &y, &yhat, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
        assert_eq!(report.checked, 20);
    }
}
