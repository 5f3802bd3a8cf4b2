//! Matrix products for the layers: c ← α·a·b + β·c, written into `c` without allocating.
//!
//! Every layer's product goes through [`matmul_into`], so layers do not care
//! how it is computed. For `f32` it is this module's own kernel: matrixmultiply
//! and the `gemm` crate both allocate a packing buffer on every call, which a
//! training step must not do. The kernel keeps its packing buffers in
//! thread-local vectors that only grow, so once warm a product allocates
//! nothing. `f64` (used by gradient checks) goes to ndarray's `general_mat_mul`.
//!
//! The kernel is the classic register-blocked one: an 8-row × 2-vector tile of
//! `c` lives in registers while k runs; the rows of `a` are broadcast, the rows
//! of `b` are loaded as vectors. Operands are read in place when their layout
//! allows (rows of `b` contiguous; rows or columns of `a` contiguous), and
//! packed otherwise; packing a transposed operand (a weight read as Wᵀ)
//! transposes 8 × 8 blocks in AVX registers. SIMD goes through `pulp`, which
//! picks AVX-512, AVX2 or scalar code at run time and whose intrinsics are
//! safe to call: this module has no `unsafe`.
//!
//! Called from a thread of a rayon pool with more than one thread (as
//! `pool.install(|| train(...))` does), a large product is split into blocks
//! of c computed on the pool's threads (bands of columns for a batch of
//! activations, see `bands`); elsewhere it runs on the calling thread.
//! Either way every element of c is summed in the same order, so results do
//! not depend on the number of threads.

use std::cell::RefCell;
use std::ops::Range;

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2};
use pulp::{Simd, WithSimd};

use crate::Float;

mod bands;
mod pack;
mod thin;
mod tile;
mod transpose;

use pack::{Packing, pack_b};
use tile::{Prefetcher, row_columns, scale, store, strided_columns, tile, tile_packed};

/// Rows of `c` in a register tile.
const MR: usize = 8;
/// SIMD vectors across a register tile (its width is `NV` × the vector length).
const NV: usize = 2;
/// Most of the k axis one pass over `c` covers (the rest is added by the next pass).
const KC: usize = 256;

/// The element types [`matmul_into`] multiplies: `f32` and `f64`.
///
/// Implemented by nn-core for its two [`Float`] types; it is a supertrait of
/// [`Float`] so that generic layers can multiply.
pub trait Gemm: Sized {
    /// c ← α·a·b + β·c; shapes already checked by [`matmul_into`].
    fn gemm(
        alpha: Self,
        a: &ArrayView2<'_, Self>,
        b: &ArrayView2<'_, Self>,
        beta: Self,
        c: &mut ArrayViewMut2<'_, Self>,
    );

    /// Whether [`matmul_into`] with this `k`, β = 1 and operands contiguous
    /// in memory with non-negative strides rounds each element of c as
    /// c + fl(α·s), where s is the sum over k that the same product with
    /// α = 1 and β = 0 stores. A gradient-descent step taken inside the
    /// product (α = −lr, c the weight) then equals, bit for bit, storing the
    /// gradient first and subtracting lr times it.
    ///
    /// True for `f32` when k fits in one pass over c (k ≤ 256); false for
    /// `f64`, whose products (ndarray's `general_mat_mul`) make no such promise.
    fn sums_in_one_pass(k: usize) -> bool;
}

/// c ← α·a·b + β·c, with a (m, k), b (k, n) and c (m, n), in any memory layout
/// (pass `x.t()` for a transpose). With β = 0 the old contents of `c` are not
/// read, so they may be anything, NaN included.
///
/// Allocates nothing for `f32` once the thread's packing buffers have grown
/// to the sizes in use, as long as every operand is contiguous in memory (in
/// row- or column-major order) with non-negative strides; other views are
/// handed to ndarray's `general_mat_mul`, which allocates.
///
/// Inside a rayon pool of several threads, products of 4 M multiply-adds or
/// more are split over the pool's threads (see the module documentation);
/// the result is bit-for-bit the same.
///
/// # Panics
/// If the shapes do not chain: a bug in the calling layer, which checks its
/// inputs first. The message names the three shapes.
pub fn matmul_into<F: Float>(
    alpha: F,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    beta: F,
    c: &mut ArrayViewMut2<'_, F>,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && c.dim() == (m, n),
        "matmul_into: a is {:?}, b is {:?} and c is {:?}; expected a (m, k), b (k, n), c (m, n)",
        a.dim(),
        b.dim(),
        c.dim()
    );
    F::gemm(alpha, a, b, beta, c);
}

/// c ← a·b + bias, the bias (n) added to every row of c (m, n), with a
/// (m, k) and b (k, n) in any memory layout: a layer's forward product,
/// such as x·Wᵀ + b. c is filled with the bias, then the product is added
/// to it ([`matmul_into`] with α = 1 and β = 1), so the old contents of `c`
/// are not read and no temporary is needed.
///
/// Allocates, and shares its work with a rayon pool, as [`matmul_into`] does.
///
/// # Panics
/// If the shapes do not chain or the bias is not n long: a bug in the
/// calling layer, which checks its inputs first. The message names the shapes.
pub fn matmul_bias_into<F: Float>(
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    bias: &ArrayView1<'_, F>,
    c: &mut ArrayViewMut2<'_, F>,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && c.dim() == (m, n) && bias.len() == n,
        "matmul_bias_into: a is {:?}, b is {:?}, bias is {:?} and c is {:?}; expected a (m, k), b (k, n), bias (n), c (m, n)",
        a.dim(),
        b.dim(),
        bias.dim(),
        c.dim()
    );
    c.assign(bias);
    F::gemm(F::one(), a, b, F::one(), c);
}

impl Gemm for f64 {
    fn gemm(
        alpha: f64,
        a: &ArrayView2<'_, f64>,
        b: &ArrayView2<'_, f64>,
        beta: f64,
        c: &mut ArrayViewMut2<'_, f64>,
    ) {
        general_mat_mul(alpha, a, b, beta, c);
    }

    fn sums_in_one_pass(_k: usize) -> bool {
        false
    }
}

impl Gemm for f32 {
    fn gemm(
        alpha: f32,
        a: &ArrayView2<'_, f32>,
        b: &ArrayView2<'_, f32>,
        beta: f32,
        c: &mut ArrayViewMut2<'_, f32>,
    ) {
        let (m, k) = a.dim();
        let n = b.ncols();
        let (Some(a_mat), Some(b_mat)) = (Mat::of(a), Mat::of(b)) else {
            return general_mat_mul(alpha, a, b, beta, c);
        };
        let (rs, cs) = (stride(c.strides()[0], m), stride(c.strides()[1], n));
        let (Some(rs), Some(cs), Some(data)) = (rs, cs, c.as_slice_memory_order_mut()) else {
            return general_mat_mul(alpha, a, b, beta, c);
        };
        let p = Product { m, k, n, alpha, a: a_mat, b: b_mat, beta, c: MatMut { data, rs, cs } }.oriented();
        let threads = pool_threads(p.m.next_multiple_of(MR) * p.n.next_multiple_of(32) * k);
        product(Kernel::Best, p, threads);
    }

    /// One pass holds each tile's whole sum in registers; its store then
    /// computes fl(α·s) and adds c (see `tile::store`), as a separate
    /// gradient-descent step computes w − fl(lr·g).
    fn sums_in_one_pass(k: usize) -> bool {
        k <= KC
    }
}

/// Multiply-adds of the register tiles (m·n·k with m and n rounded up to
/// whole tiles, as computed) from which a product is shared with the pool's
/// other threads. Measured on 2 cores: W4's products (50 M and more) run
/// 1.6 times as fast on 2 threads, while W2's 32 × 992 × 100 (3.3 M in
/// tiles) runs slower shared than alone, its halves too short to pay for
/// the hand-over. W4's thin products with the 10-row weight (2.6 M, 4.2 M in
/// tiles) are shared: their padded tiles make them as slow as larger ones.
const SPLIT_MIN: usize = 1 << 22;

/// Panels (of MR rows or 32 columns) below which a shared product's tiles
/// are not split into further pieces for the pool's threads to take.
const SHARE_GRAIN: usize = 4;

/// Runs `first` and `second`, two independent products of `work`
/// multiply-adds each (the smaller of the two), side by side on the rayon
/// pool the calling thread works in when each is large enough to be shared
/// on its own (see [`matmul_into`]); else one after the other on the
/// calling thread. A layer's weight gradient and input gradient are such a
/// pair. Each product still splits as [`matmul_into`] says, so a thread that
/// finishes its own takes pieces of the other; results are the same either
/// way.
///
/// Measured on 2 cores in alternating runs: W4 on 2 threads (pairs of 268 M
/// multiply-adds) was faster with its pairs side by side than one after the
/// other, each shared, in 3 of 4 and 5 of 8 rounds (the host's noise hides by
/// how much); W2's pairs (3 M) ran no faster side by side, the wake-up of the
/// other thread costing what the overlap saves, hence the threshold.
pub fn pair<A: Send, B: Send>(
    work: usize,
    first: impl FnOnce() -> A + Send,
    second: impl FnOnce() -> B + Send,
) -> (A, B) {
    if pool_threads(work) >= 2 { rayon::join(first, second) } else { (first(), second()) }
}

/// The threads a product of `work` multiply-adds runs on: those of the rayon
/// pool the calling thread works in, if it is large enough to share; else 1.
/// A thread outside any pool (such as `main`) keeps its products: handing
/// work to a pool from outside allocates.
fn pool_threads(work: usize) -> usize {
    if work >= SPLIT_MIN && rayon::current_thread_index().is_some() {
        rayon::current_num_threads()
    } else {
        1
    }
}

/// Whether an operand of `rows` × `cols`, multiplied with `other` columns or
/// rows of the other side, is packed even when its layout could be read in
/// place: rows thousands of floats apart defeat the caches (4 KiB strides
/// alias in L1), and packing costs only 1/`other` of the product once
/// `other` is 128 or more.
fn large(rows: usize, cols: usize, other: usize) -> bool {
    other >= 128 && rows * cols >= 32 * 1024
}

/// A rough cost, in cycles, of c (m, n) ← a (m, k)·b (k, n) on this kernel:
/// the register tiles (padded to MR rows × 32 columns, 32 multiply-adds a
/// cycle), the packing of operands not read in place (2 values a cycle), and
/// the stores of a c whose rows are not contiguous (`c_rows_contiguous`
/// false: one value a cycle). It only has to rank c against cᵀ.
fn cost(m: usize, k: usize, n: usize, a: Mat<'_>, b: Mat<'_>, c_rows_contiguous: bool) -> usize {
    let tiles = m.next_multiple_of(MR) * n.next_multiple_of(32) * k / 32;
    let b_packed = if b.cs == 1 && !large(k, n, m) { 0 } else { k * n };
    let a_packed = if (a.rs == 1 || a.cs == 1) && !large(m, k, n) { 0 } else { m * k };
    let c_stored = if c_rows_contiguous { 0 } else { m * n };
    tiles + (b_packed + a_packed) / 2 + c_stored
}

/// A stride as an unsigned step, if it is non-negative (any stride of an axis
/// of length ≤ 1 is never used, so it counts as 0).
fn stride(s: isize, len: usize) -> Option<usize> {
    if len <= 1 { Some(0) } else { usize::try_from(s).ok() }
}

/// A matrix read in place: element (i, j) is `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl<'a> Mat<'a> {
    /// The view's memory as a slice with its strides, if it is contiguous with non-negative strides.
    fn of(view: &ArrayView2<'a, f32>) -> Option<Self> {
        let (rows, cols) = view.dim();
        let rs = stride(view.strides()[0], rows)?;
        let cs = stride(view.strides()[1], cols)?;
        let data = view.to_slice_memory_order()?;
        Some(Self { data, rs, cs })
    }

    /// The same memory read as the transpose.
    fn transposed(self) -> Self {
        Self { rs: self.cs, cs: self.rs, ..self }
    }
}

/// The output matrix: element (i, j) is `data[i·rs + j·cs]`.
struct MatMut<'a> {
    data: &'a mut [f32],
    rs: usize,
    cs: usize,
}

/// One call's arguments.
struct Product<'a, 'c> {
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: Mat<'a>,
    b: Mat<'a>,
    beta: f32,
    c: MatMut<'c>,
}

impl Product<'_, '_> {
    /// The product as given, or as cᵀ = bᵀ·aᵀ if that costs less (see
    /// [`cost`]): a thin c, such as a Conv1D weight gradient (32, 3), wastes
    /// less of its tiles transposed, and a layer's forward product x·Wᵀ packs
    /// the small x rather than the whole weight when computed as (W·xᵀ)ᵀ.
    /// Each element of c is summed in the same order either way.
    fn oriented(self) -> Self {
        let Product { m, k, n, alpha, a, b, beta, c } = self;
        let (a_t, b_t) = (b.transposed(), a.transposed());
        if cost(n, k, m, a_t, b_t, c.rs == 1 || m <= 1) < cost(m, k, n, a, b, c.cs == 1 || n <= 1) {
            let c = MatMut { data: c.data, rs: c.cs, cs: c.rs };
            Product { m: n, k, n: m, alpha, a: a_t, b: b_t, beta, c }
        } else {
            Product { m, k, n, alpha, a, b, beta, c }
        }
    }
}

/// Which instruction set to run: the best the CPU has, or a given one (tests run each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Best,
    #[cfg(test)]
    Scalar,
    #[cfg(all(test, any(target_arch = "x86", target_arch = "x86_64")))]
    Avx2,
}

thread_local! {
    /// Packed panels of `a` and of `b`; they only grow, so a warm thread allocates nothing.
    static PACKED: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `p` with the calling thread's packing buffers on `kernel`'s
/// instruction set, sharing the packing and the tiles with the pool when
/// `threads` > 1.
fn product(kernel: Kernel, p: Product<'_, '_>, threads: usize) {
    PACKED.with(|packed| {
        let mut packed = packed.borrow_mut();
        let (a_pack, b_pack) = &mut *packed;
        let op = Blocked { p, a_pack, b_pack, threads };
        match kernel {
            Kernel::Best => pulp::Arch::new().dispatch(op),
            #[cfg(test)]
            Kernel::Scalar => Simd::vectorize(pulp::Scalar::new(), op),
            #[cfg(all(test, any(target_arch = "x86", target_arch = "x86_64")))]
            Kernel::Avx2 => match pulp::x86::V3::try_new() {
                Some(simd) => Simd::vectorize(simd, op),
                None => Simd::vectorize(pulp::Scalar::new(), op),
            },
        }
    });
}

/// The blocked product, generic over the SIMD instruction set.
struct Blocked<'a, 'c, 'w> {
    p: Product<'a, 'c>,
    a_pack: &'w mut Vec<f32>,
    b_pack: &'w mut Vec<f32>,
    threads: usize,
}

/// Makes `buffer` at least `len` long (it never shrinks).
fn grow(buffer: &mut Vec<f32>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
}

impl WithSimd for Blocked<'_, '_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Blocked { p, a_pack, b_pack, threads } = self;
        let Product { m, k, n, alpha, a, b, beta, mut c } = p;
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            return scale(m, n, beta, &mut c);
        }
        let nr = NV * S::F32_LANES;
        let (m_panels, n_panels) = (m.div_ceil(MR), n.div_ceil(nr));
        // Equal passes over k: 784 = 4 × 196 rather than 3 × 256 + 16. Also
        // for a c one panel wide, such as (W·xᵀ)ᵀ at batch 32, whose passes
        // each load and store c again: its b panel then stays in L1 (9 % faster
        // at 32 × 992 × 100 than in one pass reading it from L2).
        let passes = k.div_ceil(KC);
        let kc_max = k.div_ceil(passes);
        if threads < 2 && thin::fit(m, n, b, &c) {
            return thin::run(simd, (m, k, n), alpha, a, b, beta, &mut c, kc_max);
        }
        // On one thread, each b panel is packed just before its tiles, into
        // one panel's buffer that stays in L1: writing the whole packed b
        // first and reading it back from L2 made the packing take 1.5 to 2
        // times as long. So do threads sharing a product by bands of
        // columns (`bands`). Threads sharing it by rows pack b up front
        // instead, half each, since each thread's tiles need all of b's panels.
        let by_bands = threads >= 2 && bands::fit(m, n_panels, &c);
        let b_by_panel = threads < 2 || by_bands;
        let b_panels_packed = if b_by_panel { 1 } else { n_panels };
        grow(a_pack, m_panels * MR * kc_max);
        grow(b_pack, b_panels_packed * nr * kc_max);
        // b is read in place when its rows are contiguous; so is a when its
        // rows or its columns are. Partial tiles at the edges are packed, and
        // so are `large` operands.
        let b_in_place = b.cs == 1 && !large(k, n, m);
        let a_in_place = !large(m, k, n);
        let a_by_columns = a_in_place && a.rs == 1;
        let a_by_rows = a_in_place && !a_by_columns && a.cs == 1;
        let mut p0 = 0;
        while p0 < k {
            let kc = kc_max.min(k - p0);
            let packing = Packing {
                a,
                b,
                m,
                n,
                p0,
                kc,
                nr,
                b_in_place,
                a_in_place: a_by_columns || a_by_rows,
                b_up_front: !b_by_panel,
            };
            let (a_pack, b_pack) =
                (&mut a_pack[..m_panels * MR * kc], &mut b_pack[..b_panels_packed * nr * kc]);
            packing.run(simd, a_pack, b_pack, threads);
            let (b_pack, b_panel_buffer) =
                if b_by_panel { (&[][..], Some(b_pack)) } else { (&b_pack[..], None) };
            let shared = Shared {
                a,
                b,
                a_pack,
                b_pack,
                m,
                n,
                p0,
                kc,
                alpha,
                beta: if p0 == 0 { beta } else { 1.0 },
                b_in_place,
                a_by_columns,
                a_by_rows,
            };
            if by_bands {
                bands::run(simd, &shared, c.reborrow(), n_panels, threads);
            } else {
                let panels = (0..m_panels, 0..n_panels);
                Block { shared: &shared, c: c.reborrow(), panels, threads, b_panel_buffer }.with_simd(simd);
            }
            p0 += kc;
        }
    }
}

impl MatMut<'_> {
    fn reborrow(&mut self) -> MatMut<'_> {
        MatMut { data: self.data, rs: self.rs, cs: self.cs }
    }
}

/// What every tile of one pass reads.
struct Shared<'a> {
    a: Mat<'a>,
    b: Mat<'a>,
    a_pack: &'a [f32],
    b_pack: &'a [f32],
    m: usize,
    n: usize,
    p0: usize,
    kc: usize,
    alpha: f32,
    beta: f32,
    b_in_place: bool,
    a_by_columns: bool,
    a_by_rows: bool,
}

/// The tiles of one pass in the row panels `panels.0` and column panels
/// `panels.1`; `c` starts at the block's first element. With a
/// `b_panel_buffer` (one thread), the b panels not read in place are packed
/// into it one at a time; without, they are in `shared.b_pack` already.
struct Block<'s, 'a, 'c, 'w> {
    shared: &'s Shared<'a>,
    c: MatMut<'c>,
    panels: (Range<usize>, Range<usize>),
    threads: usize,
    b_panel_buffer: Option<&'w mut [f32]>,
}

impl WithSimd for Block<'_, '_, '_, '_> {
    type Output = ();

    /// Computes the block's tiles; with `threads` > 1 and more than one
    /// panel along c's outer axis (the one whose halves are contiguous parts
    /// of c's slice), in halves that the pool's threads take, each split
    /// again while it has 2·SHARE_GRAIN panels or more.
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Block { shared, c, panels: (rows, cols), threads, mut b_panel_buffer } = self;
        let nr = NV * S::F32_LANES;
        let MatMut { data, rs, cs } = c;
        let halves = if threads < 2 {
            None
        } else if rs >= cs && rows.len() >= 2 {
            let mid = rows.start + rows.len() / 2;
            Some((
                (rows.start..mid, cols.clone()),
                (mid..rows.end, cols.clone()),
                (mid - rows.start) * MR * rs,
                mid - rows.start,
            ))
        } else if cs > rs && cols.len() >= 2 {
            let mid = cols.start + cols.len() / 2;
            Some((
                (rows.clone(), cols.start..mid),
                (rows.clone(), mid..cols.end),
                (mid - cols.start) * nr * cs,
                mid - cols.start,
            ))
        } else {
            None
        };
        if let Some((first, second, at, half)) = halves {
            let (first_c, second_c) = data.split_at_mut(at);
            // Halves split again down to SHARE_GRAIN panels, so that a thread
            // that finishes first takes pieces of the other's half: the two
            // vCPUs of a shared host are seldom equally fast.
            let threads = if half >= 2 * SHARE_GRAIN { threads } else { 1 };
            let piece = |data, panels| Block {
                shared,
                c: MatMut { data, rs, cs },
                panels,
                threads,
                b_panel_buffer: None,
            };
            rayon::join(|| simd.vectorize(piece(first_c, first)), || simd.vectorize(piece(second_c, second)));
            return;
        }
        let mut c = MatMut { data, rs, cs };
        let Shared { m, n, alpha, beta, .. } = *shared;
        let (i_origin, j_origin) = (rows.start * MR, cols.start * nr);
        let prefetcher = Prefetcher::new();
        for jp in cols {
            let j = jp * nr;
            let columns = nr.min(n - j);
            let (b_panel, b_step) = shared.b_panel(jp, nr, b_panel_buffer.as_deref_mut());
            for ip in rows.clone() {
                let i = ip * MR;
                let height = MR.min(m - i);
                if c.cs == 1 {
                    // The tile's rows of c, wanted by its store at the end:
                    // fetched while k runs, rather than missed at the store.
                    for r in 0..height {
                        let row = &c.data[(i - i_origin + r) * c.rs + (j - j_origin)..][..columns];
                        prefetcher.row(row);
                    }
                }
                let tile = shared.tile(simd, ip, b_panel, b_step);
                store(simd, &tile, alpha, beta, &mut c, (i - i_origin, height), (j - j_origin, columns));
            }
        }
    }
}

impl Shared<'_> {
    /// Column panel `jp` of b (`nr` columns) for this pass, with the
    /// distance between its rows: read in place if it can be, else packed
    /// into `buffer` if one is given, else already packed in `b_pack`.
    #[inline(always)]
    fn b_panel<'p>(&'p self, jp: usize, nr: usize, buffer: Option<&'p mut [f32]>) -> (&'p [f32], usize) {
        let Shared { b, b_pack, n, p0, kc, b_in_place, .. } = *self;
        let (j, columns) = (jp * nr, nr.min(n - jp * nr));
        if b_in_place && columns == nr {
            (&b.data[p0 * b.rs + j..], b.rs)
        } else if let Some(buffer) = buffer {
            pack_b(buffer, b, p0, kc, j, columns, nr);
            (buffer, nr)
        } else {
            (&b_pack[jp * nr * kc..][..nr * kc], nr)
        }
    }

    /// The tile of row panel `ip` of c against a b panel whose rows are
    /// `b_step` apart, reading `a` in place or packed as this pass says.
    #[inline(always)]
    fn tile<S: Simd>(&self, simd: S, ip: usize, b_panel: &[f32], b_step: usize) -> [[S::f32s; NV]; MR] {
        let Shared { a, a_pack, m, p0, kc, a_by_columns, a_by_rows, .. } = *self;
        let nr = NV * S::F32_LANES;
        let i = ip * MR;
        let whole = MR.min(m - i) == MR;
        if whole && a_by_columns {
            tile(simd, strided_columns(&a.data[i + p0 * a.cs..], a.cs, kc), b_panel, b_step)
        } else if whole && a_by_rows {
            let row = |r: usize| &a.data[(i + r) * a.rs + p0..][..kc];
            let a_rows = [row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)];
            tile(simd, row_columns(&a_rows, kc), b_panel, b_step)
        } else if b_step == nr {
            tile_packed(simd, &a_pack[ip * MR * kc..][..MR * kc], &b_panel[..nr * kc])
        } else {
            let packed = strided_columns(&a_pack[ip * MR * kc..][..MR * kc], MR, kc);
            tile(simd, packed, b_panel, b_step)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder, s};

    /// A deterministic matrix with values in [-1, 1), in row- (`f = false`) or column-major order.
    fn matrix(rows: usize, cols: usize, seed: u32, f: bool) -> Array2<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12_345);
        let mut next = move |_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 2000) as f32 / 1000.0 - 1.0
        };
        if f {
            Array2::from_shape_fn((rows, cols).f(), &mut next)
        } else {
            Array2::from_shape_fn((rows, cols), next)
        }
    }

    /// α·a·b + β·c in f64, the reference.
    fn reference(alpha: f32, a: &Array2<f32>, b: &Array2<f32>, beta: f32, c: &Array2<f32>) -> Array2<f64> {
        let (a, b, c) = (a.mapv(f64::from), b.mapv(f64::from), c.mapv(f64::from));
        a.dot(&b) * f64::from(alpha) + c * f64::from(beta)
    }

    fn check(
        kernel: Kernel,
        (m, k, n): (usize, usize, usize),
        layouts: (bool, bool, bool),
        alpha: f32,
        beta: f32,
    ) {
        let a = matrix(m, k, 1, layouts.0);
        let b = matrix(k, n, 2, layouts.1);
        let mut c = matrix(m, n, 3, layouts.2);
        let expected = reference(alpha, &a, &b, beta, &c);
        let (a_mat, b_mat) = (Mat::of(&a.view()).unwrap(), Mat::of(&b.view()).unwrap());
        let mut c_view = c.view_mut();
        let (rs, cs) = (stride(c_view.strides()[0], m).unwrap(), stride(c_view.strides()[1], n).unwrap());
        let c_mat = MatMut { data: c_view.as_slice_memory_order_mut().unwrap(), rs, cs };
        product(kernel, Product { m, k, n, alpha, a: a_mat, b: b_mat, beta, c: c_mat }, 1);
        let tolerance = 1e-5 * (k as f64 + 1.0);
        for ((i, j), &e) in expected.indexed_iter() {
            let found = f64::from(c[[i, j]]);
            assert!(
                (found - e).abs() <= tolerance,
                "{kernel:?} {m}×{k}×{n} layouts {layouts:?}: c[{i}, {j}] = {found}, expected {e}"
            );
        }
    }

    #[test]
    fn matmul_matches_f64_on_every_kernel_shape_and_layout() {
        let kernels = [
            Kernel::Best,
            Kernel::Scalar,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Kernel::Avx2,
        ];
        let shapes = [
            (1, 1, 1),
            (3, 5, 7),
            (8, 4, 32),
            (9, 3, 33),
            (32, 64, 100),
            (17, 300, 70),
            (40, 520, 9),
            (40, 1000, 130),
        ];
        // k = 1 (a batch of one row, seen from a weight gradient): the
        // strides of the length-1 axes are 0.
        let shapes: Vec<_> =
            shapes.into_iter().chain([(8, 1, 32), (16, 1, 64), (24, 1, 8), (8, 1, 1), (1, 8, 8)]).collect();
        // A few rows of c and long rows of b (the `thin` path when b's rows are contiguous).
        let shapes: Vec<_> = shapes.into_iter().chain([(10, 50, 600), (1, 300, 517)]).collect();
        for kernel in kernels {
            for &shape in &shapes {
                for layouts in
                    [(false, false, false), (true, true, false), (false, true, true), (true, false, true)]
                {
                    check(kernel, shape, layouts, 1.0, 0.0);
                }
                check(kernel, shape, (false, true, false), 0.5, 1.0);
                check(kernel, shape, (true, false, false), -2.0, 0.25);
            }
        }
    }

    #[test]
    fn thin_products_computed_transposed_agree() {
        for (m, k, n) in [(32, 1984, 3), (3, 50, 40), (40, 7, 1)] {
            let a = matrix(m, k, 4, false);
            let b = matrix(k, n, 5, false);
            let mut c = matrix(m, n, 6, false);
            let expected = reference(1.5, &a, &b, 0.5, &c);
            matmul_into(1.5, &a.view(), &b.view(), 0.5, &mut c.view_mut());
            for (found, e) in c.iter().zip(&expected) {
                assert!((f64::from(*found) - e).abs() < 1e-5 * k as f64, "{m}×{k}×{n}: {found} vs {e}");
            }
        }
    }

    #[test]
    fn cost_prefers_packing_the_smaller_operand() {
        // A layer's forward product x (32, 992)·Wᵀ, W (100, 992): as is, Wᵀ is
        // packed; as (W·xᵀ)ᵀ only x is, and c is stored by columns.
        let x = matrix(32, 992, 1, false);
        let w = matrix(100, 992, 2, false);
        let (x, wt) = (Mat::of(&x.view()).unwrap(), Mat::of(&w.t()).unwrap());
        assert!(cost(100, 992, 32, wt.transposed(), x.transposed(), false) < cost(32, 992, 100, x, wt, true));
        // delta (32, 100)·W (100, 992) reads everything in place as is.
        let d = matrix(32, 100, 3, false);
        let (d, w) = (Mat::of(&d.view()).unwrap(), Mat::of(&w.view()).unwrap());
        assert!(cost(32, 100, 992, d, w, true) < cost(992, 100, 32, w.transposed(), d.transposed(), false));
    }

    #[test]
    fn beta_zero_ignores_what_c_held() {
        let a = matrix(9, 4, 1, false);
        let b = matrix(4, 33, 2, false);
        let mut c = Array2::from_elem((9, 33), f32::NAN);
        matmul_into(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut());
        assert!(c.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn an_empty_inner_axis_scales_c() {
        let a = Array2::<f32>::zeros((2, 0));
        let b = Array2::<f32>::zeros((0, 3));
        let mut c = Array2::from_elem((2, 3), 4.0f32);
        matmul_into(1.0, &a.view(), &b.view(), 0.5, &mut c.view_mut());
        assert!(c.iter().all(|&v| v == 2.0));
        matmul_into(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut());
        assert!(c.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn strided_views_fall_back_and_agree() {
        let a = matrix(10, 12, 1, false);
        let b = matrix(12, 9, 2, false);
        let (a, b) = (a.slice(s![..;2, ..]), b.slice(s![.., ..;-1]));
        let mut c = Array2::<f32>::zeros((5, 9));
        matmul_into(1.0, &a, &b, 0.0, &mut c.view_mut());
        let expected = a.dot(&b);
        assert!(c.iter().zip(&expected).all(|(x, y)| (x - y).abs() < 1e-5));
    }

    #[test]
    fn products_split_over_a_pool_equal_the_unsplit_ones_bit_for_bit() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        // Large enough to split: c row-major with up to 256 rows (cut by
        // bands of columns, one row among them), taller (cut by rows) and
        // column-major (cut by columns), edges that are not whole tiles, and
        // k over several passes.
        for (m, k, n, c_by_columns) in [
            (203, 300, 150, false),
            (64, 1030, 70, false),
            (1, 600, 1000, false),
            (300, 200, 90, false),
            (130, 520, 333, true),
        ] {
            let a = matrix(m, k, 7, false);
            let b = matrix(k, n, 8, true);
            let start = matrix(m, n, 9, c_by_columns);
            let mut alone = start.clone();
            matmul_into(0.5, &a.view(), &b.view(), 1.0, &mut alone.view_mut());
            let mut split = start.clone();
            pool.install(|| matmul_into(0.5, &a.view(), &b.view(), 1.0, &mut split.view_mut()));
            assert!(m.next_multiple_of(MR) * n.next_multiple_of(32) * k >= SPLIT_MIN);
            assert!(alone.iter().zip(&split).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{k}×{n}");
            let expected = reference(0.5, &a, &b, 1.0, &start);
            assert!(split.iter().zip(&expected).all(|(x, e)| (f64::from(*x) - e).abs() < 1e-5 * k as f64));
        }
    }

    #[test]
    fn thin_products_row_by_row_equal_the_shared_tiles_bit_for_bit() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        // Alone, these take the `thin` path; on a pool they are large enough
        // to be shared, which the tiles do. k over two passes, and a last
        // row of b shorter than a vector.
        for (m, k, n, beta) in [(10, 256, 1024, 1.0), (9, 300, 1000, 0.0), (16, 420, 640, -0.5)] {
            let a = matrix(k, m, 31, false);
            let b = matrix(k, n, 32, false);
            let start = matrix(m, n, 33, false);
            let mut alone = start.clone();
            matmul_into(0.75, &a.t(), &b.view(), beta, &mut alone.view_mut());
            let mut shared = start.clone();
            pool.install(|| matmul_into(0.75, &a.t(), &b.view(), beta, &mut shared.view_mut()));
            assert!(m.next_multiple_of(MR) * n.next_multiple_of(32) * k >= SPLIT_MIN);
            assert!(alone.iter().zip(&shared).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{k}×{n}");
            let expected = reference(0.75, &a.t().to_owned(), &b, beta, &start);
            assert!(alone.iter().zip(&expected).all(|(x, e)| (f64::from(*x) - e).abs() < 1e-5 * k as f64));
        }
    }

    #[test]
    fn a_step_inside_the_product_equals_the_gradient_then_the_step_bit_for_bit() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let learning_rate = 0.0375_f32;
        // A weight gradient deltaᵀ·x with batch k: thin ones (computed
        // transposed), edges that are not whole tiles, one large enough to
        // split on the pool, and k at the one-pass limit.
        for (m, k, n) in [
            (10, 32, 100),
            (3, 50, 40),
            (40, 7, 1),
            (33, 200, 70),
            (130, 256, 333),
            (1, 1, 1),
            (10, 256, 1024),
        ] {
            assert!(f32::sums_in_one_pass(k));
            let delta = matrix(k, m, 11, false);
            let x = matrix(k, n, 12, false);
            let weight = matrix(m, n, 13, false);
            let mut gradient = Array2::from_elem((m, n), f32::NAN);
            matmul_into(1.0, &delta.t(), &x.view(), 0.0, &mut gradient.view_mut());
            let stepped = &weight - &gradient.mapv(|g| learning_rate * g);
            for on_pool in [false, true] {
                let mut fused = weight.clone();
                let step = |w: &mut Array2<f32>| {
                    matmul_into(-learning_rate, &delta.t(), &x.view(), 1.0, &mut w.view_mut())
                };
                if on_pool {
                    pool.install(|| step(&mut fused))
                } else {
                    step(&mut fused)
                }
                assert!(
                    fused.iter().zip(&stepped).all(|(f, s)| f.to_bits() == s.to_bits()),
                    "{m}×{k}×{n}, on a pool: {on_pool}"
                );
            }
        }
        assert!(!f32::sums_in_one_pass(KC + 1));
        assert!(!f64::sums_in_one_pass(1));
    }

    #[test]
    fn a_product_with_a_bias_equals_c_filled_with_it_then_the_product_bit_for_bit() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        // A row-major c (also cut into bands on the pool, with k over two
        // passes), products computed as cᵀ, a column-major c, one column and
        // k = 0; c starts as NaN, which must not show through.
        for (m, k, n, c_by_columns) in [
            (33, 70, 50, false),
            (256, 300, 512, false),
            (256, 1024, 10, false),
            (40, 64, 1, false),
            (20, 30, 40, true),
            (5, 0, 7, false),
        ] {
            let a = matrix(m, k, 21, false);
            let b = matrix(k, n, 22, true);
            let bias = matrix(1, n, 23, false).row(0).to_owned();
            let mut expected = Array2::from_elem((m, n), 0.0f32);
            expected.assign(&bias);
            matmul_into(1.0, &a.view(), &b.view(), 1.0, &mut expected.view_mut());
            for on_pool in [false, true] {
                let mut c = if c_by_columns {
                    Array2::from_elem((m, n).f(), f32::NAN)
                } else {
                    Array2::from_elem((m, n), f32::NAN)
                };
                let run = |c: &mut Array2<f32>| {
                    matmul_bias_into(&a.view(), &b.view(), &bias.view(), &mut c.view_mut())
                };
                if on_pool {
                    pool.install(|| run(&mut c))
                } else {
                    run(&mut c)
                }
                assert!(
                    c.iter().zip(&expected).all(|(x, e)| x.to_bits() == e.to_bits()),
                    "{m}×{k}×{n}, c by columns: {c_by_columns}, on a pool: {on_pool}"
                );
            }
        }
        // A bias that is not contiguous, and f64: c filled first.
        let (a, b) = (matrix(9, 12, 24, false), matrix(12, 6, 25, false));
        let wide = matrix(1, 12, 26, false);
        let bias = wide.slice(s![0, ..;2]);
        let mut c = Array2::from_elem((9, 6), f32::NAN);
        matmul_bias_into(&a.view(), &b.view(), &bias, &mut c.view_mut());
        let expected = reference(1.0, &a, &b, 1.0, &Array2::from_shape_fn((9, 6), |(_, j)| bias[j]));
        assert!(c.iter().zip(&expected).all(|(x, e)| (f64::from(*x) - e).abs() < 1e-4));
        let (a, b) = (a.mapv(f64::from), b.mapv(f64::from));
        let bias = bias.mapv(f64::from);
        let mut c = Array2::from_elem((9, 6), f64::NAN);
        matmul_bias_into(&a.view(), &b.view(), &bias.view(), &mut c.view_mut());
        assert!(c.iter().zip(&expected).all(|(x, e)| (x - e).abs() < 1e-12));
    }

    #[test]
    #[should_panic(expected = "matmul_bias_into: a is (2, 3), b is (3, 4), bias is 3 and c is (2, 4)")]
    fn matmul_bias_panics_on_a_bias_of_the_wrong_length() {
        let (a, b) = (Array2::<f32>::zeros((2, 3)), Array2::<f32>::zeros((3, 4)));
        let mut c = Array2::<f32>::zeros((2, 4));
        matmul_bias_into(&a.view(), &b.view(), &ndarray::Array1::zeros(3).view(), &mut c.view_mut());
    }

    #[test]
    fn pairs_run_side_by_side_only_on_a_pool_and_only_when_large() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        // Outside a pool both run on the caller; on a pool, a large pair's
        // second is offered to the other thread (it may still run on the
        // first, if the other is late), a small one's is not.
        let outside = pair(SPLIT_MIN, rayon::current_thread_index, rayon::current_thread_index);
        assert_eq!(outside, (None, None));
        assert_eq!(pool.install(|| pair(1, || 1, || 2)), (1, 2));
        assert_eq!(pool.install(|| pair(SPLIT_MIN, || 1, || 2)), (1, 2));
        let small = pool.install(|| {
            let caller = rayon::current_thread_index();
            let (first, second) =
                pair(SPLIT_MIN - 1, rayon::current_thread_index, rayon::current_thread_index);
            (caller == first, caller == second)
        });
        assert_eq!(small, (true, true));
    }

    #[test]
    fn f64_products_use_ndarray() {
        let a = Array2::from_shape_vec((2, 2), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let mut c = Array2::<f64>::ones((2, 2));
        matmul_into(1.0, &a.view(), &a.t(), 1.0, &mut c.view_mut());
        assert_eq!(c, Array2::from_shape_vec((2, 2), vec![6.0, 12.0, 12.0, 26.0]).unwrap());
    }

    #[test]
    #[should_panic(expected = "matmul_into: a is (2, 3), b is (2, 3) and c is (2, 3)")]
    fn matmul_panics_on_shapes_that_do_not_chain() {
        let a = Array2::<f32>::zeros((2, 3));
        let mut c = Array2::<f32>::zeros((2, 3));
        matmul_into(1.0, &a.view(), &a.view(), 0.0, &mut c.view_mut());
    }

    #[test]
    fn warm_products_reuse_the_packing_buffers() {
        let a = matrix(33, 70, 1, false);
        let b = matrix(70, 50, 2, true);
        let mut c = Array2::<f32>::zeros((33, 50));
        matmul_into(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut());
        let before = PACKED.with(|p| (p.borrow().0.as_ptr(), p.borrow().1.as_ptr()));
        matmul_into(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut());
        assert_eq!(PACKED.with(|p| (p.borrow().0.as_ptr(), p.borrow().1.as_ptr())), before);
    }
}
