//! Unflatten: (batch, length·channels) -> (batch, length, channels), the inverse of Flatten.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Dims, Float, Module, ShapeError, tensor};

use crate::check::input_error;
use crate::reshape::Reshape;

/// Lays each row of features out as a sequence: input (batch, length·channels)
/// -> output (batch, length, channels), values in row-major order (the first
/// `channels` features are position 0). Its gradient reshapes `delta` back.
/// No parameters.
///
/// The inverse of [`Flatten`](crate::Flatten) on a (batch, length, channels)
/// input: it lets a dense bottleneck feed a convolutional decoder.
///
/// ```
/// use ndarray::{ArrayD, IxDyn};
/// use nn_core::Module;
/// use nn_layers::Unflatten;
///
/// let mut unflatten = Unflatten::new(31, 16);
/// let x = ArrayD::<f32>::zeros(IxDyn(&[8, 496]));
/// assert_eq!(unflatten.forward(x.view())?.shape(), &[8, 31, 16]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Unflatten<F: Float = f32> {
    length: usize,
    channels: usize,
    buffers: Reshape<F>,
}

impl<F: Float> Unflatten<F> {
    /// An Unflatten layer to (batch, `length`, `channels`).
    ///
    /// # Panics
    /// If `length` or `channels` is 0 (a layer with no output).
    pub fn new(length: usize, channels: usize) -> Self {
        assert!(length > 0 && channels > 0, "Unflatten({length}, {channels}): sizes must be positive");
        Self { length, channels, buffers: Reshape::new() }
    }

    /// The output shape (batch, length, channels) for an input of `shape`, or why it does not fit.
    fn sequence_shape(&self, shape: &[usize]) -> Result<[usize; 3], ShapeError> {
        // A product past usize::MAX is a width no input has.
        let width = self.length.checked_mul(self.channels);
        match *shape {
            [batch, features] if Some(features) == width => Ok([batch, self.length, self.channels]),
            _ => {
                let width =
                    width.map_or_else(|| format!("{} × {}", self.length, self.channels), |w| w.to_string());
                Err(input_error(self, format!("(batch, {width})"), Dims(shape).to_string()))
            }
        }
    }
}

impl<F: Float> Module<F> for Unflatten<F> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` is not (batch, length·channels).
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let shape = self.sequence_shape(input.shape())?;
        Ok(self.buffers.forward(&input, &shape))
    }

    /// No parameters: checks the shapes only.
    ///
    /// # Errors
    /// [`ShapeError::Input`] if `input` is not (batch, length·channels),
    /// [`ShapeError::Delta`] if `delta` is not (batch, length, channels).
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        let shape = self.sequence_shape(input.shape())?;
        tensor::check_delta(self, &shape, &delta)
    }

    /// `delta` (batch, length, channels) reshaped to (batch, length·channels).
    ///
    /// # Errors
    /// [`ShapeError::Input`] if `input` is not (batch, length·channels),
    /// [`ShapeError::Delta`] if `delta` is not (batch, length, channels).
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        let shape = self.sequence_shape(input.shape())?;
        tensor::check_delta(self, &shape, &delta)?;
        Ok(self.buffers.backward(input.shape(), &delta))
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        Ok(self.sequence_shape(input_shape)?.to_vec())
    }

    fn output(&self) -> &ArrayD<F> {
        &self.buffers.output
    }

    fn grad_input(&self) -> &ArrayD<F> {
        &self.buffers.grad_input
    }
}

impl<F: Float> fmt::Display for Unflatten<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unflatten({}, {})", self.length, self.channels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flatten;
    use crate::testing::{array, assert_close};
    use nn_core::gradcheck;

    #[test]
    fn unflatten_lays_features_out_position_by_position() {
        let mut unflatten = Unflatten::<f64>::new(2, 3);
        let x = array(&[2, 6], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
        let y = unflatten.forward(x.view()).unwrap();
        assert_eq!(y.shape(), &[2, 2, 3]);
        assert_eq!(y[[0, 1, 0]], 4.0);
        assert_eq!(y[[1, 0, 2]], 9.0);
        let delta = y.clone();
        let g = unflatten.backward_delta(x.view(), delta.view()).unwrap();
        assert_eq!(g, &x);
    }

    #[test]
    fn unflatten_undoes_flatten() {
        let mut rng = gradcheck::seeded(3);
        let x = gradcheck::uniform(&[4, 5, 3], -1.0..1.0, &mut rng);
        let mut flatten = Flatten::<f64>::new();
        let flat = flatten.forward(x.view()).unwrap().clone();
        let mut unflatten = Unflatten::<f64>::new(5, 3);
        assert_eq!(unflatten.forward(flat.view()).unwrap(), &x);
    }

    #[test]
    fn unflatten_reads_a_non_contiguous_input_in_logical_order() {
        let mut unflatten = Unflatten::<f64>::new(2, 2);
        let x = array(&[4, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let y = unflatten.forward(x.t().into_dyn()).unwrap();
        assert_close(y, &[1.0, 3.0, 5.0, 7.0, 2.0, 4.0, 6.0, 8.0]);
    }

    #[test]
    fn unflatten_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(11);
        let x = gradcheck::uniform(&[3, 12], -2.0..2.0, &mut rng);
        let report = gradcheck::check(&mut Unflatten::new(4, 3), &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
    }

    #[test]
    fn unflatten_rejects_a_width_that_is_not_length_times_channels() {
        let err = Unflatten::<f32>::new(31, 16).output_shape(&[8, 992]).unwrap_err();
        assert_eq!(err.to_string(), "Unflatten(31, 16) expects (batch, 496) but receives (8, 992)");
        let err = Unflatten::<f32>::new(2, 2).output_shape(&[8, 2, 2]).unwrap_err();
        assert_eq!(err.to_string(), "Unflatten(2, 2) expects (batch, 4) but receives (8, 2, 2)");
    }

    #[test]
    fn unflatten_rejects_a_delta_of_the_wrong_shape() {
        let mut unflatten = Unflatten::<f64>::new(2, 2);
        let x = array::<f64>(&[1, 4], &[0.0; 4]);
        let delta = array::<f64>(&[1, 4], &[0.0; 4]);
        let err = unflatten.backward_delta(x.view(), delta.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unflatten(2, 2): delta has shape (1, 4) but the output has shape (1, 2, 2)"
        );
    }

    #[test]
    fn unflatten_to_more_values_than_usize_counts_is_an_error_not_a_panic() {
        let huge = Unflatten::<f32>::new(usize::MAX, 2);
        let err = huge.output_shape(&[1, 4]).unwrap_err();
        assert!(err.to_string().contains("(batch, 18446744073709551615 × 2)"), "{err}");
    }

    #[test]
    #[should_panic(expected = "sizes must be positive")]
    fn unflatten_to_nothing_is_refused() {
        let _ = Unflatten::<f32>::new(0, 4);
    }
}
