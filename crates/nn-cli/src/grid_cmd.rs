//! `nn grid`: grid search from the command line, every point checked before any training.

use nn_train::{
    GridOptions, GridResult, Metric, OptimizerKind, ParamGrid, ParamValue, Point, Setup, TrainConfig,
    grid_search,
};

use crate::args::GridArgs;
use crate::data_source::{load, shaped, split};
use crate::error::{CliError, CliResult};
use crate::experiment::{self, NetSpec, Network};
use crate::notation::parse;

/// Names that set training rather than fill the network.
const TRAINING_NAMES: &[&str] = &["lr", "batch_size", "epochs", "optimizer"];

/// Runs `nn grid`.
///
/// # Errors
/// A bad `--grid`, a point whose network does not parse or fit the data,
/// bad hyper-parameters, or a results file that cannot be written.
pub fn run(args: &GridArgs) -> CliResult<()> {
    let grid = parse_grid(&args.grid)?;
    check_names(&args.net, &grid)?;
    let data = load(&args.data.data, args.data.labels.as_deref())?;
    let train_part = split(&data, args.data.test_fraction, args.hyper.seed)?.train;
    let points = grid.points()?;

    // Every point is built and checked first: a typo fails in a second, not after an hour.
    let mut row_shape = None;
    for point in &points {
        let spec = NetSpec::Classifier(
            parse(&fill(&args.net, point))
                .map_err(|source| CliError::Notation { what: format!("--net at point {point}"), source })?,
        );
        let network = Network::build(&spec, args.hyper.seed);
        let shape = experiment::check(&spec, &network, train_part.features(), train_part.classes)
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
        let text = fill(&args.net, point);
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
    let options = GridOptions {
        threads: args.threads,
        seed: args.hyper.seed,
        save_loss_graphs: args.loss_graphs.clone(),
        progress: !args.json,
    };
    let result =
        grid_search(build, &grid, x.view(), &train_part.labels, Metric::Accuracy, args.cv, &options)?;
    if let Some(path) = &args.results {
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl") => result.write_jsonl(path)?,
            _ => result.write_csv(path)?,
        }
    }
    if args.json {
        println!("{}", ranking_json(&result));
    } else {
        print!("{}", ranking_table(&result));
    }
    Ok(())
}

/// Parses `name=v1,v2,...` entries into a grid; integers, numbers and texts.
///
/// # Errors
/// An entry without `=`, with no value, or a name given twice.
pub fn parse_grid(entries: &[String]) -> CliResult<ParamGrid> {
    let mut grid = ParamGrid::new();
    for entry in entries {
        let Some((name, values)) = entry.split_once('=') else {
            return Err(CliError::usage(format!(
                "--grid {entry}: expected NAME=V1,V2,... e.g. hidden=50,100"
            )));
        };
        let name = name.trim().replace('-', "_");
        let values: Vec<ParamValue> =
            values.split(',').map(str::trim).filter(|v| !v.is_empty()).map(value).collect();
        if name.is_empty() || values.is_empty() {
            return Err(CliError::usage(format!(
                "--grid {entry}: expected NAME=V1,V2,... with at least one value"
            )));
        }
        grid.push(name, values);
    }
    Ok(grid)
}

fn value(text: &str) -> ParamValue {
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

fn ranking_json(result: &GridResult) -> serde_json::Value {
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
