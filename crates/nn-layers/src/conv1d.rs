//! 1-D convolution: y[b, j, o] = bias[o] + Σ_{i, t} weight[o, i, t] · x[b, j·stride + t, i].

use std::fmt;

use ndarray::{Array1, Array2, Array3, ArrayD, ArrayView2, ArrayView3, ArrayViewD, Axis, Ix1, Ix2, Ix3};
use nn_core::linalg::{matmul_bias_into, matmul_into};
use nn_core::{
    Dims, Float, Init, Module, ParamName, Parameter, ParameterMut, ShapeError, init, stored_step, tensor,
};
use rand::Rng;

use crate::bias::add_column_sums;
use crate::check;

mod direct;

/// Kernels with at most this many weights per output channel (k_size·chan_in)
/// run their forward pass and weight gradient on the direct kernels; wider
/// ones go through im2col and the GEMM, whose k is then large enough for it to
/// win. (Measured on AVX-512 for chan_out 8 to 100: direct is 1.3 to 4 times
/// faster up to 16, even at 32 for chan_out = 32.)
const DIRECT_MAX_WIDTH: usize = 16;

/// The same for the input gradient, whose direct kernel ends each window
/// element with a sum across SIMD lanes: it wins only for narrow kernels.
/// (2 times faster at width 3, even at 6, 1.4 times slower at 8.)
const DIRECT_INPUT_GRADIENT_MAX_WIDTH: usize = 6;

/// Which of a Conv1D's computations use the direct kernels (the others use the im2col product).
#[derive(Debug, Clone, Copy)]
struct Direct {
    forward: bool,
    weight_gradient: bool,
    input_gradient: bool,
}

/// A 1-D convolution along the length axis (a cross-correlation, as in PyTorch), no padding:
/// input (batch, length, chan_in) -> output (batch, (length − k_size)/stride + 1, chan_out).
///
/// Parameters in PyTorch's `Conv1d` layout: `weight` (chan_out, chan_in, k_size),
/// `bias` (chan_out), visited in that order. Only the data layout differs from
/// PyTorch: channels are the last axis here.
///
/// Kernels with few weights per output channel (k_size·chan_in ≤ 16, as the
/// report's `Conv1D(3, 1, 32)`; ≤ 6 for the input gradient) are computed
/// directly from the input windows, a block of output channels at a time in
/// SIMD registers. Wider kernels go through a product: the forward pass unrolls the input windows into a kept
/// matrix (im2col, one row per output position, columns in the weight's
/// (chan_in, k_size) order) and multiplies it by the weight seen as
/// (chan_out, chan_in·k_size). `backward_update_gradient` reuses that matrix:
///
/// **Contract** (Lua Torch's, see [`Module`]): the backward methods must be
/// called with the input of the last `forward`, the same values, not only the
/// same shape. For a wide kernel, `backward_update_gradient(x2, delta)` after
/// `forward(x1)` with x2 of x1's shape computes the weight gradient of **x1**,
/// without an error (only a forward of another shape makes it rebuild the
/// matrix from `input`); debug builds assert that the matrix still holds
/// `input`'s windows. Narrow kernels read `input` itself.
///
/// ```
/// use ndarray::{Array, IxDyn, arr1, arr3};
/// use nn_core::Module;
/// use nn_layers::Conv1D;
///
/// // One input channel, one output channel, kernel (1, 2), bias 0.5.
/// let mut conv = Conv1D::from_parameters(arr3(&[[[1.0_f32, 2.0]]]), arr1(&[0.5]), 1);
/// assert_eq!(conv.to_string(), "Conv1D(2, 1, 1)");
/// let x = Array::from_shape_vec(IxDyn(&[1, 4, 1]), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
/// assert_eq!(conv.forward(x.view())?.as_slice().unwrap(), &[5.5, 8.5, 11.5]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Conv1D<F: Float = f32> {
    stride: usize,
    weight: Array3<F>,
    bias: Array1<F>,
    // Accumulate until zero_grad.
    grad_weight: Array3<F>,
    grad_bias: Array1<F>,
    // Which computations use the direct kernels, by k_size·chan_in.
    direct: Direct,
    // The weight packed for the direct forward pass (direct::pack_weight), or
    // transposed for the direct input gradient (direct::transpose_weight).
    packed_weight: Vec<F>,
    transposed_weight: Vec<F>,
    // im2col of the last input, (batch·out_len, chan_in·k_size), and the input shape it holds.
    cols: Array2<F>,
    cols_for: [usize; 3],
    // delta·W before it is scattered back, same shape as `cols`.
    grad_cols: Array2<F>,
    // A copy of `delta` as (batch·out_len, chan_out) when it is not contiguous.
    delta_rows: Array2<F>,
    output: ArrayD<F>,
    grad_input: ArrayD<F>,
}

impl<F: Float> Conv1D<F> {
    /// A convolution with weight and bias drawn from U(−k, k), k = 1/√(chan_in·k_size)
    /// ([`Init::TorchDefault`], the Torch7 and PyTorch default).
    ///
    /// The argument order is the report's: kernel size, input channels, output channels, stride.
    ///
    /// # Panics
    /// If a size or the stride is 0: a bug in the caller, not bad data; or if
    /// the weight's chan_out × chan_in × k_size values do not fit in the
    /// address space, with a message naming the layer and the sizes. A weight
    /// that fits the address space but not the memory aborts on allocation,
    /// as any `Vec` does.
    pub fn new<R: Rng + ?Sized>(
        k_size: usize,
        chan_in: usize,
        chan_out: usize,
        stride: usize,
        rng: &mut R,
    ) -> Self {
        Self::with_init(k_size, chan_in, chan_out, stride, Init::TorchDefault, rng)
    }

    /// A convolution initialised by `init`, with fan_in = chan_in·k_size and
    /// fan_out = chan_out·k_size. The weight is drawn first, then the bias.
    ///
    /// # Panics
    /// If a size or the stride is 0, or if the weight's chan_out × chan_in ×
    /// k_size values do not fit in the address space (see [`new`](Conv1D::new)).
    pub fn with_init<R: Rng + ?Sized>(
        k_size: usize,
        chan_in: usize,
        chan_out: usize,
        stride: usize,
        init: Init,
        rng: &mut R,
    ) -> Self {
        assert!(
            k_size > 0 && chan_in > 0 && chan_out > 0 && stride > 0,
            "Conv1D({k_size}, {chan_in}, {chan_out}, {stride}): every size and the stride must be at least 1"
        );
        // Before chan_in · k_size, which would overflow first.
        check::assert_allocatable::<F>(
            &format_args!("Conv1D({k_size}, {chan_in}, {chan_out}, {stride})"),
            "the weight",
            &[chan_out, chan_in, k_size],
        );
        let (fan_in, fan_out) = (chan_in * k_size, chan_out * k_size);
        let weight = init::uniform(&[chan_out, chan_in, k_size], init.weight_bound(fan_in, fan_out), rng)
            .into_dimensionality::<Ix3>()
            .expect("uniform returns the requested rank");
        let bias = init::uniform(&[chan_out], init.bias_bound(fan_in), rng)
            .into_dimensionality::<Ix1>()
            .expect("uniform returns the requested rank");
        Self::from_parameters(weight, bias, stride)
    }

    /// A convolution with the given `weight` (chan_out, chan_in, k_size), `bias` (chan_out) and `stride`.
    ///
    /// # Panics
    /// If a size or the stride is 0, or `bias` does not have chan_out elements.
    pub fn from_parameters(weight: Array3<F>, bias: Array1<F>, stride: usize) -> Self {
        let (chan_out, chan_in, k_size) = weight.dim();
        assert!(
            k_size > 0 && chan_in > 0 && chan_out > 0 && stride > 0,
            "Conv1D: weight has shape {} and stride is {stride}, all must be at least 1",
            Dims(weight.shape())
        );
        assert_eq!(
            bias.len(),
            chan_out,
            "Conv1D({k_size}, {chan_in}, {chan_out}): bias has {} elements, weight has {chan_out} output channels",
            bias.len()
        );
        // The im2col product views the weight as (chan_out, chan_in·k_size): keep it contiguous.
        let weight = tensor::aligned(weight);
        let width = k_size * chan_in;
        let direct = Direct {
            forward: width <= DIRECT_MAX_WIDTH,
            weight_gradient: width <= DIRECT_MAX_WIDTH,
            input_gradient: width <= DIRECT_INPUT_GRADIENT_MAX_WIDTH,
        };
        Self {
            stride,
            grad_weight: tensor::aligned_zeros(weight.raw_dim()),
            grad_bias: Array1::zeros(bias.raw_dim()),
            direct,
            packed_weight: vec![F::zero(); chan_out * chan_in * k_size],
            transposed_weight: vec![F::zero(); chan_out * chan_in * k_size],
            weight,
            bias,
            cols: Array2::zeros((0, 0)),
            cols_for: [0; 3],
            grad_cols: Array2::zeros((0, 0)),
            delta_rows: Array2::zeros((0, 0)),
            output: tensor::empty(),
            grad_input: tensor::empty(),
        }
    }

    /// The kernel size.
    pub fn k_size(&self) -> usize {
        self.weight.dim().2
    }

    /// Number of input channels.
    pub fn chan_in(&self) -> usize {
        self.weight.dim().1
    }

    /// Number of output channels.
    pub fn chan_out(&self) -> usize {
        self.weight.dim().0
    }

    /// The step between windows.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The weight, (chan_out, chan_in, k_size).
    pub fn weight(&self) -> &Array3<F> {
        &self.weight
    }

    /// The bias, (chan_out,).
    pub fn bias(&self) -> &Array1<F> {
        &self.bias
    }

    /// The weight as the (chan_out, chan_in·k_size) matrix the im2col product uses.
    fn weight_matrix(weight: &Array3<F>) -> ArrayView2<'_, F> {
        let (chan_out, chan_in, k_size) = weight.dim();
        weight
            .view()
            .into_shape_with_order((chan_out, chan_in * k_size))
            .expect("the weight is kept contiguous")
    }

    /// The input's (batch, length, chan_in) and the output length, or why it does not fit.
    fn check_input(&self, shape: &[usize]) -> Result<([usize; 3], usize), ShapeError> {
        let dims = check::sequence(self, shape, Some(self.chan_in()))?;
        let out_len = check::windows(self, dims[1], self.k_size(), self.stride)?;
        Ok((dims, out_len))
    }

    /// Checks `input` and `delta` for a backward method; returns the input shape and output length.
    fn check_backward(
        &self,
        input: &ArrayViewD<'_, F>,
        delta: &ArrayViewD<'_, F>,
    ) -> Result<([usize; 3], usize), ShapeError> {
        let (dims, out_len) = self.check_input(input.shape())?;
        tensor::check_delta(self, &[dims[0], out_len, self.chan_out()], delta)?;
        Ok((dims, out_len))
    }

    /// The sizes the direct kernels loop over, for an input (·, length, chan_in) giving out_len positions.
    fn geometry(&self, length: usize, out_len: usize) -> direct::Geometry {
        let (chan_out, chan_in, k_size) = self.weight.dim();
        direct::Geometry { length, chan_in, k_size, stride: self.stride, out_len, chan_out }
    }

    /// Packs the weight for the direct kernels (it may have changed since the last call).
    fn pack_weight(&mut self, g: direct::Geometry) {
        let weight = self.weight.as_slice().expect("the weight is kept contiguous");
        direct::pack_weight(weight, &mut self.packed_weight, g);
    }

    /// Fills `cols` with the windows of `x`: row b·out_len + j, column i·k_size + t
    /// holds x[b, j·stride + t, i].
    fn im2col(&mut self, x: ArrayView3<'_, F>, out_len: usize) {
        let (batch, length, chan_in) = x.dim();
        let k_size = self.k_size();
        let width = chan_in * k_size;
        tensor::ensure_dim(&mut self.cols, Ix2(batch * out_len, width));
        // A copy only if the input is not in standard layout (never in a chain).
        let x = x.as_standard_layout();
        let x = x.as_slice().expect("standard layout is contiguous");
        let cols = self.cols.as_slice_mut().expect("kept buffers are contiguous");
        if width > 0 {
            for (r, row) in cols.chunks_exact_mut(width).enumerate() {
                let (b, j) = (r / out_len, r % out_len);
                let window = &x[(b * length + j * self.stride) * chan_in..][..k_size * chan_in];
                for (t, position) in window.chunks_exact(chan_in).enumerate() {
                    for (i, &value) in position.iter().enumerate() {
                        row[i * k_size + t] = value;
                    }
                }
            }
        }
        self.cols_for = [batch, length, chan_in];
    }

    /// Whether `cols` holds the windows of `x`, as [`im2col`](Self::im2col)
    /// would write them (NaN matching NaN): the debug check of the
    /// forward-then-backward contract. Reads `x` in place, allocates nothing.
    fn cols_hold(&self, x: ArrayView3<'_, F>, out_len: usize) -> bool {
        let k_size = self.k_size();
        let same = |a: F, b: F| a == b || (a.is_nan() && b.is_nan());
        self.cols.outer_iter().enumerate().all(|(r, row)| {
            let (b, j) = (r / out_len, r % out_len);
            row.iter().enumerate().all(|(c, &value)| {
                let (i, t) = (c / k_size, c % k_size);
                same(value, x[[b, j * self.stride + t, i]])
            })
        })
    }

    /// `delta` as (batch·out_len, chan_out) rows, copied into `scratch` only if it is not contiguous.
    fn delta_rows<'a>(delta: ArrayView3<'a, F>, scratch: &'a mut Array2<F>) -> ArrayView2<'a, F> {
        let (batch, out_len, chan_out) = delta.dim();
        let dim = (batch * out_len, chan_out);
        if delta.is_standard_layout() {
            return delta.into_shape_with_order(dim).expect("a standard-layout view reshapes");
        }
        tensor::ensure_dim(scratch, Ix2(dim.0, dim.1));
        for (mut dst, src) in scratch.rows_mut().into_iter().zip(delta.lanes(Axis(2))) {
            dst.assign(&src);
        }
        scratch.view()
    }
}

impl<F: Float> Module<F> for Conv1D<F> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` is not (batch, length, chan_in) with length ≥ k_size.
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let ([batch, length, _], out_len) = self.check_input(input.shape())?;
        let chan_out = self.chan_out();
        tensor::ensure_shape(&mut self.output, &[batch, out_len, chan_out]);
        if self.direct.forward {
            let g = self.geometry(length, out_len);
            self.pack_weight(g);
            // A copy only if the input is not in standard layout (never in a chain).
            let x = input.as_standard_layout();
            let x = x.as_slice().expect("standard layout is contiguous");
            let y = self.output.as_slice_mut().expect("kept buffers are contiguous");
            let bias = self.bias.as_slice().expect("kept buffers are contiguous");
            direct::forward(x, &self.packed_weight, bias, y, g);
            // `cols` no longer holds the windows of the last input.
            self.cols_for = [0; 3];
            return Ok(&self.output);
        }
        let x = input.into_dimensionality::<Ix3>().expect("checked: rank 3");
        self.im2col(x, out_len);
        let mut y = self
            .output
            .view_mut()
            .into_shape_with_order((batch * out_len, chan_out))
            .expect("output is contiguous");
        matmul_bias_into(
            &self.cols.view(),
            &Self::weight_matrix(&self.weight).t(),
            &self.bias.view(),
            &mut y,
        );
        Ok(&self.output)
    }

    /// grad_weight += deltaᵀ·cols (seen as (chan_out, chan_in·k_size)),
    /// grad_bias += the sums of delta over the batch and the positions.
    /// (For narrow kernels both come from one direct pass over delta and the input.)
    ///
    /// `input` must be the input of the last `forward`: wide kernels take the
    /// windows from the matrix that forward kept (see the type's contract).
    ///
    /// # Errors
    /// [`ShapeError::Input`] as for `forward`, [`ShapeError::Delta`] if `delta` is not
    /// (batch, out_len, chan_out).
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        let (dims, out_len) = self.check_backward(&input, &delta)?;
        if self.direct.weight_gradient {
            let g = self.geometry(dims[1], out_len);
            let x = input.as_standard_layout();
            let x = x.as_slice().expect("standard layout is contiguous");
            let delta = delta.into_dimensionality::<Ix3>().expect("checked: rank 3");
            let d = Self::delta_rows(delta, &mut self.delta_rows);
            let d = d.as_slice().expect("delta rows are contiguous");
            let grad_weight = self.grad_weight.as_slice_mut().expect("kept buffers are contiguous");
            let grad_bias = self.grad_bias.as_slice_mut().expect("kept buffers are contiguous");
            direct::weight_gradient(x, d, grad_weight, grad_bias, g);
            return Ok(());
        }
        let x = input.into_dimensionality::<Ix3>().expect("checked: rank 3");
        if self.cols_for != dims {
            self.im2col(x, out_len);
        } else {
            debug_assert!(
                self.cols_hold(x, out_len),
                "{self}: backward_update_gradient with another input than the last forward's (same shape {}): \
                 call forward(input) first (the Module contract)",
                Dims(&dims)
            );
        }
        let delta = delta.into_dimensionality::<Ix3>().expect("checked: rank 3");
        let d = Self::delta_rows(delta, &mut self.delta_rows);
        add_column_sums(&mut self.grad_bias, d.view());
        let (chan_out, chan_in, k_size) = self.grad_weight.dim();
        let mut grad_weight = self
            .grad_weight
            .view_mut()
            .into_shape_with_order((chan_out, chan_in * k_size))
            .expect("grad_weight is contiguous");
        matmul_into(F::one(), &d.t(), &self.cols.view(), F::one(), &mut grad_weight);
        Ok(())
    }

    /// grad_input = col2im(delta·W): each window's gradient is added back at the
    /// positions it was read from. Positions no window covers get 0.
    /// (For narrow kernels delta·W is computed row by row, not as a product.)
    ///
    /// # Errors
    /// [`ShapeError::Input`] as for `forward`, [`ShapeError::Delta`] if `delta` is not
    /// (batch, out_len, chan_out).
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        let (dims, out_len) = self.check_backward(&input, &delta)?;
        let (k_size, chan_in) = (self.k_size(), self.chan_in());
        let delta = delta.into_dimensionality::<Ix3>().expect("checked: rank 3");
        if self.direct.input_gradient {
            let g = self.geometry(dims[1], out_len);
            let weight = self.weight.as_slice().expect("the weight is kept contiguous");
            direct::transpose_weight(weight, &mut self.transposed_weight, g);
            tensor::ensure_shape(&mut self.grad_input, &dims);
            let d = Self::delta_rows(delta, &mut self.delta_rows);
            let d = d.as_slice().expect("delta rows are contiguous");
            let grad_input = self.grad_input.as_slice_mut().expect("kept buffers are contiguous");
            direct::input_gradient(d, &self.transposed_weight, grad_input, g);
            return Ok(&self.grad_input);
        }
        let d = Self::delta_rows(delta, &mut self.delta_rows);
        let width = chan_in * k_size;
        tensor::ensure_dim(&mut self.grad_cols, Ix2(dims[0] * out_len, width));
        matmul_into(
            F::one(),
            &d,
            &Self::weight_matrix(&self.weight),
            F::zero(),
            &mut self.grad_cols.view_mut(),
        );
        tensor::ensure_shape(&mut self.grad_input, &dims);
        let g = self.grad_input.as_slice_mut().expect("kept buffers are contiguous");
        g.fill(F::zero());
        let length = dims[1];
        let grad_cols = self.grad_cols.as_slice().expect("kept buffers are contiguous");
        if width > 0 {
            for (r, row) in grad_cols.chunks_exact(width).enumerate() {
                let (b, j) = (r / out_len, r % out_len);
                let window = &mut g[(b * length + j * self.stride) * chan_in..][..width];
                for (t, position) in window.chunks_exact_mut(chan_in).enumerate() {
                    for (i, value) in position.iter_mut().enumerate() {
                        *value += row[i * k_size + t];
                    }
                }
            }
        }
        Ok(&self.grad_input)
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let ([batch, _, _], out_len) = self.check_input(input_shape)?;
        Ok(vec![batch, out_len, self.chan_out()])
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

    /// Its kernels are small: the gradients are stored and each step checked
    /// exactly ([`nn_core::stored_step`]), so that a network holding a
    /// Conv1D still takes the fused step.
    fn supports_fused_sgd(&self) -> bool {
        true
    }

    /// Stores the gradients (and computes grad_input with `need_delta`), then
    /// checks every w − lr·g.
    ///
    /// # Errors
    /// As [`backward`](Module::backward).
    fn sgd_check(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
        learning_rate: F,
        need_delta: bool,
    ) -> Result<bool, ShapeError> {
        if need_delta {
            self.backward_set(input, delta)?;
        } else {
            self.backward_set_gradient(input, delta)?;
        }
        Ok(stored_step::stored_step_is_finite(self, learning_rate))
    }

    fn sgd_apply(
        &mut self,
        _input: ArrayViewD<'_, F>,
        _delta: ArrayViewD<'_, F>,
        learning_rate: F,
    ) -> Result<(), ShapeError> {
        stored_step::apply_stored_step(self, learning_rate);
        Ok(())
    }
}

impl<F: Float> fmt::Display for Conv1D<F> {
    /// `Conv1D(k_size, chan_in, chan_out)`, with `, stride` appended when the stride is not 1.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Conv1D({}, {}, {}", self.k_size(), self.chan_in(), self.chan_out())?;
        if self.stride != 1 {
            write!(f, ", {}", self.stride)?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{array, assert_close};
    use crate::{Flatten, MaxPool1D};
    use ndarray::{arr1, arr3};
    use nn_core::gradcheck;

    /// Two input channels, one output channel: kernel 1 2 on channel 0, 10 20 on channel 1.
    fn two_in() -> Conv1D<f64> {
        Conv1D::from_parameters(arr3(&[[[1.0, 2.0], [10.0, 20.0]]]), arr1(&[0.0]), 1)
    }

    #[test]
    fn conv1d_forward_matches_hand_computed_values() {
        let mut conv = two_in();
        // Positions (channel 0, channel 1): (1, 0.1), (2, 0.2), (3, 0.3).
        let x = array(&[1, 3, 2], &[1.0, 0.1, 2.0, 0.2, 3.0, 0.3]);
        // y0 = 1·1 + 2·2 + 10·0.1 + 20·0.2 = 10, y1 = 1·2 + 2·3 + 10·0.2 + 20·0.3 = 16.
        assert_close(conv.forward(x.view()).unwrap(), &[10.0, 16.0]);
    }

    #[test]
    fn conv1d_backward_matches_hand_computed_values() {
        let mut conv = two_in();
        let x = array(&[1, 3, 2], &[1.0, 0.1, 2.0, 0.2, 3.0, 0.3]);
        let delta = array(&[1, 2, 1], &[1.0, -1.0]);
        conv.forward(x.view()).unwrap();
        conv.backward_update_gradient(x.view(), delta.view()).unwrap();
        // grad_weight[0, i, t] = Σ_j delta_j · x[j + t, i].
        assert_close(&conv.grad_weight.clone().into_dyn(), &[-1.0, -1.0, -0.1, -0.1]);
        assert_close(&conv.grad_bias.clone().into_dyn(), &[0.0]);
        // grad_input[p, i] = Σ_j delta_j · weight[0, i, p − j].
        let g = conv.backward_delta(x.view(), delta.view()).unwrap();
        assert_close(g, &[1.0, 10.0, 1.0, 10.0, -2.0, -20.0]);
    }

    #[test]
    fn conv1d_with_a_unit_kernel_and_identity_weight_copies_its_input() {
        let weight = arr3(&[[[1.0], [0.0], [0.0]], [[0.0], [1.0], [0.0]], [[0.0], [0.0], [1.0]]]);
        let mut conv = Conv1D::<f64>::from_parameters(weight, arr1(&[0.0, 0.0, 0.0]), 1);
        assert_eq!(conv.to_string(), "Conv1D(1, 3, 3)");
        let mut rng = gradcheck::seeded(5);
        let x = gradcheck::uniform(&[2, 4, 3], -1.0..1.0, &mut rng);
        assert_eq!(conv.forward(x.view()).unwrap(), &x);
        let mut conv = Conv1D::<f64>::new(1, 3, 3, 1, &mut rng);
        let report = gradcheck::check(&mut conv, &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
    }

    #[test]
    fn conv1d_with_stride_2_skips_the_tail() {
        let mut rng = gradcheck::seeded(6);
        let mut conv = Conv1D::<f64>::new(3, 2, 4, 2, &mut rng);
        assert_eq!(conv.to_string(), "Conv1D(3, 2, 4, 2)");
        // (8 − 3)/2 + 1 = 3 windows: positions 0..3, 2..5, 4..7; position 7 is read by none.
        let x = gradcheck::uniform(&[2, 8, 2], -1.0..1.0, &mut rng);
        assert_eq!(conv.output_shape(x.shape()).unwrap(), [2, 3, 4]);
        let report = gradcheck::check(&mut conv, &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
        conv.forward(x.view()).unwrap();
        let delta = ArrayD::ones(ndarray::IxDyn(&[2, 3, 4]));
        let g = conv.backward_delta(x.view(), delta.view()).unwrap();
        assert!(g.slice(ndarray::s![.., 7, ..]).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn conv1d_gradients_match_finite_differences() {
        let mut rng = gradcheck::seeded(8);
        for (k_size, chan_in, chan_out, stride, length) in
            [(3, 1, 4, 1, 9), (2, 3, 2, 1, 5), (4, 2, 3, 3, 11)]
        {
            let mut conv = Conv1D::<f64>::new(k_size, chan_in, chan_out, stride, &mut rng);
            let x = gradcheck::uniform(&[3, length, chan_in], -2.0..2.0, &mut rng);
            let report = gradcheck::check(&mut conv, &x, 1e-6).unwrap();
            assert!(report.passes(1e-6), "{conv}: {report}");
        }
    }

    #[test]
    fn conv1d_takes_a_non_contiguous_delta() {
        let mut rng = gradcheck::seeded(9);
        let mut conv = Conv1D::<f64>::new(2, 2, 3, 1, &mut rng);
        let x = gradcheck::uniform(&[2, 4, 2], -1.0..1.0, &mut rng);
        let delta = gradcheck::uniform(&[3, 3, 2], -1.0..1.0, &mut rng);
        let permuted = delta.view().permuted_axes(vec![2, 1, 0]);
        let contiguous = permuted.to_owned().as_standard_layout().into_owned();

        conv.forward(x.view()).unwrap();
        conv.backward_update_gradient(x.view(), permuted.view()).unwrap();
        let from_permuted = conv.grad_weight.clone();
        let g_permuted = conv.backward_delta(x.view(), permuted.view()).unwrap().clone();
        conv.zero_grad();
        conv.backward_update_gradient(x.view(), contiguous.view()).unwrap();
        assert_eq!(conv.grad_weight, from_permuted);
        assert_eq!(conv.backward_delta(x.view(), contiguous.view()).unwrap(), &g_permuted);
    }

    #[test]
    fn conv1d_rebuilds_its_windows_for_a_new_shape() {
        let mut rng = gradcheck::seeded(10);
        let mut conv = Conv1D::<f64>::new(2, 1, 1, 1, &mut rng);
        conv.forward(gradcheck::uniform(&[3, 2, 1], -1.0..1.0, &mut rng).view()).unwrap();
        let x = array(&[1, 4, 1], &[1.0, 2.0, 3.0, 4.0]);
        let delta = array(&[1, 3, 1], &[1.0, 1.0, 1.0]);
        conv.backward_update_gradient(x.view(), delta.view()).unwrap();
        assert_close(&conv.grad_weight.clone().into_dyn(), &[6.0, 9.0]);
    }

    #[test]
    fn conv1d_gradients_accumulate_until_zero_grad() {
        let mut conv = two_in();
        let x = array(&[1, 3, 2], &[1.0, 0.1, 2.0, 0.2, 3.0, 0.3]);
        let delta = array(&[1, 2, 1], &[1.0, 2.0]);
        conv.forward(x.view()).unwrap();
        conv.backward_update_gradient(x.view(), delta.view()).unwrap();
        let once = conv.grad_weight.clone();
        conv.backward_update_gradient(x.view(), delta.view()).unwrap();
        assert_eq!(conv.grad_weight, &once * 2.0);
        assert_close(&conv.grad_bias.clone().into_dyn(), &[6.0]);
        conv.zero_grad();
        assert!(conv.grad_weight.iter().chain(&conv.grad_bias).all(|&g| g == 0.0));
    }

    #[test]
    fn conv1d_takes_a_transposed_weight() {
        let weight = arr3(&[[[1.0], [10.0]], [[2.0], [20.0]]]).permuted_axes([2, 1, 0]);
        assert!(!weight.is_standard_layout());
        let mut conv = Conv1D::<f64>::from_parameters(weight, arr1(&[0.0]), 1);
        let x = array(&[1, 3, 2], &[1.0, 0.1, 2.0, 0.2, 3.0, 0.3]);
        assert_close(conv.forward(x.view()).unwrap(), &[10.0, 16.0]);
    }

    #[test]
    fn conv1d_default_init_uses_fan_in_chan_in_times_k_size() {
        let conv = Conv1D::<f64>::new(3, 3, 16, 1, &mut gradcheck::seeded(2));
        assert_eq!(conv.weight().dim(), (16, 3, 3));
        assert_eq!(conv.bias().dim(), 16);
        let bound = 1.0 / 3.0;
        assert!(conv.weight().iter().chain(conv.bias()).all(|w| w.abs() < bound));
        assert!(conv.weight().iter().any(|w| w.abs() > 0.3));
    }

    #[test]
    fn conv1d_fused_step_is_the_stored_step_and_refuses_non_finite_gradients() {
        let mut rng = gradcheck::seeded(4);
        let mut fused = Conv1D::<f64>::new(3, 2, 4, 1, &mut rng);
        let mut plain = fused.clone();
        let x = gradcheck::uniform(&[5, 9, 2], -1.0..1.0, &mut rng);
        let delta = gradcheck::uniform(&[5, 7, 4], -1.0..1.0, &mut rng);
        assert!(fused.supports_fused_sgd());
        assert!(fused.sgd_check(x.view(), delta.view(), 0.3, true).unwrap());
        fused.sgd_apply(x.view(), delta.view(), 0.3).unwrap();
        let expected_delta = plain.backward_set(x.view(), delta.view()).unwrap().clone();
        plain.update_parameters(0.3);
        assert_eq!(fused.grad_input(), &expected_delta);
        assert_eq!(fused.weight(), plain.weight());
        assert_eq!(fused.bias(), plain.bias());
        fused.visit_parameters(&mut |p| assert!(p.grad.iter().all(|&g| g == 0.0), "{} zeroed", p.name));

        let mut bad = delta.clone();
        bad[[1, 2, 3]] = f64::NAN;
        assert!(!fused.sgd_check(x.view(), bad.view(), 0.3, false).unwrap());
    }

    #[test]
    fn conv1d_visits_weight_then_bias() {
        let conv = Conv1D::<f32>::new(3, 1, 32, 1, &mut gradcheck::seeded(0));
        let mut names = Vec::new();
        conv.visit_parameters(&mut |p| names.push((p.name.to_string(), p.value.shape().to_vec())));
        assert_eq!(names, [("weight".to_string(), vec![32, 1, 3]), ("bias".to_string(), vec![32])]);
        assert_eq!(conv.parameter_count(), 128);
    }

    #[test]
    fn conv1d_gives_the_report_shapes() {
        let conv = Conv1D::<f32>::new(3, 1, 32, 1, &mut gradcheck::seeded(0));
        let shape = conv.output_shape(&[8, 64, 1]).unwrap();
        assert_eq!(shape, [8, 62, 32]);
        let shape = MaxPool1D::<f32>::new(2, 2).output_shape(&shape).unwrap();
        assert_eq!(shape, [8, 31, 32]);
        assert_eq!(Flatten::<f32>::new().output_shape(&shape).unwrap(), [8, 992]);
    }

    #[test]
    fn conv1d_reuses_its_buffers() {
        // The report's narrow kernel (direct kernels) and a wide one (im2col products).
        for (k_size, chan_in) in [(3, 1), (6, 3)] {
            let mut conv = Conv1D::<f32>::new(k_size, chan_in, 32, 1, &mut gradcheck::seeded(0));
            let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 64, chan_in]));
            let delta = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 65 - k_size, 32]));
            let out = conv.forward(x.view()).unwrap().as_ptr();
            let cols = conv.cols.as_ptr();
            conv.backward_update_gradient(x.view(), delta.view()).unwrap();
            let grad = conv.backward_delta(x.view(), delta.view()).unwrap().as_ptr();
            let grad_cols = conv.grad_cols.as_ptr();
            let packed = (conv.packed_weight.as_ptr(), conv.transposed_weight.as_ptr());
            assert_eq!(conv.forward(x.view()).unwrap().as_ptr(), out);
            assert_eq!(conv.cols.as_ptr(), cols);
            assert_eq!(conv.backward_delta(x.view(), delta.view()).unwrap().as_ptr(), grad);
            assert_eq!(conv.grad_cols.as_ptr(), grad_cols);
            assert_eq!((conv.packed_weight.as_ptr(), conv.transposed_weight.as_ptr()), packed);
        }
    }

    /// `conv` with every computation on the direct kernels, or on the im2col products.
    fn on_paths(mut conv: Conv1D<f64>, direct: bool) -> Conv1D<f64> {
        conv.direct = Direct { forward: direct, weight_gradient: direct, input_gradient: direct };
        conv
    }

    #[test]
    fn conv1d_direct_kernels_match_the_products() {
        let mut rng = gradcheck::seeded(12);
        // chan_out 43 = a wide block of 32, a narrow one of 8 and 3 single channels;
        // stride 3 on length 12 drops the tail; k = 1; several input channels.
        let shapes =
            [(3, 1, 32, 1, 64), (3, 2, 43, 3, 12), (1, 3, 5, 1, 7), (4, 4, 9, 2, 10), (2, 1, 1, 1, 2)];
        for (k_size, chan_in, chan_out, stride, length) in shapes {
            let conv = Conv1D::<f64>::new(k_size, chan_in, chan_out, stride, &mut rng);
            let (mut direct, mut product) = (on_paths(conv.clone(), true), on_paths(conv, false));
            let x = gradcheck::uniform(&[3, length, chan_in], -2.0..2.0, &mut rng);
            let y = direct.forward(x.view()).unwrap().clone();
            assert_close(product.forward(x.view()).unwrap(), y.as_slice().unwrap());
            let delta = gradcheck::uniform(y.shape(), -1.0..1.0, &mut rng);
            for _ in 0..2 {
                direct.backward_update_gradient(x.view(), delta.view()).unwrap();
                product.backward_update_gradient(x.view(), delta.view()).unwrap();
            }
            let grad_weight = product.grad_weight.clone().into_dyn();
            assert_close(&direct.grad_weight.clone().into_dyn(), grad_weight.as_slice().unwrap());
            let grad_bias = product.grad_bias.clone().into_dyn();
            assert_close(&direct.grad_bias.clone().into_dyn(), grad_bias.as_slice().unwrap());
            let grad_input = product.backward_delta(x.view(), delta.view()).unwrap().clone();
            assert_close(
                direct.backward_delta(x.view(), delta.view()).unwrap(),
                grad_input.as_slice().unwrap(),
            );
        }
    }

    #[test]
    fn conv1d_picks_the_direct_kernels_for_narrow_kernels_only() {
        let mut rng = gradcheck::seeded(13);
        let narrow = Conv1D::<f64>::new(3, 1, 32, 1, &mut rng);
        assert!(narrow.direct.forward && narrow.direct.weight_gradient && narrow.direct.input_gradient);
        let middle = Conv1D::<f64>::new(4, 3, 8, 1, &mut rng);
        assert!(middle.direct.forward && middle.direct.weight_gradient && !middle.direct.input_gradient);
        // Wide: every computation on the products, checked against finite differences.
        let mut wide = Conv1D::<f64>::new(5, 4, 3, 2, &mut rng);
        assert!(!wide.direct.forward && !wide.direct.weight_gradient && !wide.direct.input_gradient);
        let x = gradcheck::uniform(&[2, 12, 4], -2.0..2.0, &mut rng);
        let report = gradcheck::check(&mut wide, &x, 1e-6).unwrap();
        assert!(report.passes(1e-6), "{report}");
    }

    #[test]
    fn conv1d_gradients_match_finite_differences_on_both_paths() {
        let mut rng = gradcheck::seeded(14);
        for direct in [true, false] {
            let conv = Conv1D::<f64>::new(3, 2, 43, 2, &mut rng);
            let mut conv = on_paths(conv, direct);
            let x = gradcheck::uniform(&[2, 10, 2], -2.0..2.0, &mut rng);
            let report = gradcheck::check(&mut conv, &x, 1e-6).unwrap();
            assert!(report.passes(1e-6), "direct {direct}: {report}");
        }
    }

    #[test]
    fn conv1d_rejects_wrong_channel_count() {
        let conv = Conv1D::<f32>::new(3, 1, 32, 1, &mut gradcheck::seeded(0));
        let err = conv.output_shape(&[2, 64, 3]).unwrap_err();
        assert_eq!(err.to_string(), "Conv1D(3, 1, 32) expects 1 channel(s) in the last axis but receives 3");
    }

    #[test]
    fn conv1d_rejects_a_short_sequence() {
        let conv = Conv1D::<f32>::new(3, 1, 32, 2, &mut gradcheck::seeded(0));
        let err = conv.output_shape(&[2, 2, 1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Conv1D(3, 1, 32, 2) expects a length of at least 3 (k_size) but receives length 2"
        );
    }

    #[test]
    fn conv1d_rejects_a_matrix_and_suggests_a_channel_axis() {
        let mut conv = Conv1D::<f32>::new(3, 1, 32, 1, &mut gradcheck::seeded(0));
        let x = ArrayD::<f32>::zeros(ndarray::IxDyn(&[2, 64]));
        let err = conv.forward(x.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Conv1D(3, 1, 32) expects (batch, length, 1) but receives (2, 64); add a channel axis: (2, 64, 1)"
        );
        let conv = Conv1D::<f32>::new(3, 2, 4, 1, &mut gradcheck::seeded(0));
        let err = conv.output_shape(&[2, 64]).unwrap_err();
        assert_eq!(err.to_string(), "Conv1D(3, 2, 4) expects (batch, length, 2) but receives (2, 64)");
    }

    #[test]
    fn conv1d_rejects_a_delta_of_the_wrong_shape() {
        let mut conv = two_in();
        let x = array::<f64>(&[1, 3, 2], &[0.0; 6]);
        let delta = array::<f64>(&[1, 3, 1], &[0.0; 3]);
        let err = conv.backward_delta(x.view(), delta.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Conv1D(2, 2, 1): delta has shape (1, 3, 1) but the output has shape (1, 2, 1)"
        );
        assert!(conv.backward_update_gradient(x.view(), delta.view()).is_err());
    }

    #[test]
    #[should_panic(expected = "Conv1D(3, 0, 4, 1): every size and the stride must be at least 1")]
    fn conv1d_panics_on_a_zero_size() {
        let _ = Conv1D::<f32>::new(3, 0, 4, 1, &mut gradcheck::seeded(0));
    }

    /// A wide kernel (k_size·chan_in = 18 > 16): the im2col path, which reuses the forward's matrix.
    fn wide_conv_and_input() -> (Conv1D<f64>, ArrayD<f64>, ArrayD<f64>) {
        let mut rng = gradcheck::seeded(4);
        let conv = Conv1D::<f64>::new(3, 6, 2, 1, &mut rng);
        let x = gradcheck::uniform(&[2, 8, 6], -1.0..1.0, &mut rng);
        let delta = gradcheck::uniform(&[2, 6, 2], -1.0..1.0, &mut rng);
        (conv, x, delta)
    }

    #[test]
    fn conv1d_backward_on_a_copy_of_the_forward_input_is_the_contract() {
        // Same values at another address: what the contract asks, and what a
        // debug build accepts.
        let (mut conv, x, delta) = wide_conv_and_input();
        conv.forward(x.view()).unwrap();
        let copy = x.clone();
        conv.backward_update_gradient(copy.view(), delta.view()).unwrap();
        let mut fresh = wide_conv_and_input().0;
        fresh.forward(x.view()).unwrap();
        fresh.backward_update_gradient(x.view(), delta.view()).unwrap();
        assert_eq!(conv.grad_weight, fresh.grad_weight);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "Conv1D(3, 6, 2): backward_update_gradient with another input than the last \
                               forward's (same shape (2, 8, 6)): call forward(input) first (the Module contract)")]
    fn conv1d_debug_builds_catch_a_backward_on_another_input() {
        let (mut conv, x, delta) = wide_conv_and_input();
        conv.forward(x.view()).unwrap();
        let other = x.mapv(|v| v + 1.0);
        let _ = conv.backward_update_gradient(other.view(), delta.view());
    }

    #[test]
    #[should_panic(
        expected = "Conv1D(4294967296, 4294967296, 2, 1): the weight of 2 × 4294967296 × 4294967296 values \
                    is too large to allocate"
    )]
    fn conv1d_panics_with_its_own_message_when_the_weight_overflows() {
        let _ = Conv1D::<f32>::new(1 << 32, 1 << 32, 2, 1, &mut gradcheck::seeded(0));
    }
}
