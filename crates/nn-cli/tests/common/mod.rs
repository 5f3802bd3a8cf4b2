//! Helpers shared by the end-to-end tests of model files, bad input and interop.

#![allow(dead_code)] // each test file uses some of them

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `nn` binary.
pub fn nn<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nn")).args(args).output().expect("the nn binary runs")
}

/// Its standard output.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Its standard error.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts success and returns the standard output.
pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "nn failed: {}", stderr(out));
    assert!(!stderr(out).contains("panicked"), "{}", stderr(out));
    stdout(out)
}

/// The JSON object a `--json` run printed.
pub fn json(out: &Output) -> serde_json::Value {
    let text = ok(out);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts that `nn` refused cleanly: exit status 2, nothing on stdout, no
/// panic, stderr starting with `nn: `; returns the message of its first line.
pub fn refused(out: &Output) -> String {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "nn panicked: {err}");
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(stdout(out), "", "stderr: {err}");
    let first = err.lines().next().unwrap_or_default();
    first.strip_prefix("nn: ").unwrap_or_else(|| panic!("no 'nn: ' prefix: {err}")).to_string()
}

/// A fresh directory, removed at the end of the test.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `nn-cli-<name>-<pid>` in the system's temporary directory.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nn-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// A path inside, as a string for the command line.
    pub fn file(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes a CSV of `rows` rows of `features` values in [0, 1] and a label
/// below `classes` (a fixed pattern, no randomness), with a header.
pub fn write_csv(path: &str, rows: usize, features: usize, classes: usize) {
    let mut text = (0..features).map(|j| format!("x{j}")).collect::<Vec<_>>().join(",") + ",label\n";
    for i in 0..rows {
        let values: Vec<String> =
            (0..features).map(|j| format!("{}", ((i * 7 + j * 13) % 17) as f32 / 16.0)).collect();
        text += &format!("{},{}\n", values.join(","), i % classes);
    }
    std::fs::write(path, text).unwrap();
}
