//! Packing: copying panels of `a` and `b` into the k-major order the tiles read.

use std::ops::Range;

use pulp::{Simd, WithSimd};

use super::transpose::transpose_8x8;
use super::{MR, Mat};

/// One pass's packing: the panels of `a` and `b` for k in p0..p0 + kc that
/// are not read in place.
#[derive(Clone, Copy)]
pub(super) struct Packing<'a> {
    pub(super) a: Mat<'a>,
    pub(super) b: Mat<'a>,
    pub(super) m: usize,
    pub(super) n: usize,
    pub(super) p0: usize,
    pub(super) kc: usize,
    pub(super) nr: usize,
    pub(super) b_in_place: bool,
    pub(super) a_in_place: bool,
    /// Whether the `b` panels are packed here (else each just before its tiles).
    pub(super) b_up_front: bool,
}

impl Packing<'_> {
    /// Packs every panel; with `threads` > 1, the second half of the `a` and
    /// of the `b` panels on another thread of the pool.
    #[inline(always)]
    pub(super) fn run<S: Simd>(self, simd: S, a_pack: &mut [f32], b_pack: &mut [f32], threads: usize) {
        let (m_panels, n_panels) = (self.m.div_ceil(MR), self.n.div_ceil(self.nr));
        if threads < 2 {
            return self.panels(a_pack, b_pack, 0..m_panels, 0..n_panels);
        }
        let (a_mid, b_mid) = (m_panels / 2, n_panels / 2);
        let (a_first, a_second) = a_pack.split_at_mut(a_mid * MR * self.kc);
        // Without b packed here, `b_pack` may be shorter than its first half.
        let b_mid_at = if self.b_up_front { b_mid * self.nr * self.kc } else { 0 };
        let (b_first, b_second) = b_pack.split_at_mut(b_mid_at);
        let first =
            PackPanels { packing: self, a_pack: a_first, b_pack: b_first, panels: (0..a_mid, 0..b_mid) };
        let second = PackPanels {
            packing: self,
            a_pack: a_second,
            b_pack: b_second,
            panels: (a_mid..m_panels, b_mid..n_panels),
        };
        rayon::join(|| simd.vectorize(first), || simd.vectorize(second));
    }

    /// Packs the `a` panels `a_panels` into `a_pack` and the `b` panels
    /// `b_panels` into `b_pack`, each slice starting at its first panel.
    #[inline(always)]
    fn panels(self, a_pack: &mut [f32], b_pack: &mut [f32], a_panels: Range<usize>, b_panels: Range<usize>) {
        let Packing { a, b, m, n, p0, kc, nr, b_in_place, a_in_place, b_up_front } = self;
        if b_up_front {
            for (jp, panel) in b_panels.zip(b_pack.chunks_exact_mut(nr * kc)) {
                let cols = nr.min(n - jp * nr);
                if !b_in_place || cols < nr {
                    pack_b(panel, b, p0, kc, jp * nr, cols, nr);
                }
            }
        }
        for (ip, panel) in a_panels.zip(a_pack.chunks_exact_mut(MR * kc)) {
            let rows = MR.min(m - ip * MR);
            if rows < MR || !a_in_place {
                pack_a(panel, a, ip * MR, rows, p0, kc);
            }
        }
    }
}

/// Some panels of one pass, packed on another thread: run through
/// [`Simd::vectorize`] so that the copies compile for the same instruction
/// set as the tiles.
struct PackPanels<'p, 'a> {
    packing: Packing<'a>,
    a_pack: &'p mut [f32],
    b_pack: &'p mut [f32],
    panels: (Range<usize>, Range<usize>),
}

impl WithSimd for PackPanels<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let PackPanels { packing, a_pack, b_pack, panels: (a_panels, b_panels) } = self;
        packing.panels(a_pack, b_pack, a_panels, b_panels);
    }
}

/// Packs `rows` (≤ MR) rows of `a` from row i0, columns p0..p0 + kc, k-major
/// (MR values per k), padding missing rows with zeros.
#[inline(always)]
fn pack_a(panel: &mut [f32], a: Mat<'_>, i0: usize, rows: usize, p0: usize, kc: usize) {
    if rows < MR {
        panel.fill(0.0);
    }
    if a.rs == 1 {
        // Column-major (a transposed row-major matrix, such as δᵀ in a weight
        // gradient): the MR values of each k are contiguous on both sides.
        for (kk, dst) in panel.chunks_exact_mut(MR).take(kc).enumerate() {
            let src = &a.data[i0 + (p0 + kk) * a.cs..];
            if rows == MR {
                copy_fixed::<MR>(dst, src);
            } else {
                dst[..rows].copy_from_slice(&src[..rows]);
            }
        }
        return;
    }
    let mut first_k = 0;
    if a.cs == 1 && rows == MR {
        // Row-major: 8 × 8 blocks, 8 contiguous values from each row
        // transposed into 8 contiguous values for each k.
        first_k = kc / MR * MR;
        for k0 in (0..first_k).step_by(MR) {
            let block: [[f32; MR]; MR] = std::array::from_fn(|r| {
                a.data[(i0 + r) * a.rs + p0 + k0..][..MR].try_into().expect("MR values")
            });
            for (dst, column) in panel[k0 * MR..].chunks_exact_mut(MR).zip(transpose_8x8(block)) {
                dst.copy_from_slice(&column);
            }
        }
    }
    for r in 0..rows {
        let start = (i0 + r) * a.rs + (p0 + first_k) * a.cs;
        for (kk, dst) in panel.iter_mut().skip(first_k * MR + r).step_by(MR).take(kc - first_k).enumerate() {
            *dst = a.data[start + kk * a.cs];
        }
    }
}

/// Packs `cols` (≤ nr) columns of `b` from column j0, rows p0..p0 + kc,
/// k-major (nr values per k), padding missing columns with zeros.
#[inline(always)]
pub(super) fn pack_b(panel: &mut [f32], b: Mat<'_>, p0: usize, kc: usize, j0: usize, cols: usize, nr: usize) {
    if cols < nr {
        panel.fill(0.0);
    }
    if b.cs == 1 {
        for (kk, dst) in panel.chunks_exact_mut(nr).enumerate() {
            let src = &b.data[(p0 + kk) * b.rs + j0..];
            // Whole panels (nr = 32 with AVX-512, 16 with AVX2) copy a
            // constant number of values, which compiles to a few vector
            // moves; a length known only at run time calls `memcpy` for
            // every 64 or 128 bytes.
            match cols {
                32 => copy_fixed::<32>(dst, src),
                16 => copy_fixed::<16>(dst, src),
                _ => dst[..cols].copy_from_slice(&src[..cols]),
            }
        }
    } else if b.rs == 1 {
        // A transposed row-major matrix (a weight seen as Wᵀ): transpose 8 × 8
        // blocks through a small array, reading 8 contiguous values from each
        // of 8 rows of the memory and writing 8 contiguous values to each of
        // 8 rows of the panel.
        const T: usize = 8;
        let (full_cols, full_k) = (cols / T * T, kc / T * T);
        for c0 in (0..full_cols).step_by(T) {
            for k0 in (0..full_k).step_by(T) {
                let mut block = [[0.0f32; T]; T];
                for (c, row) in block.iter_mut().enumerate() {
                    row.copy_from_slice(&b.data[p0 + k0 + (j0 + c0 + c) * b.cs..][..T]);
                }
                let block = transpose_8x8(block);
                for (dst, row) in panel[k0 * nr + c0..].chunks_mut(nr).zip(&block) {
                    dst[..T].copy_from_slice(row);
                }
            }
        }
        // The edges: columns past the last block of 8, and k past the last block of 8.
        for col in 0..cols {
            let start = p0 + (j0 + col) * b.cs;
            let first_k = if col < full_cols { full_k } else { 0 };
            for kk in first_k..kc {
                panel[kk * nr + col] = b.data[start + kk];
            }
        }
    } else {
        for col in 0..cols {
            let start = p0 * b.rs + (j0 + col) * b.cs;
            for (kk, dst) in panel.iter_mut().skip(col).step_by(nr).take(kc).enumerate() {
                *dst = b.data[start + kk * b.rs];
            }
        }
    }
}

/// `dst[..N]` ← `src[..N]`, N known when compiling.
#[inline(always)]
fn copy_fixed<const N: usize>(dst: &mut [f32], src: &[f32]) {
    let dst: &mut [f32; N] = (&mut dst[..N]).try_into().expect("N values");
    *dst = src[..N].try_into().expect("N values");
}
