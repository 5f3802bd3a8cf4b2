//! Element-wise passes shared with the rayon pool the caller runs in.
//!
//! Matrix products decide their own sharing (see [`linalg`](crate::linalg));
//! this is for the passes around them: activations, optimizer updates.
//! A pass is split in two halves, each element computed as it would be
//! alone, so results are the same bit for bit on any number of threads.

/// Values from which a pass is split over the pool (as `nn train --threads 2`
/// installs one): W4's activations (256 × 1024) and weights (0.8 M and 1 M
/// values) stream from L3 or memory, and two cores move them faster than
/// one; W2's 99 K-value weight ran slower split (10 %, measured), its halves
/// too short to pay for waking the other thread.
pub const SHARE_MIN: usize = 1 << 18;

/// Whether a pass over `len` values is split in two halves over the pool:
/// large enough, and called from a pool of several threads. A thread outside
/// any pool keeps its work: handing it to a pool from outside allocates.
pub fn shares(len: usize) -> bool {
    len >= SHARE_MIN && rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1
}

/// Runs `pass(start, part)` over `out`: once with `start` 0 and all of `out`,
/// or, when [`shares`] says so, on its two halves side by side, `start` being
/// the index in `out` where `part` begins (for reading the inputs' matching
/// elements).
pub fn in_halves<T: Send>(out: &mut [T], pass: impl Fn(usize, &mut [T]) + Sync) {
    if !shares(out.len()) {
        return pass(0, out);
    }
    let mid = out.len() / 2;
    let (first, second) = out.split_at_mut(mid);
    rayon::join(|| pass(0, first), || pass(mid, second));
}

/// `pass` over all of `values`, or, when [`shares`] says so, over its two
/// halves side by side, their results joined by `join`: a reduction such as
/// the largest magnitude that bounds a fused update.
pub fn fold_halves<T: Sync, R: Send>(
    values: &[T],
    pass: impl Fn(&[T]) -> R + Sync,
    join: impl FnOnce(R, R) -> R,
) -> R {
    if !shares(values.len()) {
        return pass(values);
    }
    let (first, second) = values.split_at(values.len() / 2);
    let (a, b) = rayon::join(|| pass(first), || pass(second));
    join(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_cover_every_element_once_and_only_large_passes_split() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        for len in [0, 5, SHARE_MIN - 1, SHARE_MIN, SHARE_MIN + 3] {
            let mut out = vec![0usize; len];
            let parts = std::sync::Mutex::new(Vec::new());
            pool.install(|| {
                in_halves(&mut out, |start, part| {
                    parts.lock().unwrap().push((start, part.len()));
                    for (i, v) in part.iter_mut().enumerate() {
                        *v += start + i + 1;
                    }
                })
            });
            assert!(out.iter().enumerate().all(|(i, &v)| v == i + 1), "len {len}");
            let mut parts = parts.into_inner().unwrap();
            parts.sort();
            let expected =
                if len >= SHARE_MIN { vec![(0, len / 2), (len / 2, len - len / 2)] } else { vec![(0, len)] };
            assert_eq!(parts, expected, "len {len}");
        }
        assert!(!shares(SHARE_MIN), "outside a pool nothing is shared");
        for len in [3, SHARE_MIN + 1] {
            let values: Vec<usize> = (0..len).collect();
            let parts =
                pool.install(|| fold_halves(&values, |part| vec![part.len()], |a, b| [a, b].concat()));
            let expected = if len >= SHARE_MIN { vec![len / 2, len - len / 2] } else { vec![len] };
            assert_eq!(parts, expected);
        }
    }
}
