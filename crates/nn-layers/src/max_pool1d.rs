//! 1-D max pooling: y[b, j, c] = max over t < k_size of x[b, j·stride + t, c].

use std::fmt;

use ndarray::{Array3, ArrayD, ArrayView3, ArrayViewD, Ix3};
use nn_core::{Float, Module, ShapeError, tensor};
use pulp::{Simd, WithSimd};

use crate::check;

/// Max pooling along the length axis, channel by channel: input (batch, length, channels)
/// -> output (batch, (length − k_size)/stride + 1, channels). No parameters.
///
/// The forward pass keeps, for each output element, the input position of its
/// maximum (the first one on ties), and `backward_delta` routes `delta` by
/// those positions, not by `input`'s values.
///
/// **Contract** (Lua Torch's, see [`Module`]): the backward methods must be
/// called with the input of the last `forward`, the same values, not only the
/// same shape. `backward_delta(x2, delta)` after `forward(x1)` with x2 of
/// x1's shape routes `delta` by the maxima of **x1**, without an error (only a
/// forward of another shape makes it find the positions again from `input`);
/// debug builds assert that each kept position still holds its window's maximum.
///
/// ```
/// use ndarray::{Array, IxDyn};
/// use nn_core::Module;
/// use nn_layers::MaxPool1D;
///
/// let mut pool = MaxPool1D::new(2, 2);
/// let x = Array::from_shape_vec(IxDyn(&[1, 5, 1]), vec![1.0_f32, 3.0, 2.0, 0.0, 9.0]).unwrap();
/// assert_eq!(pool.forward(x.view())?.as_slice().unwrap(), &[3.0, 2.0]);
/// # Ok::<(), nn_core::ShapeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct MaxPool1D<F: Float = f32> {
    k_size: usize,
    stride: usize,
    // Offset in its window (0..k_size) of each output's maximum, (batch, out_len,
    // channels), and the input shape it was found for.
    argmax: Argmax,
    argmax_for: [usize; 3],
    output: ArrayD<F>,
    grad_input: ArrayD<F>,
}

impl<F: Float> MaxPool1D<F> {
    /// Pooling over windows of `k_size` positions, `stride` positions apart.
    ///
    /// # Panics
    /// If `k_size` or `stride` is 0.
    pub fn new(k_size: usize, stride: usize) -> Self {
        assert!(
            k_size > 0 && stride > 0,
            "MaxPool1D({k_size}, {stride}): k_size and stride must be at least 1"
        );
        Self {
            k_size,
            stride,
            argmax: if k_size <= 256 {
                Argmax::Narrow(Array3::zeros((0, 0, 0)))
            } else {
                Argmax::Wide(Array3::zeros((0, 0, 0)))
            },
            argmax_for: [0; 3],
            output: tensor::empty(),
            grad_input: tensor::empty(),
        }
    }

    /// The window size.
    pub fn k_size(&self) -> usize {
        self.k_size
    }

    /// The step between windows.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The input's (batch, length, channels) and the output length, or why it does not fit.
    fn check_input(&self, shape: &[usize]) -> Result<([usize; 3], usize), ShapeError> {
        let dims = check::sequence(self, shape, None)?;
        let out_len = check::windows(self, dims[1], self.k_size, self.stride)?;
        Ok((dims, out_len))
    }

    /// Whether each kept position is still its window's maximum in `x` (the
    /// first one, as the forward pass picks it): the debug check of the
    /// forward-then-backward contract. Reads `x` in place, allocates nothing.
    fn kept_maxima_hold(&self, x: ArrayView3<'_, F>, out_len: usize) -> bool {
        fn holds<F: Float, T: Offset>(
            x: ArrayView3<'_, F>,
            at: &Array3<T>,
            k_size: usize,
            stride: usize,
        ) -> bool {
            let (batch, out_len, channels) = at.dim();
            (0..batch).all(|b| {
                (0..out_len).all(|j| {
                    (0..channels).all(|c| {
                        let (mut best, mut first) = (x[[b, j * stride, c]], 0);
                        for t in 1..k_size {
                            let v = x[[b, j * stride + t, c]];
                            if wins(v, best) {
                                (best, first) = (v, t);
                            }
                        }
                        at[[b, j, c]] == T::of(first)
                    })
                })
            })
        }
        if out_len == 0 || x.is_empty() {
            return true;
        }
        match &self.argmax {
            Argmax::Narrow(at) => holds(x, at, self.k_size, self.stride),
            Argmax::Wide(at) => holds(x, at, self.k_size, self.stride),
        }
    }

    /// Fills `output` and `argmax` for `x`.
    ///
    /// Loops over batch and position (no division per output row), each a pass
    /// over the channels that the compiler vectorizes; `pulp` compiles them for
    /// AVX-512 or AVX2 when the CPU has it.
    fn pool(&mut self, x: ArrayView3<'_, F>, out_len: usize) {
        let (batch, length, channels) = x.dim();
        tensor::ensure_shape(&mut self.output, &[batch, out_len, channels]);
        self.argmax_for = [batch, length, channels];
        if channels == 0 {
            // Nothing to pool (and no chunks of 0 elements to loop over).
            return;
        }
        // A copy only if the input is not in standard layout (never in a chain).
        let x = x.as_standard_layout();
        let x = x.as_slice().expect("standard layout is contiguous");
        let y = self.output.as_slice_mut().expect("kept buffers are contiguous");
        let geometry = Geometry { length, channels, out_len, k_size: self.k_size, stride: self.stride };
        let arch = pulp::Arch::new();
        match &mut self.argmax {
            Argmax::Narrow(argmax) => {
                arch.dispatch(Pool { geometry, x, y, argmax: offsets_mut(argmax, geometry, batch) })
            }
            Argmax::Wide(argmax) => {
                arch.dispatch(Pool { geometry, x, y, argmax: offsets_mut(argmax, geometry, batch) })
            }
        }
    }
}

/// The window offsets of the maxima: bytes while k_size ≤ 256 (the forward
/// pass is bound by its stores, and u32 offsets were half of them), u32 beyond.
#[derive(Debug, Clone)]
enum Argmax {
    Narrow(Array3<u8>),
    Wide(Array3<u32>),
}

/// An offset type of [`Argmax`].
trait Offset: Copy + Default + PartialEq {
    /// Offset `t`, which the choice of type guarantees fits.
    fn of(t: usize) -> Self;
}

impl Offset for u8 {
    // Always inlined: a call from the dispatched loops costs a `vzeroupper` each.
    #[inline(always)]
    fn of(t: usize) -> Self {
        u8::try_from(t).expect("k_size <= 256 for byte offsets")
    }
}

impl Offset for u32 {
    #[inline(always)]
    fn of(t: usize) -> Self {
        u32::try_from(t).expect("k_size fits in u32")
    }
}

/// `argmax` shaped (batch, out_len, channels) for `g` and `batch`, as a writable slice.
fn offsets_mut<T: Offset>(argmax: &mut Array3<T>, g: Geometry, batch: usize) -> &mut [T] {
    tensor::ensure_dim(argmax, Ix3(batch, g.out_len, g.channels));
    argmax.as_slice_mut().expect("kept buffers are contiguous")
}

/// The offsets of `argmax`, as `pool` left them.
fn offsets<T: Offset>(argmax: &Array3<T>) -> &[T] {
    argmax.as_slice().expect("kept buffers are contiguous")
}

/// The sizes both passes loop over.
#[derive(Clone, Copy)]
struct Geometry {
    length: usize,
    channels: usize,
    out_len: usize,
    k_size: usize,
    stride: usize,
}

/// The forward pass over a batch as a `pulp` operation: its loops are inlined
/// into code compiled for AVX-512 or AVX2 when the CPU has it (a closure would
/// be called, not inlined, and run on the baseline instruction set).
struct Pool<'a, F, T> {
    geometry: Geometry,
    x: &'a [F],
    y: &'a mut [F],
    argmax: &'a mut [T],
}

impl<F: Float, T: Offset> WithSimd for Pool<'_, F, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Geometry { length, channels, out_len, k_size, stride } = self.geometry;
        let samples = self.x.chunks_exact(length * channels);
        let outputs =
            self.y.chunks_exact_mut(out_len * channels).zip(self.argmax.chunks_exact_mut(out_len * channels));
        for (x, (y, argmax)) in samples.zip(outputs) {
            let windows = y.chunks_exact_mut(channels).zip(argmax.chunks_exact_mut(channels));
            for (j, (best, at)) in windows.enumerate() {
                pool_window(&x[j * stride * channels..][..k_size * channels], k_size, best, at);
            }
        }
    }
}

/// The maximum over the positions of one `window` (`k_size` rows of `best.len()`
/// channels) into `best`, and its position in the window into `at`.
///
/// The first two positions are compared in one pass (no copy first), the
/// others update the result in one pass each: selects, not branches, so every
/// pass vectorizes.
#[inline(always)]
fn pool_window<F: Float, T: Offset>(window: &[F], k_size: usize, best: &mut [F], at: &mut [T]) {
    let channels = best.len();
    // Rows sliced by index, not `chunks_exact`: that divides by `channels` per window.
    let row = |t: usize| &window[t * channels..][..channels];
    if k_size == 1 {
        best.copy_from_slice(window);
        at.fill(T::of(0));
        return;
    }
    let (zero, one) = (T::of(0), T::of(1));
    for (((best, at), &v0), &v1) in best.iter_mut().zip(at.iter_mut()).zip(row(0)).zip(row(1)) {
        let wins = wins(v1, v0);
        *best = if wins { v1 } else { v0 };
        *at = if wins { one } else { zero };
    }
    for t in 2..k_size {
        let offset = T::of(t);
        for ((best, at), &v) in best.iter_mut().zip(at.iter_mut()).zip(row(t)) {
            let wins = wins(v, *best);
            *best = if wins { v } else { *best };
            *at = if wins { offset } else { *at };
        }
    }
}

/// Whether `v` replaces the running maximum `best`: strictly greater keeps the
/// first maximum; a NaN wins (over a number) so that it shows downstream.
#[inline(always)]
fn wins<F: Float>(v: F, best: F) -> bool {
    (v > best) | (v.is_nan() & !best.is_nan())
}

/// The backward pass over a batch as a `pulp` operation (see [`Pool`]): each
/// element of `d` goes to the position `argmax` names, `g` is the rest zero.
struct Route<'a, F, T> {
    geometry: Geometry,
    d: &'a [F],
    argmax: &'a [T],
    g: &'a mut [F],
}

impl<F: Float, T: Offset> WithSimd for Route<'_, F, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Geometry { length, channels, out_len, k_size, stride } = self.geometry;
        let deltas =
            self.d.chunks_exact(out_len * channels).zip(self.argmax.chunks_exact(out_len * channels));
        for (g, (d, argmax)) in self.g.chunks_exact_mut(length * channels).zip(deltas) {
            let windows = d.chunks_exact(channels).zip(argmax.chunks_exact(channels));
            if stride >= k_size {
                // Windows do not overlap: each position is written once, and only
                // the gaps between windows and the tail are zeroed.
                let mut covered = 0;
                for (j, (d, at)) in windows.enumerate() {
                    let start = j * stride;
                    if start > covered {
                        g[covered * channels..start * channels].fill(F::zero());
                    }
                    for t in 0..k_size {
                        let row = &mut g[(start + t) * channels..][..channels];
                        let t = T::of(t);
                        for ((g, &d), &at) in row.iter_mut().zip(d).zip(at) {
                            *g = if at == t { d } else { F::zero() };
                        }
                    }
                    covered = start + k_size;
                }
                g[covered * channels..].fill(F::zero());
            } else {
                // Overlapping windows add up, in window order.
                g.fill(F::zero());
                for (j, (d, at)) in windows.enumerate() {
                    for t in 0..k_size {
                        let row = &mut g[(j * stride + t) * channels..][..channels];
                        let t = T::of(t);
                        for ((g, &d), &at) in row.iter_mut().zip(d).zip(at) {
                            *g += if at == t { d } else { F::zero() };
                        }
                    }
                }
            }
        }
    }
}

impl<F: Float> Module<F> for MaxPool1D<F> {
    /// # Errors
    /// [`ShapeError::Input`] if `input` is not (batch, length, channels) or its length is below `k_size`.
    fn forward(&mut self, input: ArrayViewD<'_, F>) -> Result<&ArrayD<F>, ShapeError> {
        let (_, out_len) = self.check_input(input.shape())?;
        let x = input.into_dimensionality::<Ix3>().expect("checked: rank 3");
        self.pool(x, out_len);
        Ok(&self.output)
    }

    /// No parameters: checks the shapes only.
    ///
    /// # Errors
    /// [`ShapeError::Input`] as for `forward`, [`ShapeError::Delta`] if `delta` is not output-shaped.
    fn backward_update_gradient(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<(), ShapeError> {
        let ([batch, _, channels], out_len) = self.check_input(input.shape())?;
        tensor::check_delta(self, &[batch, out_len, channels], &delta)
    }

    /// Routes each element of `delta` to the input position of its window's maximum;
    /// where windows overlap, contributions add up. Positions no window covers get 0.
    ///
    /// `input` must be the input of the last `forward`, whose maxima are used
    /// (see the type's contract).
    ///
    /// # Errors
    /// [`ShapeError::Input`] as for `forward`, [`ShapeError::Delta`] if `delta` is not output-shaped.
    fn backward_delta(
        &mut self,
        input: ArrayViewD<'_, F>,
        delta: ArrayViewD<'_, F>,
    ) -> Result<&ArrayD<F>, ShapeError> {
        let (dims, out_len) = self.check_input(input.shape())?;
        let [batch, _, channels] = dims;
        tensor::check_delta(self, &[batch, out_len, channels], &delta)?;
        let x = input.into_dimensionality::<Ix3>().expect("checked: rank 3");
        if self.argmax_for != dims {
            self.pool(x, out_len);
        } else {
            debug_assert!(
                self.kept_maxima_hold(x, out_len),
                "{self}: backward_delta with another input than the last forward's (same shape {}): \
                 call forward(input) first (the Module contract)",
                nn_core::Dims(&dims)
            );
        }
        let d = delta.as_standard_layout();
        let d = d.as_slice().expect("standard layout is contiguous");
        tensor::ensure_shape(&mut self.grad_input, &dims);
        let g = self.grad_input.as_slice_mut().expect("kept buffers are contiguous");
        let length = dims[1];
        if channels == 0 {
            return Ok(&self.grad_input);
        }
        let geometry = Geometry { length, channels, out_len, k_size: self.k_size, stride: self.stride };
        let arch = pulp::Arch::new();
        match &self.argmax {
            Argmax::Narrow(argmax) => arch.dispatch(Route { geometry, d, argmax: offsets(argmax), g }),
            Argmax::Wide(argmax) => arch.dispatch(Route { geometry, d, argmax: offsets(argmax), g }),
        }
        Ok(&self.grad_input)
    }

    fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let ([batch, _, channels], out_len) = self.check_input(input_shape)?;
        Ok(vec![batch, out_len, channels])
    }

    fn output(&self) -> &ArrayD<F> {
        &self.output
    }

    fn grad_input(&self) -> &ArrayD<F> {
        &self.grad_input
    }
}

impl<F: Float> fmt::Display for MaxPool1D<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaxPool1D({}, {})", self.k_size, self.stride)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{array, assert_close};
    use nn_core::gradcheck;

    /// (1, 5, 2): channel 0 is 1 3 2 0 9, channel 1 is 4 4 -1 5 5.
    fn two_channels() -> ArrayD<f64> {
        array(&[1, 5, 2], &[1.0, 4.0, 3.0, 4.0, 2.0, -1.0, 0.0, 5.0, 9.0, 5.0])
    }

    #[test]
    fn max_pool1d_routes_by_the_last_forwards_maxima_the_contract() {
        // A copy of the forward's input: the same routing as the input itself.
        let mut pool = MaxPool1D::<f64>::new(2, 2);
        let x = two_channels();
        pool.forward(x.view()).unwrap();
        let delta = array(&[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let copy = x.clone();
        let g = pool.backward_delta(copy.view(), delta.view()).unwrap();
        assert_close(g, &[0.0, 2.0, 1.0, 0.0, 3.0, 0.0, 0.0, 4.0, 0.0, 0.0]);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(
        expected = "backward_delta with another input than the last forward's (same shape (1, 5, 2)): \
                               call forward(input) first (the Module contract)"
    )]
    fn max_pool1d_debug_builds_catch_a_backward_on_another_input() {
        let mut pool = MaxPool1D::<f64>::new(2, 2);
        pool.forward(two_channels().view()).unwrap();
        // Channel 0's first window becomes 3 1: its maximum moves.
        let other = array(&[1, 5, 2], &[3.0, 4.0, 1.0, 4.0, 2.0, -1.0, 0.0, 5.0, 9.0, 5.0]);
        let delta = array(&[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let _ = pool.backward_delta(other.view(), delta.view());
    }

    #[test]
    fn max_pool1d_takes_the_max_per_window_and_channel() {
        let mut pool = MaxPool1D::<f64>::new(2, 2);
        let y = pool.forward(two_channels().view()).unwrap();
        assert_eq!(y.shape(), &[1, 2, 2]);
        assert_close(y, &[3.0, 4.0, 2.0, 5.0]);
    }

    #[test]
    fn max_pool1d_routes_delta_to_the_first_max() {
        let mut pool = MaxPool1D::<f64>::new(2, 2);
        let x = two_channels();
        pool.forward(x.view()).unwrap();
        let delta = array(&[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let g = pool.backward_delta(x.view(), delta.view()).unwrap();
        // Channel 1's first window ties (4, 4): the first gets it. Position 4 is in no window.
        assert_close(g, &[0.0, 2.0, 1.0, 0.0, 3.0, 0.0, 0.0, 4.0, 0.0, 0.0]);
    }

    #[test]
    fn max_pool1d_adds_up_overlapping_windows() {
        let mut pool = MaxPool1D::<f64>::new(3, 1);
        let x = array(&[1, 4, 1], &[0.0, 5.0, 1.0, 2.0]);
        assert_close(pool.forward(x.view()).unwrap(), &[5.0, 5.0]);
        let g = pool.backward_delta(x.view(), array(&[1, 2, 1], &[1.0, 10.0]).view()).unwrap();
        assert_close(g, &[0.0, 11.0, 0.0, 0.0]);
    }

    #[test]
    fn max_pool1d_finds_the_max_again_for_a_new_shape() {
        let mut pool = MaxPool1D::<f64>::new(2, 1);
        pool.forward(array(&[1, 2, 1], &[1.0, 0.0]).view()).unwrap();
        let x = array(&[1, 3, 1], &[0.0, 1.0, 0.5]);
        let g = pool.backward_delta(x.view(), array(&[1, 2, 1], &[1.0, 1.0]).view()).unwrap();
        assert_close(g, &[0.0, 2.0, 0.0]);
    }

    #[test]
    fn max_pool1d_keeps_offsets_past_255_for_wide_windows() {
        // 300 positions, maximum at 299 in channel 0 and at 3 in channel 1.
        let mut values = vec![0.0; 600];
        values[2 * 299] = 5.0;
        values[2 * 3 + 1] = 7.0;
        let x = array(&[1, 300, 2], &values);
        let mut pool = MaxPool1D::<f64>::new(300, 1);
        assert!(matches!(pool.argmax, Argmax::Wide(_)));
        assert_close(pool.forward(x.view()).unwrap(), &[5.0, 7.0]);
        let g = pool.backward_delta(x.view(), array(&[1, 1, 2], &[1.0, 2.0]).view()).unwrap();
        assert_eq!((g[[0, 299, 0]], g[[0, 3, 1]], g.sum()), (1.0, 2.0, 3.0));
        assert!(matches!(MaxPool1D::<f64>::new(256, 1).argmax, Argmax::Narrow(_)));
    }

    #[test]
    fn max_pool1d_propagates_nan() {
        let mut pool = MaxPool1D::<f64>::new(2, 2);
        let y = pool.forward(array(&[1, 2, 1], &[1.0, f64::NAN]).view()).unwrap();
        assert!(y[[0, 0, 0]].is_nan());
    }

    #[test]
    fn max_pool1d_gives_the_report_shape() {
        let pool = MaxPool1D::<f32>::new(2, 2);
        assert_eq!(pool.output_shape(&[8, 62, 32]).unwrap(), [8, 31, 32]);
        assert_eq!(pool.output_shape(&[8, 63, 32]).unwrap(), [8, 31, 32]);
    }

    #[test]
    fn max_pool1d_displays_in_the_report_notation() {
        assert_eq!(MaxPool1D::<f32>::new(2, 2).to_string(), "MaxPool1D(2, 2)");
        assert_eq!(MaxPool1D::<f32>::new(3, 1).to_string(), "MaxPool1D(3, 1)");
    }

    /// Where `pool` keeps its offsets.
    fn argmax_ptr<F: Float>(pool: &MaxPool1D<F>) -> *const u8 {
        match &pool.argmax {
            Argmax::Narrow(argmax) => argmax.as_ptr(),
            Argmax::Wide(argmax) => argmax.as_ptr().cast(),
        }
    }

    #[test]
    fn max_pool1d_reuses_its_buffers() {
        let mut pool = MaxPool1D::<f32>::new(2, 2);
        let x = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 10, 3]));
        let delta = ArrayD::<f32>::ones(ndarray::IxDyn(&[4, 5, 3]));
        let out = pool.forward(x.view()).unwrap().as_ptr();
        let argmax = argmax_ptr(&pool);
        let grad = pool.backward_delta(x.view(), delta.view()).unwrap().as_ptr();
        assert_eq!(pool.forward(x.view()).unwrap().as_ptr(), out);
        assert_eq!(argmax_ptr(&pool), argmax);
        assert_eq!(pool.backward_delta(x.view(), delta.view()).unwrap().as_ptr(), grad);
    }

    #[test]
    fn max_pool1d_gradients_match_finite_differences() {
        // Distinct values, well apart, keep every window away from a tie.
        let mut rng = gradcheck::seeded(11);
        for (k_size, stride, length) in [(2, 2, 9), (3, 1, 7), (2, 3, 8)] {
            let mut pool = MaxPool1D::<f64>::new(k_size, stride);
            let n = 2 * length * 3;
            let mut values: Vec<f64> = (0..n).map(|i| i as f64 * 0.1).collect();
            values.sort_by_cached_key(|_| rand::RngExt::random::<u32>(&mut rng));
            let x = array(&[2, length, 3], &values);
            let report = gradcheck::check(&mut pool, &x, 1e-6).unwrap();
            assert!(report.passes(1e-6), "{report}");
        }
    }

    #[test]
    fn max_pool1d_rejects_a_short_sequence() {
        let err = MaxPool1D::<f32>::new(4, 2).output_shape(&[2, 3, 5]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MaxPool1D(4, 2) expects a length of at least 4 (k_size) but receives length 3"
        );
    }

    #[test]
    fn max_pool1d_rejects_a_matrix() {
        let err = MaxPool1D::<f32>::new(2, 2).output_shape(&[2, 64]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MaxPool1D(2, 2) expects (batch, length, channels) but receives (2, 64); add a channel axis: (2, 64, 1)"
        );
        let err = MaxPool1D::<f32>::new(2, 2).output_shape(&[2, 64, 1, 1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MaxPool1D(2, 2) expects (batch, length, channels) but receives (2, 64, 1, 1)"
        );
    }

    #[test]
    fn max_pool1d_rejects_a_delta_of_the_wrong_shape() {
        let mut pool = MaxPool1D::<f64>::new(2, 2);
        let x = two_channels();
        let delta = array::<f64>(&[1, 3, 2], &[0.0; 6]);
        let err = pool.backward_update_gradient(x.view(), delta.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MaxPool1D(2, 2): delta has shape (1, 3, 2) but the output has shape (1, 2, 2)"
        );
    }

    #[test]
    #[should_panic(expected = "MaxPool1D(2, 0): k_size and stride must be at least 1")]
    fn max_pool1d_panics_on_a_zero_stride() {
        let _ = MaxPool1D::<f32>::new(2, 0);
    }
}
