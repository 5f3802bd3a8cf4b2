//! The 8×8 handwritten digits of the report, bundled in the binary.

use std::sync::OnceLock;

use crate::{CsvOptions, Dataset, parse_csv};

/// `data/digits.csv.gz`: 1797 rows of 64 pixels (0..=16) and a label (0..=9).
static DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// The 8×8 digits data set: x (1797, 64) with pixels scaled from 0..=16 to
/// [0, 1] (pixel / 16, row-major 8×8 images), labels 0..=9, 10 classes
/// (178, 182, 177, 183, 181, 182, 181, 179, 174, 180 samples of each).
///
/// This is the data set of the report (its "MNIST" means these 8×8 digits:
/// every network there takes 64 inputs). It is compiled into the binary and
/// decoded once, on the first call; later calls clone the cached set.
///
/// Credit: Optical Recognition of Handwritten Digits (the UCI "optdigits"
/// test set), by E. Alpaydin and C. Kaynak (1998), UCI Machine Learning
/// Repository, licensed CC BY 4.0, as redistributed by scikit-learn (see
/// `crates/nn-data/data/README.md`).
///
/// ```
/// let digits = nn_data::digits();
/// assert_eq!(digits.x.shape(), &[1797, 64]);
/// assert_eq!(digits.classes, 10);
/// ```
///
/// # Panics
/// Never in a released build: the bundled file is tested to decode.
pub fn digits() -> Dataset {
    static DIGITS: OnceLock<Dataset> = OnceLock::new();
    DIGITS
        .get_or_init(|| {
            let options = CsvOptions { scale: 1.0 / 16.0, classes: Some(10) };
            parse_csv(DIGITS_CSV_GZ, "digits.csv.gz", &options).expect("the bundled digits.csv.gz decodes")
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_have_the_published_shape_and_classes() {
        let digits = digits();
        assert_eq!(digits.x.shape(), &[1797, 64]);
        assert_eq!(digits.labels.len(), 1797);
        assert_eq!(digits.classes, 10);
        assert_eq!(digits.class_counts(), vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        assert_eq!(digits.class_counts().iter().sum::<usize>(), 1797);
    }

    #[test]
    fn digits_pixels_are_sixteenths_in_zero_one() {
        let digits = digits();
        assert!(digits.x.iter().all(|&v| (0.0..=1.0).contains(&v) && (v * 16.0).fract() == 0.0));
        assert_eq!(digits.x.iter().cloned().fold(0.0, f32::max), 1.0);
        // The first image starts 0, 0, 5, 13, 9, 1, 0, 0 and is a 0.
        let first: Vec<f32> = digits.x.row(0).iter().take(8).map(|v| v * 16.0).collect();
        assert_eq!(first, vec![0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]);
        assert_eq!(digits.labels[0], 0);
    }

    #[test]
    fn digits_are_decoded_once() {
        assert_eq!(digits(), digits());
    }
}
