//! Test helpers: small files in the temporary directory, removed when dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A file written into `std::env::temp_dir()` under a name unique to this
/// process and call, deleted on drop.
pub(crate) struct TempFile(PathBuf);

impl TempFile {
    /// Writes `bytes` to a fresh file whose name ends with `suffix`.
    pub(crate) fn new(suffix: &str, bytes: &[u8]) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("nn-data-{}-{n}-{suffix}", std::process::id()));
        std::fs::write(&path, bytes).expect("the temporary directory is writable");
        Self(path)
    }

    /// The path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// The path as error messages show it.
    pub(crate) fn name(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `bytes` gzipped.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}
