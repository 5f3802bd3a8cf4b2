//! `nn train`: one network, trained and scored, with optional history, figures and JSON.

use std::path::Path;

use nn_plot::{Series, digit_rows, line_chart};
use nn_train::History;
use serde_json::json;

use crate::args::TrainArgs;
use crate::data_source::{load, split};
use crate::error::{CliError, CliResult};
use crate::experiment::{self, NetSpec, Network, Outcome, RunSpec, outputs};

/// Runs `nn train`.
///
/// # Errors
/// Any [`CliError`]: bad notation, data, shapes, hyper-parameters, divergence, files.
pub fn run(args: &TrainArgs) -> CliResult<()> {
    let net = NetSpec::parse(args.net.as_deref(), args.encoder.as_deref(), args.decoder.as_deref())?;
    let data = load(&args.data.data, args.data.labels.as_deref())?;
    if args.summary {
        let network = Network::build(&net, args.hyper.seed);
        let row_shape = experiment::check(&net, &network, data.features(), data.classes)?;
        println!("{}", net.notation());
        println!("{}", network.summary(&experiment::input_shape(args.hyper.batch_size, &row_shape))?);
        return Ok(());
    }
    if args.reconstructions.is_some() && matches!(net, NetSpec::Classifier(_)) {
        return Err(CliError::usage(
            "--reconstructions draws an auto-encoder's output: give --encoder and --decoder",
        ));
    }
    let spec = run_spec(net, &args.hyper, !args.json)?;
    let split = split(&data, args.data.test_fraction, args.hyper.seed)?;
    let mut outcome = experiment::run(&spec, &split)?;

    if let Some(path) = &args.history {
        outcome.history.write_csv(path)?;
    }
    if let Some(path) = &args.plot {
        loss_curves(path, &format!("{}: loss per epoch", spec.net.notation()), &outcome.history)?;
    }
    if let Some(path) = &args.reconstructions {
        reconstructions(path, &mut outcome, &split.test.x, 10)?;
    }
    if args.json {
        println!("{}", outcome_json(&spec, &outcome));
    } else {
        print_outcome(&spec, &outcome);
    }
    Ok(())
}

/// The [`RunSpec`] of the common options.
///
/// # Errors
/// An unknown optimizer name.
pub fn run_spec(net: NetSpec, hyper: &crate::args::HyperArgs, progress: bool) -> CliResult<RunSpec> {
    Ok(RunSpec {
        net,
        loss: hyper.loss,
        lr: hyper.lr,
        batch_size: hyper.batch_size,
        epochs: hyper.epochs,
        optimizer: hyper.optimizer.parse()?,
        seed: hyper.seed,
        eps: hyper.eps,
        progress,
    })
}

fn print_outcome(spec: &RunSpec, outcome: &Outcome) {
    println!("{}", spec.net.notation());
    let stopped = if outcome.history.stopped_early { " (stopped early)" } else { "" };
    println!(
        "{} epochs{stopped} in {:.1} s with {}: train loss {:.4}, test loss {:.4}",
        outcome.history.epochs_run, outcome.seconds, outcome.loss, outcome.train_loss, outcome.test_loss
    );
    if let Some(accuracy) = outcome.test_accuracy {
        println!("test accuracy: {accuracy:.4}");
    }
}

/// The JSON object `--json` prints.
pub fn outcome_json(spec: &RunSpec, outcome: &Outcome) -> serde_json::Value {
    json!({
        "net": spec.net.notation(),
        "loss": outcome.loss,
        "optimizer": spec.optimizer.to_string(),
        "learning_rate": spec.lr,
        "batch_size": spec.batch_size,
        "train_loss": outcome.train_loss,
        "test_loss": outcome.test_loss,
        "test_accuracy": outcome.test_accuracy,
        "epochs_run": outcome.history.epochs_run,
        "stopped_early": outcome.history.stopped_early,
        "seconds": outcome.seconds,
    })
}

/// Train and test loss per epoch in one picture.
///
/// # Errors
/// The figure cannot be drawn or written.
pub fn loss_curves(path: &Path, title: &str, history: &History) -> CliResult<()> {
    let mut series = vec![Series { name: "train".into(), values: history.train_loss.clone() }];
    if !history.val_loss.is_empty() {
        series.push(Series { name: "test".into(), values: history.val_loss.clone() });
    }
    line_chart(path, title, "epoch", "loss", &series, true)?;
    Ok(())
}

/// The first `count` rows of `x` above the network's reconstructions of them.
///
/// # Errors
/// Rows that are not square images, or the figure cannot be written.
pub fn reconstructions(
    path: &Path,
    outcome: &mut Outcome,
    x: &ndarray::Array2<f32>,
    count: usize,
) -> CliResult<()> {
    let features = x.ncols();
    let side = (features as f64).sqrt().round() as usize;
    if side * side != features {
        return Err(CliError::usage(format!(
            "--reconstructions draws square images, but rows have {features} features"
        )));
    }
    let rows = x.slice(ndarray::s![..count.min(x.nrows()), ..]).to_owned();
    let out = outputs(&mut outcome.network, &rows, &outcome.row_shape)?;
    let to_images = |a: &ndarray::Array2<f32>| a.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    let (originals, rebuilt) = (to_images(&rows), to_images(&out));
    digit_rows(
        path,
        "test digits (top) and their reconstructions (bottom)",
        &[("original", &originals), ("reconstructed", &rebuilt)],
        side,
    )?;
    Ok(())
}
