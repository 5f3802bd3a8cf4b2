//! The register tiles and their stores: MR rows × NV vectors of c summed along k.

use pulp::Simd;

use super::transpose::transpose_8x8;
use super::{MR, MatMut, NV};

/// The columns of MR rows of `a` (MR values per position along k), `step`
/// apart in `data`: a packed panel (`step` = MR) or a column-major `a`.
#[inline(always)]
pub(super) fn strided_columns(data: &[f32], step: usize, kc: usize) -> impl Iterator<Item = [f32; MR]> + '_ {
    // A step of 0 is the stride of a k axis of length 1 (see `stride`): any
    // step ≥ MR then reads the one column.
    data.chunks(step.max(MR)).take(kc).map(|column| column[..MR].try_into().expect("MR values"))
}

/// The columns of MR rows of a row-major `a`, each row kc long.
#[inline(always)]
pub(super) fn row_columns<'a>(rows: &'a [&'a [f32]; MR], kc: usize) -> impl Iterator<Item = [f32; MR]> + 'a {
    (0..kc).map(move |kk| {
        let mut column = [0.0; MR];
        for (value, row) in column.iter_mut().zip(rows) {
            *value = row[kk];
        }
        column
    })
}

/// The MR × (NV vectors) tile Σₖ a[r, k]·b[k, ·], from the columns of `a`
/// and `b`'s rows `b_step` apart.
#[inline(always)]
pub(super) fn tile<S: Simd>(
    simd: S,
    columns: impl Iterator<Item = [f32; MR]>,
    b: &[f32],
    b_step: usize,
) -> [[S::f32s; NV]; MR] {
    let nr = NV * S::F32_LANES;
    let mut acc = [[simd.splat_f32s(0.0); NV]; MR];
    // A step of 0 is the stride of a k axis of length 1 (see `stride`): any
    // step ≥ nr then reads the one row.
    for (column, row) in columns.zip(b.chunks(b_step.max(nr))) {
        let (row, _) = S::as_simd_f32s(&row[..nr]);
        let row: &[S::f32s; NV] = row.try_into().expect("NV vectors");
        for (acc, &a) in acc.iter_mut().zip(&column) {
            let a = simd.splat_f32s(a);
            for (acc, &b) in acc.iter_mut().zip(row) {
                *acc = simd.mul_add_e_f32s(a, b, *acc);
            }
        }
    }
    acc
}

/// [`tile`] for a packed `a` panel (MR values per k) and a packed `b` panel
/// (nr values per k), the large products' case: with both read by exact
/// chunks there is no bound to check inside the loop, and four k steps per
/// iteration spread the loop's own instructions over 4 × MR × NV multiply-adds.
#[inline(always)]
pub(super) fn tile_packed<S: Simd>(simd: S, a: &[f32], b: &[f32]) -> [[S::f32s; NV]; MR] {
    const UNROLL: usize = 4;
    let nr = NV * S::F32_LANES;
    let mut acc = [[simd.splat_f32s(0.0); NV]; MR];
    let step = |acc: &mut [[S::f32s; NV]; MR], column: &[f32], row: &[f32]| {
        let (row, _) = S::as_simd_f32s(row);
        for (acc, &a) in acc.iter_mut().zip(column) {
            let a = simd.splat_f32s(a);
            for (acc, &b) in acc.iter_mut().zip(row) {
                *acc = simd.mul_add_e_f32s(a, b, *acc);
            }
        }
    };
    let (a_chunks, b_chunks) = (a.chunks_exact(UNROLL * MR), b.chunks_exact(UNROLL * nr));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (columns, rows) in a_chunks.zip(b_chunks) {
        for (column, row) in columns.chunks_exact(MR).zip(rows.chunks_exact(nr)) {
            step(&mut acc, column, row);
        }
    }
    for (column, row) in a_rest.chunks_exact(MR).zip(b_rest.chunks_exact(nr)) {
        step(&mut acc, column, row);
    }
    acc
}

/// c[i.., j..] ← α·tile + β·c[i.., j..] for the `rows` × `cols` part of the
/// tile that lies inside `c`; with β = 0 the old values are not read.
#[inline(always)]
pub(super) fn store<S: Simd>(
    simd: S,
    tile: &[[S::f32s; NV]; MR],
    alpha: f32,
    beta: f32,
    c: &mut MatMut<'_>,
    (i, rows): (usize, usize),
    (j, cols): (usize, usize),
) {
    let lanes = S::F32_LANES;
    if c.cs == 1 {
        for (r, tile_row) in tile.iter().enumerate().take(rows) {
            store_row(simd, tile_row, alpha, beta, &mut c.data[(i + r) * c.rs + j..][..cols]);
        }
    } else if c.rs == 1 {
        // c is column-major (a product computed transposed): each column of
        // the tile is `rows` contiguous values of c, so store column by column.
        let mut values = [[0.0f32; 64 * NV]; MR];
        for (row, tile_row) in values.iter_mut().zip(tile).take(rows) {
            let (vectors, _) = S::as_mut_simd_f32s(&mut row[..NV * lanes]);
            vectors.copy_from_slice(tile_row);
        }
        if rows == MR {
            // A whole tile, 8 × 8 blocks at a time, transposed in registers:
            // each column of a block is then MR contiguous values of c (one
            // vector operation instead of MR scalar ones).
            for c0 in (0..cols).step_by(MR) {
                let block: [[f32; MR]; MR] =
                    std::array::from_fn(|r| values[r][c0..c0 + MR].try_into().expect("MR values"));
                for (col, column) in transpose_8x8(block).iter().enumerate().take(cols - c0) {
                    let dst: &mut [f32; MR] =
                        (&mut c.data[i + (j + c0 + col) * c.cs..][..MR]).try_into().expect("MR values");
                    if beta == 0.0 {
                        *dst = column.map(|value| alpha * value);
                    } else {
                        *dst = std::array::from_fn(|r| alpha * column[r] + beta * dst[r]);
                    }
                }
            }
            return;
        }
        for col in 0..cols {
            let dst = &mut c.data[i + (j + col) * c.cs..][..rows];
            for (dst, row) in dst.iter_mut().zip(&values) {
                let value = row[col];
                *dst = if beta == 0.0 { alpha * value } else { alpha * value + beta * *dst };
            }
        }
    } else {
        let mut values = [0.0f32; 64 * NV];
        for (r, tile_row) in tile.iter().enumerate().take(rows) {
            let (vectors, _) = S::as_mut_simd_f32s(&mut values[..NV * lanes]);
            vectors.copy_from_slice(tile_row);
            for (col, &value) in values[..cols].iter().enumerate() {
                let dst = &mut c.data[(i + r) * c.rs + (j + col) * c.cs];
                *dst = if beta == 0.0 { alpha * value } else { alpha * value + beta * *dst };
            }
        }
    }
}

/// row ← α·tile_row + β·row for the first `row.len()` (≤ NV vectors)
/// values of one row of a tile; with β = 0 the old values are not read.
#[inline(always)]
pub(super) fn store_row<S: Simd>(simd: S, tile_row: &[S::f32s; NV], alpha: f32, beta: f32, row: &mut [f32]) {
    let lanes = S::F32_LANES;
    let (alpha, vbeta) = (simd.splat_f32s(alpha), simd.splat_f32s(beta));
    for (v, &value) in tile_row.iter().enumerate() {
        let (lo, hi) = (v * lanes, ((v + 1) * lanes).min(row.len()));
        if lo >= hi {
            break;
        }
        let dst = &mut row[lo..hi];
        let mut out = simd.mul_f32s(alpha, value);
        if let ([whole], []) = S::as_mut_simd_f32s(dst) {
            if beta != 0.0 {
                out = simd.mul_add_e_f32s(vbeta, *whole, out);
            }
            *whole = out;
        } else {
            if beta != 0.0 {
                out = simd.mul_add_e_f32s(vbeta, simd.partial_load_f32s(dst), out);
            }
            simd.partial_store_f32s(dst, out);
        }
    }
}

/// c ← β·c (a product with k = 0); β = 0 writes zeros without reading.
pub(super) fn scale(m: usize, n: usize, beta: f32, c: &mut MatMut<'_>) {
    for i in 0..m {
        for j in 0..n {
            let x = &mut c.data[i * c.rs + j * c.cs];
            *x = if beta == 0.0 { 0.0 } else { beta * *x };
        }
    }
}

/// Software prefetches: asks the CPU to bring a cache line into L1 ahead of
/// its use. A hint, which never faults and changes nothing else (pulp's
/// safe `_mm_prefetch`); nothing on CPUs other than x86-64.
#[derive(Clone, Copy)]
pub(super) struct Prefetcher {
    #[cfg(target_arch = "x86_64")]
    sse: Option<pulp::x86::V1>,
}

impl Prefetcher {
    pub(super) fn new() -> Self {
        Self {
            #[cfg(target_arch = "x86_64")]
            sse: pulp::x86::V1::try_new(),
        }
    }

    /// Prefetches the lines holding the first, middle and last values of a
    /// tile's row of c (`row` at most 2 vectors of 64 bytes long).
    #[inline(always)]
    pub(super) fn row(self, row: &[f32]) {
        if let (Some(first), Some(last)) = (row.first(), row.last()) {
            self.line(first);
            self.line(&row[row.len() / 2]);
            self.line(last);
        }
    }

    /// Prefetches the line holding `value`.
    #[inline(always)]
    pub(super) fn line(self, value: &f32) {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = self.sse {
            simd.sse._mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(std::ptr::from_ref(value).cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = value;
    }
}
