//! Principal component analysis: the covariance's eigenvectors by cyclic
//! Jacobi rotations, exact for the small matrices of latent codes (d ≤ a few hundred).

use ndarray::{Array1, Array2, ArrayView2, Axis};

/// Most Jacobi sweeps; a symmetric matrix of size 50 converges in about ten.
const MAX_SWEEPS: usize = 100;

/// The eigen-decomposition of a symmetric matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct SymmetricEigen {
    /// Eigenvalues, largest first.
    pub values: Vec<f64>,
    /// Unit eigenvectors as columns, (n, n), in the order of `values`; the
    /// entry of largest magnitude of each is positive, so the result is unique
    /// for distinct eigenvalues.
    pub vectors: Array2<f64>,
}

/// Eigenvalues and eigenvectors of the symmetric (n, n) matrix `a` by cyclic
/// Jacobi rotations: each rotation zeroes one off-diagonal pair, sweeps run
/// until the off-diagonal part is negligible (relative 1e-24 of the squared
/// norm) or `MAX_SWEEPS` sweeps have run. Only the upper triangle matters in
/// principle; `a` is assumed symmetric.
///
/// ```
/// use ndarray::array;
/// use nn_cli::repro::symmetric_eigen;
/// let e = symmetric_eigen(array![[2.0, 1.0], [1.0, 2.0]].view());
/// assert!((e.values[0] - 3.0).abs() < 1e-12 && (e.values[1] - 1.0).abs() < 1e-12);
/// ```
///
/// # Panics
/// If `a` is not square.
pub fn symmetric_eigen(a: ArrayView2<'_, f64>) -> SymmetricEigen {
    let n = a.nrows();
    assert_eq!(n, a.ncols(), "symmetric_eigen: the matrix is {n} × {}, it must be square", a.ncols());
    let mut a = a.to_owned();
    let mut v = Array2::<f64>::eye(n);
    let norm: f64 = a.iter().map(|x| x * x).sum();
    for _ in 0..MAX_SWEEPS {
        let off: f64 =
            (0..n).flat_map(|p| (p + 1..n).map(move |q| (p, q))).map(|(p, q)| a[[p, q]].powi(2)).sum();
        if off <= 1e-24 * norm || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[[p, q]] == 0.0 {
                    continue;
                }
                // t = tan of the angle that zeroes a[p, q]: the smaller root of
                // t² + 2θt − 1 = 0, θ = (a_qq − a_pp) / (2 a_pq).
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * a[[p, q]]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[[j, j]].total_cmp(&a[[i, i]]));
    let values = order.iter().map(|&i| a[[i, i]]).collect();
    let mut vectors = v.select(Axis(1), &order);
    for mut column in vectors.columns_mut() {
        let largest = column.iter().copied().fold(0.0_f64, |m, x| if x.abs() > m.abs() { x } else { m });
        if largest < 0.0 {
            column.mapv_inplace(|x| -x);
        }
    }
    SymmetricEigen { values, vectors }
}

/// A fitted principal component analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// The mean of the fitted rows, (features,).
    pub mean: Array1<f64>,
    /// The principal directions as rows, (components, features), unit length.
    pub components: Array2<f64>,
    /// The variance along each component (the covariance's eigenvalues).
    pub variance: Vec<f64>,
    /// Each component's share of the total variance, in [0, 1].
    pub variance_ratio: Vec<f64>,
}

impl Pca {
    /// The first `components` principal components of the rows of `x`
    /// (samples, features): eigenvectors of the covariance (divided by n − 1).
    ///
    /// # Panics
    /// If `x` has fewer than 2 rows or `components` is 0 or more than the features.
    pub fn fit(x: ArrayView2<'_, f64>, components: usize) -> Self {
        let (n, d) = x.dim();
        assert!(n >= 2, "PCA needs at least 2 samples, got {n}");
        assert!(
            components >= 1 && components <= d,
            "PCA: {components} components of {d} features, ask for between 1 and {d}"
        );
        let mean = x.mean_axis(Axis(0)).expect("n >= 2");
        let centred = &x - &mean;
        let covariance = centred.t().dot(&centred) / (n - 1) as f64;
        let eigen = symmetric_eigen(covariance.view());
        let total: f64 = eigen.values.iter().map(|v| v.max(0.0)).sum();
        let variance: Vec<f64> = eigen.values[..components].iter().map(|v| v.max(0.0)).collect();
        let variance_ratio = variance.iter().map(|v| if total > 0.0 { v / total } else { 0.0 }).collect();
        let components = eigen.vectors.slice(ndarray::s![.., ..components]).t().to_owned();
        Self { mean, components, variance, variance_ratio }
    }

    /// The coordinates of the rows of `x` on the components: (samples, components).
    ///
    /// # Panics
    /// If `x` does not have the fitted number of features.
    pub fn project(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        assert_eq!(
            x.ncols(),
            self.mean.len(),
            "PCA was fitted on {} features but the rows have {}",
            self.mean.len(),
            x.ncols()
        );
        (&x - &self.mean).dot(&self.components.t())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-10
    }

    #[test]
    fn two_by_two_has_the_hand_computed_eigenpairs() {
        let e = symmetric_eigen(array![[2.0, 1.0], [1.0, 2.0]].view());
        assert!(close(e.values[0], 3.0) && close(e.values[1], 1.0), "{:?}", e.values);
        let r = 0.5_f64.sqrt();
        assert!(close(e.vectors[[0, 0]], r) && close(e.vectors[[1, 0]], r), "{}", e.vectors);
        // (1, −1)/√2 with its largest-magnitude entry made positive: the first (a tie, kept).
        assert!(close(e.vectors[[0, 1]].abs(), r) && close(e.vectors[[0, 1]], -e.vectors[[1, 1]]));
    }

    #[test]
    fn a_diagonal_matrix_is_sorted_not_rotated() {
        let e = symmetric_eigen(array![[1.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 3.0]].view());
        assert_eq!(e.values, vec![5.0, 3.0, 1.0]);
        assert_eq!(e.vectors, array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
    }

    #[test]
    fn eigenpairs_of_a_larger_matrix_satisfy_the_definition() {
        let a = array![
            [4.0, 1.0, -2.0, 2.0],
            [1.0, 2.0, 0.0, 1.0],
            [-2.0, 0.0, 3.0, -2.0],
            [2.0, 1.0, -2.0, -1.0]
        ];
        let e = symmetric_eigen(a.view());
        for (i, &lambda) in e.values.iter().enumerate() {
            let v = e.vectors.column(i);
            let residual = &a.dot(&v) - &(&v * lambda);
            assert!(residual.iter().all(|r| r.abs() < 1e-10), "λ = {lambda}: {residual}");
        }
        let identity = e.vectors.t().dot(&e.vectors);
        assert!(identity.iter().zip(Array2::<f64>::eye(4).iter()).all(|(x, y)| close(*x, *y)));
        assert!(close(e.values.iter().sum::<f64>(), 8.0), "the trace is kept");
        assert!(e.values.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn points_on_a_line_have_one_component_with_all_the_variance() {
        let x = array![[0.0, 1.0], [1.0, 3.0], [2.0, 5.0], [3.0, 7.0]];
        let pca = Pca::fit(x.view(), 2);
        assert_eq!(pca.mean, array![1.5, 4.0]);
        let u = 5.0_f64.sqrt();
        assert!(close(pca.components[[0, 0]], 1.0 / u) && close(pca.components[[0, 1]], 2.0 / u));
        assert!(close(pca.variance_ratio[0], 1.0) && pca.variance_ratio[1].abs() < 1e-10);
        // Variance along (1, 2)/√5: the coordinates are ±1.5·√5, ±0.5·√5 → 5·5/3.
        assert!(close(pca.variance[0], 25.0 / 3.0), "{:?}", pca.variance);
        let projected = pca.project(x.view());
        assert!(close(projected[[0, 0]], -1.5 * u) && close(projected[[3, 0]], 1.5 * u));
        assert!(projected.column(1).iter().all(|p| p.abs() < 1e-10));
    }

    #[test]
    #[should_panic(expected = "the matrix is 2 × 3, it must be square")]
    fn a_non_square_matrix_is_a_bug() {
        symmetric_eigen(Array2::zeros((2, 3)).view());
    }
}
