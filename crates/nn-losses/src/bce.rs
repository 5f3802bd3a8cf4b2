//! Binary cross-entropy: per sample −Σⱼ [yⱼ log ŷⱼ + (1 − yⱼ) log(1 − ŷⱼ)], mean over the batch.

use std::fmt;

use ndarray::{Array1, ArrayD, ArrayView1, ArrayViewD, Zip};
use nn_core::tensor::empty;
use nn_core::{Float, Loss, ShapeError};

use crate::clamp::{LOG_FLOOR, clamp_probability, clamped_ln};
use crate::rows::{check_rows, grad_rows, inverse_batch, mean_of_rows, per_row};

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
/// gradient is exact. A NaN prediction gives a NaN loss, never a clamped one.
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
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape.
    fn per_sample(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<Array1<F>, ShapeError> {
        per_row(self, y, yhat, sample_loss)
    }

    /// The mean over the batch of [`per_sample`](Loss::per_sample), without allocating.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape.
    fn forward(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<F, ShapeError> {
        mean_of_rows(self, y, yhat, sample_loss)
    }

    /// [(1 − y)/(1 − ŷ) − y/ŷ] / batch with ŷ clamped into [δ, 1 − δ],
    /// shape of `yhat`, written into the kept buffer.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape.
    fn backward(&mut self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let (y, yhat) = check_rows(self, y, yhat)?;
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
    fn bce_keeps_nan_predictions_visible() {
        let y = array![[1.0f32]].into_dyn();
        let yhat = array![[f32::NAN]].into_dyn();
        assert!(BCELoss::<f32>::new().forward(y.view(), yhat.view()).unwrap().is_nan());
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
