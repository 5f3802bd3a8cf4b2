//! `nn train`: one network, trained and scored, with optional history,
//! figures, JSON, a saved model, checkpoints, and resuming from one.

use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;
use nn_data::Dataset;
use nn_io::Metadata;
use nn_plot::{Series, digit_rows, line_chart};
use nn_train::{CheckpointInfo, Checkpointing, History, OptimizerKind, read_checkpoint};
use serde_json::json;

use crate::args::TrainArgs;
use crate::build;
use crate::data_source::{load, split};
use crate::error::{CliError, CliResult};
use crate::experiment::{self, Continuation, NetSpec, Network, Outcome, RunSpec, outputs};
use crate::fingerprint::{DATA_FINGERPRINT, fingerprint};
use crate::model_file::{self, ModelInfo, TrainedOn};
use crate::output_paths::{RunFiles, same_file};
use crate::threads::thread_pool;

/// Metadata key of a checkpoint's interval, so that a resumed run goes on writing at the same pace.
const CHECKPOINT_EVERY: &str = "checkpoint_every";

/// Runs `nn train`.
///
/// # Errors
/// Any [`CliError`]: bad notation, data, shapes, hyper-parameters, divergence,
/// files, an existing `--save` or `--checkpoint` file without `--force`.
pub fn run(args: &TrainArgs) -> CliResult<()> {
    // Products of 4 M multiply-adds or more are shared with the pool the
    // training runs in (nn_core::linalg); the results are the same on any count.
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    thread_pool(threads)?.install(|| run_in_pool(args))
}

fn run_in_pool(args: &TrainArgs) -> CliResult<()> {
    if args.checkpoint_every.is_some() && args.checkpoint.is_none() && args.resume.is_none() {
        return Err(CliError::usage("--checkpoint-every goes with --checkpoint FILE"));
    }
    if let Some(checkpoint) = &args.resume {
        return run_resumed(args, checkpoint);
    }
    let net = NetSpec::parse(args.net.as_deref(), args.encoder.as_deref(), args.decoder.as_deref())?;
    check_outputs(
        args,
        "the --data file",
        &args.data.data,
        args.data.labels.as_deref(),
        args.checkpoint.as_deref(),
    )?;
    let data = load(&args.data.data, args.data.labels.as_deref())?;
    if args.summary {
        return print_summary(&net, &data, args.hyper.seed, args.hyper.batch_size);
    }
    if args.reconstructions.is_some() && matches!(net, NetSpec::Classifier(_)) {
        return Err(CliError::usage(
            "--reconstructions draws an auto-encoder's output: give --encoder and --decoder",
        ));
    }
    for path in [&args.save, &args.checkpoint].into_iter().flatten() {
        model_file::check_free(path, args.force)?;
    }
    let spec = run_spec(net, &args.hyper, !args.json)?;
    let trained_on = TrainedOn {
        data: args.data.data.clone(),
        labels: args.data.labels.clone(),
        test_fraction: args.data.test_fraction,
        seed: args.hyper.seed,
    };
    let checkpointing =
        args.checkpoint.as_ref().map(|path| (path.clone(), args.checkpoint_every.unwrap_or(1)));
    train_and_report(args, &spec, &data, trained_on, None, checkpointing)
}

/// `nn train --resume CK --epochs E`: the network, loss, settings and data
/// come from the checkpoint; options that contradict it are refused.
fn run_resumed(args: &TrainArgs, checkpoint: &Path) -> CliResult<()> {
    let given = |id: &str| args.given.iter().any(|g| g == id);
    for (id, option) in [("net", "--net"), ("encoder", "--encoder"), ("decoder", "--decoder")] {
        if given(id) {
            return Err(CliError::usage(format!(
                "--resume takes the network from the checkpoint: drop {option}"
            )));
        }
    }
    let info = read_checkpoint(checkpoint)?;
    if !given("epochs") {
        return Err(CliError::usage(format!(
            "--resume needs --epochs E, the epochs to reach in all ({} has run {})",
            checkpoint.display(),
            info.epochs
        )));
    }
    let model = ModelInfo::from_metadata(checkpoint, &info.metadata).map_err(|e| match e {
        CliError::NotAModel { reason, .. } => CliError::usage(format!(
            "{} cannot be resumed by nn: {reason} (write checkpoints with nn train --checkpoint)",
            checkpoint.display()
        )),
        other => other,
    })?;
    check_same_settings(args, &info, &model)?;

    let trained_on = match (&model.trained_on, given("data") || given("labels")) {
        (Some(on), false) => TrainedOn {
            test_fraction: if given("test_fraction") { args.data.test_fraction } else { on.test_fraction },
            seed: info.seed,
            ..on.clone()
        },
        _ => TrainedOn {
            data: args.data.data.clone(),
            labels: args.data.labels.clone(),
            test_fraction: args.data.test_fraction,
            seed: info.seed,
        },
    };
    let target = args.checkpoint.clone().unwrap_or_else(|| checkpoint.to_path_buf());
    let data_what = if given("data") { "the --data file" } else { "the data file of the checkpoint's run" };
    check_outputs(args, data_what, &trained_on.data, trained_on.labels.as_deref(), Some(&target))?;
    let data = load(&trained_on.data, trained_on.labels.as_deref())?;
    let spec = RunSpec {
        net: model.net.clone(),
        loss: Some(model.loss),
        lr: info.learning_rate,
        batch_size: info.batch_size,
        epochs: args.hyper.epochs,
        optimizer: info.optimizer,
        seed: info.seed,
        eps: info.early_stop_eps,
        progress: !args.json,
    };
    if args.summary {
        return print_summary(&spec.net, &data, spec.seed, spec.batch_size);
    }
    let every = match args.checkpoint_every {
        Some(every) => every,
        None => info.metadata.get(CHECKPOINT_EVERY).and_then(|e| e.parse().ok()).unwrap_or(1),
    };
    if !same_file(&target, checkpoint) {
        model_file::check_free(&target, args.force)?;
    }
    if let Some(path) = &args.save {
        model_file::check_free(path, args.force)?;
    }
    let train = split(&data, trained_on.test_fraction, trained_on.seed)?.train;
    let rows = train.len();
    if rows != info.rows {
        return Err(CliError::usage(format!(
            "{} was trained on {} rows but this data gives {rows} training rows: resume with the run's --data and --test-fraction",
            checkpoint.display(),
            info.rows
        )));
    }
    // Checkpoints written before the fingerprint was recorded have none.
    if info.metadata.get(DATA_FINGERPRINT).is_some_and(|recorded| recorded != fingerprint(&train)) {
        return Err(CliError::usage(format!(
            "{} was trained on other rows than the {rows} training rows of {}: resume with the run's --data and --test-fraction",
            checkpoint.display(),
            trained_on.data
        )));
    }
    train_and_report(args, &spec, &data, trained_on, Some(checkpoint), Some((target, every)))
}

/// Refuses an output file that is an input of this run (`data`, the
/// labels, the checkpoint resumed) or another output, before anything runs;
/// `what` names the data in the message. A resumed run's checkpoint is
/// updated in place: that one output may be its input.
fn check_outputs(
    args: &TrainArgs,
    what: &str,
    data: &str,
    labels: Option<&Path>,
    checkpoint: Option<&Path>,
) -> CliResult<()> {
    let resume = args.resume.as_deref();
    let checkpoint = checkpoint.filter(|c| !resume.is_some_and(|r| same_file(c, r)));
    let data = (data != "digits").then(|| Path::new(data));
    RunFiles::new()
        .input(what, data)
        .input("the --labels file", labels)
        .input("the --resume checkpoint", resume)
        .output("--save", args.save.as_deref())
        .output("--checkpoint", checkpoint)
        .output("--history", args.history.as_deref())
        .output("--plot", args.plot.as_deref())
        .output("--reconstructions", args.reconstructions.as_deref())
        .check()
}

/// Refuses a loss or hyper-parameter given on the command line that differs from the checkpoint's.
fn check_same_settings(args: &TrainArgs, info: &CheckpointInfo, model: &ModelInfo) -> CliResult<()> {
    let given = |id: &str| args.given.iter().any(|g| g == id);
    let hyper = &args.hyper;
    let mut differences: Vec<(&str, String, String)> = Vec::new();
    if given("loss") && hyper.loss != Some(model.loss) {
        differences.push(("--loss", hyper.loss.map_or("", |l| l.name()).into(), model.loss.name().into()));
    }
    if given("lr") && hyper.lr != info.learning_rate {
        differences.push(("--lr", hyper.lr.to_string(), info.learning_rate.to_string()));
    }
    if given("batch_size") && hyper.batch_size != info.batch_size {
        differences.push(("--batch-size", hyper.batch_size.to_string(), info.batch_size.to_string()));
    }
    if given("optimizer") && hyper.optimizer.parse::<OptimizerKind>()? != info.optimizer {
        differences.push(("--optimizer", hyper.optimizer.clone(), info.optimizer.to_string()));
    }
    if given("seed") && hyper.seed != info.seed {
        differences.push(("--seed", hyper.seed.to_string(), info.seed.to_string()));
    }
    if given("eps") && hyper.eps != info.early_stop_eps {
        let eps = |e: Option<f64>| e.map_or_else(|| "none".to_string(), |e| e.to_string());
        differences.push(("--eps", eps(hyper.eps), eps(info.early_stop_eps)));
    }
    match differences.first() {
        None => Ok(()),
        Some((option, ours, theirs)) => Err(CliError::usage(format!(
            "{option} {ours} differs from the checkpoint's {theirs}: a resumed run keeps the settings it started with"
        ))),
    }
}

/// The clap ids of the options given on the command line, not defaulted.
pub fn given_options(matches: &ArgMatches) -> Vec<String> {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

/// `--summary`: the notation and the layer table, nothing trained.
fn print_summary(net: &NetSpec, data: &Dataset, seed: u64, batch_size: usize) -> CliResult<()> {
    let network = Network::build(net, seed);
    let row_shape = experiment::check(net, &network, data.features(), data.classes)?;
    println!("{}", net.notation());
    println!("{}", network.summary(&experiment::input_shape(batch_size, &row_shape))?);
    Ok(())
}

/// The classes with rows in `data` but none in `part`, in increasing order.
fn classes_missing_from(part: &Dataset, data: &Dataset) -> Vec<usize> {
    let mut in_part = vec![false; data.classes];
    for &label in &part.labels {
        in_part[label] = true;
    }
    let mut in_data = vec![false; data.classes];
    for &label in &data.labels {
        in_data[label] = true;
    }
    (0..data.classes).filter(|&class| in_data[class] && !in_part[class]).collect()
}

/// Splits, trains (afresh or from `resume_from`, writing checkpoints to
/// `checkpointing` = (file, every N epochs)), saves, and reports.
fn train_and_report(
    args: &TrainArgs,
    spec: &RunSpec,
    data: &Dataset,
    trained_on: TrainedOn,
    resume_from: Option<&Path>,
    checkpointing: Option<(PathBuf, usize)>,
) -> CliResult<()> {
    let split = split(data, trained_on.test_fraction, trained_on.seed)?;
    let rows = split.train.len();
    if rows == 0 || split.test.is_empty() {
        return Err(CliError::usage(format!(
            "{} rows are too few to split into a training and a test part with --test-fraction {}: \
             each part needs at least one row",
            data.len(),
            trained_on.test_fraction
        )));
    }
    let untrained = classes_missing_from(&split.train, data);
    if !untrained.is_empty() {
        eprintln!(
            "nn: warning: class{} {} of the data {} no training rows with --test-fraction {}: \
             the network never sees {}",
            if untrained.len() > 1 { "es" } else { "" },
            untrained.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            if untrained.len() > 1 { "have" } else { "has" },
            trained_on.test_fraction,
            if untrained.len() > 1 { "them" } else { "it" },
        );
    }
    if spec.batch_size > rows {
        eprintln!(
            "nn: warning: batch size {} is larger than the {rows} training rows: each epoch is one batch of {rows}",
            spec.batch_size
        );
    }
    let row_shape = build::row_shape(spec.net.first(), data.features()).map_err(CliError::Usage)?;
    let info = ModelInfo {
        net: spec.net.clone(),
        loss: spec.loss.unwrap_or_else(|| spec.net.default_loss()),
        row_shape,
        classes: matches!(spec.net, NetSpec::Classifier(_)).then_some(split.train.classes),
        trained_on: Some(trained_on),
    };
    let checkpointing = checkpointing.map(|(path, every)| Checkpointing {
        path,
        every,
        metadata: info
            .metadata()
            .with(CHECKPOINT_EVERY, every.to_string())
            .with(DATA_FINGERPRINT, fingerprint(&split.train)),
    });
    let continuation = Continuation { resume_from: resume_from.map(Path::to_path_buf), checkpointing };
    let mut outcome = experiment::run_with(spec, &split, &continuation)?;

    if let Some(path) = &args.save {
        model_file::save(path, &outcome.network, &record(&info, spec, &outcome.history))?;
    }
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
        println!("{}", outcome_json(spec, &outcome));
    } else {
        print_outcome(spec, &outcome);
    }
    Ok(())
}

/// The metadata of a saved model: what rebuilds it, and how it was trained.
/// Nothing that varies between identical runs (no time), so the same run
/// saves the same bytes.
fn record(info: &ModelInfo, spec: &RunSpec, history: &History) -> Metadata {
    info.metadata()
        .with("epochs", history.epochs_run.to_string())
        .with("optimizer", spec.optimizer.to_string())
        .with("learning_rate", spec.lr.to_string())
        .with("batch_size", spec.batch_size.to_string())
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

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;

    #[test]
    fn classes_missing_from_a_part_are_named_in_order() {
        let data = Dataset::new(Array2::zeros((6, 2)), vec![0, 1, 2, 3, 3, 1]);
        let part = data.select(&[1, 3]);
        assert_eq!(classes_missing_from(&part, &data), vec![0, 2]);
        assert_eq!(classes_missing_from(&data, &data), Vec::<usize>::new());
    }
}
