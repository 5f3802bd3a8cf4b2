//! Hyperbolic tangent, element-wise: y = tanh(x), ∂y/∂x = 1 − y².

use std::fmt;

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Float, Module, ShapeError, tensor};

use crate::check;
use crate::slices::{contiguous, contiguous_mut};

/// Element-wise tanh: input of any shape with at least one axis -> output of the same shape.
/// No parameters.
///
/// The backward pass, 1 − y², uses the output kept by the last forward,
/// assuming, as Lua Torch does, that it was on the same input; after a forward
/// of another shape it is recomputed from `input`.
///
/// ```
/// use ndarray::{arr1, ArrayD};
/// use nn_core::Module;
/// use nn_layers::TanH;
///
/// let mut tanh = TanH::new();
/// let x: ArrayD<f64> = arr1(&[0.0, 1.0]).into_dyn();
/// assert_eq!(tanh.forward(x.view())?.as_slice().unwrap(), &[0.0, 1f64.tanh()]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TanH<F: Float = f32> {
    output: ArrayD<F>,
    grad_input: ArrayD<F>,
}

impl<F: Float> TanH<F> {
    /// A TanH activation.
    pub fn new() -> Self {
        Self { output: tensor::empty(), grad_input: tensor::empty() }
    }
}

impl<F: Float> Default for TanH<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float> Module<F> for TanH<F> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` is a scalar (no axis).
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        check::not_scalar(self, input.shape())?;
        tensor::ensure_shape(&mut self.output, input.shape());
        // A copy only if the input is not in standard layout (never in a chain).
        let input = input.as_standard_layout();
        F::tanh_into(contiguous(&input), contiguous_mut(&mut self.output));
        Ok(&self.output)
    }

    /// No parameters: checks the shapes only.
    ///
    /// # Errors
    /// [`ShapeError::Input`] if `input` is a scalar, [`ShapeError::Delta`] if `delta` is not input-shaped.
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        check::not_scalar(self, input.shape())?;
        tensor::check_delta(self, input.shape(), &delta)
    }

    /// grad_input = delta ⊙ (1 − y²).
    ///
    /// # Errors
    /// [`ShapeError::Input`] if `input` is a scalar, [`ShapeError::Delta`] if `delta` is not input-shaped.
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        check::not_scalar(self, input.shape())?;
        tensor::check_delta(self, input.shape(), &delta)?;
        if self.output.shape() != input.shape() {
            self.forward(input.view())?;
        }
        tensor::ensure_shape(&mut self.grad_input, input.shape());
        let delta = delta.as_standard_layout();
        let values = contiguous(&self.output).iter().zip(contiguous(&delta));
        for (g, (&y, &d)) in contiguous_mut(&mut self.grad_input).iter_mut().zip(values) {
            *g = d * (F::one() - y * y);
        }
        Ok(&self.grad_input)
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        check::not_scalar(self, input_shape)?;
        Ok(input_shape.to_vec())
    }

    fn output(&self) -> &ArrayD<F> {
        &self.output
    }

    fn grad_input(&self) -> &ArrayD<F> {
        &self.grad_input
    }
}

impl<F: Float> fmt::Display for TanH<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TanH()")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{array, assert_close};
    use nn_core::gradcheck;

    #[test]
    fn tanh_matches_hand_computed_values() {
        let mut tanh = TanH::<f64>::new();
        let x = array(&[1, 3], &[0.0, 0.5f64.atanh(), -1000.0]);
        assert_close(tanh.forward(x.view()).unwrap(), &[0.0, 0.5, -1.0]);
        let g = tanh.backward_delta(x.view(), array(&[1, 3], &[1.0, 2.0, 1.0]).view()).unwrap();
        assert_close(g, &[1.0, 1.5, 0.0]);
    }

    #[test]
    fn tanh_displays_in_the_report_notation() {
        assert_eq!(TanH::<f32>::default().to_string(), "TanH()");
    }

    #[test]
    fn tanh_reuses_its_buffers() {
        let mut tanh = TanH::<f32>::new();
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 6]));
        let out = tanh.forward(x.view()).unwrap().as_ptr();
        let grad = tanh.backward_delta(x.view(), x.view()).unwrap().as_ptr();
        assert_eq!(tanh.forward(x.view()).unwrap().as_ptr(), out);
        assert_eq!(tanh.backward_delta(x.view(), x.view()).unwrap().as_ptr(), grad);
    }

    #[test]
    fn tanh_backward_recomputes_for_a_new_shape() {
        let mut tanh = TanH::<f64>::new();
        let x = array(&[2], &[0.0, 0.0]);
        let g = tanh.backward_delta(x.view(), x.mapv(|_| 1.0).view()).unwrap();
        assert_close(g, &[1.0, 1.0]);
    }

    #[test]
    fn tanh_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(12);
        let x = gradcheck::uniform(&[3, 4, 2], -2.0..2.0, &mut rng);
        let report = gradcheck::check(&mut TanH::new(), &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
    }

    #[test]
    fn tanh_rejects_a_scalar() {
        let err = TanH::<f32>::new().output_shape(&[]).unwrap_err();
        assert_eq!(err.to_string(), "TanH() expects at least 1 axis but receives ()");
    }

    #[test]
    fn tanh_rejects_a_delta_of_the_wrong_shape() {
        let mut tanh = TanH::<f64>::new();
        let x = array::<f64>(&[2, 2], &[0.0; 4]);
        let delta = array::<f64>(&[4], &[0.0; 4]);
        let err = tanh.backward_delta(x.view(), delta.view()).unwrap_err();
        assert_eq!(err.to_string(), "TanH(): delta has shape (4,) but the output has shape (2, 2)");
    }
}
