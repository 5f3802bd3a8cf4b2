//! Rectified linear unit, element-wise: y = max(x, 0), ∂y/∂x = 1 for x > 0, else 0.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Float, Module, ShapeError, pool, tensor};

use crate::check;
use crate::slices::{contiguous, contiguous_mut};

/// Element-wise max(x, 0): input of any shape with at least one axis -> output of the same shape.
/// No parameters.
///
/// The derivative is taken as 0 at x = 0 (and below), as in PyTorch; it is read
/// from `input`, so the backward pass needs no earlier forward. A NaN input stays NaN.
///
/// ```
/// use ndarray::{arr1, ArrayD};
/// use nn_core::Module;
/// use nn_layers::ReLU;
///
/// let mut relu = ReLU::new();
/// let x: ArrayD<f32> = arr1(&[-2.0, 0.0, 1.5]).into_dyn();
/// assert_eq!(relu.forward(x.view())?.as_slice().unwrap(), &[0.0, 0.0, 1.5]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReLU<F: Float = f32> {
    output: ArrayD<F>,
    grad_input: ArrayD<F>,
}

impl<F: Float> ReLU<F> {
    /// A ReLU activation.
    pub fn new() -> Self {
        Self { output: tensor::empty(), grad_input: tensor::empty() }
    }
}

impl<F: Float> Default for ReLU<F> {
    fn default() -> Self {
        Self::new()
    }
}

// The loops run inside `pulp`'s dispatch, which compiles them for AVX-512
// or AVX2 when the CPU has it (the crate itself targets baseline x86-64).
// They take their slices as arguments: as arguments, `&mut` slices tell LLVM
// that nothing else changes under their stores, which vectorising needs.

/// y = x where x > 0, else 0; `x <= 0` is false for NaN, so a NaN passes
/// through and shows downstream.
#[inline(always)]
fn rectify<F: Float>(x: &[F], y: &mut [F]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = if x <= F::zero() { F::zero() } else { x };
    }
}

/// g = d where x > 0, else 0.
#[inline(always)]
fn pass_where_positive<F: Float>(x: &[F], d: &[F], g: &mut [F]) {
    for (g, (&x, &d)) in g.iter_mut().zip(x.iter().zip(d)) {
        *g = if x > F::zero() { d } else { F::zero() };
    }
}

impl<F: Float> Module<F> for ReLU<F> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` is a scalar (no axis).
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        check::not_scalar(self, input.shape())?;
        tensor::ensure_shape(&mut self.output, input.shape());
        let input = input.as_standard_layout();
        let (x, y) = (contiguous(&input), contiguous_mut(&mut self.output));
        pool::in_halves(y, |at, y| pulp::Arch::new().dispatch(|| rectify(&x[at..][..y.len()], y)));
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

    /// grad_input = delta where x > 0, else 0.
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
        tensor::ensure_shape(&mut self.grad_input, input.shape());
        let (input, delta) = (input.as_standard_layout(), delta.as_standard_layout());
        let (x, d, g) = (contiguous(&input), contiguous(&delta), contiguous_mut(&mut self.grad_input));
        pool::in_halves(g, |at, g| {
            let part = at..at + g.len();
            pulp::Arch::new().dispatch(|| pass_where_positive(&x[part.clone()], &d[part], g));
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

impl<F: Float> fmt::Display for ReLU<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReLU()")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{array, assert_close};
    use nn_core::gradcheck;

    #[test]
    fn relu_matches_hand_computed_values() {
        let mut relu = ReLU::<f64>::new();
        let x = array(&[2, 2], &[-1.0, 0.0, 1e-9, 3.0]);
        assert_close(relu.forward(x.view()).unwrap(), &[0.0, 0.0, 1e-9, 3.0]);
        let g = relu.backward_delta(x.view(), array(&[2, 2], &[5.0, 6.0, 7.0, 8.0]).view()).unwrap();
        assert_close(g, &[0.0, 0.0, 7.0, 8.0]);
    }

    #[test]
    fn relu_lets_nan_through() {
        let mut relu = ReLU::<f32>::new();
        let y = relu.forward(array(&[1], &[f64::NAN]).view()).unwrap();
        assert!(y[[0]].is_nan());
    }

    #[test]
    fn relu_displays_in_the_report_notation() {
        assert_eq!(ReLU::<f32>::default().to_string(), "ReLU()");
    }

    #[test]
    fn relu_reuses_its_buffers() {
        let mut relu = ReLU::<f32>::new();
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 6]));
        let out = relu.forward(x.view()).unwrap().as_ptr();
        let grad = relu.backward_delta(x.view(), x.view()).unwrap().as_ptr();
        assert_eq!(relu.forward(x.view()).unwrap().as_ptr(), out);
        assert_eq!(relu.backward_delta(x.view(), x.view()).unwrap().as_ptr(), grad);
    }

    #[test]
    fn relu_backward_needs_no_forward() {
        let mut relu = ReLU::<f64>::new();
        let x = array(&[2], &[-1.0, 1.0]);
        let g = relu.backward_delta(x.view(), x.mapv(|_| 1.0).view()).unwrap();
        assert_close(g, &[0.0, 1.0]);
    }

    #[test]
    fn relu_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(12);
        // Keep every input at least 0.1 away from the kink at 0.
        let x = gradcheck::uniform(&[3, 4, 2], -2.0..2.0, &mut rng)
            .mapv(|v| if v.abs() < 0.1 { v + 0.2 } else { v });
        let report = gradcheck::check(&mut ReLU::new(), &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
    }

    #[test]
    fn relu_rejects_a_scalar() {
        let err = ReLU::<f32>::new().output_shape(&[]).unwrap_err();
        assert_eq!(err.to_string(), "ReLU() expects at least 1 axis but receives ()");
    }

    #[test]
    fn relu_rejects_a_delta_of_the_wrong_shape() {
        let mut relu = ReLU::<f64>::new();
        let x = array::<f64>(&[2, 2], &[0.0; 4]);
        let delta = array::<f64>(&[4], &[0.0; 4]);
        let err = relu.backward_delta(x.view(), delta.view()).unwrap_err();
        assert_eq!(err.to_string(), "ReLU(): delta has shape (4,) but the output has shape (2, 2)");
    }
}
