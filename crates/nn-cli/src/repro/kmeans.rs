//! k-means (Lloyd's iterations) seeded by k-means++ (Arthur and Vassilvitskii,
//! 2007), best of several restarts.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Most Lloyd iterations of one restart; the digits' codes settle in a few dozen.
pub const MAX_ITERATIONS: usize = 300;

/// A clustering of the rows of x (samples, features) into k clusters.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// The cluster centres, (k, features).
    pub centroids: Array2<f64>,
    /// The cluster of each sample, in 0..k.
    pub assignments: Vec<usize>,
    /// Σ over samples of the squared distance to their centre.
    pub inertia: f64,
    /// Lloyd iterations of the restart kept.
    pub iterations: usize,
}

fn squared_distance(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The nearest centre of `row` and its squared distance (the first on ties).
fn nearest(row: ArrayView1<'_, f64>, centroids: &Array2<f64>) -> (usize, f64) {
    centroids
        .rows()
        .into_iter()
        .map(|c| squared_distance(row, c))
        .enumerate()
        .fold((0, f64::INFINITY), |best, (i, d)| if d < best.1 { (i, d) } else { best })
}

/// k-means++: the first centre uniformly at random, each next one a sample
/// drawn with probability proportional to its squared distance to the
/// nearest centre already chosen.
fn plus_plus(x: ArrayView2<'_, f64>, k: usize, rng: &mut StdRng) -> Array2<f64> {
    let n = x.nrows();
    let mut centroids = Array2::zeros((k, x.ncols()));
    centroids.row_mut(0).assign(&x.row(rng.random_range(0..n)));
    let mut distances: Vec<f64> =
        x.rows().into_iter().map(|r| squared_distance(r, centroids.row(0))).collect();
    for c in 1..k {
        let total: f64 = distances.iter().sum();
        let chosen = if total > 0.0 {
            let mut target = rng.random_range(0.0..total);
            distances
                .iter()
                .position(|&d| {
                    target -= d;
                    target < 0.0
                })
                .unwrap_or(n - 1)
        } else {
            // Fewer distinct points than clusters: any sample will do.
            rng.random_range(0..n)
        };
        centroids.row_mut(c).assign(&x.row(chosen));
        for (d, row) in distances.iter_mut().zip(x.rows()) {
            *d = d.min(squared_distance(row, centroids.row(c)));
        }
    }
    centroids
}

/// Lloyd's iterations from `centroids` until no sample changes cluster.
fn lloyd(x: ArrayView2<'_, f64>, mut centroids: Array2<f64>) -> KMeans {
    let (n, k) = (x.nrows(), centroids.nrows());
    let mut assignments = vec![usize::MAX; n];
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS {
        iterations += 1;
        let mut changed = false;
        let mut far = (0, -1.0);
        for (i, row) in x.rows().into_iter().enumerate() {
            let (cluster, distance) = nearest(row, &centroids);
            changed |= assignments[i] != cluster;
            assignments[i] = cluster;
            if distance > far.1 {
                far = (i, distance);
            }
        }
        if !changed {
            break;
        }
        let mut sums = Array2::<f64>::zeros(centroids.raw_dim());
        let mut counts = vec![0usize; k];
        for (row, &cluster) in x.rows().into_iter().zip(&assignments) {
            sums.row_mut(cluster).scaled_add(1.0, &row);
            counts[cluster] += 1;
        }
        for (c, &count) in counts.iter().enumerate() {
            if count > 0 {
                centroids.row_mut(c).assign(&(&sums.row(c) / count as f64));
            } else {
                // An empty cluster takes the sample worst served by its centre.
                centroids.row_mut(c).assign(&x.row(far.0));
            }
        }
    }
    let inertia =
        x.rows().into_iter().zip(&assignments).map(|(r, &c)| squared_distance(r, centroids.row(c))).sum();
    KMeans { centroids, assignments, inertia, iterations }
}

/// Clusters the rows of `x` (samples, features) into `k` clusters: `restarts`
/// runs of k-means++ seeding then Lloyd's iterations, all drawn from one
/// generator seeded with `seed`; the run of least inertia is kept (the first
/// on ties), so the result depends only on the inputs.
///
/// ```
/// use ndarray::array;
/// use nn_cli::repro::kmeans;
/// let x = array![[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]];
/// let fit = kmeans(x.view(), 2, 3, 0);
/// assert_eq!(fit.assignments[0], fit.assignments[1]);
/// assert_ne!(fit.assignments[0], fit.assignments[2]);
/// ```
///
/// # Panics
/// If `k` is 0 or more than the number of samples, or `restarts` is 0.
pub fn kmeans(x: ArrayView2<'_, f64>, k: usize, restarts: usize, seed: u64) -> KMeans {
    assert!(
        k >= 1 && k <= x.nrows(),
        "k-means: k = {k} clusters for {} samples, k must be between 1 and the sample count",
        x.nrows()
    );
    assert!(restarts >= 1, "k-means: restarts is 0, run at least once");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut best: Option<KMeans> = None;
    for _ in 0..restarts {
        let fit = lloyd(x, plus_plus(x, k, &mut rng));
        if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
            best = Some(fit);
        }
    }
    best.expect("restarts >= 1")
}

/// The mean of the rows of `x` in each cluster, for clusters numbered 0..k:
/// (k, features), zeros for an empty cluster.
pub fn cluster_means(x: ArrayView2<'_, f64>, assignments: &[usize], k: usize) -> Array2<f64> {
    let mut means = Array2::zeros((k, x.ncols()));
    for c in 0..k {
        let rows: Vec<usize> = (0..x.nrows()).filter(|&i| assignments[i] == c).collect();
        if !rows.is_empty() {
            means.row_mut(c).assign(&x.select(Axis(0), &rows).mean_axis(Axis(0)).expect("rows is not empty"));
        }
    }
    means
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn blobs() -> Array2<f64> {
        // Three tight groups of three around (0, 0), (10, 0) and (0, 10).
        array![
            [0.0, 0.0],
            [0.2, 0.0],
            [0.0, 0.2],
            [10.0, 0.0],
            [10.2, 0.0],
            [10.0, 0.2],
            [0.0, 10.0],
            [0.2, 10.0],
            [0.0, 10.2],
        ]
    }

    #[test]
    fn separated_blobs_are_found_with_their_means_and_inertia() {
        let x = blobs();
        let fit = kmeans(x.view(), 3, 5, 7);
        for group in fit.assignments.chunks(3) {
            assert!(group.iter().all(|&c| c == group[0]), "{:?}", fit.assignments);
        }
        let firsts: std::collections::HashSet<usize> = fit.assignments.iter().step_by(3).copied().collect();
        assert_eq!(firsts.len(), 3);
        // Each group's mean is its corner + (0.2/3, 0.2/3); inertia per group:
        // 2·(0.2/3)² + 2·((0.4/3)² + (0.2/3)²) = 0.08/9 + 0.40/9 = 0.16/3.
        let c = fit.centroids.row(fit.assignments[3]);
        assert!((c[0] - (10.0 + 0.2 / 3.0)).abs() < 1e-12 && (c[1] - 0.2 / 3.0).abs() < 1e-12);
        assert!((fit.inertia - 0.16).abs() < 1e-12, "{}", fit.inertia);
    }

    #[test]
    fn the_same_seed_gives_the_same_clustering() {
        let x = blobs();
        assert_eq!(kmeans(x.view(), 4, 3, 11), kmeans(x.view(), 4, 3, 11));
    }

    #[test]
    fn one_cluster_is_the_mean_and_k_equal_n_has_zero_inertia() {
        let x = array![[1.0, 2.0], [3.0, 6.0]];
        let one = kmeans(x.view(), 1, 1, 0);
        assert_eq!(one.centroids, array![[2.0, 4.0]]);
        assert_eq!(one.inertia, 2.0 * (1.0 + 4.0));
        assert_eq!(kmeans(x.view(), 2, 1, 0).inertia, 0.0);
    }

    #[test]
    fn duplicate_points_do_not_break_seeding() {
        let x = array![[1.0], [1.0], [1.0]];
        let fit = kmeans(x.view(), 2, 2, 3);
        assert_eq!(fit.inertia, 0.0);
    }

    #[test]
    fn cluster_means_average_each_cluster() {
        let x = array![[0.0, 2.0], [2.0, 4.0], [9.0, 9.0]];
        assert_eq!(cluster_means(x.view(), &[1, 1, 0], 3), array![[9.0, 9.0], [1.0, 3.0], [0.0, 0.0]]);
    }

    #[test]
    #[should_panic(expected = "k = 3 clusters for 2 samples")]
    fn more_clusters_than_samples_is_a_bug() {
        kmeans(array![[0.0], [1.0]].view(), 3, 1, 0);
    }
}
