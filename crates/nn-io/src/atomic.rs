//! Atomic writes: a temporary file beside the target, flushed, synced, renamed over it.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::IoError;

/// Distinguishes the temporary files of concurrent writes from one process.
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Writes `path` through `write`, all or nothing.
///
/// `write` fills a new temporary file in the same directory (so the final
/// rename stays on one file system); the file is then flushed, synced to disk
/// and renamed over `path`. If `write` or any later step fails, the temporary
/// file is removed and an existing file at `path` is left untouched: a crash
/// mid-write never leaves a half-written model.
///
/// ```
/// use std::io::Write;
/// let path = std::env::temp_dir().join(format!("nn-io-doc-{}.txt", std::process::id()));
/// nn_io::write_atomic(&path, |file| file.write_all(b"hello")).unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// # std::fs::remove_file(&path).unwrap();
/// ```
///
/// # Errors
/// [`IoError::Write`] naming `path`, with the system's error or the one
/// `write` returned.
pub fn write_atomic(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), IoError> {
    let path = path.as_ref();
    let fail = |source| IoError::Write { path: path.to_path_buf(), source };
    let Some(name) = path.file_name() else {
        return Err(fail(io::Error::new(io::ErrorKind::InvalidInput, "the path names no file")));
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let (tmp, mut file) = create_temporary(dir, name).map_err(fail)?;
    let result = write(&mut file).and_then(|()| file.flush()).and_then(|()| file.sync_all()).and_then(|()| {
        drop(file);
        fs::rename(&tmp, path)
    });
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(fail(source));
    }
    // Make the rename itself durable; some systems cannot open a directory, which is fine.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Creates `.<name>.<pid>.<n>.tmp` in `dir`, skipping names left by crashed runs.
fn create_temporary(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(std::path::PathBuf, File)> {
    loop {
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        let n = NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed);
        tmp_name.push(format!(".{}.{n}.tmp", std::process::id()));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < u64::MAX => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    #[test]
    fn writes_and_replaces_without_leaving_a_temporary() {
        let dir = TestDir::new("atomic-replace");
        let path = dir.join("a.bin");
        write_atomic(&path, |f| f.write_all(b"one")).unwrap();
        write_atomic(&path, |f| f.write_all(b"two")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(dir.entries(), vec!["a.bin".to_string()]);
    }

    #[test]
    fn an_interrupted_write_leaves_the_old_file_and_no_temporary() {
        let dir = TestDir::new("atomic-interrupted");
        let path = dir.join("model.safetensors");
        let old = vec![7u8; 64];
        fs::write(&path, &old).unwrap();
        let new = [9u8; 64];
        let err = write_atomic(&path, |f| {
            f.write_all(&new[..32])?;
            Err(io::Error::other("simulated crash after half the bytes"))
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot write {}: simulated crash after half the bytes", path.display())
        );
        assert_eq!(fs::read(&path).unwrap(), old);
        assert_eq!(dir.entries(), vec!["model.safetensors".to_string()]);
    }

    #[test]
    fn a_missing_directory_is_named() {
        let err = write_atomic("/nonexistent-nn-io-dir/m.safetensors", |_| Ok(())).unwrap_err();
        assert!(err.to_string().starts_with("cannot write /nonexistent-nn-io-dir/m.safetensors: "), "{err}");
    }

    #[test]
    fn a_directory_target_is_refused_and_cleaned_up() {
        let dir = TestDir::new("atomic-dir-target");
        fs::create_dir(dir.join("sub")).unwrap();
        let err = write_atomic(dir.join("sub"), |f| f.write_all(b"x")).unwrap_err();
        assert!(matches!(err, IoError::Write { .. }), "{err}");
        assert_eq!(dir.entries(), vec!["sub".to_string()]);
    }
}
