//! MNIST's IDX files: a big-endian header (magic, then one u32 per dimension)
//! followed by u8 data, images (count, rows, cols) or labels (count,).

use std::path::Path;

use ndarray::Array2;

use crate::input::{gunzip_if_needed, read_file};
use crate::{DataError, Dataset};

/// Magic of an IDX file of u8 (0x08) with 3 dimensions: images.
const IMAGES_MAGIC: u32 = 0x0000_0803;

/// Magic of an IDX file of u8 (0x08) with 1 dimension: labels.
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads an IDX image file (e.g. `train-images-idx3-ubyte`, gzipped or not)
/// into x (images, rows · cols): one flattened row-major image per row,
/// pixels scaled by 1/255 into [0, 1].
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, and every error of [`parse_idx_images`].
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<Array2<f32>, DataError> {
    let (bytes, file) = read_file(path.as_ref())?;
    parse_idx_images(&bytes, &file)
}

/// Reads an IDX label file (e.g. `train-labels-idx1-ubyte`, gzipped or not)
/// into one label per image.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, and every error of [`parse_idx_labels`].
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<usize>, DataError> {
    let (bytes, file) = read_file(path.as_ref())?;
    parse_idx_labels(&bytes, &file)
}

/// Reads an IDX image file and its label file into a [`Dataset`]: x
/// (images, rows · cols) in [0, 1], `classes` = the largest label + 1
/// (10 for MNIST).
///
/// # Errors
/// Those of [`read_idx_images`] and [`read_idx_labels`], and
/// [`DataError::CountMismatch`] if the files hold different numbers of samples.
pub fn read_idx_pair(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Dataset, DataError> {
    let (image_bytes, image_file) = read_file(images.as_ref())?;
    let (label_bytes, label_file) = read_file(labels.as_ref())?;
    parse_idx_pair(&image_bytes, &image_file, &label_bytes, &label_file)
}

/// Parses the bytes of an IDX image file (magic 0x00000803: u8 data in 3
/// dimensions), gzipped or not (detected by the magic bytes 1f 8b), into x
/// (images, rows · cols) with pixels scaled by 1/255. `file` names the bytes
/// in errors.
///
/// # Errors
/// - [`DataError::Gzip`] if the bytes start like gzip but do not decompress;
/// - [`DataError::ShortHeader`] if there are fewer than 16 bytes;
/// - [`DataError::BadMagic`] if the first four bytes are not 00 00 08 03;
/// - [`DataError::Truncated`] / [`DataError::TrailingData`] if the data is
///   shorter / longer than images · rows · cols bytes;
/// - [`DataError::TooLarge`] if an empty file announces images too large to address.
pub fn parse_idx_images(bytes: &[u8], file: &str) -> Result<Array2<f32>, DataError> {
    let bytes = gunzip_if_needed(bytes, file)?;
    let ([images, rows, cols], data) = split_header::<3>(&bytes, file, IMAGES_MAGIC, "images")?;
    let too_large = || DataError::TooLarge { file: file.to_string(), rows, cols };
    // The header matched the data length, so this product only overflows
    // for an empty file announcing enormous images.
    let pixels = rows.checked_mul(cols).ok_or_else(too_large)?;
    let values = data.iter().map(|&b| f32::from(b) / 255.0).collect();
    Array2::from_shape_vec((images, pixels), values).map_err(|_| too_large())
}

/// Parses the bytes of an IDX label file (magic 0x00000801: u8 data in 1
/// dimension), gzipped or not, into one label per sample. `file` names the
/// bytes in errors.
///
/// # Errors
/// - [`DataError::Gzip`] if the bytes start like gzip but do not decompress;
/// - [`DataError::ShortHeader`] if there are fewer than 8 bytes;
/// - [`DataError::BadMagic`] if the first four bytes are not 00 00 08 01;
/// - [`DataError::Truncated`] / [`DataError::TrailingData`] if the data is
///   shorter / longer than the count in the header.
pub fn parse_idx_labels(bytes: &[u8], file: &str) -> Result<Vec<usize>, DataError> {
    let bytes = gunzip_if_needed(bytes, file)?;
    let (_, data) = split_header::<1>(&bytes, file, LABELS_MAGIC, "labels")?;
    Ok(data.iter().map(|&b| usize::from(b)).collect())
}

/// Parses an IDX image file and its label file into a [`Dataset`], as
/// [`read_idx_pair`] does; the names label the bytes in errors.
///
/// # Errors
/// Those of [`parse_idx_images`] and [`parse_idx_labels`], and
/// [`DataError::CountMismatch`] if the two hold different numbers of samples.
pub fn parse_idx_pair(
    images: &[u8],
    images_file: &str,
    labels: &[u8],
    labels_file: &str,
) -> Result<Dataset, DataError> {
    let x = parse_idx_images(images, images_file)?;
    let labels = parse_idx_labels(labels, labels_file)?;
    if x.nrows() != labels.len() {
        return Err(DataError::CountMismatch {
            images: images_file.to_string(),
            n_images: x.nrows(),
            labels: labels_file.to_string(),
            n_labels: labels.len(),
        });
    }
    Ok(Dataset::new(x, labels))
}

/// Checks the header of an IDX file of `D` dimensions and returns its sizes
/// and data, whose length is checked against their product.
fn split_header<'a, const D: usize>(
    bytes: &'a [u8],
    file: &str,
    magic: u32,
    what: &'static str,
) -> Result<([usize; D], &'a [u8]), DataError> {
    let header = 4 + 4 * D;
    let short =
        || DataError::ShortHeader { file: file.to_string(), found: bytes.len(), expected: header, what };
    let found = big_endian(bytes, 0).ok_or_else(short)?;
    if found != magic {
        return Err(DataError::BadMagic { file: file.to_string(), found, expected: magic, what });
    }
    let mut sizes = [0usize; D];
    let mut expected: u128 = 1;
    for (d, size) in sizes.iter_mut().enumerate() {
        let value = big_endian(bytes, 4 + 4 * d).ok_or_else(short)?;
        // At most three factors below 2³², so the product fits in u128.
        expected *= u128::from(value);
        *size = value as usize;
    }
    let data = &bytes[header..];
    let file = file.to_string();
    let found = data.len();
    match (found as u128).cmp(&expected) {
        std::cmp::Ordering::Less => Err(DataError::Truncated { file, expected, found }),
        std::cmp::Ordering::Greater => Err(DataError::TrailingData { file, expected, found }),
        std::cmp::Ordering::Equal => Ok((sizes, data)),
    }
}

/// The big-endian u32 at `offset`, if the bytes reach that far.
fn big_endian(bytes: &[u8], offset: usize) -> Option<u32> {
    let word: [u8; 4] = bytes.get(offset..offset + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TempFile, gzip};
    use ndarray::array;

    /// An IDX image file of `n` images of rows × cols pixels (values 0, 1, 2, …).
    fn images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
        let mut bytes = IMAGES_MAGIC.to_be_bytes().to_vec();
        for size in [n, rows, cols] {
            bytes.extend(size.to_be_bytes());
        }
        bytes.extend((0..n * rows * cols).map(|i| (i % 256) as u8));
        bytes
    }

    /// An IDX label file holding `labels`.
    fn labels(labels: &[u8]) -> Vec<u8> {
        let mut bytes = LABELS_MAGIC.to_be_bytes().to_vec();
        bytes.extend((labels.len() as u32).to_be_bytes());
        bytes.extend(labels);
        bytes
    }

    /// The message `read_idx_images` gives for a file of `bytes`, its path replaced by `{f}`.
    fn images_error(bytes: &[u8]) -> String {
        let file = TempFile::new("bad-images-idx3-ubyte", bytes);
        read_idx_images(file.path()).unwrap_err().to_string().replace(&file.name(), "{f}")
    }

    /// The message `read_idx_labels` gives for a file of `bytes`, its path replaced by `{f}`.
    fn labels_error(bytes: &[u8]) -> String {
        let file = TempFile::new("bad-labels-idx1-ubyte", bytes);
        read_idx_labels(file.path()).unwrap_err().to_string().replace(&file.name(), "{f}")
    }

    #[test]
    fn idx_images_are_flattened_and_scaled() {
        let x = parse_idx_images(&images(2, 2, 3), "x").unwrap();
        assert_eq!(x.shape(), &[2, 6]);
        assert_eq!(x.row(1), array![6.0, 7.0, 8.0, 9.0, 10.0, 11.0] / 255.0);
        let white = [IMAGES_MAGIC.to_be_bytes(), [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1]].concat();
        assert_eq!(parse_idx_images(&[white, vec![255]].concat(), "x").unwrap(), array![[1.0]]);
    }

    #[test]
    fn idx_pair_round_trips_through_gzipped_files() {
        let image_file = TempFile::new("images.idx3", &gzip(&images(3, 2, 2)));
        let label_file = TempFile::new("labels.idx1", &gzip(&labels(&[7, 0, 9])));
        let data = read_idx_pair(image_file.path(), label_file.path()).unwrap();
        assert_eq!(data.x, parse_idx_images(&images(3, 2, 2), "plain").unwrap());
        assert_eq!(data.labels, vec![7, 0, 9]);
        assert_eq!(data.classes, 10);
    }

    #[test]
    fn idx_reads_an_empty_set() {
        assert_eq!(parse_idx_images(&images(0, 28, 28), "x").unwrap().shape(), &[0, 784]);
        assert!(parse_idx_labels(&labels(&[]), "x").unwrap().is_empty());
    }

    #[test]
    fn idx_rejects_a_wrong_magic() {
        assert_eq!(
            images_error(&labels(&[1, 2])),
            "{f}: bad magic 0x00000801, expected 0x00000803 (an IDX images file)"
        );
        assert_eq!(
            labels_error(&images(1, 1, 1)),
            "{f}: bad magic 0x00000803, expected 0x00000801 (an IDX labels file)"
        );
        assert_eq!(
            labels_error(b"1,2,3\n"),
            "{f}: bad magic 0x312c322c, expected 0x00000801 (an IDX labels file)"
        );
    }

    #[test]
    fn idx_rejects_a_short_header() {
        assert_eq!(
            images_error(&[0, 0]),
            "{f}: truncated header: 2 bytes, an IDX images file starts with 16"
        );
        assert_eq!(
            images_error(&images(1, 2, 2)[..12]),
            "{f}: truncated header: 12 bytes, an IDX images file starts with 16"
        );
        assert_eq!(labels_error(&[]), "{f}: truncated header: 0 bytes, an IDX labels file starts with 8");
    }

    #[test]
    fn idx_rejects_truncated_data() {
        let bytes = images(2, 28, 28);
        assert_eq!(
            images_error(&bytes[..bytes.len() - 1]),
            "{f}: truncated: header says 1568 bytes of data but the file has 1567"
        );
        let huge = [IMAGES_MAGIC.to_be_bytes(), [0xff; 4], [0xff; 4], [0xff; 4]].concat();
        assert_eq!(
            images_error(&huge),
            format!(
                "{{f}}: truncated: header says {} bytes of data but the file has 0",
                u128::from(u32::MAX).pow(3)
            )
        );
        let mut short_labels = labels(&[1, 2, 3]);
        short_labels.pop();
        assert_eq!(
            labels_error(&short_labels),
            "{f}: truncated: header says 3 bytes of data but the file has 2"
        );
    }

    #[test]
    fn idx_rejects_trailing_data() {
        let mut bytes = labels(&[1, 2]);
        bytes.push(0);
        assert_eq!(
            labels_error(&bytes),
            "{f}: header says 2 bytes of data but the file has 3: extra bytes at the end"
        );
    }

    #[test]
    fn idx_rejects_images_and_labels_of_different_counts() {
        let image_file = TempFile::new("images.idx3", &images(3, 2, 2));
        let label_file = TempFile::new("labels.idx1", &labels(&[1, 2]));
        let err = read_idx_pair(image_file.path(), label_file.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: 3 images but {}: 2 labels", image_file.name(), label_file.name())
        );
    }

    #[test]
    fn idx_rejects_corrupt_gzip() {
        let mut bytes = gzip(&images(2, 2, 2));
        bytes.truncate(bytes.len() / 2);
        assert!(images_error(&bytes).starts_with("{f}: bad gzip data: "), "{}", images_error(&bytes));
    }

    #[test]
    fn idx_rejects_empty_sets_of_unaddressable_images() {
        let header = [IMAGES_MAGIC.to_be_bytes(), [0; 4], [0xff; 4], [0xff; 4]].concat();
        assert_eq!(images_error(&header), "{f}: images of 4294967295x4294967295 pixels are too large");
    }
}
