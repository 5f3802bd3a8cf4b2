//! The `Module` trait: the five methods of the report (Lua Torch's `nn.Module`).

use std::fmt;

use ndarray::{ArrayD, ArrayViewD, Zip};

use crate::{Float, Parameter, ParameterMut, ShapeError};

/// The report's default `gradient_step` for [`Module::update_parameters`].
pub const DEFAULT_GRADIENT_STEP: f64 = 1e-3;

/// A differentiable block: a layer, an activation, or a chain of them.
///
/// Like Lua Torch's `nn.Module`, a module keeps the tensors it computes:
/// [`forward`](Module::forward) fills its `output` buffer and
/// [`backward_delta`](Module::backward_delta) its `grad_input` buffer, and both
/// hand back a reference to it. Buffers are reused while the batch size holds,
/// so steady-state training allocates nothing.
///
/// Names map to Torch's: `forward` = `updateOutput`, `backward_delta` =
/// `updateGradInput`, `backward_update_gradient` = `accGradParameters`.
///
/// Every method checks its arguments first and returns a [`ShapeError`]
/// naming the layer and both sizes; none panics on a bad shape.
///
/// # Forward, then backward on the same input
///
/// The backward methods ([`backward_update_gradient`](Module::backward_update_gradient),
/// [`backward_set_gradient`](Module::backward_set_gradient),
/// [`backward_delta`](Module::backward_delta), [`backward`](Module::backward),
/// [`backward_set`](Module::backward_set), [`sgd_check`](Module::sgd_check)
/// and [`sgd_apply`](Module::sgd_apply)) follow Lua Torch's contract:
/// "backward(input, gradOutput) assumes forward(input) has been called
/// before, with the same input". `input` must be the input of the **last**
/// [`forward`](Module::forward), the same values and not only the same
/// shape, and the parameters must not have changed in between. A module may
/// use what its forward kept instead of reading `input` again, which is what
/// makes a training step cheap: `Conv1D` its im2col matrix, `MaxPool1D` the
/// position of each window's maximum, `TanH`, `Sigmoid` and `Softmax` their
/// output, a `Sequential` the kept output of each module as the next one's
/// input. Only the shapes are checked: a backward with another input of the
/// same shape returns the gradients at the last forward's input, without an
/// error (debug builds of `Conv1D` and `MaxPool1D` assert against it). After
/// a forward of another shape, the caching modules recompute what they need
/// from `input`.
///
/// The `Display` form is the report's notation, e.g. `Linear(64, 100)` or `ReLU()`.
pub trait Module<F: Float = f32>: fmt::Display + Send {
    /// Computes the output for `input`, keeps it, and returns it.
    ///
    /// # Errors
    /// [`ShapeError::Input`] if `input` does not fit the module.
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError>;

    /// Adds to the parameter gradients the gradient of the loss, given `delta`
    /// = ∂loss/∂output for this `input`. Gradients accumulate until
    /// [`zero_grad`](Module::zero_grad). A module without parameters checks
    /// the shapes and does nothing else.
    ///
    /// `input` must be the input of the last [`forward`](Module::forward)
    /// (see [the contract](Module#forward-then-backward-on-the-same-input)):
    /// a module may use what that forward kept instead of `input`.
    ///
    /// # Errors
    /// [`ShapeError`] if `input` does not fit or `delta` is not output-shaped.
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError>;

    /// Replaces the parameter gradients by this batch's, given `delta` =
    /// ∂loss/∂output for this `input`: the same values as
    /// [`zero_grad`](Module::zero_grad) then
    /// [`backward_update_gradient`](Module::backward_update_gradient), which
    /// is what the default does. Layers with parameters override it to write
    /// the gradients directly (a product with β = 0), without reading the old
    /// ones or zeroing them first: what a training step wants, whose
    /// gradients start from zero every batch. Containers pass it on to their modules.
    ///
    /// # Errors
    /// As [`backward_update_gradient`](Module::backward_update_gradient).
    fn backward_set_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        self.zero_grad();
        self.backward_update_gradient(input, delta)
    }

    /// Computes ∂loss/∂input from `delta` = ∂loss/∂output, keeps it, and returns it.
    ///
    /// `input` must be the input of the last [`forward`](Module::forward)
    /// (see [the contract](Module#forward-then-backward-on-the-same-input)):
    /// a module may use what that forward kept instead of `input`.
    ///
    /// # Errors
    /// [`ShapeError`] if `input` does not fit or `delta` is not output-shaped.
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError>;

    /// Both backward passes in one call: accumulates the parameter gradients
    /// and returns ∂loss/∂input. Containers override it to walk their chain once.
    ///
    /// # Errors
    /// As [`backward_update_gradient`](Module::backward_update_gradient) and
    /// [`backward_delta`](Module::backward_delta).
    fn backward(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.backward_update_gradient(input.view(), delta.view())?;
        self.backward_delta(input, delta)
    }

    /// As [`backward`](Module::backward), with the parameter gradients set
    /// rather than accumulated (see
    /// [`backward_set_gradient`](Module::backward_set_gradient)): what a
    /// training step calls for every module but the first.
    ///
    /// # Errors
    /// As [`backward`](Module::backward).
    fn backward_set(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.backward_set_gradient(input.view(), delta.view())?;
        self.backward_delta(input, delta)
    }

    /// The output shape for an input of `input_shape`, without computing anything.
    ///
    /// This is how a chain is checked before it runs.
    ///
    /// # Errors
    /// [`ShapeError::Input`] if such an input does not fit the module.
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError>;

    /// The output kept by the last [`forward`](Module::forward) (empty before the first).
    fn output(&self) -> &ArrayD<F>;

    /// The gradient kept by the last [`backward_delta`](Module::backward_delta) (empty before the first).
    fn grad_input(&self) -> &ArrayD<F>;

    /// Calls `visitor` on each parameter with its gradient, in a fixed order.
    /// The default has none, as for activations.
    fn visit_parameters(&self, visitor: &mut dyn FnMut(Parameter<'_, F>)) {
        let _ = visitor;
    }

    /// Calls `visitor` on each parameter with its gradient, writable, in the
    /// same order as [`visit_parameters`](Module::visit_parameters).
    fn visit_parameters_mut(&mut self, visitor: &mut dyn FnMut(ParameterMut<'_, F>)) {
        let _ = visitor;
    }

    /// Sets every parameter gradient to zero.
    fn zero_grad(&mut self) {
        self.visit_parameters_mut(&mut |mut p| p.grad.fill(F::zero()));
    }

    /// Plain gradient descent: each parameter moves by −`gradient_step` × its gradient.
    /// The report's default step is [`DEFAULT_GRADIENT_STEP`].
    fn update_parameters(&mut self, gradient_step: F) {
        self.visit_parameters_mut(&mut |p| {
            Zip::from(p.value).and(&p.grad).for_each(|w, &g| *w -= gradient_step * g);
        });
    }

    /// The first module, in forward order, whose kept output holds a NaN or an
    /// infinity, as `"layer 3, Linear(100, 10)"`; `None` if all are finite.
    /// This is how training names the layer where a too-large learning rate
    /// first shows. Containers override it to look inside.
    fn first_non_finite_output(&self) -> Option<String> {
        if self.output().iter().all(|v| v.is_finite()) { None } else { Some(self.to_string()) }
    }

    /// Number of scalar parameters.
    fn parameter_count(&self) -> usize {
        let mut count = 0;
        self.visit_parameters(&mut |p| count += p.value.len());
        count
    }

    /// Whether [`sgd_check`](Module::sgd_check) and
    /// [`sgd_apply`](Module::sgd_apply) can take a plain gradient-descent
    /// step inside the backward pass for every parameter of this module.
    /// By default, only a module without parameters can (it has nothing to
    /// update); `Linear` can, and containers can when all their modules can.
    fn supports_fused_sgd(&self) -> bool {
        self.parameter_count() == 0
    }

    /// First half of a plain SGD step fused with the backward pass, for a
    /// module that [`supports_fused_sgd`](Module::supports_fused_sgd):
    /// computes ∂loss/∂input as [`backward_delta`](Module::backward_delta)
    /// does when `need_delta` (a container needs it from every module but
    /// its first), and returns whether it can prove, without writing any
    /// parameter and without computing the gradients, that every value
    /// w − `learning_rate`·g will be finite, g being the gradient of this
    /// batch. `Ok(false)` means "not proven" (a non-finite or huge input,
    /// delta or parameter, a batch too large to sum in one pass, or a module
    /// that does not support it): the caller then takes the unfused path,
    /// which finds and names the exact cause.
    ///
    /// The default computes the delta and returns whether the module has no
    /// parameters.
    ///
    /// # Errors
    /// As [`backward_delta`](Module::backward_delta).
    fn sgd_check(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
        need_delta: bool,
    ) -> Result<bool, ShapeError> {
        let _ = learning_rate;
        if need_delta {
            self.backward_delta(input, delta)?;
        }
        Ok(self.parameter_count() == 0)
    }

    /// Second half of a fused SGD step, after an [`sgd_check`](Module::sgd_check)
    /// that returned `true` for the same `input`, `delta` and `learning_rate`,
    /// with no other call in between: w ← w − `learning_rate`·g for every
    /// parameter, bit for bit as [`backward_set_gradient`](Module::backward_set_gradient)
    /// followed by `w -= learning_rate * g` would give, without storing g;
    /// the gradients are left at zero. The deltas `sgd_check` computed stay.
    ///
    /// The default does nothing (a module without parameters).
    ///
    /// # Errors
    /// As [`backward_update_gradient`](Module::backward_update_gradient).
    fn sgd_apply(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
    ) -> Result<(), ShapeError> {
        let _ = (input, delta, learning_rate);
        Ok(())
    }
}

impl<F: Float, M: Module<F> + ?Sized> Module<F> for Box<M> {
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        (**self).forward(input)
    }
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        (**self).backward_update_gradient(input, delta)
    }
    fn backward_set_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        (**self).backward_set_gradient(input, delta)
    }
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        (**self).backward_delta(input, delta)
    }
    fn backward(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        (**self).backward(input, delta)
    }
    fn backward_set(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        (**self).backward_set(input, delta)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        (**self).output_shape(input_shape)
    }
    fn output(&self) -> &ArrayD<F> {
        (**self).output()
    }
    fn grad_input(&self) -> &ArrayD<F> {
        (**self).grad_input()
    }
    fn visit_parameters(&self, visitor: &mut dyn FnMut(Parameter<'_, F>)) {
        (**self).visit_parameters(visitor)
    }
    fn visit_parameters_mut(&mut self, visitor: &mut dyn FnMut(ParameterMut<'_, F>)) {
        (**self).visit_parameters_mut(visitor)
    }
    fn zero_grad(&mut self) {
        (**self).zero_grad()
    }
    fn update_parameters(&mut self, gradient_step: F) {
        (**self).update_parameters(gradient_step)
    }
    fn parameter_count(&self) -> usize {
        (**self).parameter_count()
    }
    fn supports_fused_sgd(&self) -> bool {
        (**self).supports_fused_sgd()
    }
    fn sgd_check(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
        need_delta: bool,
    ) -> Result<bool, ShapeError> {
        (**self).sgd_check(input, delta, learning_rate, need_delta)
    }
    fn sgd_apply(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
    ) -> Result<(), ShapeError> {
        (**self).sgd_apply(input, delta, learning_rate)
    }
    fn first_non_finite_output(&self) -> Option<String> {
        (**self).first_non_finite_output()
    }
}
