//! `cargo xtask fuzz [--seconds N] [--build-only] [TARGET...]`: runs the
//! cargo-fuzz targets of `fuzz/` (notation, idx, csv, safetensors), each for
//! N seconds (default 60), on the nightly toolchain, installing cargo-fuzz
//! from crates.io first if it is missing.
//!
//! Each target reads its committed seeds in `fuzz/seeds/<target>` and grows
//! its corpus in `fuzz/corpus/<target>` (ignored by git). A crash leaves its
//! input in `fuzz/artifacts/<target>/`; docs/FUZZING.md says what to do then.

use std::path::Path;
use std::process::{Command, ExitCode};

/// The fuzz targets, in the order they run.
pub const TARGETS: &[&str] = &["notation", "idx", "csv", "safetensors"];

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;

/// What the command line asks for.
#[derive(Debug, PartialEq)]
struct Options {
    seconds: u64,
    build_only: bool,
    targets: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options { seconds: DEFAULT_SECONDS, build_only: false, targets: Vec::new() };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().ok_or("--seconds needs a number of seconds")?;
                options.seconds =
                    value.parse().map_err(|_| format!("--seconds {value}: not a whole number"))?;
            }
            "--build-only" => options.build_only = true,
            target if TARGETS.contains(&target) => options.targets.push(target.to_string()),
            other => {
                return Err(format!(
                    "unknown fuzz target or option {other:?}; targets: {}",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    if options.targets.is_empty() {
        options.targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    Ok(options)
}

/// Runs `cargo xtask fuzz` with the arguments after `fuzz`.
pub fn run(args: &[String]) -> ExitCode {
    let options = match parse(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("xtask fuzz: {message}");
            eprintln!("usage: cargo xtask fuzz [--seconds N] [--build-only] [{}]...", TARGETS.join("|"));
            return ExitCode::from(2);
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace");
    if let Err(message) = ensure_cargo_fuzz() {
        eprintln!("xtask fuzz: {message}");
        return ExitCode::FAILURE;
    }
    if options.build_only {
        let ok = cargo_nightly(root).args(["fuzz", "build"]).status().is_ok_and(|s| s.success());
        return if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let mut crashed = Vec::new();
    for target in &options.targets {
        let corpus = root.join("fuzz/corpus").join(target);
        let seeds = root.join("fuzz/seeds").join(target);
        if let Err(e) = std::fs::create_dir_all(&corpus) {
            eprintln!("xtask fuzz: cannot create {}: {e}", corpus.display());
            return ExitCode::FAILURE;
        }
        println!("xtask fuzz: {target} for {} s", options.seconds);
        let status = cargo_nightly(root)
            .args(["fuzz", "run", target])
            .arg(&corpus)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={}", options.seconds))
            .status();
        match status {
            Ok(s) if s.success() => println!("xtask fuzz: {target}: no crash"),
            Ok(_) => crashed.push((target.clone(), root.join("fuzz/artifacts").join(target))),
            Err(e) => {
                eprintln!("xtask fuzz: cannot run cargo fuzz: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if crashed.is_empty() {
        println!("xtask fuzz: {} target(s), no crash", options.targets.len());
        return ExitCode::SUCCESS;
    }
    for (target, artifacts) in &crashed {
        eprintln!(
            "xtask fuzz: {target} crashed; the input is in {} (see docs/FUZZING.md)",
            artifacts.display()
        );
    }
    ExitCode::FAILURE
}

/// `cargo +nightly` in `root`, through rustup's proxy, with none of the
/// variables the outer (stable) cargo set for us.
fn cargo_nightly(root: &Path) -> Command {
    let mut command = Command::new("cargo");
    command.arg("+nightly").current_dir(root);
    for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_TARGET_DIR", "RUSTFLAGS"] {
        command.env_remove(var);
    }
    command
}

/// Installs cargo-fuzz with `cargo install cargo-fuzz` unless `cargo +nightly fuzz` runs.
fn ensure_cargo_fuzz() -> Result<(), String> {
    let root = Path::new(".");
    let present = cargo_nightly(root).args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    println!("xtask fuzz: cargo-fuzz is missing; installing it with `cargo install cargo-fuzz`");
    let installed = Command::new("cargo").args(["install", "cargo-fuzz"]).status().is_ok_and(|s| s.success());
    let works = installed
        && cargo_nightly(root).args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if works {
        Ok(())
    } else {
        Err("cargo-fuzz could not be installed, or `cargo +nightly fuzz` does not run: \
             install the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz"
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_target_for_a_minute_by_default() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.seconds, 60);
        assert_eq!(options.targets, TARGETS);
        assert!(!options.build_only);
    }

    #[test]
    fn seconds_and_targets_are_read() {
        let options = parse(&args(&["--seconds", "5", "csv", "idx"])).unwrap();
        assert_eq!(options, Options { seconds: 5, build_only: false, targets: args(&["csv", "idx"]) });
        assert!(parse(&args(&["--build-only"])).unwrap().build_only);
    }

    #[test]
    fn unknown_targets_and_bad_seconds_are_refused() {
        assert_eq!(
            parse(&args(&["json"])).unwrap_err(),
            "unknown fuzz target or option \"json\"; targets: notation, idx, csv, safetensors"
        );
        assert_eq!(parse(&args(&["--seconds", "x"])).unwrap_err(), "--seconds x: not a whole number");
        assert_eq!(parse(&args(&["--seconds"])).unwrap_err(), "--seconds needs a number of seconds");
    }

    #[test]
    fn every_target_has_a_source_and_seeds() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for target in TARGETS {
            assert!(root.join(format!("fuzz/fuzz_targets/{target}.rs")).is_file(), "{target}");
            let seeds = std::fs::read_dir(root.join("fuzz/seeds").join(target)).unwrap().count();
            assert!(seeds > 0, "{target} has no seed");
        }
    }
}
