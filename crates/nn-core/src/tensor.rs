//! Tensors are ndarray arrays of dynamic rank; these helpers keep layers' buffers.
//!
//! Layouts, fixed across the library:
//! - dense data: (batch, features);
//! - sequences: (batch, length, channels), channels last (PyTorch puts them second).

use ndarray::{Array, ArrayD, ArrayViewD, Dimension, IxDyn};

use crate::{Float, ShapeError};

/// The tensor type modules exchange: an n-dimensional array, batch first.
pub type Tensor<F = f32> = ArrayD<F>;

/// A borrowed tensor, what modules take as input and `delta`.
pub type TensorView<'a, F = f32> = ArrayViewD<'a, F>;

/// Makes `buffer` have `shape`, keeping its allocation whenever it is large enough.
///
/// This is how layers keep their `output` and `grad_input` between batches:
/// while the batch size holds, training allocates nothing, and an epoch's
/// last, smaller batch (and the full batches after it) reuse the same
/// memory. The contents are unspecified afterwards (zeros after a change of
/// shape, the old values otherwise): callers overwrite every element.
pub fn ensure_shape<F: Float>(buffer: &mut ArrayD<F>, shape: &[usize]) {
    if buffer.shape() != shape {
        ensure_dim(buffer, IxDyn(shape));
    }
}

/// [`ensure_shape`] for arrays of any element and dimension type, e.g. a
/// layer's `Array2` scratch or `Array3<usize>` of positions: gives `buffer`
/// the shape `dim`, reusing its allocation when it holds enough elements.
/// After a change of shape every element is `A::default()`.
///
/// Shapes of up to 4 axes never allocate by themselves (ndarray keeps them inline).
pub fn ensure_dim<A: Clone + Default, D: Dimension>(buffer: &mut Array<A, D>, dim: D) {
    if buffer.raw_dim() == dim {
        return;
    }
    // An empty array holds no allocation: swapping it in is free.
    let old =
        std::mem::replace(buffer, Array::from_shape_vec(D::zeros(dim.ndim()), Vec::new()).expect("empty"));
    let (mut data, _) = old.into_raw_vec_and_offset();
    data.clear();
    data.resize(dim.size(), A::default());
    *buffer = Array::from_shape_vec(dim, data).expect("the vector has exactly dim.size() elements");
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
    fn ensure_shape_keeps_the_allocation_for_a_smaller_batch() {
        let mut buf = ArrayD::<f32>::ones(IxDyn(&[32, 10]));
        let before = buf.as_ptr();
        ensure_shape(&mut buf, &[29, 10]);
        assert_eq!((buf.shape(), buf.as_ptr()), (&[29, 10][..], before));
        assert!(buf.iter().all(|&v| v == 0.0));
        ensure_shape(&mut buf, &[32, 10]);
        assert_eq!((buf.shape(), buf.as_ptr()), (&[32, 10][..], before));
        assert!(buf.is_standard_layout());
    }

    #[test]
    fn ensure_dim_resizes_fixed_rank_arrays() {
        let mut positions = ndarray::Array3::<usize>::zeros((2, 3, 4));
        let before = positions.as_ptr();
        ensure_dim(&mut positions, ndarray::Dim([1, 3, 4]));
        assert_eq!((positions.dim(), positions.as_ptr()), ((1, 3, 4), before));
        ensure_dim(&mut positions, ndarray::Dim([5, 3, 4]));
        assert_eq!(positions.dim(), (5, 3, 4));
    }

    #[test]
    fn check_delta_names_both_shapes() {
        let delta = ArrayD::<f32>::zeros(IxDyn(&[2, 5]));
        let err = check_delta(&"Linear(3, 4)", &[2, 4], &delta.view()).unwrap_err();
        assert_eq!(err.to_string(), "Linear(3, 4): delta has shape (2, 5) but the output has shape (2, 4)");
    }
}
