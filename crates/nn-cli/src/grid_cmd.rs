//! `nn grid`: grid search from the command line, every point checked before
//! any training; with `--shard K/N` one shard of it, and `nn grid merge` to
//! put the shards together.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nn_train::{
    GridOptions, GridResult, Metric, OptimizerKind, ParamGrid, ParamValue, Point, Setup, TrainConfig,
    grid_search,
};

use crate::args::{GridArgs, GridCommand};
use crate::build;
use crate::data_source::{load, shaped, split};
use crate::error::{CliError, CliResult};
use crate::experiment::{self, NetSpec, Network};
use crate::merge;
use crate::notation::parse;
use crate::output_paths::{self, RunFiles};
use crate::search_id::SearchId;
use crate::shard::Shard;
use crate::shard_file;
use crate::threads::check_threads;

/// Names that set training rather than fill the network.
const TRAINING_NAMES: &[&str] = &["lr", "batch_size", "epochs", "optimizer"];

/// Runs `nn grid`, `nn grid --shard K/N` or `nn grid merge`.
///
/// # Errors
/// A bad `--grid` or `--shard`, a point whose network does not parse or fit
/// the data, bad hyper-parameters, an output that is an input, or a results
/// file that cannot be written;
/// for `merge`, see [`merge::run`].
pub fn run(args: &GridArgs) -> CliResult<()> {
    if let Some(GridCommand::Merge(merge_args)) = &args.command {
        return merge::run(merge_args);
    }
    let net = args.net.as_deref().ok_or_else(|| CliError::usage("nn grid needs --net \"...\""))?;
    let shard = match &args.shard {
        Some(text) => Some(Shard::resolve(text, args.shards, |name| std::env::var(name).ok())?),
        None if args.shards.is_some() => {
            return Err(CliError::usage("--shards N goes with --shard auto (Kubernetes Indexed Jobs)"));
        }
        None => None,
    };
    let shard_results = match (shard, &args.results) {
        (None, _) => None,
        (Some(shard), Some(path)) => Some(shard_path(path, shard)?),
        (Some(shard), None) => {
            return Err(CliError::usage(format!(
                "--shard {shard} needs --results FILE.csv for its rows (e.g. shard-{{shard}}.csv), which nn grid merge ranks"
            )));
        }
    };
    if shard.is_some() && args.loss_graphs.is_some() {
        return Err(CliError::usage(
            "--loss-graphs draws a whole search: give it to nn grid merge, not to a --shard",
        ));
    }
    if let Some(threads) = args.threads {
        check_threads(threads)?;
    }
    RunFiles::new()
        .data("--data", Some(&args.data.data))
        .input("the --labels file", args.data.labels.as_deref())
        .output("--results", shard_results.as_deref().or(args.results.as_deref()))
        .output("--loss-graphs", args.loss_graphs.as_deref())
        .check()?;
    let grid = parse_grid(&args.grid)?;
    check_names(net, &grid)?;
    let data = load(&args.data.data, args.data.labels.as_deref())?;
    let train_part = split(&data, args.data.test_fraction, args.hyper.seed)?.train;
    let points = grid.points()?;

    // Every point is built and checked first: a typo fails in a second, not after an hour.
    let mut row_shape = None;
    let mut networks = Vec::with_capacity(points.len());
    for point in &points {
        let specs = parse(&fill(net, point))
            .map_err(|source| CliError::Notation { what: format!("--net at point {point}"), source })?;
        // As `nn train` does, before building: a size from the grid could
        // otherwise ask for terabytes and abort the process.
        build::check_parameters(&specs)
            .map_err(|e| CliError::usage(format!("--net at point {point}: {e}")))?;
        let spec = NetSpec::Classifier(specs);
        networks.push(spec.notation());
        let network = Network::build(&spec, args.hyper.seed);
        let shape = experiment::check(&spec, &network, train_part.features(), train_part.classes)
            .map_err(|e| CliError::usage(format!("at point {point}: {e}")))?;
        // A batch size the point does not give, or gives wrongly (refused when its job is set up), is the default.
        let batch = point.get_usize("batch_size").unwrap_or(args.hyper.batch_size);
        experiment::check_memory(&network, &shape, batch.min(train_part.len()))
            .map_err(|e| CliError::usage(format!("at point {point}: {e}")))?;
        match &row_shape {
            None => row_shape = Some(shape),
            Some(first) if *first != shape => {
                return Err(CliError::usage(format!(
                    "at point {point}: the network takes rows shaped {shape:?} but the first point takes {first:?}; \
                     the grid may not change the input layout"
                )));
            }
            Some(_) => {}
        }
    }
    let x = shaped(&train_part.x, &row_shape.unwrap_or_default());
    let loss = args.hyper.loss;
    let base_optimizer: OptimizerKind = args.hyper.optimizer.parse()?;
    let build = |point: &Point| -> Result<Setup<f32>, nn_train::TrainError> {
        let text = fill(net, point);
        let spec = NetSpec::Classifier(parse(&text).expect("every point was parsed before the search"));
        let loss_name = loss.unwrap_or_else(|| spec.default_loss());
        let net = Network::build(&spec, args.hyper.seed).into_module();
        let value = |name: &str| point.values().iter().any(|(n, _)| n == name);
        let config = TrainConfig {
            learning_rate: if value("lr") { point.get_f64("lr")? } else { args.hyper.lr },
            batch_size: if value("batch_size") {
                point.get_usize("batch_size")?
            } else {
                args.hyper.batch_size
            },
            epochs: if value("epochs") { point.get_usize("epochs")? } else { args.hyper.epochs },
            optimizer: if value("optimizer") { point.get_str("optimizer")?.parse()? } else { base_optimizer },
            early_stop_eps: args.hyper.eps,
            seed: args.hyper.seed,
            validation: None,
            progress: false,
        };
        Ok(Setup { net, loss: loss_name.build(), config })
    };
    let total = points.len() * args.cv;
    let options = GridOptions {
        threads: args.threads,
        seed: args.hyper.seed,
        save_loss_graphs: args.loss_graphs.clone(),
        progress: !args.json,
        jobs: shard.map(|s| s.jobs(total)),
    };
    if let Some(dir) = &args.loss_graphs {
        output_paths::create_dir("--loss-graphs", dir)?;
    }
    let result =
        grid_search(build, &grid, x.view(), &train_part.labels, Metric::Accuracy, args.cv, &options)?;
    if let (Some(shard), Some(path)) = (shard, &shard_results) {
        let search = SearchId::new(&describe(args, &grid, &networks), &train_part);
        shard_file::write_atomic(path, &shard_file::to_csv(&result, points.len(), shard, search))?;
        let ran: usize = result.points.iter().map(|p| p.folds.len()).sum();
        if args.json {
            let summary = serde_json::json!({ "shard": shard.index, "shards": shard.count, "search": search.to_string(),
                "jobs": ran, "total_jobs": total, "results": path.display().to_string() });
            println!("{summary}");
        } else {
            println!(
                "shard {shard}: ran {ran} of {total} jobs ({} points × {} folds) of search {search}; rows in {}",
                points.len(),
                args.cv,
                path.display()
            );
            println!("when every shard is done: nn grid merge <the shards' files>");
        }
        return Ok(());
    }
    if let Some(path) = &args.results {
        write_results(&result, path)?;
    }
    if args.json {
        println!("{}", ranking_json(&result));
    } else {
        print!("{}", ranking_table(&result));
    }
    Ok(())
}

/// Writes the rows of a whole search as `--results` asks: JSON lines for
/// `.jsonl`, else CSV.
///
/// # Errors
/// A file that cannot be written.
pub fn write_results(result: &GridResult, path: &Path) -> CliResult<()> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl") => result.write_jsonl(path)?,
        _ => result.write_csv(path)?,
    }
    Ok(())
}

/// A shard's results file: `{shard}` in the name replaced by K; CSV only.
fn shard_path(path: &Path, shard: Shard) -> CliResult<PathBuf> {
    let text = path.to_string_lossy();
    let path = if text.contains("{shard}") {
        PathBuf::from(text.replace("{shard}", &shard.index.to_string()))
    } else {
        path.to_path_buf()
    };
    if path.extension().and_then(|e| e.to_str()) == Some("jsonl") {
        return Err(CliError::usage(format!(
            "--results {}: a shard writes CSV for nn grid merge; name it .csv",
            path.display()
        )));
    }
    Ok(path)
}

/// Everything that decides a search's results besides its data, one item a
/// line, for its [`SearchId`]: the network of every point in canonical
/// notation, the grid with its value types, `--cv`, `--seed`, the training
/// options and the metric. Not `--threads`: it changes no result.
fn describe(args: &GridArgs, grid: &ParamGrid, networks: &[String]) -> String {
    let mut out = String::from("nn grid search, format 1\n");
    for (index, net) in networks.iter().enumerate() {
        let _ = writeln!(out, "point {index}: {net}");
    }
    for (name, values) in grid.params() {
        let values: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        let _ = writeln!(out, "grid {name:?} = {}", values.join(", "));
    }
    let h = &args.hyper;
    let _ = writeln!(out, "cv {}\nseed {}\nmetric accuracy", args.cv, h.seed);
    let optimizer =
        h.optimizer.parse::<OptimizerKind>().map_or_else(|_| h.optimizer.clone(), |o| format!("{o:?}"));
    let _ = writeln!(
        out,
        "loss {:?}\nlr {:?}\nbatch_size {}\nepochs {}\noptimizer {optimizer}\neps {:?}\ntest_fraction {:?}",
        h.loss, h.lr, h.batch_size, h.epochs, h.eps, args.data.test_fraction
    );
    out
}

/// Parses `name=v1,v2,...` entries into a grid; integers, numbers and texts.
///
/// # Errors
/// An entry without `=`, with no value or an empty one (`h=4,,8`), or a name given twice.
pub fn parse_grid(entries: &[String]) -> CliResult<ParamGrid> {
    let mut grid = ParamGrid::new();
    for entry in entries {
        let Some((name, values)) = entry.split_once('=') else {
            return Err(CliError::usage(format!(
                "--grid {entry}: expected NAME=V1,V2,... e.g. hidden=50,100"
            )));
        };
        let name = name.trim().replace('-', "_");
        let texts: Vec<&str> = values.split(',').map(str::trim).collect();
        if texts.len() > 1 && texts.iter().any(|v| v.is_empty()) {
            // `h=4,,8` is a typo more often than a wish for two values.
            return Err(CliError::usage(format!(
                "--grid {entry}: an empty value between commas; write NAME=V1,V2,... e.g. hidden=50,100"
            )));
        }
        let values: Vec<ParamValue> = texts.into_iter().filter(|v| !v.is_empty()).map(parse_value).collect();
        if name.is_empty() || values.is_empty() {
            return Err(CliError::usage(format!(
                "--grid {entry}: expected NAME=V1,V2,... with at least one value"
            )));
        }
        grid.push(name, values);
    }
    Ok(grid)
}

/// A grid value: an integer if it reads as one, else a number, else a text.
pub fn parse_value(text: &str) -> ParamValue {
    if let Ok(v) = text.parse::<i64>() {
        ParamValue::Int(v)
    } else if let Ok(v) = text.parse::<f64>() {
        ParamValue::Float(v)
    } else {
        ParamValue::Text(text.to_string())
    }
}

/// Every `{name}` of the template has a grid parameter, and every grid
/// parameter is used by the template or sets training.
fn check_names(template: &str, grid: &ParamGrid) -> CliResult<()> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            return Err(CliError::usage(format!("--net has an unclosed '{{' in {template}")));
        };
        let name = &rest[start + 1..start + len];
        if !grid.names().any(|n| n == name) {
            return Err(CliError::usage(format!(
                "--net uses {{{name}}} but no --grid {name}=... gives its values"
            )));
        }
        rest = &rest[start + len..];
    }
    for name in grid.names() {
        if !template.contains(&format!("{{{name}}}")) && !TRAINING_NAMES.contains(&name) {
            return Err(CliError::usage(format!(
                "--grid {name} is not used: write {{{name}}} in --net, or use one of {}",
                TRAINING_NAMES.join(", ")
            )));
        }
    }
    Ok(())
}

/// The template with each `{name}` replaced by the point's value.
pub fn fill(template: &str, point: &Point) -> String {
    point.values().iter().fold(template.to_string(), |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), &value.to_string())
    })
}

/// The ranked table `nn grid` prints.
pub fn ranking_table(result: &GridResult) -> String {
    let mut out = String::new();
    let names = &result.param_names;
    let mut header = vec!["rank".to_string(), "point".to_string()];
    header.extend(names.iter().cloned());
    header.extend(["mean accuracy".to_string(), "std".to_string(), "status".to_string()]);
    let mut rows = vec![header];
    for (rank, p) in result.points.iter().enumerate() {
        let mut row = vec![(rank + 1).to_string(), p.point.index().to_string()];
        row.extend(p.point.values().iter().map(|(_, v)| v.to_string()));
        row.push(p.mean.map_or("-".into(), |m| format!("{m:.4}")));
        row.push(p.std.map_or("-".into(), |s| format!("{s:.4}")));
        let failed = p.folds.iter().find_map(|f| f.error.clone());
        row.push(failed.map_or("ok".into(), |e| format!("failed: {e}")));
        rows.push(row);
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in &rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    match result.best() {
        Some(best) => out.push_str(&format!(
            "best: {} (accuracy {:.4} ± {:.4} over {} folds)\n",
            best.point,
            best.mean.unwrap_or(f64::NAN),
            best.std.unwrap_or(f64::NAN),
            result.cv
        )),
        None => out.push_str("best: none, every point failed\n"),
    }
    out
}

/// The ranking `nn grid --json` prints.
pub fn ranking_json(result: &GridResult) -> serde_json::Value {
    let points: Vec<serde_json::Value> = result
        .points
        .iter()
        .map(|p| {
            let params: serde_json::Map<String, serde_json::Value> = p
                .point
                .values()
                .iter()
                .map(|(n, v)| (n.clone(), serde_json::to_value(v).unwrap_or(serde_json::Value::Null)))
                .collect();
            serde_json::json!({ "point": p.point.index(), "params": params, "mean": p.mean, "std": p.std,
                "status": p.folds.iter().find_map(|f| f.error.clone()).map_or("ok".to_string(), |e| format!("failed: {e}")) })
        })
        .collect();
    serde_json::json!({ "metric": "accuracy", "cv": result.cv, "ranking": points })
}
