//! Scores of a clustering against the true labels: purity and the adjusted
//! Rand index (Hubert and Arabie, 1985).

use std::collections::HashMap;

/// The contingency table of two labelings: count of each (class, cluster) pair,
/// with the row (class) and column (cluster) sums.
struct Contingency {
    cells: HashMap<(usize, usize), usize>,
    classes: HashMap<usize, usize>,
    clusters: HashMap<usize, usize>,
}

impl Contingency {
    fn new(labels: &[usize], clusters: &[usize]) -> Self {
        assert_eq!(
            labels.len(),
            clusters.len(),
            "{} labels but {} cluster assignments: give one of each per sample",
            labels.len(),
            clusters.len()
        );
        let mut table = Self { cells: HashMap::new(), classes: HashMap::new(), clusters: HashMap::new() };
        for (&label, &cluster) in labels.iter().zip(clusters) {
            *table.cells.entry((label, cluster)).or_default() += 1;
            *table.classes.entry(label).or_default() += 1;
            *table.clusters.entry(cluster).or_default() += 1;
        }
        table
    }
}

/// Pairs among `n` items: n(n − 1)/2.
fn pairs(n: usize) -> f64 {
    let n = n as f64;
    n * (n - 1.0) / 2.0
}

/// The fraction of samples whose cluster's most common label is their own:
/// Σ over clusters of the largest class count, divided by the number of samples.
/// 1 for a perfect clustering; 0 for no samples.
///
/// ```
/// use nn_cli::repro::purity;
/// assert_eq!(purity(&[0, 0, 1, 1, 1], &[0, 0, 0, 1, 1]), 0.8);
/// ```
///
/// # Panics
/// If `labels` and `clusters` differ in length.
pub fn purity(labels: &[usize], clusters: &[usize]) -> f64 {
    let table = Contingency::new(labels, clusters);
    if labels.is_empty() {
        return 0.0;
    }
    let mut best: HashMap<usize, usize> = HashMap::new();
    for (&(_, cluster), &count) in &table.cells {
        let top = best.entry(cluster).or_default();
        *top = (*top).max(count);
    }
    best.values().sum::<usize>() as f64 / labels.len() as f64
}

/// The adjusted Rand index of a clustering against the labels: the Rand
/// index corrected for chance, (index − expected) / (max − expected) with
/// index = Σ_ij C(n_ij, 2), expected = Σ_i C(a_i, 2)·Σ_j C(b_j, 2) / C(n, 2),
/// max = (Σ_i C(a_i, 2) + Σ_j C(b_j, 2)) / 2.
///
/// 1 for identical partitions (whatever the cluster numbers), about 0 for a
/// random clustering, negative when worse than chance. When both partitions
/// are trivial (max = expected, e.g. everything in one cluster on both
/// sides) it is 1, as in scikit-learn.
///
/// ```
/// use nn_cli::repro::adjusted_rand_index;
/// assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 4.0 / 7.0).abs() < 1e-12);
/// ```
///
/// # Panics
/// If `labels` and `clusters` differ in length.
pub fn adjusted_rand_index(labels: &[usize], clusters: &[usize]) -> f64 {
    let table = Contingency::new(labels, clusters);
    let index: f64 = table.cells.values().map(|&n| pairs(n)).sum();
    let rows: f64 = table.classes.values().map(|&n| pairs(n)).sum();
    let cols: f64 = table.clusters.values().map(|&n| pairs(n)).sum();
    let total = pairs(labels.len());
    let expected = if total > 0.0 { rows * cols / total } else { 0.0 };
    let max = (rows + cols) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purity_counts_the_majority_label_of_each_cluster() {
        // cluster 0 holds labels {0, 0, 1}: 2; cluster 1 holds {1, 1}: 2; 4 of 5.
        assert_eq!(purity(&[0, 0, 1, 1, 1], &[0, 0, 0, 1, 1]), 0.8);
        assert_eq!(purity(&[3, 3, 7], &[5, 5, 9]), 1.0);
        assert_eq!(purity(&[0, 1, 2, 3], &[0, 0, 0, 0]), 0.25);
        assert_eq!(purity(&[], &[]), 0.0);
    }

    #[test]
    fn identical_partitions_have_an_ari_of_one_whatever_the_numbers() {
        let labels = [0, 0, 1, 1, 2, 2, 2];
        assert_eq!(adjusted_rand_index(&labels, &labels), 1.0);
        assert_eq!(adjusted_rand_index(&labels, &[5, 5, 3, 3, 9, 9, 9]), 1.0);
    }

    #[test]
    fn ari_matches_the_formula_on_small_hand_computed_cases() {
        // [0,0,1,1] vs [0,0,1,2]: index 1, rows 2, cols 1, C(4,2) = 6,
        // expected 2·1/6 = 1/3, max 3/2: (1 − 1/3)/(3/2 − 1/3) = 4/7.
        assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 4.0 / 7.0).abs() < 1e-12);
        // [0,0,1,1] vs [0,0,0,1]: index 1, rows 2, cols 3, expected 1, max 5/2: 0.
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 0, 1]), 0.0);
        // every sample alone against one cluster: index 0, expected 0, max 3: 0.
        assert_eq!(adjusted_rand_index(&[0, 0, 0, 0], &[0, 1, 2, 3]), 0.0);
        // [0,0,1,1] vs [0,1,0,1]: index 0, rows 2, cols 2, expected 2/3, max 2: −1/2.
        assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]) + 0.5).abs() < 1e-12);
    }

    #[test]
    fn trivial_partitions_on_both_sides_score_one() {
        assert_eq!(adjusted_rand_index(&[4, 4, 4], &[1, 1, 1]), 1.0);
        assert_eq!(adjusted_rand_index(&[0], &[0]), 1.0);
    }

    #[test]
    #[should_panic(expected = "3 labels but 2 cluster assignments")]
    fn labelings_of_different_lengths_are_a_bug() {
        adjusted_rand_index(&[0, 1, 2], &[0, 1]);
    }
}
