//! Softmax over the last axis: s_i = e^(x_i − m) / Σ_j e^(x_j − m), m = max_j x_j.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD, Axis, Zip};
use nn_core::{Float, Module, ShapeError, tensor};

use crate::check;

/// Softmax along the last axis: input of any shape with at least one axis ->
/// output of the same shape, each last-axis row summing to 1. No parameters.
///
/// The backward pass, grad_input = s ⊙ (delta − Σ_last (delta ⊙ s)) row by row,
/// uses the output kept by the last forward: as Lua Torch (see [`Module`]),
/// `input` must be the input of the last forward, the same values, not only
/// the same shape; another input of that shape gets the gradient at the last
/// forward's input, without an error. After a forward of another shape the
/// output is recomputed from `input`.
///
/// For classification prefer a loss that takes the raw scores (log-softmax
/// with cross-entropy): it is better conditioned than this layer followed by a log.
///
/// ```
/// use ndarray::{arr2, ArrayD};
/// use nn_core::Module;
/// use nn_layers::Softmax;
///
/// let mut softmax = Softmax::new();
/// let x: ArrayD<f64> = arr2(&[[0.0, 3f64.ln()], [1000.0, 1000.0]]).into_dyn();
/// assert_eq!(softmax.forward(x.view())?.as_slice().unwrap(), &[0.25, 0.75, 0.5, 0.5]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Softmax<F: Float = f32> {
    output: ArrayD<F>,
    grad_input: ArrayD<F>,
}

impl<F: Float> Softmax<F> {
    /// A Softmax activation over the last axis.
    pub fn new() -> Self {
        Self { output: tensor::empty(), grad_input: tensor::empty() }
    }
}

impl<F: Float> Default for Softmax<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float> Module<F> for Softmax<F> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` is a scalar (no axis).
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        check::not_scalar(self, input.shape())?;
        tensor::ensure_shape(&mut self.output, input.shape());
        let last = Axis(input.ndim() - 1);
        Zip::from(self.output.lanes_mut(last)).and(input.lanes(last)).for_each(|mut s, x| {
            // Subtract the row max: e^x overflows beyond x ≈ 88 in f32.
            let max = x.fold(F::neg_infinity(), |m, &v| m.max(v));
            Zip::from(&mut s).and(&x).for_each(|s, &v| *s = (v - max).exp());
            let sum = s.sum();
            s.mapv_inplace(|v| v / sum);
        });
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

    /// grad_input = s ⊙ (delta − Σ_last (delta ⊙ s)), row by row along the last axis.
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
        let last = Axis(input.ndim() - 1);
        Zip::from(self.grad_input.lanes_mut(last))
            .and(self.output.lanes(last))
            .and(delta.lanes(last))
            .for_each(|mut g, s, d| {
                let dot = Zip::from(&s).and(&d).fold(F::zero(), |acc, &s, &d| acc + s * d);
                Zip::from(&mut g).and(&s).and(&d).for_each(|g, &s, &d| *g = s * (d - dot));
            });
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

impl<F: Float> fmt::Display for Softmax<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Softmax()")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{array, assert_close};
    use nn_core::gradcheck;

    #[test]
    fn softmax_matches_hand_computed_values() {
        let mut softmax = Softmax::<f64>::new();
        // Row 1: e^0, e^ln 3 = 1, 3 -> 1/4, 3/4. Row 2: shifted by a constant, same result.
        let x = array(&[2, 2], &[0.0, 3f64.ln(), 5.0, 5.0 + 3f64.ln()]);
        assert_close(softmax.forward(x.view()).unwrap(), &[0.25, 0.75, 0.25, 0.75]);
        // s ⊙ (delta − s·delta): (1/4)(1 − 1/4) = 3/16, (3/4)(0 − 1/4) = −3/16.
        let g = softmax.backward_delta(x.view(), array(&[2, 2], &[1.0, 0.0, 1.0, 1.0]).view()).unwrap();
        assert_close(g, &[0.1875, -0.1875, 0.0, 0.0]);
    }

    #[test]
    fn softmax_works_along_the_last_axis_of_a_sequence() {
        let mut softmax = Softmax::<f64>::new();
        let x = array(&[1, 2, 3], &[1.0, 1.0, 1.0, 0.0, 0.0, 2f64.ln()]);
        assert_close(softmax.forward(x.view()).unwrap(), &[1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.25, 0.25, 0.5]);
    }

    #[test]
    fn softmax_is_finite_for_large_inputs() {
        let mut softmax = Softmax::<f32>::new();
        let x = array(&[1, 3], &[1000.0, 1000.0, -1000.0]);
        assert_close(softmax.forward(x.view()).unwrap(), &[0.5, 0.5, 0.0]);
    }

    #[test]
    fn softmax_displays_in_the_report_notation() {
        assert_eq!(Softmax::<f32>::default().to_string(), "Softmax()");
    }

    #[test]
    fn softmax_reuses_its_buffers() {
        let mut softmax = Softmax::<f32>::new();
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 10]));
        let out = softmax.forward(x.view()).unwrap().as_ptr();
        let grad = softmax.backward_delta(x.view(), x.view()).unwrap().as_ptr();
        assert_eq!(softmax.forward(x.view()).unwrap().as_ptr(), out);
        assert_eq!(softmax.backward_delta(x.view(), x.view()).unwrap().as_ptr(), grad);
    }

    #[test]
    fn softmax_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(13);
        for shape in [&[5][..], &[3, 4], &[2, 3, 5]] {
            let x = gradcheck::uniform(shape, -3.0..3.0, &mut rng);
            let report = gradcheck::check(&mut Softmax::new(), &x, 1e-6).unwrap();
            assert!(report.passes(1e-6), "{report}");
        }
    }

    #[test]
    fn softmax_rejects_a_scalar() {
        let err = Softmax::<f32>::new().output_shape(&[]).unwrap_err();
        assert_eq!(err.to_string(), "Softmax() expects at least 1 axis but receives ()");
    }

    #[test]
    fn softmax_rejects_a_delta_of_the_wrong_shape() {
        let mut softmax = Softmax::<f64>::new();
        let x = array::<f64>(&[2, 3], &[0.0; 6]);
        let delta = array::<f64>(&[3, 2], &[0.0; 6]);
        let err = softmax.backward_delta(x.view(), delta.view()).unwrap_err();
        assert_eq!(err.to_string(), "Softmax(): delta has shape (3, 2) but the output has shape (2, 3)");
    }
}
