//! Raw file bytes, and their gzip decompression when they start with the gzip magic.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::DataError;

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The contents of `path` as they are, with the path as shown in messages.
///
/// # Errors
/// [`DataError::Io`] naming the path if the file cannot be read.
pub(crate) fn read_file(path: &Path) -> Result<(Vec<u8>, String), DataError> {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => Ok((bytes, file)),
        Err(source) => Err(DataError::Io { file, source }),
    }
}

/// `bytes` decompressed if they start with the gzip magic 1f 8b (whatever
/// the file's extension), borrowed as they are otherwise.
///
/// # Errors
/// [`DataError::Gzip`] naming `file` if the gzip stream is corrupt or cut short.
pub(crate) fn gunzip_if_needed<'a>(bytes: &'a [u8], file: &str) -> Result<Cow<'a, [u8]>, DataError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip { file: file.to_string(), source })?;
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    #[test]
    fn plain_bytes_pass_through_and_gzip_is_decoded() {
        assert_eq!(&*gunzip_if_needed(b"1,2,3", "x").unwrap(), b"1,2,3");
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(b"1,2,3").unwrap();
        let gz = encoder.finish().unwrap();
        assert_eq!(&*gunzip_if_needed(&gz, "x").unwrap(), b"1,2,3");
    }

    #[test]
    fn corrupt_gzip_names_the_file() {
        let err = gunzip_if_needed(&[0x1f, 0x8b, 0x08], "cut.gz").unwrap_err();
        assert!(err.to_string().starts_with("cut.gz: bad gzip data: "), "{err}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let path = std::env::temp_dir().join(format!("nn-data-{}-missing.csv", std::process::id()));
        let err = read_file(&path).unwrap_err();
        assert!(err.to_string().starts_with(&format!("{}: ", path.display())), "{err}");
    }
}
