//! `nn`: train, evaluate, predict, export, search, reproduce the report and benchmark from the command line.
//!
//! Errors are printed once, as `nn: <message>`, and the exit status is 2.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use nn_cli::alloc_counter::Counting;
use nn_cli::args::{Cli, Command};
use nn_cli::{bench_cmd, eval_cmd, export_cmd, grid_cmd, predict_cmd, repro, train_cmd};

/// Every allocation is counted, so that `nn bench` can report allocations per
/// training step; otherwise it is the system allocator (see `alloc_counter`).
#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Command::Train(args), Some(("train", sub))) = (&mut cli.command, matches.subcommand()) {
        args.given = train_cmd::given_options(sub);
    }
    let result = match &cli.command {
        Command::Train(args) => train_cmd::run(args),
        Command::Eval(args) => eval_cmd::run(args),
        Command::Predict(args) => predict_cmd::run(args),
        Command::Export(args) => export_cmd::run(args),
        Command::Grid(args) => grid_cmd::run(args),
        Command::Repro(args) => repro::run(args),
        Command::Bench(args) => bench_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nn: {error}");
            ExitCode::from(2)
        }
    }
}
