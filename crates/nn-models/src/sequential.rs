//! A chain of modules applied one after the other (Lua Torch's `nn.Sequential`).

use std::fmt;

use ndarray::{ArrayD, ArrayViewD};
use nn_core::{Float, Module, Parameter, ParameterMut, Segment, ShapeError, tensor};

use crate::Summary;

/// Modules applied in order: input → module 0 → module 1 → … → output.
///
/// Shapes: the input of the first module → the output of the last. Each
/// module keeps its own output, so the chain keeps every intermediate tensor
/// for the backward pass without copying any.
///
/// The backward methods therefore follow Lua Torch's contract (see
/// [`Module`](nn_core::Module)): `input` must be the input of the last
/// `forward`, the same values, not only the same shape. Module i > 0 gets
/// the output module i − 1 kept as its input, whatever `input` is now.
///
/// Prints itself in the report's notation:
///
/// ```
/// use nn_layers::{Linear, ReLU};
/// use nn_models::Sequential;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let net: Sequential = Sequential::new()
///     .add(Linear::new(64, 100, &mut rng))
///     .add(ReLU::new())
///     .add(Linear::new(100, 10, &mut rng));
/// assert_eq!(net.to_string(), "Linear(64, 100) -> ReLU() -> Linear(100, 10)");
/// assert_eq!(net.check(&[32, 64]).unwrap().last().unwrap(), &vec![32, 10]);
/// ```
pub struct Sequential<F: Float = f32> {
    modules: Vec<Box<dyn Module<F>>>,
    /// An empty chain is the identity; these hold its output and gradient.
    identity_output: ArrayD<F>,
    identity_grad: ArrayD<F>,
}

impl<F: Float> Default for Sequential<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float> Sequential<F> {
    /// An empty chain (the identity until modules are added).
    pub fn new() -> Self {
        Self { modules: Vec::new(), identity_output: tensor::empty(), identity_grad: tensor::empty() }
    }

    /// A chain of the given modules, in order.
    pub fn from_modules(modules: Vec<Box<dyn Module<F>>>) -> Self {
        Self { modules, ..Self::new() }
    }

    /// Appends `module` and returns the chain, for building in one expression.
    #[must_use]
    // Named after Torch's `Sequential:add`; it builds a chain, it is not `+`.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, module: impl Module<F> + 'static) -> Self {
        self.modules.push(Box::new(module));
        self
    }

    /// Appends an already boxed module.
    pub fn push(&mut self, module: Box<dyn Module<F>>) {
        self.modules.push(module);
    }

    /// Number of modules.
    pub fn len(&self) -> usize {
        self.modules.len()
    }

    /// Whether the chain has no module.
    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }

    /// The modules, in order.
    pub fn modules(&self) -> &[Box<dyn Module<F>>] {
        &self.modules
    }

    /// The modules, in order, writable.
    pub fn modules_mut(&mut self) -> &mut [Box<dyn Module<F>>] {
        &mut self.modules
    }

    /// Checks the whole chain for an input of `input_shape` (batch first)
    /// without computing anything, and returns each module's output shape.
    ///
    /// # Errors
    /// [`ShapeError::InChain`] naming the first module that does not fit: its
    /// position (from 0), its notation, the size it expects and the size it
    /// receives, and where that size came from when a `Flatten` made it.
    pub fn check(&self, input_shape: &[usize]) -> Result<Vec<Vec<usize>>, ShapeError> {
        let mut shapes: Vec<Vec<usize>> = Vec::with_capacity(self.modules.len());
        for (index, module) in self.modules.iter().enumerate() {
            let input = shapes.last().map_or(input_shape, Vec::as_slice);
            match module.output_shape(input) {
                Ok(shape) => shapes.push(shape),
                Err(source) => {
                    let before = match index {
                        0 | 1 => input_shape,
                        _ => &shapes[index - 2],
                    };
                    return Err(self.chain_error(index, source, before));
                }
            }
        }
        Ok(shapes)
    }

    /// The layer table: each module with its output shape and parameter count.
    ///
    /// # Errors
    /// As [`check`](Sequential::check).
    pub fn summary(&self, input_shape: &[usize]) -> Result<Summary, ShapeError> {
        let shapes = self.check(input_shape)?;
        let mut summary = Summary::new(input_shape);
        for (index, (module, shape)) in self.modules.iter().zip(shapes).enumerate() {
            summary.push(index.to_string(), module.to_string(), shape, module.parameter_count());
        }
        Ok(summary)
    }

    /// Wraps a module's error with its position, and says where the size came
    /// from when the module before reshaped its input (e.g. a `Flatten`).
    /// `before` is the shape that entered module `index − 1`.
    fn chain_error(&self, index: usize, source: ShapeError, before: &[usize]) -> ShapeError {
        let context = match index.checked_sub(1).map(|i| &self.modules[i]) {
            Some(previous) if before.len() > 2 => {
                let dims: Vec<String> = before[1..].iter().map(usize::to_string).collect();
                format!(" ({} from {previous} at layer {})", dims.join(" × "), index - 1)
            }
            _ => String::new(),
        };
        ShapeError::InChain { index, chain: "Sequential".into(), source: Box::new(source), context }
    }

    /// The shape that entered module `index − 1`, for error context.
    fn shape_before(&self, index: usize, input: &ArrayViewD<'_, F>) -> Vec<usize> {
        match index {
            0 | 1 => input.shape().to_vec(),
            _ => self.modules[index - 2].output().shape().to_vec(),
        }
    }
}

impl<F: Float> Module<F> for Sequential<F> {
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        if self.modules.is_empty() {
            tensor::ensure_shape(&mut self.identity_output, input.shape());
            self.identity_output.assign(&input);
            return Ok(&self.identity_output);
        }
        for index in 0..self.modules.len() {
            let (before, rest) = self.modules.split_at_mut(index);
            let x = match before.last() {
                None => input.view(),
                Some(previous) => previous.output().view(),
            };
            if let Err(source) = rest[0].forward(x) {
                let shape_before = self.shape_before(index, &input);
                return Err(self.chain_error(index, source, &shape_before));
            }
        }
        Ok(self.output())
    }

    /// Walks the chain backwards, accumulating every module's parameter
    /// gradients; each module but the first also computes its delta, which
    /// the module before it needs. The first module's ∂loss/∂input is not
    /// computed (nobody needs it when training, as PyTorch skips inputs that
    /// do not require grad), so [`grad_input`](Module::grad_input) is left as
    /// it was: call [`backward`](Module::backward) for it.
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        self.backward_chain(input, delta, Pass::Parameters).map(|_| ())
    }

    /// As [`backward_update_gradient`](Module::backward_update_gradient), with
    /// every module's gradients set rather than accumulated.
    fn backward_set_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        self.backward_chain(input, delta, Pass::SetParameters).map(|_| ())
    }

    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.backward_chain(input, delta, Pass::Delta)?;
        Ok(self.grad_input())
    }

    fn backward(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.backward_chain(input, delta, Pass::Both)?;
        Ok(self.grad_input())
    }

    /// Every module's parameter gradients set rather than accumulated, and
    /// ∂loss/∂input: an [`AutoEncoder`](crate::AutoEncoder)'s decoder needs
    /// both in one walk.
    fn backward_set(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.backward_chain(input, delta, Pass::SetBoth)?;
        Ok(self.grad_input())
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        Ok(self.check(input_shape)?.pop().unwrap_or_else(|| input_shape.to_vec()))
    }

    fn output(&self) -> &ArrayD<F> {
        self.modules.last().map_or(&self.identity_output, |m| m.output())
    }

    fn grad_input(&self) -> &ArrayD<F> {
        self.modules.first().map_or(&self.identity_grad, |m| m.grad_input())
    }

    fn visit_parameters(&self, visitor: &mut dyn FnMut(Parameter<'_, F>)) {
        for (index, module) in self.modules.iter().enumerate() {
            module.visit_parameters(&mut |p| {
                visitor(Parameter { name: p.name.within(Segment::Index(index)), ..p });
            });
        }
    }

    fn visit_parameters_mut(&mut self, visitor: &mut dyn FnMut(ParameterMut<'_, F>)) {
        for (index, module) in self.modules.iter_mut().enumerate() {
            module.visit_parameters_mut(&mut |p| {
                visitor(ParameterMut { name: p.name.within(Segment::Index(index)), ..p });
            });
        }
    }

    fn zero_grad(&mut self) {
        self.modules.iter_mut().for_each(|m| m.zero_grad());
    }

    fn update_parameters(&mut self, gradient_step: F) {
        self.modules.iter_mut().for_each(|m| m.update_parameters(gradient_step));
    }

    fn supports_fused_sgd(&self) -> bool {
        self.modules.iter().all(|m| m.supports_fused_sgd())
    }

    /// Walks the chain backwards as [`backward_set_gradient`](Module::backward_set_gradient)
    /// does, each module checking its step and computing the delta the module
    /// before it needs (the first module's too with `need_delta`); stops at
    /// the first module that cannot prove its step finite.
    fn sgd_check(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
        need_delta: bool,
    ) -> Result<bool, ShapeError> {
        self.walk_back(input, delta, |index, current, x, d| {
            current.sgd_check(x, d, learning_rate, index > 0 || need_delta)
        })
    }

    /// Every module's step, with the inputs of the forward pass and the
    /// deltas of the check.
    fn sgd_apply(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
    ) -> Result<(), ShapeError> {
        self.walk_back(input, delta, |_, current, x, d| current.sgd_apply(x, d, learning_rate).map(|()| true))
            .map(|_| ())
    }

    fn first_non_finite_output(&self) -> Option<String> {
        self.modules
            .iter()
            .enumerate()
            .find_map(|(index, m)| m.first_non_finite_output().map(|inner| format!("layer {index}, {inner}")))
    }
}

/// What a backward walk through a chain computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Parameter gradients, and the deltas the modules before need (not the first module's).
    Parameters,
    /// Deltas only, down to ∂loss/∂input.
    Delta,
    /// Both, down to ∂loss/∂input.
    Both,
    /// As `Parameters`, with the gradients set rather than accumulated.
    SetParameters,
    /// As `Both`, with the gradients set rather than accumulated.
    SetBoth,
}

impl<F: Float> Sequential<F> {
    /// The backward pass from the last module to the first, as `pass` says.
    fn backward_chain(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        pass: Pass,
    ) -> Result<(), ShapeError> {
        self.walk_back(input, delta, |index, current, x, d| {
            match pass {
                Pass::Parameters if index == 0 => current.backward_update_gradient(x, d),
                Pass::Parameters | Pass::Both => current.backward(x, d).map(|_| ()),
                Pass::Delta => current.backward_delta(x, d).map(|_| ()),
                Pass::SetParameters if index == 0 => current.backward_set_gradient(x, d),
                Pass::SetParameters | Pass::SetBoth => current.backward_set(x, d).map(|_| ()),
            }
            .map(|()| true)
        })
        .map(|_| ())
    }

    /// Calls `visit` on each module from the last to the first with its
    /// index, its input (the previous module's output, or `input`) and its
    /// delta (the next module's `grad_input`, or `delta`), until `visit`
    /// returns false; returns whether every call returned true. An empty
    /// chain passes `delta` on as its `grad_input`. Errors name the module.
    fn walk_back(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        mut visit: impl FnMut(
            usize,
            &mut dyn Module<F>,
            ArrayViewD<'_, F>,
            ArrayViewD<'_, F>,
        ) -> Result<bool, ShapeError>,
    ) -> Result<bool, ShapeError> {
        let Some(last) = self.modules.len().checked_sub(1) else {
            tensor::check_delta(self, input.shape(), &delta)?;
            tensor::ensure_shape(&mut self.identity_grad, delta.shape());
            self.identity_grad.assign(&delta);
            return Ok(true);
        };
        for index in (0..=last).rev() {
            let (before, rest) = self.modules.split_at_mut(index);
            let (current, after) = rest.split_first_mut().expect("index is within the chain");
            let x = match before.last() {
                None => input.view(),
                Some(previous) => previous.output().view(),
            };
            let d = match after.first() {
                None => delta.view(),
                Some(next) => next.grad_input().view(),
            };
            match visit(index, &mut **current, x, d) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(source) => {
                    let shape_before = self.shape_before(index, &input);
                    return Err(self.chain_error(index, source, &shape_before));
                }
            }
        }
        Ok(true)
    }
}

impl<F: Float> fmt::Display for Sequential<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modules.is_empty() {
            return f.write_str("Sequential()");
        }
        for (index, module) in self.modules.iter().enumerate() {
            if index > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "{module}")?;
        }
        Ok(())
    }
}

impl<F: Float> fmt::Debug for Sequential<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sequential({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn_core::gradcheck;
    use nn_layers::{Linear, ReLU};

    fn net() -> Sequential<f64> {
        let mut rng = gradcheck::seeded(3);
        Sequential::new().add(Linear::new(4, 5, &mut rng)).add(ReLU::new()).add(Linear::new(5, 2, &mut rng))
    }

    fn gradients(net: &Sequential<f64>) -> Vec<ArrayD<f64>> {
        let mut grads = Vec::new();
        net.visit_parameters(&mut |p| grads.push(p.grad.to_owned()));
        grads
    }

    #[test]
    fn backward_update_gradient_skips_only_the_first_delta() {
        let mut rng = gradcheck::seeded(4);
        let x = gradcheck::uniform(&[3, 4], -1.0..1.0, &mut rng);
        let delta = gradcheck::uniform(&[3, 2], -1.0..1.0, &mut rng);
        let (mut full, mut parameters_only) = (net(), net());
        full.forward(x.view()).unwrap();
        full.backward(x.view(), delta.view()).unwrap();
        parameters_only.forward(x.view()).unwrap();
        parameters_only.backward_update_gradient(x.view(), delta.view()).unwrap();
        assert_eq!(gradients(&parameters_only), gradients(&full));
        // The first module's ∂loss/∂input was never computed: its buffer is still empty.
        assert_eq!(parameters_only.grad_input().len(), 0);
        assert_eq!(full.grad_input().shape(), &[3, 4]);
    }
}
