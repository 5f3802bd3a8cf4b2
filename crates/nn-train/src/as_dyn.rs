//! A borrowed module seen as `dyn Module`, so a generic `N: ?Sized` can be
//! handed to an [`Optimizer`](crate::Optimizer), whose `step` takes `&mut dyn Module<F>`.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Float, Module, Parameter, ParameterMut, ShapeError};

/// Forwards every method to the borrowed module.
pub(crate) struct AsDyn<'a, N: ?Sized>(pub(crate) &'a mut N);

impl<N: fmt::Display + ?Sized> fmt::Display for AsDyn<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<F: Float, N: Module<F> + ?Sized> Module<F> for AsDyn<'_, N> {
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        self.0.forward(input)
    }
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        self.0.backward_update_gradient(input, delta)
    }
    fn backward_set_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        self.0.backward_set_gradient(input, delta)
    }
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.0.backward_delta(input, delta)
    }
    fn backward(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.0.backward(input, delta)
    }
    fn backward_set(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.0.backward_set(input, delta)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        self.0.output_shape(input_shape)
    }
    fn output(&self) -> &ArrayD<F> {
        self.0.output()
    }
    fn grad_input(&self) -> &ArrayD<F> {
        self.0.grad_input()
    }
    fn visit_parameters(&self, visitor: &mut dyn FnMut(Parameter<'_, F>)) {
        self.0.visit_parameters(visitor)
    }
    fn visit_parameters_mut(&mut self, visitor: &mut dyn FnMut(ParameterMut<'_, F>)) {
        self.0.visit_parameters_mut(visitor)
    }
    fn zero_grad(&mut self) {
        self.0.zero_grad()
    }
    fn update_parameters(&mut self, gradient_step: F) {
        self.0.update_parameters(gradient_step)
    }
    fn first_non_finite_output(&self) -> Option<String> {
        self.0.first_non_finite_output()
    }
    fn parameter_count(&self) -> usize {
        self.0.parameter_count()
    }
    fn supports_fused_sgd(&self) -> bool {
        self.0.supports_fused_sgd()
    }
    fn sgd_check(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
        need_delta: bool,
    ) -> Result<bool, ShapeError> {
        self.0.sgd_check(input, delta, learning_rate, need_delta)
    }
    fn sgd_apply(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
    ) -> Result<(), ShapeError> {
        self.0.sgd_apply(input, delta, learning_rate)
    }
}
