//! Tensors are ndarray arrays of dynamic rank; these helpers keep layers' buffers.
//!
//! Layouts, fixed across the library:
//! - dense data: (batch, features);
//! - sequences: (batch, length, channels), channels last (PyTorch puts them second).

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::{Float, ShapeError};

/// The tensor type modules exchange: an n-dimensional array, batch first.
pub type Tensor<F = f32> = ArrayD<F>;

/// A borrowed tensor, what modules take as input and `delta`.
pub type TensorView<'a, F = f32> = ArrayViewD<'a, F>;

/// Makes `buffer` have `shape`, reallocating only when the shape changes.
///
/// This is how layers keep their `output` and `grad_input` between batches:
/// while the batch size holds, training allocates nothing. The contents are
/// unspecified afterwards (zeros after a reallocation, the old values
/// otherwise): callers overwrite every element.
pub fn ensure_shape<F: Float>(buffer: &mut ArrayD<F>, shape: &[usize]) {
    if buffer.shape() != shape {
        *buffer = ArrayD::zeros(IxDyn(shape));
    }
}

/// Checks that `delta` has the shape of the output the layer computes for its input.
///
/// # Errors
/// [`ShapeError::Delta`] naming `layer` and both shapes.
pub fn check_delta<F>(
    layer: &dyn std::fmt::Display,
    expected: &[usize],
    delta: &ArrayViewD<'_, F>,
) -> Result<(), ShapeError> {
    if delta.shape() == expected {
        Ok(())
    } else {
        Err(ShapeError::Delta {
            layer: layer.to_string(),
            expected: expected.to_vec(),
            found: delta.shape().to_vec(),
        })
    }
}

/// An empty tensor of rank 2, the state of a buffer before the first batch.
pub fn empty<F: Float>() -> ArrayD<F> {
    ArrayD::zeros(IxDyn(&[0, 0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_shape_keeps_the_allocation_while_the_shape_holds() {
        let mut buf = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
        let before = buf.as_ptr();
        ensure_shape(&mut buf, &[2, 3]);
        assert_eq!(before, buf.as_ptr());
        ensure_shape(&mut buf, &[4, 3]);
        assert_eq!(buf.shape(), &[4, 3]);
    }

    #[test]
    fn check_delta_names_both_shapes() {
        let delta = ArrayD::<f32>::zeros(IxDyn(&[2, 5]));
        let err = check_delta(&"Linear(3, 4)", &[2, 4], &delta.view()).unwrap_err();
        assert_eq!(err.to_string(), "Linear(3, 4): delta has shape (2, 5) but the output has shape (2, 4)");
    }
}
