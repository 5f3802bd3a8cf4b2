//! Flatten: (batch, d1, d2, …) -> (batch, d1·d2·…), the values in row-major order.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Dims, Float, Module, ShapeError, tensor};

use crate::check::input_error;
use crate::reshape::Reshape;

/// Flattens every axis after the batch axis: input (batch, d1, d2, …) ->
/// output (batch, d1·d2·…), values in row-major order. Its gradient reshapes
/// `delta` back. No parameters.
///
/// This is the bridge from a (batch, length, channels) sequence to a [`Linear`](crate::Linear) layer.
///
/// ```
/// use ndarray::{ArrayD, IxDyn};
/// use nn_core::Module;
/// use nn_layers::Flatten;
///
/// let mut flatten = Flatten::new();
/// let x = ArrayD::<f32>::zeros(IxDyn(&[8, 31, 32]));
/// assert_eq!(flatten.forward(x.view())?.shape(), &[8, 992]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Flatten<F: Float = f32> {
    buffers: Reshape<F>,
}

impl<F: Float> Flatten<F> {
    /// A Flatten layer.
    pub fn new() -> Self {
        Self { buffers: Reshape::new() }
    }

    /// The output shape (batch, d1·d2·…) for an input of `shape`, or why it does not fit.
    fn flat_shape(&self, shape: &[usize]) -> Result<[usize; 2], ShapeError> {
        match shape {
            [batch, rest @ ..] if !rest.is_empty() => Ok([*batch, rest.iter().product()]),
            _ => Err(input_error(self, "at least 2 axes (batch, d1, ...)", Dims(shape).to_string())),
        }
    }
}

impl<F: Float> Default for Flatten<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float> Module<F> for Flatten<F> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` has fewer than 2 axes.
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let shape = self.flat_shape(input.shape())?;
        Ok(self.buffers.forward(&input, &shape))
    }

    /// No parameters: checks the shapes only.
    ///
    /// # Errors
    /// [`ShapeError::Input`] if `input` has fewer than 2 axes,
    /// [`ShapeError::Delta`] if `delta` is not (batch, d1·d2·…).
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        let shape = self.flat_shape(input.shape())?;
        tensor::check_delta(self, &shape, &delta)
    }

    /// `delta` (batch, d1·d2·…) reshaped to the input's shape.
    ///
    /// # Errors
    /// [`ShapeError::Input`] if `input` has fewer than 2 axes,
    /// [`ShapeError::Delta`] if `delta` is not (batch, d1·d2·…).
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        let shape = self.flat_shape(input.shape())?;
        tensor::check_delta(self, &shape, &delta)?;
        Ok(self.buffers.backward(input.shape(), &delta))
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        Ok(self.flat_shape(input_shape)?.to_vec())
    }

    fn output(&self) -> &ArrayD<F> {
        &self.buffers.output
    }

    fn grad_input(&self) -> &ArrayD<F> {
        &self.buffers.grad_input
    }
}

impl<F: Float> fmt::Display for Flatten<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Flatten()")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{array, assert_close};
    use nn_core::gradcheck;

    #[test]
    fn flatten_keeps_row_major_order() {
        let mut flatten = Flatten::<f64>::new();
        let x = array(&[2, 2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
        let y = flatten.forward(x.view()).unwrap();
        assert_eq!(y.shape(), &[2, 6]);
        assert_close(y, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
        let delta = y.clone();
        let g = flatten.backward_delta(x.view(), delta.view()).unwrap();
        assert_eq!(g, &x);
    }

    #[test]
    fn flatten_reads_a_non_contiguous_input_in_logical_order() {
        let mut flatten = Flatten::<f64>::new();
        let x = array(&[2, 3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
        let swapped = x.view().permuted_axes(vec![0, 2, 1]);
        let y = flatten.forward(swapped).unwrap();
        assert_close(y, &[1.0, 3.0, 5.0, 2.0, 4.0, 6.0, 7.0, 9.0, 11.0, 8.0, 10.0, 12.0]);
    }

    #[test]
    fn flatten_leaves_a_matrix_as_it_is() {
        let flatten = Flatten::<f32>::new();
        assert_eq!(flatten.output_shape(&[4, 7]).unwrap(), [4, 7]);
    }

    #[test]
    fn flatten_displays_in_the_report_notation() {
        assert_eq!(Flatten::<f32>::default().to_string(), "Flatten()");
    }

    #[test]
    fn flatten_reuses_its_buffers() {
        let mut flatten = Flatten::<f32>::new();
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[3, 4, 5]));
        let delta = ArrayD::<f32>::ones(ndarray::IxDyn(&[3, 20]));
        let out = flatten.forward(x.view()).unwrap().as_ptr();
        let grad = flatten.backward_delta(x.view(), delta.view()).unwrap().as_ptr();
        assert_eq!(flatten.forward(x.view()).unwrap().as_ptr(), out);
        assert_eq!(flatten.backward_delta(x.view(), delta.view()).unwrap().as_ptr(), grad);
    }

    #[test]
    fn flatten_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(7);
        let x = gradcheck::uniform(&[2, 3, 4], -2.0..2.0, &mut rng);
        let report = gradcheck::check(&mut Flatten::new(), &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
    }

    #[test]
    fn flatten_rejects_a_single_axis() {
        let err = Flatten::<f32>::new().output_shape(&[5]).unwrap_err();
        assert_eq!(err.to_string(), "Flatten() expects at least 2 axes (batch, d1, ...) but receives (5,)");
    }

    #[test]
    fn flatten_rejects_a_delta_of_the_wrong_shape() {
        let mut flatten = Flatten::<f64>::new();
        let x = array::<f64>(&[1, 2, 2], &[0.0; 4]);
        let delta = array::<f64>(&[1, 2, 2], &[0.0; 4]);
        let err = flatten.backward_delta(x.view(), delta.view()).unwrap_err();
        assert_eq!(err.to_string(), "Flatten(): delta has shape (1, 2, 2) but the output has shape (1, 4)");
    }
}
