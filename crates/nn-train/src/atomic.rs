//! Writing a results file all at once, through nn-io's temporary file and rename.

use std::io::Write;
use std::path::Path;

use crate::TrainError;

/// Writes `contents` to `path` with [`nn_io::write_atomic`]: a temporary
/// file in the same directory, synced, then renamed into place, so a crash
/// never leaves a half-written file and an existing file stays as it was
/// when writing fails.
///
/// # Errors
/// [`TrainError::Io`] naming `path` if the file cannot be written.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), TrainError> {
    nn_io::write_atomic(path, |file| file.write_all(contents)).map_err(|error| match error {
        nn_io::IoError::Write { path, source } | nn_io::IoError::Read { path, source } => {
            TrainError::Io { path, source }
        }
        other => TrainError::from(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn writes_and_replaces_without_leaving_a_temporary() {
        let dir = std::env::temp_dir().join(format!("nn-train-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.csv");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_named() {
        let path = Path::new("/nonexistent-nn-train-dir/h.csv");
        let err = write_atomic(path, b"x").unwrap_err();
        assert!(err.to_string().starts_with("cannot write /nonexistent-nn-train-dir/h.csv: "), "{err}");
    }
}
