//! Tiny modules and a loss for the unit tests, independent of nn-layers.

use std::fmt;

use ndarray::{Array1, ArrayD, ArrayViewD, Axis, Ix2, IxDyn, linalg::general_mat_mul};
use nn_core::{Float, Loss, Module, ParamName, Parameter, ParameterMut, Segment, ShapeError, tensor};

/// One 1-D parameter `weight` with a settable gradient; forward is the identity.
pub struct Params<F: Float = f64> {
    value: ArrayD<F>,
    grad: ArrayD<F>,
    output: ArrayD<F>,
}

impl<F: Float> Params<F> {
    pub fn new(value: &[f64], grad: &[f64]) -> Self {
        let v = ArrayD::from_shape_vec(IxDyn(&[value.len()]), value.iter().map(|&x| F::of_f64(x)).collect());
        let g = ArrayD::from_shape_vec(IxDyn(&[grad.len()]), grad.iter().map(|&x| F::of_f64(x)).collect());
        Self { value: v.unwrap(), grad: g.unwrap(), output: tensor::empty() }
    }

    pub fn values(&self) -> Vec<F> {
        self.value.iter().copied().collect()
    }

    pub fn grads(&self) -> Vec<F> {
        self.grad.iter().copied().collect()
    }

    pub fn set_grads(&mut self, grad: &[f64]) {
        for (g, &x) in self.grad.iter_mut().zip(grad) {
            *g = F::of_f64(x);
        }
    }
}

impl<F: Float> fmt::Display for Params<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Params({})", self.value.len())
    }
}

impl<F: Float> Module<F> for Params<F> {
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        self.output = input.to_owned();
        Ok(&self.output)
    }
    fn backward_update_gradient(
        &mut self,
        _: ArrayViewD<'_, F>,
        _: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        Ok(())
    }
    fn backward_delta(
        &mut self,
        _: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.output = delta.to_owned();
        Ok(&self.output)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        Ok(input_shape.to_vec())
    }
    fn output(&self) -> &ArrayD<F> {
        &self.output
    }
    fn grad_input(&self) -> &ArrayD<F> {
        &self.output
    }
    fn visit_parameters(&self, visitor: &mut dyn FnMut(Parameter<'_, F>)) {
        visitor(Parameter {
            name: ParamName::leaf("weight"),
            value: self.value.view(),
            grad: self.grad.view(),
        });
    }
    fn visit_parameters_mut(&mut self, visitor: &mut dyn FnMut(ParameterMut<'_, F>)) {
        visitor(ParameterMut {
            name: ParamName::leaf("weight"),
            value: self.value.view_mut(),
            grad: self.grad.view_mut(),
        });
    }
}

/// Two [`Params`], `0.weight` then `1.weight`; forward is the identity.
pub struct Pair<F: Float = f32>(pub Params<F>, pub Params<F>);

impl<F: Float> Pair<F> {
    /// Both parameters' values, the first's then the second's.
    pub fn values(&self) -> Vec<F> {
        [self.0.values(), self.1.values()].concat()
    }

    /// Both parameters' gradients, the first's then the second's.
    pub fn grads(&self) -> Vec<F> {
        [self.0.grads(), self.1.grads()].concat()
    }
}

impl<F: Float> fmt::Display for Pair<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pair({}, {})", self.0, self.1)
    }
}

impl<F: Float> Module<F> for Pair<F> {
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        self.0.forward(input)
    }
    fn backward_update_gradient(
        &mut self,
        _: ArrayViewD<'_, F>,
        _: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        Ok(())
    }
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        self.0.backward_delta(input, delta)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        Ok(input_shape.to_vec())
    }
    fn output(&self) -> &ArrayD<F> {
        self.0.output()
    }
    fn grad_input(&self) -> &ArrayD<F> {
        self.0.grad_input()
    }
    fn visit_parameters(&self, visitor: &mut dyn FnMut(Parameter<'_, F>)) {
        for (index, part) in [&self.0, &self.1].into_iter().enumerate() {
            part.visit_parameters(&mut |p| {
                visitor(Parameter { name: p.name.within(Segment::Index(index)), ..p })
            });
        }
    }
    fn visit_parameters_mut(&mut self, visitor: &mut dyn FnMut(ParameterMut<'_, F>)) {
        for (index, part) in [&mut self.0, &mut self.1].into_iter().enumerate() {
            part.visit_parameters_mut(&mut |p| {
                visitor(ParameterMut { name: p.name.within(Segment::Index(index)), ..p });
            });
        }
    }
}

/// y = x·Wᵀ + b on (batch, in) — or (batch, in, 1), flattened — counting backward calls.
pub struct TinyLinear<F: Float = f32> {
    pub weight: ArrayD<F>,
    pub bias: ArrayD<F>,
    grad_weight: ArrayD<F>,
    grad_bias: ArrayD<F>,
    output: ArrayD<F>,
    grad_input: ArrayD<F>,
    /// Number of `backward_update_gradient` calls: training steps.
    pub backward_calls: usize,
    /// Batch sizes seen by `backward_update_gradient`, in order.
    pub batch_sizes: Vec<usize>,
}

impl<F: Float> TinyLinear<F> {
    /// Weights `w[o][i] = (o + 1)·0.1 − i·0.05`, bias 0.
    pub fn new(inputs: usize, outputs: usize) -> Self {
        let weight = ArrayD::from_shape_fn(IxDyn(&[outputs, inputs]), |d| {
            F::of_f64((d[0] + 1) as f64 * 0.1 - d[1] as f64 * 0.05)
        });
        Self {
            grad_weight: ArrayD::zeros(IxDyn(&[outputs, inputs])),
            weight,
            bias: ArrayD::zeros(IxDyn(&[outputs])),
            grad_bias: ArrayD::zeros(IxDyn(&[outputs])),
            output: tensor::empty(),
            grad_input: tensor::empty(),
            backward_calls: 0,
            batch_sizes: Vec::new(),
        }
    }

    fn inputs(&self) -> usize {
        self.weight.shape()[1]
    }

    fn flat<'a>(&self, input: ArrayViewD<'a, F>) -> Result<ndarray::ArrayView2<'a, F>, ShapeError> {
        let rows = input.shape().first().copied().unwrap_or(0);
        let found = format!("{:?}", input.shape());
        if input.ndim() < 2 || input.len() != rows * self.inputs() {
            return Err(ShapeError::Input {
                layer: self.to_string(),
                expected: format!("{} features", self.inputs()),
                found,
            });
        }
        input.into_shape_with_order((rows, self.inputs())).map_err(|_| ShapeError::Input {
            layer: self.to_string(),
            expected: "contiguous rows".into(),
            found,
        })
    }
}

impl<F: Float> fmt::Display for TinyLinear<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TinyLinear({}, {})", self.weight.shape()[1], self.weight.shape()[0])
    }
}

impl<F: Float> Module<F> for TinyLinear<F> {
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let x = self.flat(input)?;
        let outputs = self.weight.shape()[0];
        tensor::ensure_shape(&mut self.output, &[x.nrows(), outputs]);
        let w = self.weight.view().into_dimensionality::<Ix2>().unwrap();
        let mut out = self.output.view_mut().into_dimensionality::<Ix2>().unwrap();
        general_mat_mul(F::one(), &x, &w.t(), F::zero(), &mut out);
        out += &self.bias;
        Ok(&self.output)
    }
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        let x = self.flat(input)?;
        let d = delta.into_dimensionality::<Ix2>().unwrap();
        self.backward_calls += 1;
        self.batch_sizes.push(x.nrows());
        let mut gw = self.grad_weight.view_mut().into_dimensionality::<Ix2>().unwrap();
        general_mat_mul(F::one(), &d.t(), &x, F::one(), &mut gw);
        self.grad_bias += &d.sum_axis(Axis(0)).into_dyn();
        Ok(())
    }
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        let x = self.flat(input.view())?;
        let d = delta.into_dimensionality::<Ix2>().unwrap();
        let shape = [x.nrows(), self.inputs()];
        tensor::ensure_shape(&mut self.grad_input, &shape);
        let w = self.weight.view().into_dimensionality::<Ix2>().unwrap();
        let mut gi = self.grad_input.view_mut().into_dimensionality::<Ix2>().unwrap();
        general_mat_mul(F::one(), &d, &w, F::zero(), &mut gi);
        Ok(&self.grad_input)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        Ok(vec![input_shape[0], self.weight.shape()[0]])
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
            value: self.weight.view(),
            grad: self.grad_weight.view(),
        });
        visitor(Parameter {
            name: ParamName::leaf("bias"),
            value: self.bias.view(),
            grad: self.grad_bias.view(),
        });
    }
    fn visit_parameters_mut(&mut self, visitor: &mut dyn FnMut(ParameterMut<'_, F>)) {
        visitor(ParameterMut {
            name: ParamName::leaf("weight"),
            value: self.weight.view_mut(),
            grad: self.grad_weight.view_mut(),
        });
        visitor(ParameterMut {
            name: ParamName::leaf("bias"),
            value: self.bias.view_mut(),
            grad: self.grad_bias.view_mut(),
        });
    }
}

/// Sum over outputs of squared errors, mean over the batch.
pub struct TinyMse<F: Float = f32> {
    grad: ArrayD<F>,
}

impl<F: Float> TinyMse<F> {
    pub fn new() -> Self {
        Self { grad: tensor::empty() }
    }
}

impl<F: Float> fmt::Display for TinyMse<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TinyMse()")
    }
}

impl<F: Float> Loss<F> for TinyMse<F> {
    fn per_sample(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<Array1<F>, ShapeError> {
        nn_core::check_target(self, &y, &yhat)?;
        Ok((&yhat - &y).mapv(|d| d * d).sum_axis(Axis(1)).into_dimensionality().unwrap())
    }
    fn forward(&self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<F, ShapeError> {
        nn_core::check_target(self, &y, &yhat)?;
        let n = F::of_f64(y.shape()[0] as f64);
        Ok(ndarray::Zip::from(&y).and(&yhat).fold(F::zero(), |acc, &a, &b| acc + (b - a) * (b - a)) / n)
    }
    fn backward(&mut self, y: ArrayViewD<'_, F>, yhat: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        nn_core::check_target(self, &y, &yhat)?;
        let scale = F::of_f64(2.0 / y.shape()[0] as f64);
        tensor::ensure_shape(&mut self.grad, yhat.shape());
        ndarray::Zip::from(&mut self.grad).and(&y).and(&yhat).for_each(|g, &a, &b| *g = scale * (b - a));
        Ok(&self.grad)
    }
}
