//! Nearest-neighbour upsampling along the length axis: y[b, p, c] = x[b, ⌊p / scale⌋, c].

use std::fmt;

use ndarray::{ArrayD, ArrayViewD, Ix3, s};
use nn_core::{Float, Module, ShapeError, tensor};

use crate::check;

/// Repeats each position `scale` times along the length axis: input
/// (batch, length, channels) -> output (batch, length·scale, channels).
/// The gradient of a position is the sum of its copies' gradients. No parameters.
///
/// It undoes the shortening of a [`MaxPool1D`](crate::MaxPool1D) in the decoder
/// of a convolutional auto-encoder.
///
/// ```
/// use ndarray::{Array, IxDyn};
/// use nn_core::Module;
/// use nn_layers::Upsample1D;
///
/// let mut up = Upsample1D::new(2);
/// let x = Array::from_shape_vec(IxDyn(&[1, 2, 1]), vec![1.0_f32, 5.0]).unwrap();
/// assert_eq!(up.forward(x.view())?.as_slice().unwrap(), &[1.0, 1.0, 5.0, 5.0]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Upsample1D<F: Float = f32> {
    scale: usize,
    output: ArrayD<F>,
    grad_input: ArrayD<F>,
}

impl<F: Float> Upsample1D<F> {
    /// Upsampling by an integer factor `scale`.
    ///
    /// # Panics
    /// If `scale` is 0.
    pub fn new(scale: usize) -> Self {
        assert!(scale > 0, "Upsample1D({scale}): scale must be at least 1");
        Self { scale, output: tensor::empty(), grad_input: tensor::empty() }
    }

    /// The repetition factor.
    pub fn scale(&self) -> usize {
        self.scale
    }

    /// The output shape for an input of `shape`, or why it does not fit.
    fn check_input(&self, shape: &[usize]) -> Result<[usize; 3], ShapeError> {
        let [batch, length, channels] = check::sequence(self, shape, None)?;
        // A huge scale is a user's typo, not a reason to overflow.
        let Some(out_length) = length.checked_mul(self.scale) else {
            return Err(check::input_error(
                self,
                format!("a length whose {}-fold fits in memory", self.scale),
                format!("length {length}"),
            ));
        };
        Ok([batch, out_length, channels])
    }
}

impl<F: Float> Module<F> for Upsample1D<F> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` is not (batch, length, channels).
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let shape = self.check_input(input.shape())?;
        let x = input.into_dimensionality::<Ix3>().expect("checked: rank 3");
        tensor::ensure_shape(&mut self.output, &shape);
        let mut y = self.output.view_mut().into_dimensionality::<Ix3>().expect("output is 3-D");
        for r in 0..self.scale {
            y.slice_mut(s![.., r..;self.scale, ..]).assign(&x);
        }
        Ok(&self.output)
    }

    /// No parameters: checks the shapes only.
    ///
    /// # Errors
    /// [`ShapeError::Input`] as for `forward`, [`ShapeError::Delta`] if `delta` is not
    /// (batch, length·scale, channels).
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        let shape = self.check_input(input.shape())?;
        tensor::check_delta(self, &shape, &delta)
    }

    /// grad_input[b, p, c] = Σ_{r < scale} delta[b, p·scale + r, c].
    ///
    /// # Errors
    /// [`ShapeError::Input`] as for `forward`, [`ShapeError::Delta`] if `delta` is not
    /// (batch, length·scale, channels).
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        let shape = self.check_input(input.shape())?;
        tensor::check_delta(self, &shape, &delta)?;
        let d = delta.into_dimensionality::<Ix3>().expect("checked: rank 3");
        tensor::ensure_shape(&mut self.grad_input, input.shape());
        let mut g = self.grad_input.view_mut().into_dimensionality::<Ix3>().expect("grad_input is 3-D");
        g.assign(&d.slice(s![.., ..;self.scale, ..]));
        for r in 1..self.scale {
            g += &d.slice(s![.., r..;self.scale, ..]);
        }
        Ok(&self.grad_input)
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        Ok(self.check_input(input_shape)?.to_vec())
    }

    fn output(&self) -> &ArrayD<F> {
        &self.output
    }

    fn grad_input(&self) -> &ArrayD<F> {
        &self.grad_input
    }
}

impl<F: Float> fmt::Display for Upsample1D<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Upsample1D({})", self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{array, assert_close};
    use nn_core::gradcheck;

    #[test]
    fn upsample1d_repeats_each_position() {
        let mut up = Upsample1D::<f64>::new(3);
        // (1, 2, 2): positions (1, 10), (2, 20).
        let x = array(&[1, 2, 2], &[1.0, 10.0, 2.0, 20.0]);
        let y = up.forward(x.view()).unwrap();
        assert_eq!(y.shape(), &[1, 6, 2]);
        assert_close(y, &[1.0, 10.0, 1.0, 10.0, 1.0, 10.0, 2.0, 20.0, 2.0, 20.0, 2.0, 20.0]);
    }

    #[test]
    fn upsample1d_sums_the_gradients_of_the_copies() {
        let mut up = Upsample1D::<f64>::new(2);
        let x = array(&[1, 2, 1], &[0.0, 0.0]);
        let delta = array(&[1, 4, 1], &[1.0, 2.0, 3.0, 4.0]);
        assert_close(up.backward_delta(x.view(), delta.view()).unwrap(), &[3.0, 7.0]);
    }

    #[test]
    fn upsample1d_by_1_is_the_identity() {
        let mut up = Upsample1D::<f64>::new(1);
        let x = array(&[1, 3, 1], &[1.0, 2.0, 3.0]);
        assert_eq!(up.forward(x.view()).unwrap(), &x);
    }

    #[test]
    fn upsample1d_displays_its_scale() {
        assert_eq!(Upsample1D::<f32>::new(2).to_string(), "Upsample1D(2)");
    }

    #[test]
    fn upsample1d_reuses_its_buffers() {
        let mut up = Upsample1D::<f32>::new(2);
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 31, 8]));
        let delta = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 62, 8]));
        let out = up.forward(x.view()).unwrap().as_ptr();
        let grad = up.backward_delta(x.view(), delta.view()).unwrap().as_ptr();
        assert_eq!(up.forward(x.view()).unwrap().as_ptr(), out);
        assert_eq!(up.backward_delta(x.view(), delta.view()).unwrap().as_ptr(), grad);
    }

    #[test]
    fn upsample1d_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(14);
        let x = gradcheck::uniform(&[2, 3, 2], -2.0..2.0, &mut rng);
        let report = gradcheck::check(&mut Upsample1D::new(3), &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
    }

    #[test]
    fn upsample1d_rejects_a_matrix() {
        let err = Upsample1D::<f32>::new(2).output_shape(&[4, 31]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Upsample1D(2) expects (batch, length, channels) but receives (4, 31); add a channel axis: (4, 31, 1)"
        );
    }

    #[test]
    fn upsample1d_rejects_a_delta_of_the_wrong_shape() {
        let mut up = Upsample1D::<f64>::new(2);
        let x = array::<f64>(&[1, 2, 1], &[0.0; 2]);
        let delta = array::<f64>(&[1, 2, 1], &[0.0; 2]);
        let err = up.backward_update_gradient(x.view(), delta.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Upsample1D(2): delta has shape (1, 2, 1) but the output has shape (1, 4, 1)"
        );
    }

    #[test]
    fn upsample1d_refuses_an_output_length_that_overflows() {
        let layer = Upsample1D::<f32>::new(usize::MAX / 2);
        let err = Module::<f32>::output_shape(&layer, &[1, 3, 1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Upsample1D({0}) expects a length whose {0}-fold fits in memory but receives length 3",
                usize::MAX / 2
            )
        );
    }

    #[test]
    #[should_panic(expected = "Upsample1D(0): scale must be at least 1")]
    fn upsample1d_panics_on_a_zero_scale() {
        let _ = Upsample1D::<f32>::new(0);
    }
}
