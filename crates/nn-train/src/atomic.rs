//! Writing a results file all at once: a temporary file beside it, then a rename.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::TrainError;

/// Writes `contents` to `path` through a temporary file in the same directory
/// renamed into place, so a crash never leaves a half-written file.
///
/// # Errors
/// [`TrainError::Io`] naming `path` if the file cannot be written.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), TrainError> {
    let io = |source| TrainError::Io { path: path.to_path_buf(), source };
    let name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io(source));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
