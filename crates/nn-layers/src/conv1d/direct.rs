//! Conv1D without im2col, for kernels with few weights per output channel.
//!
//! When k_size·chan_in is small (3 in the report's `Conv1D(3, 1, 32)`), the
//! im2col product is a (batch·out_len) × k × chan_out GEMM with a tiny k: it
//! spends its time packing, loading and storing, not multiplying, and the
//! im2col matrix is one more pass over memory. These kernels read the input
//! windows in place and keep a block of output channels in registers: the
//! loops over a block are over fixed-size arrays, which the compiler turns
//! into SIMD registers, inside `pulp`'s dispatch so that they are compiled
//! for AVX-512 or AVX2 when the CPU has it.
//!
//! Layouts: x (batch, length, chan_in), y and delta (batch, out_len,
//! chan_out), all contiguous. Element m of the window of output (b, j) is
//! x[b, j·stride + t, i] with m = t·chan_in + i, the order in which the
//! window lies in memory. The output channels are cut into blocks (see
//! [`blocks`]); for the forward pass the weight is packed block by block,
//! each block as `width` rows of its lanes (see [`pack_weight`]), for the
//! input gradient it is transposed to (width, chan_out) (see [`transpose_weight`]).
//!
//! The compiler vectorizes these loops only in some shapes: loops over the
//! lanes of fixed-size arrays with constant indices, no closures (`array::map`,
//! flattened iterators) in the hot loops. Each kernel was checked in the
//! disassembly; keep to that shape when changing them.

use nn_core::Float;
use pulp::{Simd, WithSimd};

/// Lanes of a wide block of output channels: two 512-bit vectors of f32.
const WIDE: usize = 32;
/// Lanes of a narrow block, for what is left after the wide ones.
const NARROW: usize = 8;
/// Window elements (the bias counting as one more) the weight gradient sums per pass over delta.
const ROWS: usize = 4;

/// The sizes every kernel loops over, all at least 1; the batch is what the slices hold.
#[derive(Debug, Clone, Copy)]
pub(super) struct Geometry {
    pub(super) length: usize,
    pub(super) chan_in: usize,
    pub(super) k_size: usize,
    pub(super) stride: usize,
    pub(super) out_len: usize,
    pub(super) chan_out: usize,
}

impl Geometry {
    /// Weights per output channel: the window's k_size·chan_in elements.
    fn width(&self) -> usize {
        self.k_size * self.chan_in
    }
}

/// The blocks of output channels as (first channel, lanes): wide blocks, then
/// narrow ones, then single channels, covering 0..chan_out in order.
fn blocks(chan_out: usize) -> impl Iterator<Item = (usize, usize)> {
    let wide = chan_out - chan_out % WIDE;
    let narrow = wide + (chan_out - wide) / NARROW * NARROW;
    let wide_blocks = (0..wide).step_by(WIDE).map(|o| (o, WIDE));
    let narrow_blocks = (wide..narrow).step_by(NARROW).map(|o| (o, NARROW));
    wide_blocks.chain(narrow_blocks).chain((narrow..chan_out).map(|o| (o, 1)))
}

/// Packs `weight` (chan_out, chan_in, k_size) for the kernels: the block of
/// `lanes` channels from o holds packed[o·width + m·lanes + l] = weight[o + l, i, t].
pub(super) fn pack_weight<F: Float>(weight: &[F], packed: &mut [F], g: Geometry) {
    let width = g.width();
    for (o, lanes) in blocks(g.chan_out) {
        let block = &mut packed[o * width..][..width * lanes];
        for (l, kernel) in weight[o * width..][..width * lanes].chunks_exact(width).enumerate() {
            for (i, taps) in kernel.chunks_exact(g.k_size).enumerate() {
                for (t, &w) in taps.iter().enumerate() {
                    block[(t * g.chan_in + i) * lanes + l] = w;
                }
            }
        }
    }
}

/// y = bias + the convolution of x with the weight (`packed` by [`pack_weight`]).
pub(super) fn forward<F: Float>(x: &[F], packed: &[F], bias: &[F], y: &mut [F], g: Geometry) {
    pulp::Arch::new().dispatch(Forward { g, x, packed, bias, y });
}

/// grad_weight += the correlation of delta with x, grad_bias += the sums of delta.
pub(super) fn weight_gradient<F: Float>(
    x: &[F],
    delta: &[F],
    grad_weight: &mut [F],
    grad_bias: &mut [F],
    g: Geometry,
) {
    pulp::Arch::new().dispatch(WeightGradient { g, x, delta, grad_weight, grad_bias });
}

/// transposed[m, o] = weight[o, i, t] with m = t·chan_in + i: `weight` is
/// (chan_out, chan_in, k_size), `transposed` (k_size·chan_in, chan_out).
pub(super) fn transpose_weight<F: Float>(weight: &[F], transposed: &mut [F], g: Geometry) {
    for (o, kernel) in weight.chunks_exact(g.width()).enumerate() {
        for (i, taps) in kernel.chunks_exact(g.k_size).enumerate() {
            for (t, &w) in taps.iter().enumerate() {
                transposed[(t * g.chan_in + i) * g.chan_out + o] = w;
            }
        }
    }
}

/// grad_input = Σ over windows of delta·weight, added back where each window
/// was read (`transposed` by [`transpose_weight`]); positions no window covers get 0.
pub(super) fn input_gradient<F: Float>(delta: &[F], transposed: &[F], grad_input: &mut [F], g: Geometry) {
    grad_input.fill(F::zero());
    pulp::Arch::new().dispatch(InputGradient { g, delta, transposed, grad_input });
}

/// The forward pass as a `pulp` operation. (A closure would be called from
/// the dispatched code, not inlined into it, and so run on the baseline
/// instruction set: each kernel is a struct whose `with_simd` is inlined.)
struct Forward<'a, F> {
    g: Geometry,
    x: &'a [F],
    packed: &'a [F],
    bias: &'a [F],
    y: &'a mut [F],
}

impl<F: Float> WithSimd for Forward<'_, F> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Self { g, x, packed, bias, y } = self;
        for (o, lanes) in blocks(g.chan_out) {
            match lanes {
                WIDE => forward_block::<F, WIDE>(x, packed, bias, y, o, g),
                NARROW => forward_block::<F, NARROW>(x, packed, bias, y, o, g),
                _ => forward_block::<F, 1>(x, packed, bias, y, o, g),
            }
        }
    }
}

/// The forward pass for the L output channels from o: per output row, the
/// bias plus each window element times its row of weights, in registers.
#[inline(always)]
fn forward_block<F: Float, const L: usize>(
    x: &[F],
    packed: &[F],
    bias: &[F],
    y: &mut [F],
    o: usize,
    g: Geometry,
) {
    let width = g.width();
    let (weights, _) = packed[o * width..][..width * L].as_chunks::<L>();
    let bias: [F; L] = *bias[o..].first_chunk().expect("the block lies in the bias");
    let samples = x.chunks_exact(g.length * g.chan_in).zip(y.chunks_exact_mut(g.out_len * g.chan_out));
    for (x, y) in samples {
        // Nested loops, not a flattened iterator: its `next` would not be inlined.
        for (window, y) in x.windows(width).step_by(g.stride * g.chan_in).zip(y.chunks_exact_mut(g.chan_out))
        {
            let mut sums = bias;
            for (&v, weights) in window.iter().zip(weights) {
                for (sum, &w) in sums.iter_mut().zip(weights) {
                    *sum = v.mul_add(w, *sum);
                }
            }
            *y[o..].first_chunk_mut().expect("the block lies in the row") = sums;
        }
    }
}

/// The weight and bias gradients as a `pulp` operation (see [`Forward`]).
struct WeightGradient<'a, F> {
    g: Geometry,
    x: &'a [F],
    delta: &'a [F],
    grad_weight: &'a mut [F],
    grad_bias: &'a mut [F],
}

impl<F: Float> WithSimd for WeightGradient<'_, F> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Self { g, x, delta, grad_weight, grad_bias } = self;
        // The bias is window element `width`, whose input is always 1.
        for first in (0..=g.width()).step_by(ROWS) {
            for (o, lanes) in blocks(g.chan_out) {
                match lanes {
                    WIDE => {
                        let sums = correlate::<F, WIDE>(x, delta, o, first, g);
                        add_sums(&sums, o, first, grad_weight, grad_bias, g);
                    }
                    NARROW => {
                        let sums = correlate::<F, NARROW>(x, delta, o, first, g);
                        add_sums(&sums, o, first, grad_weight, grad_bias, g);
                    }
                    _ => {
                        let sums = correlate::<F, 1>(x, delta, o, first, g);
                        add_sums(&sums, o, first, grad_weight, grad_bias, g);
                    }
                }
            }
        }
    }
}

/// sums[q][l] = Σ over all output rows of delta[·, o + l] · (element first + q
/// of the row's window), where element `width` is the bias (1) and later ones
/// are padding (0). The ROWS × L sums stay in registers for the whole pass.
#[inline(always)]
fn correlate<F: Float, const L: usize>(
    x: &[F],
    delta: &[F],
    o: usize,
    first: usize,
    g: Geometry,
) -> [[F; L]; ROWS] {
    let width = g.width();
    // Element m of a window is window[m]·1 + 0 for m < width, the bias is
    // window[·]·0 + 1, padding window[·]·0 + 0: the same code for all, no branch per row.
    let mut index = [0; ROWS];
    let mut scale = [F::zero(); ROWS];
    let mut offset = [F::zero(); ROWS];
    for q in 0..ROWS {
        let m = first + q;
        index[q] = m.min(width - 1);
        scale[q] = if m < width { F::one() } else { F::zero() };
        offset[q] = if m == width { F::one() } else { F::zero() };
    }
    let mut sums = [[F::zero(); L]; ROWS];
    let samples = x.chunks_exact(g.length * g.chan_in).zip(delta.chunks_exact(g.out_len * g.chan_out));
    for (x, delta) in samples {
        for (window, delta) in
            x.windows(width).step_by(g.stride * g.chan_in).zip(delta.chunks_exact(g.chan_out))
        {
            let d: &[F; L] = delta[o..].first_chunk().expect("the block lies in the row");
            for (q, sums) in sums.iter_mut().enumerate() {
                let v = window[index[q]].mul_add(scale[q], offset[q]);
                for (sum, &d) in sums.iter_mut().zip(d) {
                    *sum = d.mul_add(v, *sum);
                }
            }
        }
    }
    sums
}

/// Adds the sums of [`correlate`] to the gradients: element m = t·chan_in + i
/// to grad_weight[o + l, i, t], the bias element to grad_bias[o + l].
#[inline(always)]
fn add_sums<F: Float, const L: usize>(
    sums: &[[F; L]; ROWS],
    o: usize,
    first: usize,
    grad_weight: &mut [F],
    grad_bias: &mut [F],
    g: Geometry,
) {
    let width = g.width();
    for (q, sums) in sums.iter().enumerate() {
        let m = first + q;
        if m < width {
            let (t, i) = (m / g.chan_in, m % g.chan_in);
            for (l, &sum) in sums.iter().enumerate() {
                grad_weight[(o + l) * width + i * g.k_size + t] += sum;
            }
        } else if m == width {
            for (grad, &sum) in grad_bias[o..o + L].iter_mut().zip(sums) {
                *grad += sum;
            }
        }
    }
}

/// The input gradient as a `pulp` operation (see [`Forward`]).
struct InputGradient<'a, F> {
    g: Geometry,
    delta: &'a [F],
    transposed: &'a [F],
    grad_input: &'a mut [F],
}

impl<F: Float> WithSimd for InputGradient<'_, F> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Self { g, delta, transposed, grad_input } = self;
        let (width, chan_out) = (g.width(), g.chan_out);
        let samples =
            grad_input.chunks_exact_mut(g.length * g.chan_in).zip(delta.chunks_exact(g.out_len * chan_out));
        for (grad, delta) in samples {
            for (j, d) in delta.chunks_exact(chan_out).enumerate() {
                let window = &mut grad[j * g.stride * g.chan_in..][..width];
                for (grad, w) in window.iter_mut().zip(transposed.chunks_exact(chan_out)) {
                    *grad += dot(d, w);
                }
            }
        }
    }
}

/// Σ a[o]·b[o] in 16 partial sums, added up at the end in a fixed tree: it
/// vectorizes, and rounds alike every time.
#[inline(always)]
fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    let (a_blocks, a_tail) = a.as_chunks::<16>();
    let (b_blocks, b_tail) = b.as_chunks::<16>();
    let mut lanes = [F::zero(); 16];
    for (a, b) in a_blocks.iter().zip(b_blocks) {
        for l in 0..16 {
            lanes[l] = a[l].mul_add(b[l], lanes[l]);
        }
    }
    let mut tail = F::zero();
    for (&a, &b) in a_tail.iter().zip(b_tail) {
        tail = a.mul_add(b, tail);
    }
    // Straight-line pairwise sums: a loop here keeps the lanes in memory, unvectorized.
    let e = [
        lanes[0] + lanes[8],
        lanes[1] + lanes[9],
        lanes[2] + lanes[10],
        lanes[3] + lanes[11],
        lanes[4] + lanes[12],
        lanes[5] + lanes[13],
        lanes[6] + lanes[14],
        lanes[7] + lanes[15],
    ];
    let f = [e[0] + e[4], e[1] + e[5], e[2] + e[6], e[3] + e[7]];
    ((f[0] + f[2]) + (f[1] + f[3])) + tail
}
