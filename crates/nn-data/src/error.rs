//! The one error of the crate: a file or a split request that cannot be used.

use std::io;

/// Why a data file could not be read, or a split could not be made.
///
/// Every file variant names the file (the path, or the name given to a
/// `parse_*` function) and the place: line and column for CSV, the header
/// or data sizes for IDX. Readers return these for any input, never panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{file}: {source}")]
    Io {
        /// The path.
        file: String,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file starts with the gzip magic bytes but does not decompress.
    #[error("{file}: bad gzip data: {source}")]
    Gzip {
        /// The file.
        file: String,
        /// What the decoder said.
        source: io::Error,
    },
    /// A CSV line is not UTF-8 text.
    #[error("{file}: line {line} is not valid utf-8")]
    NotUtf8 {
        /// The file.
        file: String,
        /// The line, counting from 1.
        line: usize,
    },
    /// A CSV field does not parse as a number.
    #[error("{file}: line {line}, column {column}: '{text}' is not a number")]
    NotANumber {
        /// The file.
        file: String,
        /// The line, counting from 1 (the header and blank lines count).
        line: usize,
        /// The column, counting from 1.
        column: usize,
        /// The field, trimmed.
        text: String,
    },
    /// A CSV field is NaN or infinite (or becomes infinite when scaled).
    #[error("{file}: line {line}, column {column}: '{text}' is not finite")]
    NotFinite {
        /// The file.
        file: String,
        /// The line, counting from 1.
        line: usize,
        /// The column, counting from 1.
        column: usize,
        /// The field, trimmed.
        text: String,
    },
    /// A CSV row has another number of columns than the first row.
    #[error("{file}: line {line} has {found} columns but the first row has {expected}")]
    Ragged {
        /// The file.
        file: String,
        /// The line, counting from 1.
        line: usize,
        /// Columns of this row.
        found: usize,
        /// Columns of the first data row.
        expected: usize,
    },
    /// The first CSV row has a single column: there is a label but no feature.
    #[error("{file}: line {line} has a single column: need the features, then the label")]
    NoFeatures {
        /// The file.
        file: String,
        /// The line, counting from 1.
        line: usize,
    },
    /// A CSV label (last column) is negative or not an integer.
    #[error("{file}: line {line}: label '{text}' is not a non-negative integer")]
    BadLabel {
        /// The file.
        file: String,
        /// The line, counting from 1.
        line: usize,
        /// The field, trimmed.
        text: String,
    },
    /// A label is not below the number of classes (given, or [`MAX_CLASSES`](crate::MAX_CLASSES)).
    #[error("{file}: label {label} at line {line} is out of range (0..{classes})")]
    LabelOutOfRange {
        /// The file.
        file: String,
        /// The label.
        label: usize,
        /// The line, counting from 1.
        line: usize,
        /// The number of classes.
        classes: usize,
    },
    /// The file has no data row (it is empty, blank, or a header alone).
    #[error("{file}: no data rows")]
    Empty {
        /// The file.
        file: String,
    },
    /// An IDX file is shorter than its header.
    #[error("{file}: truncated header: {found} bytes, an IDX {what} file starts with {expected}")]
    ShortHeader {
        /// The file.
        file: String,
        /// Bytes in the file (after decompression).
        found: usize,
        /// Bytes of the header.
        expected: usize,
        /// `images` or `labels`.
        what: &'static str,
    },
    /// An IDX file does not start with the magic number of its kind.
    #[error("{file}: bad magic 0x{found:08x}, expected 0x{expected:08x} (an IDX {what} file)")]
    BadMagic {
        /// The file.
        file: String,
        /// The first four bytes, big-endian.
        found: u32,
        /// 0x00000803 for images (u8, 3 dimensions), 0x00000801 for labels (u8, 1 dimension).
        expected: u32,
        /// `images` or `labels`.
        what: &'static str,
    },
    /// An IDX file has less data than its header announces.
    #[error("{file}: truncated: header says {expected} bytes of data but the file has {found}")]
    Truncated {
        /// The file.
        file: String,
        /// Data bytes the header announces (product of its sizes).
        expected: u128,
        /// Data bytes after the header.
        found: usize,
    },
    /// An IDX file has more data than its header announces.
    #[error("{file}: header says {expected} bytes of data but the file has {found}: extra bytes at the end")]
    TrailingData {
        /// The file.
        file: String,
        /// Data bytes the header announces (product of its sizes).
        expected: u128,
        /// Data bytes after the header.
        found: usize,
    },
    /// An empty IDX image file announces images too large to address.
    #[error("{file}: images of {rows}x{cols} pixels are too large")]
    TooLarge {
        /// The file.
        file: String,
        /// Rows of each image.
        rows: usize,
        /// Columns of each image.
        cols: usize,
    },
    /// An IDX image file and label file do not hold the same number of samples.
    #[error("{images}: {n_images} images but {labels}: {n_labels} labels")]
    CountMismatch {
        /// The image file.
        images: String,
        /// Images in it.
        n_images: usize,
        /// The label file.
        labels: String,
        /// Labels in it.
        n_labels: usize,
    },
    /// A test fraction outside (0, 1).
    #[error("test fraction {fraction} is outside (0, 1)")]
    BadFraction {
        /// The fraction asked for.
        fraction: f64,
    },
    /// A number of folds below 2 or above the number of samples.
    #[error("cannot make {k} folds of {samples} samples: k must be from 2 to the number of samples")]
    BadFolds {
        /// The number of folds asked for.
        k: usize,
        /// The number of samples.
        samples: usize,
    },
}
