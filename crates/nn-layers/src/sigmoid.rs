//! Logistic sigmoid, element-wise: y = 1 / (1 + e^−x), ∂y/∂x = y·(1 − y).

use std::fmt;

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Float, Module, ShapeError, tensor};

use crate::check;
use crate::slices::{contiguous, contiguous_mut};

/// Element-wise logistic sigmoid: input of any shape with at least one axis ->
/// output of the same shape. No parameters. Computed without overflow for any |x|.
///
/// The backward pass, y·(1 − y), uses the output kept by the last forward,
/// assuming, as Lua Torch does, that it was on the same input; after a forward
/// of another shape it is recomputed from `input`.
///
/// ```
/// use ndarray::{arr1, ArrayD};
/// use nn_core::Module;
/// use nn_layers::Sigmoid;
///
/// let mut sigmoid = Sigmoid::new();
/// let x: ArrayD<f64> = arr1(&[0.0, -1000.0, 1000.0]).into_dyn();
/// assert_eq!(sigmoid.forward(x.view())?.as_slice().unwrap(), &[0.5, 0.0, 1.0]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sigmoid<F: Float = f32> {
    output: ArrayD<F>,
    grad_input: ArrayD<F>,
}

impl<F: Float> Sigmoid<F> {
    /// A Sigmoid activation.
    pub fn new() -> Self {
        Self { output: tensor::empty(), grad_input: tensor::empty() }
    }
}

impl<F: Float> Default for Sigmoid<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float> Module<F> for Sigmoid<F> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` is a scalar (no axis).
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        check::not_scalar(self, input.shape())?;
        tensor::ensure_shape(&mut self.output, input.shape());
        // A copy only if the input is not in standard layout (never in a chain).
        let input = input.as_standard_layout();
        F::sigmoid_into(contiguous(&input), contiguous_mut(&mut self.output));
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

    /// grad_input = delta ⊙ y·(1 − y).
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
            *g = d * y * (F::one() - y);
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

impl<F: Float> fmt::Display for Sigmoid<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sigmoid()")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{array, assert_close};
    use nn_core::gradcheck;

    #[test]
    fn sigmoid_matches_hand_computed_values() {
        let mut sigmoid = Sigmoid::<f64>::new();
        // ln 3 gives 3/4, −ln 3 gives 1/4.
        let x = array(&[1, 3], &[0.0, 3f64.ln(), -(3f64.ln())]);
        assert_close(sigmoid.forward(x.view()).unwrap(), &[0.5, 0.75, 0.25]);
        let g = sigmoid.backward_delta(x.view(), array(&[1, 3], &[1.0, 2.0, 1.0]).view()).unwrap();
        assert_close(g, &[0.25, 0.375, 0.1875]);
    }

    #[test]
    fn sigmoid_is_finite_for_large_inputs() {
        let mut sigmoid = Sigmoid::<f32>::new();
        let x = array(&[4], &[-1e30, -100.0, 100.0, 1e30]);
        let y = sigmoid.forward(x.view()).unwrap();
        assert!(y.iter().all(|v| v.is_finite()), "{y}");
        assert_close(y, &[0.0, 0.0, 1.0, 1.0]);
        let g = sigmoid.backward_delta(x.view(), x.mapv(|_| 1.0).view()).unwrap();
        assert_close(g, &[0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn sigmoid_displays_in_the_report_notation() {
        assert_eq!(Sigmoid::<f32>::default().to_string(), "Sigmoid()");
    }

    #[test]
    fn sigmoid_reuses_its_buffers() {
        let mut sigmoid = Sigmoid::<f32>::new();
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 6]));
        let out = sigmoid.forward(x.view()).unwrap().as_ptr();
        let grad = sigmoid.backward_delta(x.view(), x.view()).unwrap().as_ptr();
        assert_eq!(sigmoid.forward(x.view()).unwrap().as_ptr(), out);
        assert_eq!(sigmoid.backward_delta(x.view(), x.view()).unwrap().as_ptr(), grad);
    }

    #[test]
    fn sigmoid_backward_recomputes_for_a_new_shape() {
        let mut sigmoid = Sigmoid::<f64>::new();
        let x = array(&[2], &[0.0, 0.0]);
        let g = sigmoid.backward_delta(x.view(), x.mapv(|_| 1.0).view()).unwrap();
        assert_close(g, &[0.25, 0.25]);
    }

    #[test]
    fn sigmoid_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(12);
        let x = gradcheck::uniform(&[3, 4, 2], -2.0..2.0, &mut rng);
        let report = gradcheck::check(&mut Sigmoid::new(), &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
    }

    #[test]
    fn sigmoid_rejects_a_scalar() {
        let err = Sigmoid::<f32>::new().output_shape(&[]).unwrap_err();
        assert_eq!(err.to_string(), "Sigmoid() expects at least 1 axis but receives ()");
    }

    #[test]
    fn sigmoid_rejects_a_delta_of_the_wrong_shape() {
        let mut sigmoid = Sigmoid::<f64>::new();
        let x = array::<f64>(&[2, 2], &[0.0; 4]);
        let delta = array::<f64>(&[4], &[0.0; 4]);
        let err = sigmoid.backward_delta(x.view(), delta.view()).unwrap_err();
        assert_eq!(err.to_string(), "Sigmoid(): delta has shape (4,) but the output has shape (2, 2)");
    }
}
