//! Sharing a product whose c is row-major by bands of columns.
//!
//! Cut by rows, every thread's tiles read every panel of b, so b is packed
//! up front, half on each thread, and each thread then reads all of it,
//! half from the other core's cache. Cut by columns, a thread needs only
//! its band's panels of b: it packs each one just before its tiles into a
//! buffer that stays in its own L1, as a product on one thread does.
//!
//! A band's columns are not a contiguous part of c's memory, so the band
//! holds one slice per row of c, cut with `split_at_mut`. Those slices live
//! on the stack (a training step allocates nothing), which bounds the rows
//! to [`MAX_ROWS`]: a batch of activations. Taller products are cut by rows.

use std::cell::Cell;
use std::ops::Range;

use pulp::{Simd, WithSimd};

use super::tile::{Prefetcher, store_row};
use super::{MR, MatMut, NV, SHARE_GRAIN, Shared, grow};

/// The most rows of c a product shared by bands may have.
const MAX_ROWS: usize = 256;

thread_local! {
    /// The b panel this thread's band is on, packed; it only grows.
    static PANEL: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Whether a shared product with c (m rows, `n_panels` panels of columns)
/// is cut by bands of columns: c row-major, at most [`MAX_ROWS`] rows and
/// more than one panel.
pub(super) fn fit(m: usize, n_panels: usize, c: &MatMut<'_>) -> bool {
    c.cs == 1 && m <= MAX_ROWS && n_panels >= 2
}

/// Computes one pass's tiles over all of `c` (which [`fit`]) in bands of
/// columns, shared with the pool's threads.
#[inline(always)]
pub(super) fn run<S: Simd>(simd: S, shared: &Shared<'_>, c: MatMut<'_>, n_panels: usize, threads: usize) {
    let (m, n) = (shared.m, shared.n);
    let mut rows: [&mut [f32]; MAX_ROWS] = std::array::from_fn(|_| Default::default());
    // A row-major c's rows are rs ≥ n apart; a c of one row may have any rs.
    for (slot, row) in rows.iter_mut().zip(c.data.chunks_mut(c.rs.max(n))) {
        *slot = &mut row[..n];
    }
    Band { shared, rows: &mut rows[..m], panels: 0..n_panels, threads }.with_simd(simd);
}

/// The tiles of the column panels `panels` in every row of c; `rows` holds
/// each row's values from the band's first column on.
struct Band<'s, 'a, 'r, 'c> {
    shared: &'s Shared<'a>,
    rows: &'r mut [&'c mut [f32]],
    panels: Range<usize>,
    threads: usize,
}

impl WithSimd for Band<'_, '_, '_, '_> {
    type Output = ();

    /// With `threads` > 1, cuts the band in two that the pool's threads
    /// take, each cut again while it has 2·SHARE_GRAIN panels or more (a
    /// thread that finishes first takes pieces of the other's half); else
    /// computes it here.
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Band { shared, rows, panels, threads } = self;
        let half = panels.len() / 2;
        if threads < 2 || half == 0 {
            // Taken out of the thread-local and put back rather than used
            // inside `with`'s closure, which would not be compiled for the
            // SIMD instruction set this function is.
            let mut buffer = PANEL.take();
            tiles(simd, shared, rows, panels, &mut buffer);
            PANEL.set(buffer);
            return;
        }
        let at = half * NV * S::F32_LANES;
        let mut first: [&mut [f32]; MAX_ROWS] = std::array::from_fn(|_| Default::default());
        let mut second: [&mut [f32]; MAX_ROWS] = std::array::from_fn(|_| Default::default());
        for (row, (first, second)) in rows.iter_mut().zip(first.iter_mut().zip(&mut second)) {
            (*first, *second) = std::mem::take(row).split_at_mut(at);
        }
        let m = rows.len();
        let threads = if half >= 2 * SHARE_GRAIN { threads } else { 1 };
        let mid = panels.start + half;
        let first = Band { shared, rows: &mut first[..m], panels: panels.start..mid, threads };
        let second = Band { shared, rows: &mut second[..m], panels: mid..panels.end, threads };
        rayon::join(|| simd.vectorize(first), || simd.vectorize(second));
    }
}

/// Computes the band's tiles, column panel by column panel, packing each b
/// panel not read in place into `buffer`.
#[inline(always)]
fn tiles<S: Simd>(
    simd: S,
    shared: &Shared<'_>,
    rows: &mut [&mut [f32]],
    panels: Range<usize>,
    buffer: &mut Vec<f32>,
) {
    let Shared { m, n, kc, alpha, beta, .. } = *shared;
    let nr = NV * S::F32_LANES;
    grow(buffer, nr * kc);
    let buffer = &mut buffer[..nr * kc];
    let j_origin = panels.start * nr;
    let prefetcher = Prefetcher::new();
    for jp in panels {
        let j = jp * nr;
        let columns = nr.min(n - j);
        let (b_panel, b_step) = shared.b_panel(jp, nr, Some(&mut *buffer));
        let band = j - j_origin..j - j_origin + columns;
        for (ip, rows) in rows.chunks_mut(MR).enumerate().take(m.div_ceil(MR)) {
            // The tile's rows of c, wanted by its store at the end: fetched
            // while k runs, rather than missed at the store.
            for row in rows.iter() {
                prefetcher.row(&row[band.clone()]);
            }
            let tile = shared.tile(simd, ip, b_panel, b_step);
            for (row, tile_row) in rows.iter_mut().zip(&tile) {
                store_row(simd, tile_row, alpha, beta, &mut row[band.clone()]);
            }
        }
    }
}
