//! Stratified hold-out splits and k folds: every class in the same proportion in each part.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::DataError;

/// One fold of a cross-validation: (train, validation) sample indices, both sorted.
pub type Fold = (Vec<usize>, Vec<usize>);

/// The sample indices of each class, in ascending class order, each list
/// shuffled by one generator seeded with `seed`.
fn shuffled_classes(labels: &[usize], seed: u64) -> Vec<Vec<usize>> {
    let mut classes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (index, &label) in labels.iter().enumerate() {
        classes.entry(label).or_default().push(index);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    classes
        .into_values()
        .map(|mut indices| {
            indices.shuffle(&mut rng);
            indices
        })
        .collect()
}

/// Splits the indices `0..labels.len()` into (train, test), class by class,
/// with scikit-learn's sizes: ⌈`test_fraction` · n⌉ test samples in all (the
/// 1797 digits at 0.2: 360 test and 1437 training rows), at least one
/// training sample kept, shared out over the classes in proportion to their
/// counts; the remainders of that sharing go to the classes with the largest
/// ones (ties to the lower class). Each class's test samples are drawn at
/// random, the rest are for training.
///
/// Both lists are sorted ascending; together they hold every index once.
/// The same `labels`, fraction and `seed` give the same split (with this
/// version of `rand`). A class of one sample goes wholly to one side.
///
/// ```
/// let labels = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
/// let (train, test) = nn_data::stratified_split(&labels, 0.5, 7).unwrap();
/// assert_eq!((train.len(), test.len()), (5, 5)); // 2 + 3 of each class
/// ```
///
/// # Errors
/// [`DataError::BadFraction`] if `test_fraction` is not strictly between 0 and 1.
pub fn stratified_split(
    labels: &[usize],
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), DataError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(DataError::BadFraction { fraction: test_fraction });
    }
    let classes = shuffled_classes(labels, seed);
    let n = labels.len();
    let n_test = ((test_fraction * n as f64).ceil() as usize).min(n.saturating_sub(1));
    // Each class's exact share, count · n_test / n, as a whole part and a remainder (over n).
    let mut shares: Vec<usize> = classes.iter().map(|c| c.len() * n_test / n).collect();
    let mut by_remainder: Vec<usize> = (0..classes.len()).collect();
    by_remainder.sort_by_key(|&c| (std::cmp::Reverse(classes[c].len() * n_test % n), c));
    let mut left = n_test - shares.iter().sum::<usize>();
    for c in by_remainder {
        if left == 0 {
            break;
        }
        if shares[c] < classes[c].len() {
            shares[c] += 1;
            left -= 1;
        }
    }
    let mut train = Vec::with_capacity(n);
    let mut test = Vec::with_capacity(n_test);
    for (indices, share) in classes.iter().zip(shares) {
        let (to_test, to_train) = indices.split_at(share);
        test.extend_from_slice(to_test);
        train.extend_from_slice(to_train);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok((train, test))
}

/// Splits the indices `0..labels.len()` into `k` folds for cross-validation
/// and returns, for each fold, (train, validation): the validation part is
/// the fold, the training part every other index.
///
/// Each class's samples are shuffled and dealt round-robin to the folds,
/// the deal carrying on from one class to the next, so every fold holds each
/// class's count / k samples (±1) and n / k samples in all (±1). The
/// validation parts are disjoint and cover every index once. Lists are
/// sorted ascending; the same `labels`, `k` and `seed` give the same folds.
///
/// ```
/// let labels = [0, 1, 0, 1, 0, 1];
/// let folds = nn_data::stratified_k_fold(&labels, 3, 1).unwrap();
/// assert_eq!(folds.len(), 3);
/// for (train, validation) in &folds {
///     assert_eq!((train.len(), validation.len()), (4, 2));
/// }
/// ```
///
/// # Errors
/// [`DataError::BadFolds`] if `k` < 2 or `k` > `labels.len()` (a fold would be empty).
pub fn stratified_k_fold(labels: &[usize], k: usize, seed: u64) -> Result<Vec<Fold>, DataError> {
    if k < 2 || k > labels.len() {
        return Err(DataError::BadFolds { k, samples: labels.len() });
    }
    let mut folds = vec![Vec::new(); k];
    let mut next = 0;
    for indices in shuffled_classes(labels, seed) {
        for index in indices {
            folds[next].push(index);
            next = (next + 1) % k;
        }
    }
    let mut in_fold = vec![0; labels.len()];
    for (f, fold) in folds.iter_mut().enumerate() {
        fold.sort_unstable();
        for &index in fold.iter() {
            in_fold[index] = f;
        }
    }
    Ok(folds
        .into_iter()
        .enumerate()
        .map(|(f, validation)| {
            let train = (0..labels.len()).filter(|&i| in_fold[i] != f).collect();
            (train, validation)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digits;

    fn counts(labels: &[usize], indices: &[usize]) -> Vec<usize> {
        let mut counts = vec![0; labels.iter().max().map_or(0, |m| m + 1)];
        for &i in indices {
            counts[labels[i]] += 1;
        }
        counts
    }

    #[test]
    fn split_is_disjoint_covering_and_stratified() {
        let labels = digits().labels;
        let (train, test) = stratified_split(&labels, 0.2, 42).unwrap();
        let mut all = [train.clone(), test.clone()].concat();
        all.sort_unstable();
        assert_eq!(all, (0..labels.len()).collect::<Vec<_>>());
        assert!(train.is_sorted() && test.is_sorted());
        let total = counts(&labels, &all);
        // scikit-learn's sizes: ⌈0.2 · 1797⌉ = 360 test rows, 1437 training rows.
        assert_eq!((train.len(), test.len()), (1437, 360));
        for (class, (&in_test, &count)) in counts(&labels, &test).iter().zip(&total).enumerate() {
            let exact = count as f64 * 360.0 / 1797.0;
            assert!(in_test == exact.floor() as usize || in_test == exact.ceil() as usize, "class {class}");
        }
        // Class 0 has 178 samples: round(35.6) = 36 go to the test part.
        assert_eq!(counts(&labels, &test)[0], 36);
    }

    #[test]
    fn split_is_deterministic_for_a_seed() {
        let labels = digits().labels;
        assert_eq!(stratified_split(&labels, 0.3, 7).unwrap(), stratified_split(&labels, 0.3, 7).unwrap());
        assert_ne!(stratified_split(&labels, 0.3, 7).unwrap(), stratified_split(&labels, 0.3, 8).unwrap());
    }

    #[test]
    fn split_rejects_fractions_outside_zero_one() {
        for fraction in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            let err = stratified_split(&[0, 1], fraction, 0).unwrap_err();
            assert_eq!(err.to_string(), format!("test fraction {fraction} is outside (0, 1)"));
        }
        assert_eq!(
            stratified_split(&[0, 1], 1.0, 0).unwrap_err().to_string(),
            "test fraction 1 is outside (0, 1)"
        );
    }

    #[test]
    fn split_sizes_follow_scikit_learn() {
        // ⌈0.25 · 7⌉ = 2 test samples: class 0's share 4·2/7 = 1.14, class 1's 3·2/7 = 0.86.
        let (train, test) = stratified_split(&[0, 0, 0, 0, 1, 1, 1], 0.25, 3).unwrap();
        assert_eq!((train.len(), test.len()), (5, 2));
        assert_eq!(test.iter().filter(|&&i| i < 4).count(), 1);
        // A fraction near 1 still keeps a training sample; one sample stays in training.
        assert_eq!(stratified_split(&[0, 1, 2], 0.99, 0).unwrap().0.len(), 1);
        assert_eq!(stratified_split(&[5], 0.5, 0).unwrap(), (vec![0], vec![]));
    }

    #[test]
    fn split_of_no_samples_is_empty() {
        assert_eq!(stratified_split(&[], 0.5, 0).unwrap(), (vec![], vec![]));
    }

    #[test]
    fn k_fold_is_disjoint_covering_and_balanced() {
        let labels = digits().labels;
        let folds = stratified_k_fold(&labels, 5, 3).unwrap();
        assert_eq!(folds.len(), 5);
        let mut seen = vec![0; labels.len()];
        for (train, validation) in &folds {
            assert_eq!(train.len() + validation.len(), labels.len());
            assert!(train.is_sorted() && validation.is_sorted());
            assert!(train.iter().all(|i| validation.binary_search(i).is_err()));
            for &i in validation {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
        let per_fold: Vec<Vec<usize>> = folds.iter().map(|(_, v)| counts(&labels, v)).collect();
        for class in 0..10 {
            let (min, max) =
                per_fold.iter().fold((usize::MAX, 0), |(lo, hi), c| (lo.min(c[class]), hi.max(c[class])));
            assert!(max - min <= 1, "class {class}: {min}..={max}");
        }
        let sizes: Vec<usize> = folds.iter().map(|(_, v)| v.len()).collect();
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
    }

    #[test]
    fn k_fold_is_deterministic_for_a_seed() {
        let labels = digits().labels;
        assert_eq!(stratified_k_fold(&labels, 4, 9).unwrap(), stratified_k_fold(&labels, 4, 9).unwrap());
    }

    #[test]
    fn k_fold_rejects_too_few_or_too_many_folds() {
        assert_eq!(
            stratified_k_fold(&[0, 1, 0], 1, 0).unwrap_err().to_string(),
            "cannot make 1 folds of 3 samples: k must be from 2 to the number of samples"
        );
        assert_eq!(
            stratified_k_fold(&[0, 1, 0], 4, 0).unwrap_err().to_string(),
            "cannot make 4 folds of 3 samples: k must be from 2 to the number of samples"
        );
        assert_eq!(stratified_k_fold(&[0, 1, 0], 3, 0).unwrap().len(), 3);
    }
}
