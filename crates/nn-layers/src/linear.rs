//! Fully connected layer: y = x·Wᵀ + b.

use std::fmt;

use ndarray::{Array1, Array2, ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Ix1, Ix2, Zip};
use nn_core::linalg::{self, matmul_into};
use nn_core::{Dims, Float, Init, Module, ParamName, Parameter, ParameterMut, ShapeError, init, tensor};
use rand::Rng;

use crate::bias::add_column_sums;
use crate::check::{self, input_error};

/// A fully connected layer: input (batch, in_features) -> output (batch, out_features),
/// y = x·Wᵀ + b.
///
/// Parameters in PyTorch's layout: `weight` (out_features, in_features),
/// `bias` (out_features), visited in that order.
///
/// ```
/// use ndarray::{arr1, arr2};
/// use nn_core::Module;
/// use nn_layers::Linear;
///
/// let mut layer = Linear::from_parameters(arr2(&[[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]]), arr1(&[0.5, 0.0, -1.0]));
/// assert_eq!(layer.to_string(), "Linear(2, 3)");
/// let x = arr2(&[[1.0_f32, 1.0]]).into_dyn();
/// let y = layer.forward(x.view())?;
/// assert_eq!(y, &arr2(&[[3.5, -1.0, 2.5]]).into_dyn());
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Linear<F: Float = f32> {
    weight: Array2<F>,
    bias: Array1<F>,
    // Accumulate until zero_grad.
    grad_weight: Array2<F>,
    grad_bias: Array1<F>,
    // Reused while the batch size holds.
    output: ArrayD<F>,
    grad_input: ArrayD<F>,
    // For the fused SGD step (`sgd_check`, `sgd_apply`): an upper bound of
    // |w| over the weight, raised by each fused step by as much as it may
    // have moved a value, so that the next one can prove its update finite
    // without reading the weight; `None` after any other write to it.
    weight_bound: Option<F>,
    // The bound `sgd_check` proved for the weight after the step it checked.
    checked_bound: Option<F>,
    // Whether both gradients are known to be zero, so that a fused step,
    // which leaves them at zero, need not write them.
    gradients_zero: bool,
}

impl<F: Float> Linear<F> {
    /// A layer with weight and bias drawn from U(−k, k), k = 1/√in_features
    /// ([`Init::TorchDefault`], the Torch7 and PyTorch default).
    ///
    /// # Panics
    /// If `in_features` or `out_features` is 0: a bug in the caller, not bad
    /// data; or if the weight's out_features × in_features values do not fit
    /// in the address space (e.g. `Linear::new(1 << 40, 1 << 40, …)`), with a
    /// message naming the layer and both sizes. A weight that fits the address
    /// space but not the memory aborts on allocation, as any `Vec` does.
    pub fn new<R: Rng + ?Sized>(in_features: usize, out_features: usize, rng: &mut R) -> Self {
        Self::with_init(in_features, out_features, Init::TorchDefault, rng)
    }

    /// A layer initialised by `init`, with fan_in = `in_features` and fan_out = `out_features`.
    /// The weight is drawn first, then the bias.
    ///
    /// # Panics
    /// If `in_features` or `out_features` is 0, or if the weight's
    /// out_features × in_features values do not fit in the address space
    /// (see [`new`](Linear::new)).
    pub fn with_init<R: Rng + ?Sized>(
        in_features: usize,
        out_features: usize,
        init: Init,
        rng: &mut R,
    ) -> Self {
        assert!(
            in_features > 0 && out_features > 0,
            "Linear({in_features}, {out_features}): in_features and out_features must be at least 1"
        );
        check::assert_allocatable::<F>(
            &format_args!("Linear({in_features}, {out_features})"),
            "the weight",
            &[out_features, in_features],
        );
        let weight =
            init::uniform(&[out_features, in_features], init.weight_bound(in_features, out_features), rng)
                .into_dimensionality::<Ix2>()
                .expect("uniform returns the requested rank");
        let bias = init::uniform(&[out_features], init.bias_bound(in_features), rng)
            .into_dimensionality::<Ix1>()
            .expect("uniform returns the requested rank");
        Self::from_parameters(weight, bias)
    }

    /// A layer with the given `weight` (out_features, in_features) and `bias` (out_features).
    ///
    /// # Panics
    /// If a size is 0 or `bias` does not have out_features elements.
    pub fn from_parameters(weight: Array2<F>, bias: Array1<F>) -> Self {
        let (out_features, in_features) = weight.dim();
        assert!(
            in_features > 0 && out_features > 0,
            "Linear: weight has shape {} but both sizes must be at least 1",
            Dims(weight.shape())
        );
        assert_eq!(
            bias.len(),
            out_features,
            "Linear({in_features}, {out_features}): bias has {} elements, weight has {out_features} rows",
            bias.len()
        );
        Self {
            grad_weight: tensor::aligned_zeros(weight.raw_dim()),
            grad_bias: Array1::zeros(bias.raw_dim()),
            weight: tensor::aligned(weight),
            bias: tensor::aligned(bias),
            output: tensor::empty(),
            grad_input: tensor::empty(),
            weight_bound: None,
            checked_bound: None,
            gradients_zero: true,
        }
    }

    /// Number of input features.
    pub fn in_features(&self) -> usize {
        self.weight.ncols()
    }

    /// Number of output features.
    pub fn out_features(&self) -> usize {
        self.weight.nrows()
    }

    /// The weight, (out_features, in_features).
    pub fn weight(&self) -> &Array2<F> {
        &self.weight
    }

    /// The bias, (out_features,).
    pub fn bias(&self) -> &Array1<F> {
        &self.bias
    }

    /// The batch size of an input of `shape`, or why it does not fit.
    fn check_input(&self, shape: &[usize]) -> Result<usize, ShapeError> {
        let in_features = self.in_features();
        match *shape {
            [batch, width] if width == in_features => Ok(batch),
            [_, width] => Err(input_error(self, format!("{in_features} features"), width.to_string())),
            _ => {
                let hint = match *shape {
                    [width] if width == in_features => format!("; add a batch axis: {}", Dims(&[1, width])),
                    [batch, _, _, ..] => {
                        let flat = [batch, shape[1..].iter().product()];
                        format!("; put a Flatten() before it, which gives {}", Dims(&flat))
                    }
                    _ => String::new(),
                };
                Err(input_error(self, format!("(batch, {in_features})"), format!("{}{hint}", Dims(shape))))
            }
        }
    }
}

impl<F: Float> Linear<F> {
    /// `input` (batch, in_features) and `delta` (batch, out_features) as
    /// matrices, or what is wrong with them.
    fn backward_operands<'x, 'd>(
        &self,
        input: ArrayViewD<'x, F>,
        delta: ArrayViewD<'d, F>,
    ) -> Result<(ArrayView2<'x, F>, ArrayView2<'d, F>), ShapeError> {
        let batch = self.check_input(input.shape())?;
        tensor::check_delta(self, &[batch, self.out_features()], &delta)?;
        let x = input.into_dimensionality::<Ix2>().expect("checked: rank 2");
        let d = delta.into_dimensionality::<Ix2>().expect("checked: rank 2");
        Ok((x, d))
    }

    /// The parameter gradients, checked operands first (see `parameter_gradients`).
    fn set_or_add_parameter_gradients(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        accumulate: bool,
    ) -> Result<(), ShapeError> {
        let (x, d) = self.backward_operands(input, delta)?;
        self.gradients_zero = false;
        parameter_gradients(&mut self.grad_weight, &mut self.grad_bias, x, d, accumulate);
        Ok(())
    }

    /// Both backward passes: the parameter gradients and grad_input, whose
    /// products are independent and run side by side on two threads of a
    /// pool when they are large enough (`linalg::pair`).
    fn both_gradients(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        accumulate: bool,
    ) -> Result<&ArrayD<F>, ShapeError> {
        let (x, d) = self.backward_operands(input, delta)?;
        let work = x.len() * self.out_features();
        tensor::ensure_shape(&mut self.grad_input, x.shape());
        self.gradients_zero = false;
        let Self { weight, grad_weight, grad_bias, grad_input, .. } = self;
        let g = grad_input.view_mut().into_dimensionality::<Ix2>().expect("grad_input is 2-D");
        linalg::pair(
            work,
            || parameter_gradients(grad_weight, grad_bias, x, d, accumulate),
            || input_gradient(g, weight, d),
        );
        Ok(&self.grad_input)
    }
}

/// grad_weight (+)= deltaᵀ·x and grad_bias (+)= the column sums of delta:
/// added to the gradients with `accumulate`, else written over them without
/// reading them (a product with β = 0).
fn parameter_gradients<F: Float>(
    grad_weight: &mut Array2<F>,
    grad_bias: &mut Array1<F>,
    x: ArrayView2<'_, F>,
    d: ArrayView2<'_, F>,
    accumulate: bool,
) {
    let beta = if accumulate { F::one() } else { F::zero() };
    matmul_into(F::one(), &d.t(), &x, beta, &mut grad_weight.view_mut());
    if !accumulate {
        grad_bias.fill(F::zero());
    }
    add_column_sums(grad_bias, d);
}

/// An upper bound of every |w − lr·g| after a gradient-descent step whose
/// gradient sums `batch` products of values of magnitude at most
/// `max_delta` and `max_input`, from values of magnitude at most `max_value`;
/// `None` unless it and the gradient's own bound are at most half the type's
/// largest value, which then proves g and every updated value finite.
/// Computed in f64, where these products cannot overflow; each margin of
/// 1/1000 covers the rounding of the sum (at most 256 terms: under 2·10⁻⁵
/// relative), of lr·g and of the subtraction.
fn step_bound<F: Float>(
    max_value: f64,
    learning_rate: F,
    batch: usize,
    max_delta: F,
    max_input: F,
) -> Option<f64> {
    let limit = F::max_value().as_f64() / 2.0;
    let gradient = batch as f64 * max_delta.as_f64() * max_input.as_f64() * (1.0 + 1e-3);
    let bound = (max_value + learning_rate.as_f64().abs() * gradient) * (1.0 + 1e-3);
    (gradient <= limit && bound <= limit).then_some(bound)
}

/// A view's values as one slice, if it is contiguous in memory with
/// non-negative strides (the layouts whose products `sums_in_one_pass`
/// speaks for).
fn plain_slice<'v, F: Float>(view: &ArrayView2<'v, F>) -> Option<&'v [F]> {
    if view.strides().iter().all(|&s| s >= 0) { view.to_slice_memory_order() } else { None }
}

/// grad_input ← delta·W.
fn input_gradient<F: Float>(mut grad_input: ArrayViewMut2<'_, F>, weight: &Array2<F>, d: ArrayView2<'_, F>) {
    matmul_into(F::one(), &d, &weight.view(), F::zero(), &mut grad_input);
}

impl<F: Float> Module<F> for Linear<F> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` is not (batch, in_features).
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let batch = self.check_input(input.shape())?;
        let x = input.into_dimensionality::<Ix2>().expect("checked: rank 2");
        let shape = [batch, self.out_features()];
        tensor::ensure_shape(&mut self.output, &shape);
        let mut y =
            self.output.view_mut().into_dimensionality::<Ix2>().expect("output is (batch, out_features)");
        linalg::matmul_bias_into(&x, &self.weight.t(), &self.bias.view(), &mut y);
        Ok(&self.output)
    }

    /// grad_weight += deltaᵀ·x, grad_bias += the column sums of delta.
    ///
    /// # Errors
    /// [`ShapeError::Input`] if `input` is not (batch, in_features),
    /// [`ShapeError::Delta`] if `delta` is not (batch, out_features).
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        self.set_or_add_parameter_gradients(input, delta, true)
    }

    /// grad_weight = deltaᵀ·x, grad_bias = the column sums of delta: the old
    /// gradients are neither read nor zeroed first.
    ///
    /// # Errors
    /// As [`backward_update_gradient`](Module::backward_update_gradient).
    fn backward_set_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        self.set_or_add_parameter_gradients(input, delta, false)
    }

    /// grad_input = delta·W, (batch, in_features).
    ///
    /// # Errors
    /// [`ShapeError::Input`] if `input` is not (batch, in_features),
    /// [`ShapeError::Delta`] if `delta` is not (batch, out_features).
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        let (x, d) = self.backward_operands(input, delta)?;
        tensor::ensure_shape(&mut self.grad_input, x.shape());
        let g = self.grad_input.view_mut().into_dimensionality::<Ix2>().expect("grad_input is 2-D");
        input_gradient(g, &self.weight, d);
        Ok(&self.grad_input)
    }

    /// Both passes: grad_weight += deltaᵀ·x, grad_bias += the column sums of
    /// delta, and grad_input = delta·W, the two products side by side on a
    /// pool of two threads or more when they are large enough.
    ///
    /// # Errors
    /// As [`backward_update_gradient`](Module::backward_update_gradient).
    fn backward(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.both_gradients(input, delta, true)
    }

    /// As [`backward`](Module::backward), with the parameter gradients set
    /// rather than added to.
    ///
    /// # Errors
    /// As [`backward_update_gradient`](Module::backward_update_gradient).
    fn backward_set(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.both_gradients(input, delta, false)
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        Ok(vec![self.check_input(input_shape)?, self.out_features()])
    }

    fn output(&self) -> &ArrayD<F> {
        &self.output
    }

    fn grad_input(&self) -> &ArrayD<F> {
        &self.grad_input
    }

    fn visit_parameters(&self, visitor: &mut dyn FnMut(Parameter<'_, F>)) {
        visitor(Parameter {
            name: ParamName::leaf("weight"),
            value: self.weight.view().into_dyn(),
            grad: self.grad_weight.view().into_dyn(),
        });
        visitor(Parameter {
            name: ParamName::leaf("bias"),
            value: self.bias.view().into_dyn(),
            grad: self.grad_bias.view().into_dyn(),
        });
    }

    fn visit_parameters_mut(&mut self, visitor: &mut dyn FnMut(ParameterMut<'_, F>)) {
        // The visitor may write anything: forget what was known.
        self.weight_bound = None;
        self.checked_bound = None;
        self.gradients_zero = false;
        visitor(ParameterMut {
            name: ParamName::leaf("weight"),
            value: self.weight.view_mut().into_dyn(),
            grad: self.grad_weight.view_mut().into_dyn(),
        });
        visitor(ParameterMut {
            name: ParamName::leaf("bias"),
            value: self.bias.view_mut().into_dyn(),
            grad: self.grad_bias.view_mut().into_dyn(),
        });
    }

    fn zero_grad(&mut self) {
        self.grad_weight.fill(F::zero());
        self.grad_bias.fill(F::zero());
        self.gradients_zero = true;
    }

    /// True for `f32`, whose products can take the step inside the weight
    /// gradient's product exactly (see [`linalg::Gemm::sums_in_one_pass`]).
    fn supports_fused_sgd(&self) -> bool {
        F::sums_in_one_pass(1)
    }

    /// Proves w − lr·g finite for the weight and the bias from the largest
    /// magnitudes of the input, the delta, the bias and the weight (the
    /// weight's from the bound the last fused step left, when it is known,
    /// else by reading it): |g| ≤ batch · max|delta| · max|input|. Then, if
    /// `need_delta`, computes grad_input = delta·W. `Ok(false)`, with nothing
    /// computed, for a non-finite value, a bound over half the type's range,
    /// a batch over 256 (`f32` products sum it in more than one pass) or
    /// operands not contiguous in memory.
    ///
    /// # Errors
    /// [`ShapeError::Input`] if `input` is not (batch, in_features),
    /// [`ShapeError::Delta`] if `delta` is not (batch, out_features).
    fn sgd_check(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
        need_delta: bool,
    ) -> Result<bool, ShapeError> {
        let (x, d) = self.backward_operands(input.view(), delta.view())?;
        self.checked_bound = None;
        let batch = x.nrows();
        if !F::sums_in_one_pass(batch) {
            return Ok(false);
        }
        let (Some(max_input), Some(max_delta)) =
            (plain_slice(&x).and_then(F::max_abs), plain_slice(&d).and_then(F::max_abs))
        else {
            return Ok(false);
        };
        let bound = |max_value: Option<F>| {
            max_value.and_then(|m| step_bound(m.as_f64(), learning_rate, batch, max_delta, max_input))
        };
        let Some(max_bias) = self.bias.as_slice_memory_order().and_then(F::max_abs) else {
            return Ok(false);
        };
        // The bias gradient sums `batch` deltas: a product with inputs of 1.
        if step_bound(max_bias.as_f64(), learning_rate, batch, max_delta, F::one()).is_none() {
            return Ok(false);
        }
        let weight = self.weight.as_slice_memory_order().expect("the weight is kept in standard layout");
        // A kept bound only grows; when it no longer proves the step, the
        // weight's own largest value may.
        let Some(weight_bound) = bound(self.weight_bound).or_else(|| bound(F::max_abs(weight))) else {
            return Ok(false);
        };
        if need_delta {
            self.backward_delta(input, delta)?;
        }
        self.checked_bound = Some(F::of_f64(weight_bound));
        Ok(true)
    }

    /// weight ← weight − lr·deltaᵀ·x as one product into the weight (α = −lr,
    /// β = 1), and bias ← bias − lr·(the column sums of delta): bit for bit
    /// what storing the gradients and subtracting lr times them gives.
    ///
    /// # Errors
    /// As [`sgd_check`](Module::sgd_check).
    fn sgd_apply(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
    ) -> Result<(), ShapeError> {
        let (x, d) = self.backward_operands(input, delta)?;
        matmul_into(-learning_rate, &d.t(), &x, F::one(), &mut self.weight.view_mut());
        self.grad_bias.fill(F::zero());
        add_column_sums(&mut self.grad_bias, d);
        Zip::from(&mut self.bias).and(&self.grad_bias).for_each(|b, &g| *b -= learning_rate * g);
        self.grad_bias.fill(F::zero());
        if !self.gradients_zero {
            self.grad_weight.fill(F::zero());
            self.gradients_zero = true;
        }
        // Without a check just before (a caller's mistake) the bound is unknown.
        self.weight_bound = self.checked_bound.take();
        Ok(())
    }
}

impl<F: Float> fmt::Display for Linear<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Linear({}, {})", self.in_features(), self.out_features())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{array, assert_close};
    use ndarray::{arr1, arr2};
    use nn_core::gradcheck;

    fn small() -> Linear<f64> {
        Linear::from_parameters(arr2(&[[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]]), arr1(&[0.5, 0.0, -1.0]))
    }

    #[test]
    fn linear_forward_matches_hand_computed_values() {
        let mut layer = small();
        let x = array(&[2, 2], &[1.0, 1.0, 2.0, -1.0]);
        let y = layer.forward(x.view()).unwrap();
        // Row 2: (2·1 − 1·2 + 0.5, 0·2 + 1 + 0, 3·2 − 0.5 − 1).
        assert_close(y, &[3.5, -1.0, 2.5, 0.5, 1.0, 4.5]);
    }

    #[test]
    fn linear_backward_matches_hand_computed_values() {
        let mut layer = small();
        let x = array(&[2, 2], &[1.0, 1.0, 2.0, -1.0]);
        let delta = array(&[2, 3], &[1.0, 0.0, 0.0, 0.0, 1.0, 2.0]);
        layer.forward(x.view()).unwrap();
        layer.backward_update_gradient(x.view(), delta.view()).unwrap();
        assert_close(&layer.grad_weight.clone().into_dyn(), &[1.0, 1.0, 2.0, -1.0, 4.0, -2.0]);
        assert_close(&layer.grad_bias.clone().into_dyn(), &[1.0, 1.0, 2.0]);
        let g = layer.backward_delta(x.view(), delta.view()).unwrap();
        assert_close(g, &[1.0, 2.0, 6.0, 0.0]);
    }

    #[test]
    fn linear_gradients_accumulate_until_zero_grad() {
        let mut layer = small();
        let x = array(&[1, 2], &[1.0, -2.0]);
        let delta = array(&[1, 3], &[1.0, 2.0, 3.0]);
        layer.backward_update_gradient(x.view(), delta.view()).unwrap();
        layer.backward_update_gradient(x.view(), delta.view()).unwrap();
        assert_close(&layer.grad_bias.clone().into_dyn(), &[2.0, 4.0, 6.0]);
        layer.zero_grad();
        assert!(layer.grad_weight.iter().chain(&layer.grad_bias).all(|&g| g == 0.0));
    }

    #[test]
    fn linear_update_parameters_steps_against_the_gradient() {
        let mut layer = small();
        let x = array(&[1, 2], &[1.0, -2.0]);
        let delta = array(&[1, 3], &[1.0, 2.0, 3.0]);
        layer.backward_update_gradient(x.view(), delta.view()).unwrap();
        layer.update_parameters(0.5);
        assert_close(&layer.weight().clone().into_dyn(), &[0.5, 3.0, -1.0, 1.0, 1.5, 3.5]);
        assert_close(&layer.bias().clone().into_dyn(), &[0.0, -1.0, -2.5]);
    }

    /// A layer and a batch of f32 values in [−1, 1): input (batch, 37), delta (batch, 23).
    fn fused_case(batch: usize) -> (Linear<f32>, ArrayD<f32>, ArrayD<f32>) {
        let mut rng = gradcheck::seeded(batch as u64);
        let layer = Linear::<f32>::new(37, 23, &mut rng);
        let x = gradcheck::uniform(&[batch, 37], -1.0..1.0, &mut rng).mapv(|v| v as f32);
        let d = gradcheck::uniform(&[batch, 23], -1.0..1.0, &mut rng).mapv(|v| v as f32);
        (layer, x, d)
    }

    fn bits(values: impl IntoIterator<Item = f32>) -> Vec<u32> {
        values.into_iter().map(f32::to_bits).collect()
    }

    #[test]
    fn a_fused_step_is_the_gradient_then_the_step_bit_for_bit() {
        let learning_rate = 0.3_f32;
        for batch in [1, 19, 256] {
            let (mut fused, x, d) = fused_case(batch);
            let mut plain = fused.clone();
            for step in 0..3 {
                assert!(fused.sgd_check(x.view(), d.view(), learning_rate, true).unwrap(), "batch {batch}");
                let expected = plain.backward_delta(x.view(), d.view()).unwrap();
                assert_eq!(bits(fused.grad_input.iter().copied()), bits(expected.iter().copied()));
                fused.sgd_apply(x.view(), d.view(), learning_rate).unwrap();
                plain.backward_set_gradient(x.view(), d.view()).unwrap();
                plain.update_parameters(learning_rate);
                assert_eq!(
                    bits(fused.weight.iter().copied()),
                    bits(plain.weight.iter().copied()),
                    "step {step}"
                );
                assert_eq!(bits(fused.bias.iter().copied()), bits(plain.bias.iter().copied()), "step {step}");
                assert!(fused.grad_weight.iter().chain(&fused.grad_bias).all(|&g| g.to_bits() == 0));
                let largest = fused.weight.iter().fold(0.0_f32, |m, w| m.max(w.abs()));
                assert!(fused.weight_bound.is_some_and(|b| b >= largest), "the kept bound bounds the weight");
            }
        }
    }

    #[test]
    fn sgd_check_proves_only_what_it_can() {
        let (mut layer, x, d) = fused_case(8);
        let before = layer.clone();
        let lr = 0.1_f32;
        let mut nan_input = x.clone();
        nan_input[[3, 5]] = f32::NAN;
        let mut infinite_delta = d.clone();
        infinite_delta[[0, 0]] = f32::NEG_INFINITY;
        let spread = ndarray::concatenate(ndarray::Axis(0), &[x.view(), x.view()]).unwrap();
        let every_other_row = spread.slice(ndarray::s![..;2, ..]).into_dyn();
        assert!(!layer.sgd_check(nan_input.view(), d.view(), lr, true).unwrap());
        assert!(!layer.sgd_check(x.view(), infinite_delta.view(), lr, true).unwrap());
        assert!(!layer.sgd_check(x.view(), d.view(), 1e38, true).unwrap(), "an update past half the range");
        let (huge_x, huge_d) = (x.mapv(|v| v * 1e20), d.mapv(|v| v * 1e20));
        assert!(
            !layer.sgd_check(huge_x.view(), huge_d.view(), 1e-30, true).unwrap(),
            "a gradient past the range"
        );
        assert!(!layer.sgd_check(every_other_row.view(), d.view(), lr, true).unwrap(), "not contiguous");
        let (mut wide, x_wide, d_wide) = fused_case(257);
        assert!(!wide.sgd_check(x_wide.view(), d_wide.view(), lr, true).unwrap(), "over one pass");
        // Nothing was computed or written by the refusals.
        assert!(layer.grad_input.is_empty());
        assert_eq!(bits(layer.weight.iter().copied()), bits(before.weight.iter().copied()));
        assert!(layer.sgd_check(x.view(), d.view(), lr, true).unwrap());

        // A non-finite weight, written through the visitor, is found by reading the weight.
        layer.sgd_apply(x.view(), d.view(), lr).unwrap();
        assert!(layer.weight_bound.is_some());
        layer.visit_parameters_mut(&mut |mut p| {
            if p.name.leaf_name() == "weight" {
                p.value[[2, 2]] = f32::INFINITY;
            }
        });
        assert!(layer.weight_bound.is_none(), "a visitor's writes forget the bound");
        assert!(!layer.sgd_check(x.view(), d.view(), lr, true).unwrap());
        assert!(!Linear::<f64>::new(2, 2, &mut gradcheck::seeded(1)).supports_fused_sgd());
        assert!(layer.supports_fused_sgd());
    }

    #[test]
    fn a_fused_step_zeroes_gradients_left_by_an_earlier_backward() {
        let (mut layer, x, d) = fused_case(4);
        layer.backward_update_gradient(x.view(), d.view()).unwrap();
        assert!(layer.grad_weight.iter().any(|&g| g != 0.0));
        assert!(layer.sgd_check(x.view(), d.view(), 0.1, false).unwrap());
        layer.sgd_apply(x.view(), d.view(), 0.1).unwrap();
        assert!(layer.grad_weight.iter().chain(&layer.grad_bias).all(|&g| g.to_bits() == 0));
    }

    #[test]
    fn linear_displays_in_the_report_notation() {
        let layer = Linear::<f32>::new(64, 100, &mut gradcheck::seeded(0));
        assert_eq!(layer.to_string(), "Linear(64, 100)");
    }

    #[test]
    fn linear_default_init_is_torch_default() {
        let layer = Linear::<f64>::new(64, 10, &mut gradcheck::seeded(3));
        assert_eq!(layer.weight().dim(), (10, 64));
        assert_eq!(layer.bias().dim(), 10);
        assert!(layer.weight().iter().chain(layer.bias()).all(|w| w.abs() < 0.125));
        assert!(layer.bias().iter().any(|&b| b != 0.0));
        let he = Linear::<f64>::with_init(6, 4, Init::HeUniform, &mut gradcheck::seeded(3));
        assert!(he.weight().iter().any(|w| w.abs() > 0.5));
        assert!(he.bias().iter().all(|&b| b == 0.0));
    }

    #[test]
    fn linear_visits_weight_then_bias() {
        let layer = small();
        let mut names = Vec::new();
        layer.visit_parameters(&mut |p| names.push((p.name.to_string(), p.value.shape().to_vec())));
        assert_eq!(names, [("weight".to_string(), vec![3, 2]), ("bias".to_string(), vec![3])]);
        assert_eq!(layer.parameter_count(), 9);
    }

    #[test]
    fn linear_reuses_its_buffers() {
        let mut layer = Linear::<f32>::new(4, 3, &mut gradcheck::seeded(1));
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[5, 4]));
        let delta = ArrayD::<f32>::ones(ndarray::IxDyn(&[5, 3]));
        let out = layer.forward(x.view()).unwrap().as_ptr();
        let grad = layer.backward_delta(x.view(), delta.view()).unwrap().as_ptr();
        assert_eq!(layer.forward(x.view()).unwrap().as_ptr(), out);
        assert_eq!(layer.backward_delta(x.view(), delta.view()).unwrap().as_ptr(), grad);
    }

    #[test]
    fn linear_backward_on_a_pool_equals_backward_alone_bit_for_bit() {
        // 64 × 256 × 256 multiply-adds per product: a pair large enough to
        // run side by side on the pool (linalg::pair).
        let mut rng = gradcheck::seeded(3);
        let start = Linear::<f32>::new(256, 256, &mut rng);
        let x = nn_core::init::uniform::<f32, _>(&[64, 256], 1.0, &mut rng);
        let delta = nn_core::init::uniform::<f32, _>(&[64, 256], 1.0, &mut rng);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        for set in [false, true] {
            let run = |layer: &mut Linear<f32>| {
                layer.forward(x.view()).unwrap();
                let grad_input = if set {
                    layer.backward_set(x.view(), delta.view()).unwrap().clone()
                } else {
                    layer.backward(x.view(), delta.view()).unwrap().clone()
                };
                (grad_input, layer.grad_weight.clone(), layer.grad_bias.clone())
            };
            let (mut alone, mut shared) = (start.clone(), start.clone());
            // Twice: the second backward adds to the first's gradients, or replaces them.
            let expected = [run(&mut alone), run(&mut alone)];
            let found = pool.install(|| [run(&mut shared), run(&mut shared)]);
            let bits = |(g, w, b): &(ArrayD<f32>, Array2<f32>, Array1<f32>)| {
                g.iter().chain(w).chain(b).map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(expected.each_ref().map(bits), found.each_ref().map(bits), "set: {set}");
            let sequential = {
                let mut layer = start.clone();
                layer.forward(x.view()).unwrap();
                layer.backward_set_gradient(x.view(), delta.view()).unwrap();
                layer.backward_delta(x.view(), delta.view()).unwrap().clone()
            };
            assert_eq!(expected[0].0, sequential);
        }
    }

    #[test]
    fn linear_buffers_that_products_write_start_on_a_cache_line() {
        let weight = ndarray::Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f32);
        let mut layer = Linear::from_parameters(weight.clone(), Array1::zeros(5));
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[7, 3]));
        let delta = ArrayD::<f32>::ones(ndarray::IxDyn(&[7, 5]));
        let line = |p: *const f32| p as usize % 64;
        assert_eq!(line(layer.forward(x.view()).unwrap().as_ptr()), 0);
        assert_eq!(line(layer.backward_delta(x.view(), delta.view()).unwrap().as_ptr()), 0);
        assert_eq!((line(layer.weight.as_ptr()), line(layer.grad_weight.as_ptr())), (0, 0));
        assert_eq!(layer.weight, weight);
    }

    #[test]
    fn linear_takes_an_empty_batch() {
        let mut layer = small();
        let x = ArrayD::<f64>::zeros(ndarray::IxDyn(&[0, 2]));
        assert_eq!(layer.forward(x.view()).unwrap().shape(), &[0, 3]);
    }

    #[test]
    fn linear_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(42);
        let mut layer = Linear::<f64>::new(5, 3, &mut rng);
        let x = gradcheck::uniform(&[4, 5], -2.0..2.0, &mut rng);
        let report = gradcheck::check(&mut layer, &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
        assert_eq!(report.checked, 4 * 5 + 3 * 5 + 3);
    }

    #[test]
    fn linear_rejects_wrong_width() {
        let mut layer = Linear::<f32>::new(310, 10, &mut gradcheck::seeded(0));
        let x = ArrayD::<f32>::zeros(ndarray::IxDyn(&[2, 300]));
        let err = layer.forward(x.view()).unwrap_err();
        assert_eq!(
            err,
            ShapeError::Input {
                layer: "Linear(310, 10)".into(),
                expected: "310 features".into(),
                found: "300".into()
            }
        );
        assert_eq!(err.to_string(), "Linear(310, 10) expects 310 features but receives 300");
    }

    #[test]
    fn linear_suggests_flatten_for_a_sequence() {
        let layer = Linear::<f32>::new(310, 10, &mut gradcheck::seeded(0));
        let err = layer.output_shape(&[2, 30, 10]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Linear(310, 10) expects (batch, 310) but receives (2, 30, 10); put a Flatten() before it, which gives (2, 300)"
        );
    }

    #[test]
    fn linear_suggests_a_batch_axis_for_one_sample() {
        let layer = small();
        let err = layer.output_shape(&[2]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Linear(2, 3) expects (batch, 2) but receives (2,); add a batch axis: (1, 2)"
        );
        let err = layer.output_shape(&[5]).unwrap_err();
        assert_eq!(err.to_string(), "Linear(2, 3) expects (batch, 2) but receives (5,)");
    }

    #[test]
    fn linear_rejects_a_delta_of_the_wrong_shape() {
        let mut layer = small();
        let x = array::<f64>(&[2, 2], &[0.0; 4]);
        let delta = array::<f64>(&[2, 2], &[0.0; 4]);
        let err = layer.backward_update_gradient(x.view(), delta.view()).unwrap_err();
        assert_eq!(err.to_string(), "Linear(2, 3): delta has shape (2, 2) but the output has shape (2, 3)");
        assert!(layer.backward_delta(x.view(), delta.view()).is_err());
    }

    #[test]
    #[should_panic(expected = "Linear(0, 3): in_features and out_features must be at least 1")]
    fn linear_panics_on_a_zero_size() {
        let _ = Linear::<f32>::new(0, 3, &mut gradcheck::seeded(0));
    }

    #[test]
    #[should_panic(
        expected = "Linear(1099511627776, 1099511627776): the weight of 1099511627776 × 1099511627776 values \
                    is too large to allocate (at most 2305843009213693951 f32 values fit in the address space)"
    )]
    fn linear_panics_with_its_own_message_when_the_weight_overflows() {
        let _ = Linear::<f32>::new(1 << 40, 1 << 40, &mut gradcheck::seeded(0));
    }

    #[test]
    #[should_panic(
        expected = "Linear(2, 18446744073709551615): the weight of 18446744073709551615 × 2 values"
    )]
    fn linear_panics_with_its_own_message_when_the_count_overflows_usize() {
        let _ = Linear::<f64>::new(2, usize::MAX, &mut gradcheck::seeded(0));
    }
}
