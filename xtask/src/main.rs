//! Project chores, run as `cargo xtask <command>`.
//!
//! - `check`: verifies the crate order from `cargo metadata`.
//! - `fuzz [--seconds N] [--build-only] [TARGET...]`: runs the cargo-fuzz
//!   targets of `fuzz/` (see docs/FUZZING.md).
//! - `bench-peers [--python PATH] [--threads 1,2]`: times the workloads W1–W5
//!   here and in PyTorch in the same run and prints the ratios (see BENCHMARKS.md).

mod bench_peers;
mod crate_order;
mod fuzz;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => check(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("bench-peers") => bench_peers::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask check | cargo xtask fuzz [--seconds N] [--build-only] [TARGET...]");
            eprintln!("       {}", bench_peers::USAGE);
            ExitCode::from(2)
        }
    }
}

fn check() -> ExitCode {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .output();
    let metadata = match output {
        Ok(out) if out.status.success() => out.stdout,
        Ok(out) => {
            eprintln!("xtask: cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("xtask: cannot run cargo metadata: {e}");
            return ExitCode::from(2);
        }
    };
    match crate_order::check_metadata(&metadata) {
        Ok(checked) => {
            println!("crate order ok: {checked} workspace crates, each depends only on crates below it");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in problems {
                eprintln!("crate order: {p}");
            }
            ExitCode::FAILURE
        }
    }
}
