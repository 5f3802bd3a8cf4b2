//! The `Loss` trait: `forward(y, yhat)` and `backward(y, yhat)`, as in the report.

use std::fmt;

use ndarray::{Array1, ArrayD, ArrayViewD};

use crate::{Dims, Float, ShapeError};

/// A loss between targets `y` and predictions `yhat`, both (batch, outputs).
///
/// Reduction, the same for every loss of the library: a per-sample loss sums
/// over the output axis ([`per_sample`](Loss::per_sample), shape (batch,)),
/// and [`forward`](Loss::forward) is the **mean over the batch** of it.
/// [`backward`](Loss::backward) is the gradient of that mean, so a learning
/// rate does not depend on the batch size. Classification targets are one-hot rows.
///
/// The `Display` form is the report's notation, e.g. `MSELoss()`.
pub trait Loss<F: Float = f32>: fmt::Display + Send {
    /// The loss of each sample, shape (batch,).
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape;
    /// [`ShapeError::Value`] if a value of `y` or `yhat` is outside the loss's domain
    /// (see [`check_targets`](Loss::check_targets)).
    fn per_sample(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<Array1<F>, ShapeError>;

    /// The mean over the batch of [`per_sample`](Loss::per_sample), without allocating.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape;
    /// [`ShapeError::Value`] if a value of `y` or `yhat` is outside the loss's domain
    /// (see [`check_targets`](Loss::check_targets)).
    fn forward(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<F, ShapeError>;

    /// ∂forward/∂yhat, shape of `yhat`, kept in the loss's buffer and returned.
    ///
    /// # Errors
    /// [`ShapeError::Target`] if `y` and `yhat` are not the same (batch, outputs) shape;
    /// [`ShapeError::Value`] if a value of `y` or `yhat` is outside the loss's domain
    /// (see [`check_targets`](Loss::check_targets)).
    fn backward(&mut self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError>;

    /// Checks that every value of the targets `y` (batch, outputs) is one
    /// this loss takes, e.g. in [0, 1] for a binary cross-entropy, so that a
    /// training loop can refuse a whole data set before its first step.
    /// The default accepts any value; [`forward`](Loss::forward) and
    /// [`backward`](Loss::backward) run the same check on each batch.
    ///
    /// # Errors
    /// [`ShapeError::Value`] naming the first value outside the domain and its (row, column).
    fn check_targets(&self, y: ArrayViewD<'_, F>) -> Result<(), ShapeError> {
        let _ = y;
        Ok(())
    }
}

/// Checks that a loss got two (batch, outputs) tensors of the same shape.
///
/// # Errors
/// [`ShapeError::Target`] naming the loss and both shapes, with a hint when
/// the target looks like class labels instead of one-hot rows.
pub fn check_target<F>(
    loss: &dyn fmt::Display,
    y: &ArrayViewD<'_, F>,
    yhat: &ArrayViewD<'_, F>,
) -> Result<(), ShapeError> {
    if y.shape() == yhat.shape() && yhat.ndim() == 2 {
        return Ok(());
    }
    let hint = if yhat.ndim() != 2 {
        format!("; losses take (batch, outputs), flatten {} first", Dims(yhat.shape()))
    } else if y.ndim() == 1 || (y.ndim() == 2 && y.shape()[1] == 1 && yhat.shape()[1] > 1) {
        "; y looks like class labels: pass one-hot rows".to_string()
    } else {
        String::new()
    };
    Err(ShapeError::Target {
        loss: loss.to_string(),
        y: y.shape().to_vec(),
        yhat: yhat.shape().to_vec(),
        hint,
    })
}

impl<F: Float, L: Loss<F> + ?Sized> Loss<F> for Box<L> {
    fn per_sample(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<Array1<F>, ShapeError> {
        (**self).per_sample(y, yhat)
    }
    fn forward(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<F, ShapeError> {
        (**self).forward(y, yhat)
    }
    fn backward(&mut self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        (**self).backward(y, yhat)
    }
    fn check_targets(&self, y: ArrayViewD<'_, F>) -> Result<(), ShapeError> {
        (**self).check_targets(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn check_target_hints_at_one_hot_rows() {
        let y = ArrayD::<f32>::zeros(IxDyn(&[4]));
        let yhat = ArrayD::<f32>::zeros(IxDyn(&[4, 10]));
        let err = check_target(&"MSELoss()", &y.view(), &yhat.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MSELoss(): target y has shape (4,) but prediction yhat has shape (4, 10); y looks like class labels: pass one-hot rows"
        );
    }
}
