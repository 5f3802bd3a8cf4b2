//! Products with a few rows of c and long rows of b, row by row of b.
//!
//! The weight gradient of a layer with few outputs, such as W4's
//! Linear(1024, 10): c (10, 1024) ← δᵀ·h with h (256, 1024). The register
//! tiles would read each 32-column panel of h down its 256 rows, 4 KiB
//! apart: every row a new page that the hardware prefetcher does not
//! follow, all of them on the same L1 sets, and read again for the second
//! row panel of c. Here c's sums live in a buffer of a few rows instead
//! (one L1's worth), and each row of b is read once, front to back, and
//! added to every row of the sums times the matching value of a. In W4 on
//! one thread that product went from 13–17 to 32–37 GFLOP/s.
//!
//! Each element's sum runs over k in the same order and with the same
//! fused multiply-adds as in a register tile, in the same passes over k, and
//! is stored the same way (α·s + β·c), so the result is bit for bit the
//! tiles'. That keeps results independent of the number of threads, which
//! take the tiles' path when they share a product.

use std::cell::Cell;

use pulp::Simd;

use super::{Mat, MatMut};

/// The most rows of c this path takes.
const MAX_ROWS: usize = 16;
/// The most values its sums may hold: as many as 48 KiB of L1.
const MAX_SUMS: usize = 12 * 1024;
/// The fewest columns it takes; narrower products, whose panels of b are
/// few, stay with the tiles (only 1024 columns were measured).
const MIN_COLUMNS: usize = 512;

thread_local! {
    /// The sums of the product on this thread; they only grow.
    static SUMS: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Rows of b added to the sums at a time: each sum is loaded and stored
/// once for all of them.
const B_ROWS: usize = 8;
/// Vectors of a row of sums updated at a time (their values of b stay in
/// registers while every row of the sums is updated).
const VECTORS: usize = 2;

/// Whether c (m, n) ← α·a·b + β·c is computed here: c has at most
/// [`MAX_ROWS`] rows of at least [`MIN_COLUMNS`] values (and its sums fit
/// [`MAX_SUMS`]), and the rows of b and of c are contiguous.
pub(super) fn fit(m: usize, n: usize, b: Mat<'_>, c: &MatMut<'_>) -> bool {
    m <= MAX_ROWS && n >= MIN_COLUMNS && m * stride(n) <= MAX_SUMS && b.cs == 1 && c.cs == 1
}

/// The distance between rows of the sums: whole vectors, and not a
/// multiple of 4 KiB, whose loads would wait on the stores to the row before
/// (4 KiB aliasing).
fn stride(n: usize) -> usize {
    n.next_multiple_of(16) + 16
}

/// c ← α·a·b + β·c for a product that [`fit`]s, in passes of at most
/// `kc_max` values of k: the first with β, the others adding (β = 1), as
/// the tiles do.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn run<S: Simd>(
    simd: S,
    (m, k, n): (usize, usize, usize),
    alpha: f32,
    a: Mat<'_>,
    b: Mat<'_>,
    beta: f32,
    c: &mut MatMut<'_>,
    kc_max: usize,
) {
    let stride = stride(n);
    // Taken out of the thread-local and put back rather than used inside a
    // closure, which would not be compiled for this SIMD instruction set.
    let mut buffer = SUMS.take();
    if buffer.len() < m * stride {
        buffer.resize(m * stride, 0.0);
    }
    let sums = &mut buffer[..m * stride];
    let mut p0 = 0;
    while p0 < k {
        let kc = kc_max.min(k - p0);
        sums.fill(0.0);
        let mut k0 = p0;
        while k0 < p0 + kc {
            let rows = if p0 + kc - k0 >= B_ROWS { B_ROWS } else { 1 };
            let a_at = |i: usize, r: usize| a.data[i * a.rs + (k0 + r) * a.cs];
            if rows == B_ROWS {
                let b_rows: [&[f32]; B_ROWS] = std::array::from_fn(|r| &b.data[(k0 + r) * b.rs..][..n]);
                add_rows(simd, m, &a_at, b_rows, sums, stride);
            } else {
                add_rows(simd, m, &a_at, [&b.data[k0 * b.rs..][..n]], sums, stride);
            }
            k0 += rows;
        }
        let beta = if p0 == 0 { beta } else { 1.0 };
        for (i, sums_row) in sums.chunks_exact(stride).enumerate() {
            store(simd, alpha, &sums_row[..n], beta, &mut c.data[i * c.rs..][..n]);
        }
        p0 += kc;
    }
    SUMS.set(buffer);
}

/// Adds `R` rows of b, times the matching values of a (`a_at(i, r)` for row
/// i of the sums and row r of `b_rows`), to every row of the sums, each
/// value's multiply-adds in the order of the rows.
#[inline(always)]
fn add_rows<S: Simd, const R: usize>(
    simd: S,
    m: usize,
    a_at: &impl Fn(usize, usize) -> f32,
    b_rows: [&[f32]; R],
    sums: &mut [f32],
    stride: usize,
) {
    let lanes = S::F32_LANES;
    let n = b_rows[0].len();
    let vectors = n / lanes;
    let whole = vectors / VECTORS * VECTORS;
    for v0 in (0..whole).step_by(VECTORS) {
        add_vectors::<S, R, VECTORS>(simd, m, a_at, b_rows, sums, stride, v0);
    }
    for v0 in whole..vectors {
        add_vectors::<S, R, 1>(simd, m, a_at, b_rows, sums, stride, v0);
    }
    for j in vectors * lanes..n {
        for i in 0..m {
            let sum = &mut sums[i * stride + j];
            for (r, b_row) in b_rows.iter().enumerate() {
                *sum = a_at(i, r).mul_add(b_row[j], *sum);
            }
        }
    }
}

/// [`add_rows`] for the `W` vectors of every row of the sums from vector
/// `v0` on: b's values held in registers, each sum loaded and stored once.
#[inline(always)]
fn add_vectors<S: Simd, const R: usize, const W: usize>(
    simd: S,
    m: usize,
    a_at: &impl Fn(usize, usize) -> f32,
    b_rows: [&[f32]; R],
    sums: &mut [f32],
    stride: usize,
    v0: usize,
) {
    let lanes = S::F32_LANES;
    let b: [[S::f32s; W]; R] = std::array::from_fn(|r| {
        let (vectors, _) = S::as_simd_f32s(&b_rows[r][v0 * lanes..][..W * lanes]);
        std::array::from_fn(|w| vectors[w])
    });
    for i in 0..m {
        let (row, _) = S::as_mut_simd_f32s(&mut sums[i * stride + v0 * lanes..][..W * lanes]);
        let mut acc: [S::f32s; W] = std::array::from_fn(|w| row[w]);
        for (r, b) in b.iter().enumerate() {
            let a = simd.splat_f32s(a_at(i, r));
            for (acc, &b) in acc.iter_mut().zip(b) {
                *acc = simd.mul_add_e_f32s(a, b, *acc);
            }
        }
        row[..W].copy_from_slice(&acc);
    }
}

/// c ← α·sums + β·c, value by value, as the tiles' stores round it; with
/// β = 0 the old values are not read.
#[inline(always)]
fn store<S: Simd>(simd: S, alpha: f32, sums: &[f32], beta: f32, c: &mut [f32]) {
    let (sums_vectors, sums_rest) = S::as_simd_f32s(sums);
    let (c_vectors, c_rest) = S::as_mut_simd_f32s(c);
    let (alpha_vector, beta_vector) = (simd.splat_f32s(alpha), simd.splat_f32s(beta));
    for (c, &sum) in c_vectors.iter_mut().zip(sums_vectors) {
        let out = simd.mul_f32s(alpha_vector, sum);
        *c = if beta == 0.0 { out } else { simd.mul_add_e_f32s(beta_vector, *c, out) };
    }
    for (c, &sum) in c_rest.iter_mut().zip(sums_rest) {
        let out = alpha * sum;
        *c = if beta == 0.0 { out } else { beta.mul_add(*c, out) };
    }
}
