//! Numeric CSV files: features in every column but the last, the class label in the last.

use std::path::Path;

use ndarray::Array2;

use crate::input::{gunzip_if_needed, read_file};
use crate::{DataError, Dataset, MAX_CLASSES};

/// How [`read_csv`] and [`parse_csv`] read a file.
///
/// ```
/// use nn_data::CsvOptions;
/// // Pixels 0..=255 into [0, 1], ten classes.
/// let options = CsvOptions { scale: 1.0 / 255.0, classes: Some(10) };
/// assert_eq!(CsvOptions::default(), CsvOptions { scale: 1.0, classes: None });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    /// Every feature is multiplied by it (not the label); 1 by default.
    pub scale: f32,
    /// The number of classes: labels must be below it. `None` (the default)
    /// takes the largest label + 1 and accepts labels below [`MAX_CLASSES`].
    pub classes: Option<usize>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self { scale: 1.0, classes: None }
    }
}

/// Reads a CSV file of numbers into a [`Dataset`], see [`parse_csv`] for the format.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, and every error of [`parse_csv`].
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset, DataError> {
    let (bytes, file) = read_file(path.as_ref())?;
    parse_csv(&bytes, &file, options)
}

/// Parses CSV `bytes` into a [`Dataset`]; `file` names them in errors.
///
/// The format: comma-separated numbers, one sample per line, the features
/// first and the class label last, so a file of c columns gives x
/// (rows, c − 1). Fields are trimmed; blank lines are skipped; `\r\n` line
/// ends are fine, and so is a UTF-8 byte-order mark before the first line.
/// The first non-blank line is a header, and skipped, if each of its fields
/// that is not a number starts with a letter (`x0,x1,label`, or pandas's
/// `0,1,label`); a field that starts like a number but is not one (`0.5x`,
/// `-`), or is empty, makes it data, so that a typo in the first row is an
/// error naming its line and column, as on any other line. Labels are non-negative
/// integers, written `3` or `3.0`. Features are multiplied by
/// `options.scale`. Gzipped bytes (starting with 1f 8b) are decompressed
/// first, whatever the file's name. Lines and columns in errors count from 1.
///
/// ```
/// use nn_data::{CsvOptions, parse_csv};
/// let data = parse_csv(b"a,b,label\n1,2,0\n3,4,1\n", "tiny.csv", &CsvOptions::default()).unwrap();
/// assert_eq!((data.len(), data.features(), data.classes), (2, 2, 2));
/// ```
///
/// # Errors
/// - [`DataError::Gzip`] if the bytes start like gzip but do not decompress;
/// - [`DataError::NotUtf8`] for a line that is not UTF-8;
/// - [`DataError::NotANumber`] for a field that is not a number;
/// - [`DataError::NotFinite`] for NaN or an infinity (also after scaling);
/// - [`DataError::NoFeatures`] if the first row has a single column;
/// - [`DataError::Ragged`] for a row whose column count differs from the first row's;
/// - [`DataError::BadLabel`] for a negative or fractional label;
/// - [`DataError::LabelOutOfRange`] for a label not below `options.classes`
///   (or [`MAX_CLASSES`]);
/// - [`DataError::Empty`] if there is no data row.
pub fn parse_csv(bytes: &[u8], file: &str, options: &CsvOptions) -> Result<Dataset, DataError> {
    let limit = options.classes.unwrap_or(MAX_CLASSES);
    let (x, labels) = parse_rows(bytes, file, options.scale, Some(limit))?;
    let classes = options.classes.unwrap_or_else(|| labels.iter().max().map_or(0, |&max| max + 1));
    Ok(Dataset { x, labels, classes })
}

/// Reads a CSV file of features only, with no label column, see [`parse_csv_features`].
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, and every error of [`parse_csv_features`].
pub fn read_csv_features(path: impl AsRef<Path>, scale: f32) -> Result<Array2<f32>, DataError> {
    let (bytes, file) = read_file(path.as_ref())?;
    parse_csv_features(&bytes, &file, scale)
}

/// Parses CSV `bytes` of unlabelled rows, such as new samples to predict:
/// x (rows, columns), every column a feature times `scale`. Otherwise as
/// [`parse_csv`]: a header line, blank lines, `\r\n` and gzip are handled the same way.
///
/// ```
/// let x = nn_data::parse_csv_features(b"a,b\n1,2\n3,4\n", "new.csv", 0.5).unwrap();
/// assert_eq!(x, ndarray::array![[0.5, 1.0], [1.5, 2.0]]);
/// ```
///
/// # Errors
/// As [`parse_csv`], without the label errors, and a single column is fine.
pub fn parse_csv_features(bytes: &[u8], file: &str, scale: f32) -> Result<Array2<f32>, DataError> {
    parse_rows(bytes, file, scale, None).map(|(x, _)| x)
}

/// The rows of a CSV: x, and with `labels_below` = `Some(limit)` the last
/// column as labels below `limit` (without, every column is a feature).
fn parse_rows(
    bytes: &[u8],
    file: &str,
    scale: f32,
    labels_below: Option<usize>,
) -> Result<(Array2<f32>, Vec<usize>), DataError> {
    let bytes = gunzip_if_needed(bytes, file)?;
    // Excel's "CSV UTF-8" and Notepad start the file with one; left in, it
    // glues itself to the first field, which then is no number.
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(&bytes);
    let feature_columns = |found: usize| if labels_below.is_some() { found - 1 } else { found };
    let mut values = Vec::new();
    let mut labels = Vec::new();
    let mut rows = 0;
    let mut columns = None;
    let mut seen_first_line = false;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let text =
            std::str::from_utf8(raw).map_err(|_| DataError::NotUtf8 { file: file.to_string(), line })?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if !seen_first_line {
            seen_first_line = true;
            if is_header(text) {
                continue;
            }
        }
        let found = text.split(',').count();
        let expected = *columns.get_or_insert(found);
        if found != expected {
            return Err(DataError::Ragged { file: file.to_string(), line, found, expected });
        }
        if found < 2 && labels_below.is_some() {
            return Err(DataError::NoFeatures { file: file.to_string(), line });
        }
        for (column, field) in text.split(',').enumerate() {
            let place = Place { file, line, column: column + 1, text: field.trim() };
            match labels_below {
                Some(limit) if column + 1 == found => labels.push(place.label(limit)?),
                _ => values.push(place.feature(scale)?),
            }
        }
        rows += 1;
    }
    let (Some(columns), false) = (columns, rows == 0) else {
        return Err(DataError::Empty { file: file.to_string() });
    };
    let x = Array2::from_shape_vec((rows, feature_columns(columns)), values)
        .expect("every row pushed its features");
    Ok((x, labels))
}

/// UTF-8's byte-order mark, U+FEFF.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Whether the first line of a file is a header: some field is not a number,
/// and each such field starts with a letter (or `_` or a quote), as column
/// names do. pandas names unnamed columns by their index (`0,1,label`), so
/// numbers alone do not make a line data; but a field that is empty or
/// starts like a number without being one (`0.5x`) is a typo in a data row,
/// reported rather than the row silently dropped as a header.
fn is_header(line: &str) -> bool {
    let mut names = line.split(',').map(str::trim).filter(|field| field.parse::<f32>().is_err()).peekable();
    names.peek().is_some()
        && names
            .all(|name| name.starts_with(|c: char| c.is_alphabetic() || c == '_' || c == '"' || c == '\''))
}

/// A field and where it is, for the error messages.
struct Place<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    text: &'a str,
}

impl Place<'_> {
    /// The field as a finite feature, times `scale`.
    fn feature(&self, scale: f32) -> Result<f32, DataError> {
        let value = self.text.parse::<f32>().map_err(|_| self.not_a_number())? * scale;
        if value.is_finite() { Ok(value) } else { Err(self.not_finite()) }
    }

    /// The field as a label below `limit`: `3` or `3.0`, not `-1` or `2.5`.
    fn label(&self, limit: usize) -> Result<usize, DataError> {
        let label = match self.text.parse::<usize>() {
            Ok(label) => label,
            Err(_) => {
                let value = self.text.parse::<f64>().map_err(|_| self.not_a_number())?;
                if !value.is_finite() {
                    return Err(self.not_finite());
                }
                if value < 0.0 || value.fract() != 0.0 {
                    return Err(DataError::BadLabel {
                        file: self.file.to_string(),
                        line: self.line,
                        text: self.text.to_string(),
                    });
                }
                // Saturates for huge values, which the range check below rejects.
                value as usize
            }
        };
        if label < limit {
            Ok(label)
        } else {
            Err(DataError::LabelOutOfRange {
                file: self.file.to_string(),
                label,
                line: self.line,
                classes: limit,
            })
        }
    }

    fn not_a_number(&self) -> DataError {
        DataError::NotANumber {
            file: self.file.to_string(),
            line: self.line,
            column: self.column,
            text: self.text.to_string(),
        }
    }

    fn not_finite(&self) -> DataError {
        DataError::NotFinite {
            file: self.file.to_string(),
            line: self.line,
            column: self.column,
            text: self.text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TempFile, gzip};
    use ndarray::array;

    /// The error message `read_csv` gives for a file holding `text`, with
    /// the file's path replaced by `{f}`.
    fn error_for(text: &[u8], options: &CsvOptions) -> String {
        let file = TempFile::new("bad.csv", text);
        let err = read_csv(file.path(), options).unwrap_err();
        err.to_string().replace(&file.name(), "{f}")
    }

    fn error(text: &str) -> String {
        error_for(text.as_bytes(), &CsvOptions::default())
    }

    #[test]
    fn csv_reads_features_and_labels() {
        let file = TempFile::new("good.csv", b"1,2,0\n3,4,2\n");
        let data = read_csv(file.path(), &CsvOptions::default()).unwrap();
        assert_eq!(data.x, array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(data.labels, vec![0, 2]);
        assert_eq!(data.classes, 3);
    }

    #[test]
    fn csv_skips_a_header_blank_lines_and_carriage_returns() {
        let text = b"pixel0, pixel1, label\r\n\r\n 1 , 2 , 1 \r\n3,4,0.0\r\n\n";
        let data = parse_csv(text, "x.csv", &CsvOptions::default()).unwrap();
        assert_eq!(data.x, array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(data.labels, vec![1, 0]);
    }

    #[test]
    fn csv_skips_a_byte_order_mark() {
        let rows: String = (0..60).map(|i| format!("{i},{},{}\n", i * 2, i % 3)).collect();
        let with_bom = |text: &str| [UTF8_BOM, text.as_bytes()].concat();
        let data = parse_csv(&with_bom(&rows), "bom.csv", &CsvOptions::default()).unwrap();
        assert_eq!((data.len(), data.x[[0, 0]], data.labels[0]), (60, 0.0, 0));
        let data =
            parse_csv(&with_bom(&format!("a,b,label\r\n{rows}")), "bom.csv", &CsvOptions::default()).unwrap();
        assert_eq!(data.len(), 60);
        let data = parse_csv(&gzip(&with_bom(&rows)), "bom.csv.gz", &CsvOptions::default()).unwrap();
        assert_eq!(data.len(), 60);
        let x = parse_csv_features(&with_bom("1,2\n3,4\n"), "new.csv", 1.0).unwrap();
        assert_eq!(x, array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(error_for(&with_bom(""), &CsvOptions::default()), "{f}: no data rows");
        assert_eq!(
            error_for(&with_bom("1,2x,0\n"), &CsvOptions::default()),
            "{f}: line 1, column 2: '2x' is not a number"
        );
    }

    #[test]
    fn a_first_line_with_a_number_is_data_not_a_header() {
        assert_eq!(error("1,0.5x,0\n3,4,1\n"), "{f}: line 1, column 2: '0.5x' is not a number");
        assert_eq!(error("\n\n1,2,3x\n3,4,1\n"), "{f}: line 3, column 3: '3x' is not a number");
        assert_eq!(error("1,-,0\n3,4,1\n"), "{f}: line 1, column 2: '-' is not a number");
        assert_eq!(error(",,\n3,4,1\n"), "{f}: line 1, column 1: '' is not a number");
        assert_eq!(error(" , 2 ,0\n3,4,1\n"), "{f}: line 1, column 1: '' is not a number");
        let err = parse_csv_features(b"1,0.5x\n3,4\n", "new.csv", 1.0).unwrap_err();
        assert_eq!(err.to_string(), "new.csv: line 1, column 2: '0.5x' is not a number");
        // Still headers: every field that is not a number is a name.
        for header in ["a,b,label", "x 0, x 1 ,y", "0,1,label", "\"a\",\"b\",_y"] {
            let text = format!("{header}\n1,2,0\n3,4,1\n");
            let data = parse_csv(text.as_bytes(), "x.csv", &CsvOptions::default()).unwrap();
            assert_eq!(data.len(), 2, "{header}");
        }
    }

    #[test]
    fn csv_scales_features_not_labels() {
        let options = CsvOptions { scale: 1.0 / 16.0, classes: Some(10) };
        let data = parse_csv(b"16,8,9\n", "x.csv", &options).unwrap();
        assert_eq!(data.x, array![[1.0, 0.5]]);
        assert_eq!((data.labels[0], data.classes), (9, 10));
    }

    #[test]
    fn csv_reads_gzip_by_its_magic_bytes() {
        let file = TempFile::new("zipped.csv", &gzip(b"1,2,0\n3,4,1\n"));
        let data = read_csv(file.path(), &CsvOptions::default()).unwrap();
        assert_eq!(data.x, array![[1.0, 2.0], [3.0, 4.0]]);
    }

    #[test]
    fn csv_rejects_ragged_rows() {
        assert_eq!(error("1,2,0\n3,4\n"), "{f}: line 2 has 2 columns but the first row has 3");
    }

    #[test]
    fn csv_rejects_non_numbers() {
        assert_eq!(error("1,2,0\n3,x,1\n"), "{f}: line 2, column 2: 'x' is not a number");
        assert_eq!(error("1,2,0\n3,4,\n"), "{f}: line 2, column 3: '' is not a number");
    }

    #[test]
    fn csv_rejects_nan_and_infinity() {
        assert_eq!(error("h,h,h\n1,NaN,0\n"), "{f}: line 2, column 2: 'NaN' is not finite");
        assert_eq!(error("1,2,0\n-inf,4,1\n"), "{f}: line 2, column 1: '-inf' is not finite");
        assert_eq!(error("1,2,0\n1e39,4,1\n"), "{f}: line 2, column 1: '1e39' is not finite");
        assert_eq!(error("1,2,0\n3,4,inf\n"), "{f}: line 2, column 3: 'inf' is not finite");
    }

    #[test]
    fn csv_rejects_negative_and_fractional_labels() {
        assert_eq!(error("1,2,-1\n"), "{f}: line 1: label '-1' is not a non-negative integer");
        assert_eq!(error("1,2,0\n3,4,2.5\n"), "{f}: line 2: label '2.5' is not a non-negative integer");
    }

    #[test]
    fn csv_rejects_labels_out_of_range() {
        let options = CsvOptions { classes: Some(3), ..CsvOptions::default() };
        assert_eq!(error_for(b"1,2,0\n1,2,3\n", &options), "{f}: label 3 at line 2 is out of range (0..3)");
        assert_eq!(error("1,2,16777216\n"), "{f}: label 16777216 at line 1 is out of range (0..16777216)");
        assert_eq!(
            error("1,2,1e300\n"),
            format!("{{f}}: label {} at line 1 is out of range (0..16777216)", usize::MAX)
        );
    }

    #[test]
    fn csv_rejects_files_without_data() {
        assert_eq!(error(""), "{f}: no data rows");
        assert_eq!(error("\n \r\n"), "{f}: no data rows");
        assert_eq!(error("pixel,label\n"), "{f}: no data rows");
    }

    #[test]
    fn csv_rejects_a_label_without_features() {
        assert_eq!(error("1\n2\n"), "{f}: line 1 has a single column: need the features, then the label");
    }

    #[test]
    fn csv_rejects_invalid_utf8() {
        assert_eq!(error_for(b"1,2,0\n\xff,4,1\n", &CsvOptions::default()), "{f}: line 2 is not valid utf-8");
    }

    #[test]
    fn csv_names_a_missing_file() {
        let path = std::env::temp_dir().join(format!("nn-data-{}-absent.csv", std::process::id()));
        let err = read_csv(&path, &CsvOptions::default()).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err:?}");
        assert!(err.to_string().starts_with(&format!("{}: ", path.display())), "{err}");
    }

    #[test]
    fn csv_never_panics_on_odd_bytes() {
        let cases: [&[u8]; 8] = [
            b",",
            b",,\n,,",
            b"\x1f\x8b",
            b"1,2\n\x00",
            b"1,2,3,\n",
            b"-0,0,-0",
            b"+1,2,+3",
            b"\n\n\n1e-50,0",
        ];
        for bytes in cases {
            let _ = parse_csv(bytes, "odd.csv", &CsvOptions::default());
        }
        let data = parse_csv(b"-0,0,-0", "x.csv", &CsvOptions::default()).unwrap();
        assert_eq!(data.labels, vec![0]);
    }

    #[test]
    fn unlabelled_rows_are_all_features() {
        let x = parse_csv_features(b"p0,p1,p2\n1,2,3\n\n4,5,6.5\r\n", "new.csv", 2.0).unwrap();
        assert_eq!(x, array![[2.0, 4.0, 6.0], [8.0, 10.0, 13.0]]);
        // One column is a feature, not a missing label; fractions are fine in the last column.
        assert_eq!(parse_csv_features(b"0.5\n1.5\n", "one.csv", 1.0).unwrap(), array![[0.5], [1.5]]);
        let gz = gzip(b"1,2\n3,4\n");
        assert_eq!(parse_csv_features(&gz, "new.csv.gz", 1.0).unwrap(), array![[1.0, 2.0], [3.0, 4.0]]);
        let file = TempFile::new("new.csv", b"7,8\n");
        assert_eq!(read_csv_features(file.path(), 1.0).unwrap(), array![[7.0, 8.0]]);
    }

    #[test]
    fn unlabelled_rows_report_errors_as_labelled_ones_do() {
        let err = |text: &[u8]| parse_csv_features(text, "new.csv", 1.0).unwrap_err().to_string();
        assert_eq!(err(b"1,2\n3\n"), "new.csv: line 2 has 1 columns but the first row has 2");
        assert_eq!(err(b"1,2\n3,x\n"), error("1,2,0\n3,x,0\n").replace("{f}", "new.csv"));
        assert_eq!(err(b"a,b\n"), error("a,b\n").replace("{f}", "new.csv"));
    }
}
