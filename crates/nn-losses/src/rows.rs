//! The shape check every loss starts with, and its (batch, outputs) views.

use std::fmt;

use ndarray::{Array1, ArrayD, ArrayView1, ArrayView2, ArrayViewD, ArrayViewMut2, Ix2, Zip};
use nn_core::tensor::ensure_shape;
use nn_core::{Float, ShapeError, check_target};

/// Checks `y` and `yhat` with [`check_target`] and returns them as rank-2 views.
///
/// Allocates nothing when the shapes fit: the views only change their
/// dimension type.
///
/// # Errors
/// [`ShapeError::Target`] naming `loss` and both shapes.
///
/// # Panics
/// Never: `check_target` accepts only equal rank-2 shapes, so the conversions
/// cannot fail (an invariant of nn-core, not of the input).
pub(crate) fn check_rows<'a, 'b, F: Float>(
    loss: &dyn fmt::Display,
    y: ArrayViewD<'a, F>,
    yhat: ArrayViewD<'b, F>,
) -> Result<(ArrayView2<'a, F>, ArrayView2<'b, F>), ShapeError> {
    check_target(loss, &y, &yhat)?;
    match (y.into_dimensionality::<Ix2>(), yhat.into_dimensionality::<Ix2>()) {
        (Ok(y), Ok(yhat)) => Ok((y, yhat)),
        _ => unreachable!("check_target accepts rank-2 shapes only"),
    }
}

/// A loss per sample, shape (batch,): `sample_loss` of each (target, prediction) row pair.
///
/// # Errors
/// [`ShapeError::Target`], as [`check_rows`].
pub(crate) fn per_row<F: Float>(
    loss: &dyn fmt::Display,
    y: ArrayViewD<'_, F>,
    yhat: ArrayViewD<'_, F>,
    sample_loss: impl Fn(ArrayView1<'_, F>, ArrayView1<'_, F>) -> F,
) -> Result<Array1<F>, ShapeError> {
    let (y, yhat) = check_rows(loss, y, yhat)?;
    Ok(Zip::from(y.rows()).and(yhat.rows()).map_collect(sample_loss))
}

/// The mean over the batch of [`per_row`]'s values, summed in row order
/// without allocating.
///
/// # Errors
/// [`ShapeError::Target`], as [`check_rows`].
pub(crate) fn mean_of_rows<F: Float>(
    loss: &dyn fmt::Display,
    y: ArrayViewD<'_, F>,
    yhat: ArrayViewD<'_, F>,
    sample_loss: impl Fn(ArrayView1<'_, F>, ArrayView1<'_, F>) -> F,
) -> Result<F, ShapeError> {
    let (y, yhat) = check_rows(loss, y, yhat)?;
    let sum = Zip::from(y.rows()).and(yhat.rows()).fold(F::zero(), |acc, t, p| acc + sample_loss(t, p));
    Ok(batch_mean(sum, y.nrows()))
}

/// The mean of a sum over `batch` samples; 0 for an empty batch, which
/// contributes nothing instead of a NaN.
pub(crate) fn batch_mean<F: Float>(sum: F, batch: usize) -> F {
    if batch == 0 { F::zero() } else { sum / F::of_f64(batch as f64) }
}

/// 1 / batch, the factor of every gradient (1 for an empty batch, which has no elements).
pub(crate) fn inverse_batch<F: Float>(batch: usize) -> F {
    F::one() / F::of_f64(batch.max(1) as f64)
}

/// Gives `buffer` the (batch, outputs) `shape` (reallocating only when it
/// changes) and returns it as a writable rank-2 view.
///
/// # Panics
/// If `shape` is not of rank 2: callers pass the shape of a view that
/// [`check_rows`] accepted, an invariant of this crate.
pub(crate) fn grad_rows<'a, F: Float>(buffer: &'a mut ArrayD<F>, shape: &[usize]) -> ArrayViewMut2<'a, F> {
    ensure_shape(buffer, shape);
    buffer.view_mut().into_dimensionality::<Ix2>().expect("a checked (batch, outputs) shape")
}
