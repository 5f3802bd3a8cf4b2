//! End-to-end tests of `nn repro`: the quick pipeline writes REPORT.md and
//! every figure it links; `--only` narrows it; an unknown section is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every section of the reproduction, in order.
const SECTIONS: &[&str] = &[
    "3.1.1", "3.1.2", "3.1.3", "3.1.4", "3.2.1", "3.2.2", "3.2.3", "3.2.4", "3.2.5", "3.3.1", "3.3.2",
    "3.3.3", "3.3.4", "3.4.1", "3.4.2", "3.4.3",
];

fn nn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nn")).args(args).output().expect("the nn binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-cli-repro-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The targets of the Markdown image links `![alt](target)` in `text`.
fn image_links(text: &str) -> Vec<String> {
    text.match_indices("![")
        .filter_map(|(at, _)| {
            let rest = &text[at..];
            let open = rest.find("](")?;
            let close = rest[open..].find(')')?;
            Some(rest[open + 2..open + close].to_string())
        })
        .collect()
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", path.display());
}

/// The section headings (`## 3.x.y ...`) of a report.
fn headings(report: &str) -> Vec<String> {
    report
        .lines()
        .filter_map(|l| l.strip_prefix("## 3."))
        .map(|l| format!("3.{}", l.split_whitespace().next().unwrap_or_default()))
        .collect()
}

#[test]
fn quick_repro_writes_every_section_and_every_figure_it_links() {
    let dir = temp_dir("quick");
    let out = nn(&["repro", "--quick", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "nn repro failed: {}", stderr(&out));
    let report = std::fs::read_to_string(dir.join("REPORT.md")).unwrap();
    assert!(report.starts_with("# Reproducing \"Réseau de neurones : DIY\""), "{report}");
    assert!(
        report.contains("Machine note:") && report.contains("## Summary") && report.contains("## Contents")
    );
    assert_eq!(headings(&report), SECTIONS);
    for number in SECTIONS {
        assert!(report.contains(&format!("| [{number}](#")), "{number} is missing from the summary");
    }
    let links = image_links(&report);
    assert!(links.len() >= SECTIONS.len(), "{links:?}");
    for link in &links {
        assert!(!link.contains('/'), "{link} is not beside REPORT.md");
        assert_png(&dir.join(link));
    }
    for number in SECTIONS {
        assert!(links.iter().any(|l| l.starts_with(&format!("{number}-"))), "{number} has no figure");
    }
    // The report's size error is named, and the progress names every section.
    assert!(report.contains("30 × 10 = 300 features, not 310"));
    let progress = stderr(&out);
    for number in SECTIONS {
        assert!(progress.contains(&format!("\n{number} ")), "{number} missing from the progress: {progress}");
    }
    assert!(
        std::fs::read_dir(&dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp")),
        "a temporary file was left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_writes_the_sections_it_names() {
    let dir = temp_dir("only");
    let out = nn(&["repro", "--quick", "--only", "3.2.3", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "nn repro failed: {}", stderr(&out));
    let report = std::fs::read_to_string(dir.join("REPORT.md")).unwrap();
    assert_eq!(headings(&report), ["3.2.3"]);
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().all(|f| f == "REPORT.md" || f.starts_with("3.2.3-")), "{files:?}");
    for link in image_links(&report) {
        assert_png(&dir.join(link));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_a_prefix_selects_the_sections_under_it() {
    let dir = temp_dir("prefix");
    let out = nn(&["repro", "--quick", "--only", "3.4", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "nn repro failed: {}", stderr(&out));
    let report = std::fs::read_to_string(dir.join("REPORT.md")).unwrap();
    assert_eq!(headings(&report), ["3.4.1", "3.4.2", "3.4.3"]);
    for link in image_links(&report) {
        assert_png(&dir.join(link));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unknown_section_exits_non_zero_listing_the_sections() {
    let dir = temp_dir("unknown");
    let out = nn(&["repro", "--quick", "--only", "9.9", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("nn: --only 9.9: no section has this number"), "{err}");
    for number in SECTIONS {
        assert!(err.contains(number), "{number} is not listed: {err}");
    }
    assert!(!dir.exists(), "nothing is written for an unknown section");
}
