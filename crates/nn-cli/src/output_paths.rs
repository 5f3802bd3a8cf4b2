//! The files a run writes may not be files it reads, nor each other: `nn
//! train --data good.csv --history good.csv` would replace the data by the
//! history, `--save M --checkpoint M --force` lose the checkpoint. Every
//! command lists its inputs and outputs here and checks them before anything
//! runs; `--force` does not allow it, since it only means "replace what an
//! earlier run left".
//!
//! Paths are compared as files, not as text: `./a.csv`, `a.csv`, `dir/../a.csv`
//! and a symbolic link to it are the same file. An output that does not exist
//! yet is its canonical directory and its name.

use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};

/// The files one run reads and writes, each with the option that names it.
#[derive(Debug, Default)]
pub struct RunFiles<'a> {
    /// What each input is called in a message (`the --data file`), and its path.
    inputs: Vec<(String, &'a Path)>,
    /// The option of each output (`--history`), and its path.
    outputs: Vec<(String, &'a Path)>,
}

impl<'a> RunFiles<'a> {
    /// No files yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A file the run reads, called `what` in messages (`the --data file`); `None` is skipped.
    #[must_use]
    pub fn input(mut self, what: impl Into<String>, path: Option<&'a Path>) -> Self {
        if let Some(path) = path {
            self.inputs.push((what.into(), path));
        }
        self
    }

    /// `--data`'s value: a file unless it is the bundled `digits`.
    #[must_use]
    pub fn data(self, option: &str, data: Option<&'a str>) -> Self {
        let path = data.filter(|d| *d != "digits").map(Path::new);
        self.input(format!("the {option} file"), path)
    }

    /// A file (or directory) the run writes, named by `option` (`--history`); `None` is skipped.
    #[must_use]
    pub fn output(mut self, option: impl Into<String>, path: Option<&'a Path>) -> Self {
        if let Some(path) = path {
            self.outputs.push((option.into(), path));
        }
        self
    }

    /// Refuses an output that is one of the inputs or an earlier output.
    ///
    /// # Errors
    /// [`CliError::Usage`]: `--history good.csv is also the --data file; give another path`.
    pub fn check(&self) -> CliResult<()> {
        let inputs: Vec<(&str, FileId)> =
            self.inputs.iter().map(|(what, path)| (what.as_str(), FileId::of(path))).collect();
        let mut earlier: Vec<(&str, FileId)> = Vec::new();
        for (option, path) in &self.outputs {
            let id = FileId::of(path);
            let clash =
                inputs.iter().find(|(_, input)| *input == id).map(|(what, _)| (*what).to_string()).or_else(
                    || earlier.iter().find(|(_, out)| *out == id).map(|(o, _)| format!("the {o} file")),
                );
            if let Some(what) = clash {
                return Err(CliError::usage(format!(
                    "{option} {} is also {what}; give another path",
                    path.display()
                )));
            }
            earlier.push((option.as_str(), id));
        }
        Ok(())
    }
}

/// Creates the directory `dir` named by `option` (`--loss-graphs`), and its
/// parents, for a command to write files into; an existing one is kept.
///
/// # Errors
/// [`CliError::Usage`] if `dir` is a file (`--loss-graphs good.csv is a file,
/// not a directory`), [`CliError::Io`] if it cannot be created.
pub fn create_dir(option: &str, dir: &Path) -> CliResult<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::usage(format!("{option} {} is a file, not a directory", dir.display())));
    }
    std::fs::create_dir_all(dir).map_err(|source| CliError::io(dir, source))
}

/// Whether `a` and `b` name the same file (see the module's doc).
pub fn same_file(a: &Path, b: &Path) -> bool {
    FileId::of(a) == FileId::of(b)
}

/// What tells two paths' files apart: the path from [`identity`] and, for
/// an existing file on Unix, its device and inode (a hard link has another
/// path but the same inode).
#[derive(Debug)]
struct FileId {
    path: PathBuf,
    inode: Option<(u64, u64)>,
}

impl FileId {
    fn of(path: &Path) -> Self {
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
        };
        #[cfg(not(unix))]
        let inode = None;
        Self { path: identity(path), inode }
    }
}

impl PartialEq for FileId {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path || (self.inode.is_some() && self.inode == other.inode)
    }
}

/// The path that stands for `path`'s file: canonical if it exists; else the
/// canonical parent joined with the name; else (no parent either) the path
/// made absolute, `.` and `..` removed as text.
fn identity(path: &Path) -> PathBuf {
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |dir| dir.join(path))
    };
    if let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name())
        && let Ok(parent) = parent.canonicalize()
    {
        return parent.join(name);
    }
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory holding `data.csv`.
    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nn-output-paths-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("data.csv"), "1,0\n").unwrap();
        dir
    }

    #[test]
    fn an_output_that_is_an_input_is_refused_by_any_spelling() {
        let d = dir("input");
        let data = d.join("data.csv");
        let spelled = d.join("sub/../data.csv");
        let err = RunFiles::new()
            .data("--data", data.to_str())
            .output("--history", Some(&spelled))
            .check()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("--history {} is also the --data file; give another path", spelled.display())
        );
        assert!(same_file(&data, &d.join("./data.csv")));
        #[cfg(unix)]
        {
            let link = d.join("link.csv");
            std::os::unix::fs::symlink(&data, &link).unwrap();
            assert!(same_file(&link, &data));
            let hard = d.join("hard.csv");
            std::fs::hard_link(&data, &hard).unwrap();
            assert!(same_file(&hard, &data));
            assert!(!same_file(&hard, &d.join("sub")));
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn two_outputs_that_do_not_exist_yet_may_not_be_one_file() {
        let d = dir("outputs");
        let (a, b) = (d.join("m.safetensors"), d.join("sub/../m.safetensors"));
        let err = RunFiles::new().output("--save", Some(&a)).output("--checkpoint", Some(&b)).check();
        assert_eq!(
            err.unwrap_err().to_string(),
            format!("--checkpoint {} is also the --save file; give another path", b.display())
        );
        let other = d.join("other.safetensors");
        assert!(
            RunFiles::new().output("--save", Some(&a)).output("--checkpoint", Some(&other)).check().is_ok()
        );
        // A path under a directory that does not exist is compared as text.
        assert!(same_file(&d.join("none/x/../y.csv"), &d.join("none/y.csv")));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_directory_option_naming_a_file_says_so() {
        let d = dir("create");
        let data = d.join("data.csv");
        assert_eq!(
            create_dir("--out", &data).unwrap_err().to_string(),
            format!("--out {} is a file, not a directory", data.display())
        );
        create_dir("--out", &d.join("new/graphs")).unwrap();
        create_dir("--out", &d.join("new/graphs")).unwrap();
        assert!(d.join("new/graphs").is_dir());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_bundled_digits_are_no_file() {
        let digits = Path::new("digits");
        assert!(RunFiles::new().data("--data", Some("digits")).output("--out", Some(digits)).check().is_ok());
    }
}
