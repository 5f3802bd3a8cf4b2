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

/// The values a loss takes: a closed interval [lo, hi] and how messages print it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Domain<F> {
    pub(crate) lo: F,
    pub(crate) hi: F,
    /// The interval as messages print it, e.g. `[0, 1]`.
    pub(crate) notation: &'static str,
}

impl<F: Float> Domain<F> {
    /// [0, 1], the probabilities.
    pub(crate) fn unit() -> Self {
        Self { lo: F::zero(), hi: F::one(), notation: "[0, 1]" }
    }

    /// The finite values ≥ 0 (the cross-entropy targets).
    pub(crate) fn non_negative() -> Self {
        Self { lo: F::zero(), hi: F::max_value(), notation: "[0, inf) (finite, non-negative)" }
    }

    /// Every finite value.
    pub(crate) fn finite() -> Self {
        Self { lo: F::min_value(), hi: F::max_value(), notation: "the finite numbers" }
    }

    /// Whether `v` is in [lo, hi]; false for NaN.
    fn holds(&self, v: F) -> bool {
        v >= self.lo && v <= self.hi
    }
}

/// Advice for a cross-entropy target outside [0, inf), for both cross-entropy losses.
pub(crate) const CROSS_ENTROPY_TARGET_HINT: &str =
    "; cross-entropy targets are one-hot rows (or other non-negative weights)";

/// A cross-entropy loss's check: refuses a target outside [0, inf);
/// predictions are not checked (a NaN one gives a NaN loss, which a training
/// loop reports as divergence).
pub(crate) fn check_cross_entropy_domain<F: Float>(
    loss: &dyn fmt::Display,
    y: ArrayView2<'_, F>,
    _yhat: ArrayView2<'_, F>,
) -> Result<(), ShapeError> {
    check_values(loss, "target y", y, Domain::non_negative(), CROSS_ENTROPY_TARGET_HINT)
}

/// Checks that every value of `values` (batch, outputs) is in `domain`.
///
/// The check is one pass over the values (by chunks, without branches inside
/// a chunk, so that it vectorises: a (32, 64) batch costs well under a
/// microsecond), and allocates nothing unless a value is refused.
///
/// # Errors
/// [`ShapeError::Value`] naming `loss`, `argument` (`target y` or
/// `prediction yhat`), the first value outside `domain` in row-major order
/// and its (row, column), with `hint`.
pub(crate) fn check_values<F: Float>(
    loss: &dyn fmt::Display,
    argument: &'static str,
    values: ArrayView2<'_, F>,
    domain: Domain<F>,
    hint: &'static str,
) -> Result<(), ShapeError> {
    const CHUNK: usize = 64;
    let inside = match values.as_slice() {
        Some(slice) => slice
            .chunks(CHUNK)
            .all(|chunk| chunk.iter().fold(true, |ok, &v| ok & (v >= domain.lo) & (v <= domain.hi))),
        None => values.iter().all(|&v| domain.holds(v)),
    };
    if inside {
        return Ok(());
    }
    let Some(((row, column), value)) = values.indexed_iter().find(|(_, v)| !domain.holds(**v)) else {
        return Ok(());
    };
    Err(ShapeError::Value {
        loss: loss.to_string(),
        argument,
        value: value.to_string(),
        row,
        column,
        domain: domain.notation,
        hint,
    })
}

/// [`check_values`] on targets that should be (batch, outputs); a tensor of
/// another rank is left to the shape check of the loss's own methods.
///
/// # Errors
/// As [`check_values`].
pub(crate) fn check_target_values<F: Float>(
    loss: &dyn fmt::Display,
    y: ArrayViewD<'_, F>,
    domain: Domain<F>,
    hint: &'static str,
) -> Result<(), ShapeError> {
    match y.into_dimensionality::<Ix2>() {
        Ok(y) => check_values(loss, "target y", y, domain, hint),
        Err(_) => Ok(()),
    }
}

/// A loss per sample, shape (batch,): `sample_loss` of each (target, prediction) row pair,
/// once `domain` has accepted the values.
///
/// # Errors
/// [`ShapeError::Target`], as [`check_rows`]; `domain`'s error ([`ShapeError::Value`]).
pub(crate) fn per_row<F: Float>(
    loss: &dyn fmt::Display,
    y: ArrayViewD<'_, F>,
    yhat: ArrayViewD<'_, F>,
    domain: impl Fn(ArrayView2<'_, F>, ArrayView2<'_, F>) -> Result<(), ShapeError>,
    sample_loss: impl Fn(ArrayView1<'_, F>, ArrayView1<'_, F>) -> F,
) -> Result<Array1<F>, ShapeError> {
    let (y, yhat) = check_rows(loss, y, yhat)?;
    domain(y.view(), yhat.view())?;
    Ok(Zip::from(y.rows()).and(yhat.rows()).map_collect(sample_loss))
}

/// The mean over the batch of [`per_row`]'s values, summed in row order
/// without allocating, once `domain` has accepted the values.
///
/// # Errors
/// [`ShapeError::Target`], as [`check_rows`]; `domain`'s error ([`ShapeError::Value`]).
pub(crate) fn mean_of_rows<F: Float>(
    loss: &dyn fmt::Display,
    y: ArrayViewD<'_, F>,
    yhat: ArrayViewD<'_, F>,
    domain: impl Fn(ArrayView2<'_, F>, ArrayView2<'_, F>) -> Result<(), ShapeError>,
    sample_loss: impl Fn(ArrayView1<'_, F>, ArrayView1<'_, F>) -> F,
) -> Result<F, ShapeError> {
    let (y, yhat) = check_rows(loss, y, yhat)?;
    domain(y.view(), yhat.view())?;
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
