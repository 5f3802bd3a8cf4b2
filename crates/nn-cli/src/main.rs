//! `nn`: train, search and reproduce the report from the command line.
//!
//! Errors are printed once, as `nn: <message>`, and the exit status is 2.

use std::process::ExitCode;

use clap::Parser;
use nn_cli::args::{Cli, Command};
use nn_cli::{grid_cmd, repro, train_cmd};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(args) => train_cmd::run(args),
        Command::Grid(args) => grid_cmd::run(args),
        Command::Repro(args) => repro::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nn: {error}");
            ExitCode::from(2)
        }
    }
}
