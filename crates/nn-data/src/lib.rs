//! Data sets for the library: the bundled 8×8 digits of the report, readers
//! for MNIST's IDX files and for numeric CSV files, one-hot targets, and
//! stratified splits and folds.
//!
//! A [`Dataset`] holds x (samples, features) in f32 and one class label per
//! sample. Readers take gzipped files transparently (detected by their
//! magic bytes, not their name) and return a [`DataError`] naming the file
//! and the place for any malformed input; they never panic.
//!
//! ```
//! let digits = nn_data::digits();
//! let (train, test) = nn_data::stratified_split(&digits.labels, 0.2, 42).unwrap();
//! let (train, test) = (digits.select(&train), digits.select(&test));
//! assert_eq!((train.len(), test.len()), (1437, 360));
//! assert_eq!(train.one_hot().shape(), &[1437, 10]);
//! ```
//!
//! This crate depends on no other crate of the library.

mod csv;
mod dataset;
mod digits;
mod error;
mod idx;
mod input;
mod split;
#[cfg(test)]
mod testing;

pub use csv::{CsvOptions, parse_csv, parse_csv_features, read_csv, read_csv_features};
pub use dataset::{Dataset, MAX_CLASSES, one_hot};
pub use digits::digits;
pub use error::DataError;
pub use idx::{
    parse_idx_images, parse_idx_labels, parse_idx_pair, read_idx_images, read_idx_labels, read_idx_pair,
};
pub use split::{Fold, stratified_k_fold, stratified_split};
