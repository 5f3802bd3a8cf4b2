//! Element-wise activations whose derivative is a function of their output:
//! TanH (1 − y²) and Sigmoid (y·(1 − y)) are one module with two rules.

use std::fmt;
use std::marker::PhantomData;

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Float, Module, ShapeError, tensor};

use crate::check;
use crate::slices::{contiguous, contiguous_mut};

/// What distinguishes one output-derived activation from another.
pub trait OutputRule: fmt::Debug + Clone + Default + Send + Sync + 'static {
    /// The layer in the report's notation, e.g. `TanH()`.
    const NOTATION: &'static str;

    /// y = f(x), element by element; both slices have the same length.
    fn apply<F: Float>(input: &[F], output: &mut [F]);

    /// ∂y/∂x, written with the output y.
    fn derivative<F: Float>(y: F) -> F;
}

/// An element-wise activation of rule `R`: input of any shape with at least
/// one axis -> output of the same shape. No parameters.
///
/// The backward pass uses the output kept by the last forward: as Lua Torch
/// (see [`Module`]), `input` must be the input of the last forward, the same
/// values, not only the same shape; another input of that shape gets the
/// derivative at the last forward's input, without an error. After a forward
/// of another shape the output is recomputed from `input`. Use it through its names,
/// [`TanH`](crate::TanH) and [`Sigmoid`](crate::Sigmoid).
#[derive(Debug, Clone)]
pub struct OutputActivation<F: Float, R: OutputRule> {
    output: ArrayD<F>,
    grad_input: ArrayD<F>,
    rule: PhantomData<R>,
}

impl<F: Float, R: OutputRule> OutputActivation<F, R> {
    /// The activation.
    pub fn new() -> Self {
        Self { output: tensor::empty(), grad_input: tensor::empty(), rule: PhantomData }
    }
}

impl<F: Float, R: OutputRule> Default for OutputActivation<F, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float, R: OutputRule> Module<F> for OutputActivation<F, R> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` is a scalar (no axis).
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        check::not_scalar(self, input.shape())?;
        tensor::ensure_shape(&mut self.output, input.shape());
        // A copy only if the input is not in standard layout (never in a chain).
        let input = input.as_standard_layout();
        R::apply(contiguous(&input), contiguous_mut(&mut self.output));
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

    /// grad_input = delta ⊙ f′, with f′ written with the kept output y.
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
            *g = d * R::derivative(y);
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

impl<F: Float, R: OutputRule> fmt::Display for OutputActivation<F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(R::NOTATION)
    }
}
