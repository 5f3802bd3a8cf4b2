//! REPORT.md: title, machine note, summary table, contents, setup, then one
//! part per section with its tables and figures; written atomically.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};

/// One line of the summary table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// The report's claim, e.g. `0.99`.
    pub claim: String,
    /// Our result, e.g. `linear 0.972`.
    pub ours: String,
    /// `reproduced`, `not reproduced, 1.8 points lower`, ….
    pub verdict: String,
}

/// One section of REPORT.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionReport {
    /// The report's numbering, e.g. `3.2.3`.
    pub number: String,
    /// What it studies, lower case, e.g. `batch size`.
    pub title: String,
    /// Whether it goes beyond the report.
    pub beyond: bool,
    /// Markdown below the heading.
    pub body: String,
    /// Its line of the summary table.
    pub summary: SummaryRow,
}

impl SectionReport {
    /// The heading text: `3.2.3 Batch size`.
    pub fn heading(&self) -> String {
        let mut title = self.title.clone();
        if let Some(first) = title.get(..1) {
            title.replace_range(..1, &first.to_uppercase());
        }
        format!("{} {title}", self.number)
    }
}

/// What the top of REPORT.md says about the whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportMeta {
    /// `--quick`.
    pub quick: bool,
    /// The machine, e.g. `Intel Xeon …, 2 logical cores`.
    pub machine: String,
    /// Runs trained at a time.
    pub threads: usize,
    /// Distinct runs trained.
    pub runs: usize,
    /// Wall-clock seconds of the whole command.
    pub total_seconds: f64,
    /// The setup paragraphs (data, defaults, seeds).
    pub setup: Vec<String>,
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as `-`.
pub fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// A Markdown table cell: pipes escaped, line breaks removed.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The whole Markdown text of REPORT.md.
pub fn markdown(meta: &ReportMeta, sections: &[SectionReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Reproducing \"Réseau de neurones : DIY\" on the 8×8 digits\n");
    if meta.quick {
        let _ = writeln!(
            out,
            "> **Quick mode** (`--quick`): every experiment ran for a few epochs only. The pipeline is \
             the real one, but the numbers below say nothing about the report's claims.\n"
        );
    }
    let _ = writeln!(
        out,
        "Machine note: every \"seconds\" figure is the wall-clock training time of one run, measured on \
         this machine ({}), with {} run{} training at a time on separate threads; a run shared by two \
         sections is trained once. The whole `nn repro` ({} distinct runs, figures included) took {:.1} s.\n",
        meta.machine,
        meta.threads,
        if meta.threads == 1 { "" } else { "s" },
        meta.runs,
        meta.total_seconds
    );
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(out, "| section | what | report's claim | ours | verdict |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for s in sections {
        let what = if s.beyond { format!("{} (beyond the report)", s.title) } else { s.title.clone() };
        let _ = writeln!(
            out,
            "| [{}](#{}) | {} | {} | {} | {} |",
            s.number,
            anchor(&s.heading()),
            cell(&what),
            cell(&s.summary.claim),
            cell(&s.summary.ours),
            cell(&s.summary.verdict)
        );
    }
    let _ = writeln!(out, "\n## Contents\n");
    let _ = writeln!(out, "- [Setup](#setup)");
    for s in sections {
        let _ = writeln!(out, "- [{}](#{})", s.heading(), anchor(&s.heading()));
    }
    let _ = writeln!(out, "\n## Setup\n");
    for paragraph in &meta.setup {
        let _ = writeln!(out, "{paragraph}\n");
    }
    for s in sections {
        let _ = writeln!(out, "## {}\n", s.heading());
        let _ = writeln!(out, "{}", s.body.trim_end());
        let _ = writeln!(out);
    }
    out
}

/// Writes `contents` to `path` through a temporary file beside it, renamed
/// into place, so a crash never leaves a half-written file.
///
/// # Errors
/// [`CliError::Io`] naming `path`.
pub fn write_atomic(path: &Path, contents: &[u8]) -> CliResult<()> {
    let io = |source| CliError::Io { path: path.to_path_buf(), source };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, contents).map_err(io)?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io(e)
    })
}

/// Writes REPORT.md into `dir` and returns its path.
///
/// # Errors
/// [`CliError::Io`] if the file cannot be written.
pub fn write(dir: &Path, meta: &ReportMeta, sections: &[SectionReport]) -> CliResult<PathBuf> {
    let path = dir.join("REPORT.md");
    write_atomic(&path, markdown(meta, sections).as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(number: &str, title: &str) -> SectionReport {
        SectionReport {
            number: number.into(),
            title: title.into(),
            beyond: false,
            body: "body text\n".into(),
            summary: SummaryRow { claim: "0.99".into(), ours: "0.97 | 0.96".into(), verdict: "ok".into() },
        }
    }

    #[test]
    fn anchors_follow_github() {
        assert_eq!(anchor("3.1.1 Linear vs convolution"), "311-linear-vs-convolution");
        assert_eq!(anchor("3.4.3 PCA map of the latent codes"), "343-pca-map-of-the-latent-codes");
        assert_eq!(section("3.2.3", "batch size").heading(), "3.2.3 Batch size");
    }

    #[test]
    fn the_report_has_summary_contents_and_sections() {
        let meta = ReportMeta {
            quick: true,
            machine: "test machine".into(),
            threads: 2,
            runs: 3,
            total_seconds: 1.5,
            setup: vec!["setup text".into()],
        };
        let text = markdown(&meta, &[section("3.2.3", "batch size")]);
        assert!(text.starts_with("# Reproducing"));
        assert!(text.contains("**Quick mode**"));
        assert!(text.contains("(test machine), with 2 runs training at a time"));
        assert!(text.contains("took 1.5 s"));
        assert!(text.contains("| [3.2.3](#323-batch-size) | batch size | 0.99 | 0.97 \\| 0.96 | ok |"));
        assert!(text.contains("- [3.2.3 Batch size](#323-batch-size)"));
        assert!(text.contains("## 3.2.3 Batch size\n\nbody text\n"));
    }

    #[test]
    fn writes_atomically_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("nn-cli-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("REPORT.md");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let missing = dir.join("no-such-dir").join("REPORT.md");
        let error = write_atomic(&missing, b"x").unwrap_err().to_string();
        assert!(error.starts_with(&missing.display().to_string()), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
