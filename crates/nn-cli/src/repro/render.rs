//! From trained runs to one section of REPORT.md: its table, its figures
//! (PNG files beside REPORT.md) and the line setting the report's claim
//! beside our result.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use clap::ValueEnum;
use ndarray::{Array2, ArrayD, Axis, IxDyn};
use nn_core::Module;
use nn_plot::{Series, digit_rows, line_chart, scatter_by_class};

use crate::data_source::{Split, shaped};
use crate::error::{CliError, CliResult};
use crate::experiment::{NetSpec, Network, RunSpec};
use crate::notation::LayerSpec;
use crate::repro::clustering::{adjusted_rand_index, purity};
use crate::repro::experiments::{
    BATCH_SIZE, Claim, GENERAL_RANGE, LEARNING_RATE, SEED, Section, Study, Variant,
};
use crate::repro::jobs::{JobResult, Trained, run_key};
use crate::repro::kmeans::{KMeans, kmeans};
use crate::repro::pca::Pca;
use crate::repro::report::{SectionReport, SummaryRow, cell};
use crate::train_cmd::loss_curves;

/// Longest figure title: nn-plot cuts longer ones.
pub const MAX_TITLE: usize = 60;
/// Clusters of the k-means study: one per digit.
pub const CLUSTERS: usize = 10;
/// k-means restarts (k-means++ seeding each), the best inertia kept.
pub const RESTARTS: usize = 10;
/// Half a point of accuracy: the report's figures have two decimals.
const TOLERANCE: f64 = 0.005;
/// A convolutional auto-encoder "works" when its test loss is within this
/// factor of the linear auto-encoder's.
const WORKS_WITHIN: f64 = 1.1;

/// What every section needs besides its runs.
pub struct Context<'a> {
    /// The output directory (figures go beside REPORT.md).
    pub out: &'a Path,
    /// The train/test split every run used.
    pub split: &'a Split,
    /// The digits drawn above their reconstructions, (digits, 64).
    pub showcase: &'a Array2<f32>,
    /// The BCE of a perfect reconstruction of the test digits, drawn as a reference.
    pub floor: f64,
}

/// A figure title of at most [`MAX_TITLE`] characters: `3.2.3 batch size: test
/// accuracy`, or `3.2.3: test accuracy` when that is too long.
pub fn figure_title(number: &str, title: &str, what: &str) -> String {
    let full = format!("{number} {title}: {what}");
    if full.chars().count() <= MAX_TITLE { full } else { format!("{number}: {what}") }
}

/// A file-name piece: lower-case letters and digits, other runs of characters as `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// An accuracy with three decimals.
fn acc(value: f64) -> String {
    format!("{value:.3}")
}

/// A loss with four significant digits or so.
fn loss(value: f64) -> String {
    match value.abs() {
        v if v >= 100.0 => format!("{value:.1}"),
        v if v >= 10.0 => format!("{value:.3}"),
        _ => format!("{value:.4}"),
    }
}

fn join(specs: &[LayerSpec]) -> String {
    specs.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> ")
}

fn loss_name(spec: &RunSpec) -> String {
    spec.loss.unwrap_or_else(|| spec.net.default_loss()).build().to_string()
}

/// The `nn train` command line that repeats `spec` alone (its defaults are
/// the seed and test fraction used here).
pub fn command(spec: &RunSpec) -> String {
    let mut line = match &spec.net {
        NetSpec::Classifier(specs) => format!("nn train --net \"{}\"", join(specs)),
        NetSpec::AutoEncoder { encoder, decoder } => {
            format!("nn train --encoder \"{}\" --decoder \"{}\"", join(encoder), join(decoder))
        }
    };
    if let Some(name) = spec.loss.and_then(|l| l.to_possible_value()) {
        let _ = write!(line, " --loss {}", name.get_name());
    }
    if spec.optimizer != nn_train::OptimizerKind::Sgd {
        let _ = write!(line, " --optimizer {}", spec.optimizer);
    }
    if spec.lr != LEARNING_RATE {
        let _ = write!(line, " --lr {}", spec.lr);
    }
    if spec.batch_size != BATCH_SIZE {
        let _ = write!(line, " --batch-size {}", spec.batch_size);
    }
    if spec.seed != SEED {
        let _ = write!(line, " --seed {}", spec.seed);
    }
    let _ = write!(line, " --epochs {}", spec.epochs);
    line
}

fn found<'r>(results: &'r HashMap<String, JobResult>, spec: &RunSpec) -> Result<&'r Trained, &'r str> {
    match results.get(&run_key(spec)) {
        Some(Ok(trained)) => Ok(trained),
        Some(Err(message)) => Err(message),
        None => Err("not run"),
    }
}

fn image(body: &mut String, file: &str, alt: &str) {
    let _ = writeln!(body, "![{alt}]({file})\n");
}

/// Draws a line chart into the output directory and links it.
fn chart(
    body: &mut String,
    ctx: &Context<'_>,
    file: &str,
    title: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> CliResult<()> {
    line_chart(&ctx.out.join(file), title, "epoch", y_label, series, log_y)?;
    image(body, file, title);
    Ok(())
}

/// Draws the showcase digits above each labelled set of reconstructions and links the figure.
fn reconstructions(
    body: &mut String,
    ctx: &Context<'_>,
    file: &str,
    title: &str,
    rows: &[(String, &Array2<f32>)],
) -> CliResult<()> {
    let images = |a: &Array2<f32>| a.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    let originals = images(ctx.showcase);
    let rebuilt: Vec<(String, Vec<Vec<f32>>)> = rows.iter().map(|(l, a)| (l.clone(), images(a))).collect();
    let mut all: Vec<(&str, &[Vec<f32>])> = vec![("original", &originals)];
    all.extend(rebuilt.iter().map(|(l, i)| (l.as_str(), i.as_slice())));
    digit_rows(&ctx.out.join(file), title, &all, 8)?;
    image(body, file, title);
    Ok(())
}

/// The claim line and summary row of a section whose variants have test accuracies.
fn accuracy_claim(claim: Claim, scored: &[(&str, Option<f64>)]) -> (String, SummaryRow) {
    let ours = scored
        .iter()
        .map(|(label, a)| format!("{label} {}", a.map_or("failed".to_string(), acc)))
        .collect::<Vec<_>>()
        .join(", ");
    match claim {
        Claim::Accuracy(report) => {
            let verdict = |a: Option<f64>| match a {
                None => "not reproduced, the run failed".to_string(),
                Some(a) if a > report + TOLERANCE => {
                    format!("reproduced, {:.1} points higher", (a - report) * 100.0)
                }
                Some(a) if a >= report - TOLERANCE => "reproduced".to_string(),
                Some(a) => format!("not reproduced, {:.1} points lower", (report - a) * 100.0),
            };
            let mut text = String::new();
            for (label, a) in scored {
                let _ = writeln!(
                    text,
                    "- {label}: **report: {report}; ours: {}** — {}.",
                    a.map_or("failed".to_string(), acc),
                    verdict(*a)
                );
            }
            let verdicts =
                scored.iter().map(|(l, a)| format!("{l}: {}", verdict(*a))).collect::<Vec<_>>().join("; ");
            (text, SummaryRow { claim: format!("{report} test accuracy, each"), ours, verdict: verdicts })
        }
        Claim::GeneralRange => {
            let (lo, hi) = GENERAL_RANGE;
            let best =
                scored.iter().filter_map(|(l, a)| a.map(|a| (*l, a))).max_by(|x, y| x.1.total_cmp(&y.1));
            let outside: Vec<String> = scored
                .iter()
                .filter(|(_, a)| a.is_none_or(|a| a < lo - TOLERANCE || a > hi + TOLERANCE))
                .map(|(l, a)| format!("{l} ({})", a.map_or("failed".to_string(), acc)))
                .collect();
            let verdict = match best {
                None => "not reproduced, every run failed".to_string(),
                Some((_, b)) if b < lo - TOLERANCE => {
                    format!("not reproduced, best {:.1} points below {lo}", (lo - b) * 100.0)
                }
                Some((_, b)) if b > hi + TOLERANCE => format!("reproduced, best above {hi}"),
                Some(_) => "reproduced (best variant in the range)".to_string(),
            };
            let best_text = best.map_or("no run finished".into(), |(l, b)| format!("best {} ({l})", acc(b)));
            let outside_text = if outside.is_empty() {
                "every variant is within the range".to_string()
            } else {
                format!("outside the range: {}", outside.join(", "))
            };
            let text = format!(
                "**Report**: its networks reach {lo}–{hi} test accuracy in general; for this section the \
                 report gives no figure per variant we can compare. **Ours**: {best_text}; {outside_text} \
                 — {verdict}.\n"
            );
            let claim = format!("{lo}–{hi} in general (no figure per variant)");
            (text, SummaryRow { claim, ours: best_text, verdict })
        }
        Claim::Failed | Claim::Unknown => (
            format!("**Report**: the report gives no figure we can compare. **Ours**: {ours}.\n"),
            SummaryRow {
                claim: "the report gives no figure we can compare".into(),
                ours,
                verdict: "nothing to compare".into(),
            },
        ),
    }
}

/// The BCE of a perfect test reconstruction as a flat line as long as the longest series.
fn floor_series(ctx: &Context<'_>, series: &[Series]) -> Series {
    let epochs = series.iter().map(|s| s.values.len()).max().unwrap_or(1);
    Series::new(format!("perfect, test ({:.2})", ctx.floor), vec![ctx.floor; epochs])
}

/// Train and test loss of an auto-encoder with the perfect-reconstruction line.
fn autoencoder_curves(
    body: &mut String,
    ctx: &Context<'_>,
    file: &str,
    title: &str,
    trained: &Trained,
) -> CliResult<()> {
    let history = &trained.outcome.history;
    let mut series =
        vec![Series::new("train", history.train_loss.clone()), Series::new("test", history.val_loss.clone())];
    series.push(floor_series(ctx, &series));
    chart(body, ctx, file, title, "loss", &series, true)
}

/// The epoch (from 1) and value of the lowest finite value.
pub fn lowest(values: &[f64]) -> Option<(usize, f64)> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, &v)| (i + 1, v))
}

/// The first epoch (from 1) whose value is more than 10 times the lowest
/// before it, with the values of the epoch before and of that epoch: the step
/// that threw a run out.
pub fn blow_up(values: &[f64]) -> Option<(usize, f64, f64)> {
    let mut best = f64::INFINITY;
    for (i, &v) in values.iter().enumerate() {
        if i > 0 && (v > 10.0 * best || !v.is_finite()) {
            return Some((i + 1, values[i - 1], v));
        }
        best = best.min(v);
    }
    None
}

fn classifiers(
    section: &Section,
    variants: &[Variant],
    results: &HashMap<String, JobResult>,
    ctx: &Context<'_>,
) -> CliResult<(String, SummaryRow)> {
    let (n, t) = (section.number, section.title);
    let mut body = String::new();
    let _ = writeln!(
        body,
        "| variant | network | loss | optimizer, lr | batch | epochs | train loss | test loss | test accuracy | seconds |"
    );
    let _ = writeln!(body, "|---|---|---|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for v in variants {
        let s = &v.spec;
        let head = format!(
            "| {} | `{}` | {} | {} {} | {} ",
            cell(&v.label),
            s.net.notation(),
            loss_name(s),
            s.optimizer,
            s.lr,
            s.batch_size
        );
        match found(results, s) {
            Ok(r) => {
                let o = &r.outcome;
                let _ = writeln!(
                    body,
                    "{head}| {} | {} | {} | {} | {:.1} |",
                    o.history.epochs_run,
                    loss(o.train_loss),
                    loss(o.test_loss),
                    o.test_accuracy.map_or("—".into(), acc),
                    o.seconds
                );
            }
            Err(message) => {
                let _ = writeln!(body, "{head}| {} | — | — | — | — |", s.epochs);
                failures.push(format!("- **{}** failed: {}", v.label, message.replace('\n', " ")));
            }
        }
    }
    let _ = writeln!(body);
    for f in &failures {
        let _ = writeln!(body, "{f}");
    }
    if !failures.is_empty() {
        let _ = writeln!(body);
    }

    let ok: Vec<(&Variant, &Trained)> =
        variants.iter().filter_map(|v| found(results, &v.spec).ok().map(|r| (v, r))).collect();
    let mut accuracy: Vec<Series> = ok
        .iter()
        .filter(|(_, r)| !r.outcome.history.val_accuracy.is_empty())
        .map(|(v, r)| Series::new(v.label.clone(), r.outcome.history.val_accuracy.clone()))
        .collect();
    if let (Claim::Accuracy(report), Some(epochs)) =
        (section.claim, accuracy.iter().map(|s| s.values.len()).max())
    {
        accuracy.push(Series::new(format!("report: {report}"), vec![report; epochs]));
    }
    if !accuracy.is_empty() {
        let title = figure_title(n, t, "test accuracy");
        chart(&mut body, ctx, &format!("{n}-accuracy.png"), &title, "test accuracy", &accuracy, false)?;
    }
    let same_loss = variants.windows(2).all(|w| loss_name(&w[0].spec) == loss_name(&w[1].spec));
    if ok.len() > 1 && same_loss {
        let series: Vec<Series> = ok
            .iter()
            .map(|(v, r)| Series::new(v.label.clone(), r.outcome.history.val_loss.clone()))
            .collect();
        let title = figure_title(n, t, "test loss");
        chart(&mut body, ctx, &format!("{n}-test-loss.png"), &title, "test loss", &series, true)?;
    }
    if variants.len() <= 2 {
        for (v, r) in &ok {
            let file = format!("{n}-{}-loss.png", slug(&v.label));
            let title = figure_title(n, &v.label, "train and test loss");
            loss_curves(&ctx.out.join(&file), &title, &r.outcome.history)?;
            image(&mut body, &file, &title);
        }
    }

    for (i, (a, ra)) in ok.iter().enumerate() {
        for (b, rb) in &ok[i + 1..] {
            let (ha, hb) = (&ra.outcome.history.val_accuracy, &rb.outcome.history.val_accuracy);
            if !ha.is_empty() && ha == hb {
                let _ = writeln!(
                    body,
                    "{} and {} have the same test accuracy at every epoch: the {} curve is hidden under \
                     the {} one.\n",
                    a.label, b.label, a.label, b.label
                );
            }
        }
    }
    let scored: Vec<(&str, Option<f64>)> = variants
        .iter()
        .map(|v| (v.label.as_str(), found(results, &v.spec).ok().and_then(|r| r.outcome.test_accuracy)))
        .collect();
    let (claim_text, summary) = accuracy_claim(section.claim, &scored);
    let _ = writeln!(body, "{claim_text}");
    Ok((body, summary))
}

fn halves(spec: &RunSpec) -> (String, String) {
    match &spec.net {
        NetSpec::AutoEncoder { encoder, decoder } => (join(encoder), join(decoder)),
        NetSpec::Classifier(specs) => (join(specs), String::new()),
    }
}

fn autoencoders(
    section: &Section,
    variants: &[Variant],
    results: &HashMap<String, JobResult>,
    ctx: &Context<'_>,
) -> CliResult<(String, SummaryRow)> {
    let (n, t) = (section.number, section.title);
    let mut body = String::new();
    let _ = writeln!(
        body,
        "| variant | encoder | decoder | loss | optimizer, lr | batch | epochs | train loss | test loss | test MSE per pixel | seconds |"
    );
    let _ = writeln!(body, "|---|---|---|---|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for v in variants {
        let s = &v.spec;
        let (encoder, decoder) = halves(s);
        let head = format!(
            "| {} | `{encoder}` | `{decoder}` | {} | {} {} | {} ",
            cell(&v.label),
            loss_name(s),
            s.optimizer,
            s.lr,
            s.batch_size
        );
        match found(results, s) {
            Ok(r) => {
                let o = &r.outcome;
                let _ = writeln!(
                    body,
                    "{head}| {} | {} | {} | {} | {:.1} |",
                    o.history.epochs_run,
                    loss(o.train_loss),
                    loss(o.test_loss),
                    r.test_mse.map_or("—".into(), |m| format!("{m:.4}")),
                    o.seconds
                );
            }
            Err(message) => {
                let _ = writeln!(body, "{head}| {} | — | — | — | — |", s.epochs);
                failures.push(format!("- **{}** failed: {}", v.label, message.replace('\n', " ")));
            }
        }
    }
    let _ = writeln!(body);
    for f in &failures {
        let _ = writeln!(body, "{f}\n");
    }

    let ok: Vec<(&Variant, &Trained)> =
        variants.iter().filter_map(|v| found(results, &v.spec).ok().map(|r| (v, r))).collect();
    if ok.len() > 1 {
        let mut series: Vec<Series> = ok
            .iter()
            .map(|(v, r)| Series::new(v.label.clone(), r.outcome.history.val_loss.clone()))
            .collect();
        series.push(floor_series(ctx, &series));
        let title = figure_title(n, t, "test loss");
        chart(&mut body, ctx, &format!("{n}-test-loss.png"), &title, "test loss", &series, true)?;
    } else if let Some((_, r)) = ok.first() {
        autoencoder_curves(
            &mut body,
            ctx,
            &format!("{n}-loss.png"),
            &figure_title(n, t, "train and test loss"),
            r,
        )?;
    }
    let rows: Vec<(String, &Array2<f32>)> = ok
        .iter()
        .filter_map(|(v, r)| {
            r.showcase.as_ref().map(|s| (if ok.len() == 1 { "rebuilt".into() } else { v.label.clone() }, s))
        })
        .collect();
    if !rows.is_empty() {
        let title = figure_title(n, t, "reconstructions");
        reconstructions(&mut body, ctx, &format!("{n}-reconstructions.png"), &title, &rows)?;
    }

    let losses: Vec<(&str, Option<f64>)> = variants
        .iter()
        .map(|v| (v.label.as_str(), found(results, &v.spec).ok().map(|r| r.outcome.test_loss)))
        .collect();
    let listed = losses
        .iter()
        .map(|(l, x)| format!("{l} {}", x.map_or("failed".to_string(), loss)))
        .collect::<Vec<_>>()
        .join(", ");
    let ours = if losses.len() == 1 { format!("test loss {listed}") } else { format!("test loss: {listed}") };
    let (text, summary) = match section.claim {
        Claim::Failed => {
            // The first variant is ours, the last the linear auto-encoder of reference.
            let conv = losses.first().and_then(|x| x.1);
            let linear = losses.last().and_then(|x| x.1);
            let failing: Vec<String> = losses[1..losses.len().saturating_sub(1)]
                .iter()
                .filter(|(_, x)| match (x, linear) {
                    (Some(x), Some(l)) => *x > WORKS_WITHIN * l,
                    _ => true,
                })
                .map(|(l, x)| format!("{l} ({})", x.map_or("failed".to_string(), loss)))
                .collect();
            let verdict = match (conv, linear) {
                (Some(c), Some(l)) if c <= WORKS_WITHIN * l => {
                    "not reproduced: ours reconstructs about as well as the linear AE".to_string()
                }
                (Some(_), Some(_)) => "reproduced: ours fails too".to_string(),
                _ => "a run failed".to_string(),
            };
            let also = if failing.is_empty() {
                String::new()
            } else {
                format!(" Variants that fail, as the report's did: {}.", failing.join(", "))
            };
            let blown: Vec<String> = ok
                .iter()
                .filter_map(|(v, r)| {
                    blow_up(&r.outcome.history.val_loss).map(|(epoch, before, after)| {
                        format!(
                            " The \"{}\" run trains until epoch {} (test loss {}), then one epoch throws \
                             it out ({}) and it never recovers: its sigmoids are saturated.",
                            v.label,
                            epoch - 1,
                            loss(before),
                            loss(after)
                        )
                    })
                })
                .collect();
            let also = format!("{also}{}", blown.concat());
            (
                format!(
                    "**Report**: its convolutional auto-encoder failed. **Ours**: {ours} — {verdict} \
                     (\"works\" meaning a test loss within {:.0}% of the linear AE's).{also}\n",
                    (WORKS_WITHIN - 1.0) * 100.0
                ),
                SummaryRow { claim: "its convolutional auto-encoder failed".into(), ours, verdict },
            )
        }
        _ => (
            format!("**Report**: the report gives no figure we can compare. **Ours**: {ours}.\n"),
            SummaryRow {
                claim: "the report gives no figure we can compare".into(),
                ours,
                verdict: "nothing to compare".into(),
            },
        ),
    };
    let _ = writeln!(body, "{text}");
    Ok((body, summary))
}

fn stages(
    section: &Section,
    variant: &Variant,
    results: &HashMap<String, JobResult>,
    ctx: &Context<'_>,
) -> CliResult<(String, SummaryRow)> {
    let (n, t) = (section.number, section.title);
    let mut body = String::new();
    let (encoder, decoder) = halves(&variant.spec);
    let s = &variant.spec;
    let key = match &section.study {
        Study::Stages { stages, .. } => format!("stages {stages:?} | {}", run_key(s)),
        _ => run_key(s),
    };
    let _ = writeln!(
        body,
        "Encoder `{encoder}`, decoder `{decoder}`, {}, {} lr {}, batch {}.\n",
        loss_name(s),
        s.optimizer,
        s.lr,
        s.batch_size
    );
    let trained = match results.get(&key) {
        Some(Ok(r)) => r,
        Some(Err(message)) => {
            let _ = writeln!(body, "The run failed: {message}\n");
            let summary = SummaryRow {
                claim: "the report gives no figure we can compare".into(),
                ours: "failed".into(),
                verdict: "nothing to compare".into(),
            };
            return Ok((body, summary));
        }
        None => return Err(CliError::usage(format!("{n}: the staged run was not trained"))),
    };
    let _ = writeln!(body, "| epochs | train loss | test loss | test MSE per pixel |");
    let _ = writeln!(body, "|---|---|---|---|");
    for stage in &trained.stages {
        let _ = writeln!(
            body,
            "| {} | {} | {} | {:.4} |",
            stage.epochs,
            loss(stage.train_loss),
            loss(stage.test_loss),
            stage.test_mse
        );
    }
    let _ = writeln!(body, "\n{:.1} s of training in all.\n", trained.outcome.seconds);
    let history = &trained.outcome.history;
    if let Some((epoch, lowest)) = lowest(&history.val_loss) {
        let last = history.val_loss.last().copied().unwrap_or(lowest);
        let train_then = history.train_loss.get(epoch - 1).copied().unwrap_or(f64::NAN);
        let train_last = history.train_loss.last().copied().unwrap_or(f64::NAN);
        if last > lowest * 1.005 && train_last < train_then {
            let _ = writeln!(
                body,
                "The test loss is lowest at epoch {epoch} ({}) and rises after it ({} at epoch {}) while \
                 the training loss keeps falling ({} → {}): from there on the auto-encoder overfits its \
                 {} training digits, and more epochs make its test reconstructions worse.\n",
                loss(lowest),
                loss(last),
                history.val_loss.len(),
                loss(train_then),
                loss(train_last),
                ctx.split.train.len()
            );
        } else {
            let _ = writeln!(body, "The test loss is lowest at epoch {epoch} ({}).\n", loss(lowest));
        }
    }
    autoencoder_curves(
        &mut body,
        ctx,
        &format!("{n}-loss.png"),
        &figure_title(n, t, "train and test loss"),
        trained,
    )?;
    let rows: Vec<(String, &Array2<f32>)> =
        trained.stages.iter().map(|s| (format!("{} epochs", s.epochs), &s.showcase)).collect();
    let title = figure_title(n, t, "reconstructions");
    reconstructions(&mut body, ctx, &format!("{n}-reconstructions.png"), &title, &rows)?;
    let ours = trained
        .stages
        .iter()
        .map(|s| format!("{} epochs {}", s.epochs, loss(s.test_loss)))
        .collect::<Vec<_>>()
        .join(", ");
    let ours = format!("test loss: {ours}");
    let _ = writeln!(body, "**Report**: the report gives no figure we can compare. **Ours**: {ours}.\n");
    Ok((
        body,
        SummaryRow {
            claim: "the report gives no figure we can compare".into(),
            ours,
            verdict: "nothing to compare".into(),
        },
    ))
}

/// The test codes of a trained auto-encoder, (digits, code size) in f64, and the code shape of one digit.
fn codes(trained: &mut Trained, split: &Split) -> CliResult<(Array2<f64>, Vec<usize>)> {
    let row_shape = trained.outcome.row_shape.clone();
    let Network::AutoEncoder(ae) = &mut trained.outcome.network else {
        return Err(CliError::usage("the latent codes come from an auto-encoder"));
    };
    let x = shaped(&split.test.x, &row_shape);
    let latent = ae.latent(x.view())?;
    let shape = latent.shape()[1..].to_vec();
    let rows = latent.shape()[0];
    let flat = latent
        .to_shape((rows, shape.iter().product::<usize>()))
        .map_err(|e| CliError::usage(e.to_string()))?
        .mapv(f64::from);
    Ok((flat, shape))
}

fn trained_mut<'r>(
    results: &'r mut HashMap<String, JobResult>,
    variant: &Variant,
) -> CliResult<&'r mut Trained> {
    match results.get_mut(&run_key(&variant.spec)) {
        Some(Ok(trained)) => Ok(trained),
        Some(Err(message)) => Err(CliError::usage(format!("the auto-encoder failed: {message}"))),
        None => Err(CliError::usage("the auto-encoder was not trained")),
    }
}

/// The clusters in display order: by majority digit, then by size (largest first),
/// each with its majority digit, size and majority count.
fn by_majority(fit: &KMeans, labels: &[usize]) -> Vec<(usize, usize, usize, usize)> {
    let mut clusters: Vec<(usize, usize, usize, usize)> = (0..fit.centroids.nrows())
        .map(|c| {
            let members: Vec<usize> =
                labels.iter().zip(&fit.assignments).filter(|(_, a)| **a == c).map(|(l, _)| *l).collect();
            let mut counts = [0usize; 10];
            for &l in &members {
                counts[l.min(9)] += 1;
            }
            let (major, count) = counts
                .iter()
                .enumerate()
                .max_by_key(|(d, n)| (**n, std::cmp::Reverse(*d)))
                .unwrap_or((0, &0));
            (c, major, members.len(), *count)
        })
        .collect();
    clusters.sort_by_key(|&(c, major, size, _)| (major, std::cmp::Reverse(size), c));
    clusters
}

fn clustering(
    section: &Section,
    variant: &Variant,
    results: &mut HashMap<String, JobResult>,
    ctx: &Context<'_>,
) -> CliResult<(String, SummaryRow)> {
    let n = section.number;
    let labels = &ctx.split.test.labels;
    let trained = trained_mut(results, variant)?;
    let (codes, code_shape) = codes(trained, ctx.split)?;
    let pixels = ctx.split.test.x.mapv(f64::from);
    let on_codes = kmeans(codes.view(), CLUSTERS, RESTARTS, SEED);
    let on_pixels = kmeans(pixels.view(), CLUSTERS, RESTARTS, SEED);

    // The code centroids drawn through the decoder; the pixel centroids are images already.
    let order = by_majority(&on_codes, labels);
    let centroids = on_codes.centroids.select(Axis(0), &order.iter().map(|o| o.0).collect::<Vec<_>>());
    let mut shape = vec![centroids.nrows()];
    shape.extend(&code_shape);
    let input = ArrayD::from_shape_vec(IxDyn(&shape), centroids.iter().map(|&v| v as f32).collect())
        .map_err(|e| CliError::usage(e.to_string()))?;
    let Network::AutoEncoder(ae) = &mut trained.outcome.network else {
        return Err(CliError::usage("the latent codes come from an auto-encoder"));
    };
    let decoded = ae.decoder.forward(input.view())?;
    let decoded: Vec<Vec<f32>> = decoded.outer_iter().map(|r| r.iter().copied().collect()).collect();
    let pixel_order = by_majority(&on_pixels, labels);
    let pixel_images: Vec<Vec<f32>> = pixel_order
        .iter()
        .map(|o| on_pixels.centroids.row(o.0).iter().map(|&v| v as f32).collect())
        .collect();

    let mut body = String::new();
    let _ = writeln!(
        body,
        "k-means with k = {CLUSTERS} (k-means++ seeding, {RESTARTS} restarts, the least inertia kept, \
         seed {SEED}) on the {} test digits, encoded by the linear auto-encoder (`{}`, the network of \
         the linear auto-encoder section), and for comparison on the raw pixels. Purity: the share of \
         digits whose cluster's most common label is their own. Adjusted Rand index (ARI): agreement \
         of the two partitions corrected for chance (1 identical, about 0 random).\n",
        labels.len(),
        variant.spec.net.notation()
    );
    let _ = writeln!(body, "| clustered | features | purity | ARI | inertia | Lloyd iterations |");
    let _ = writeln!(body, "|---|---|---|---|---|---|");
    let mut scores = Vec::new();
    for (what, data, fit) in [("codes", &codes, &on_codes), ("pixels", &pixels, &on_pixels)] {
        let (p, ari) = (purity(labels, &fit.assignments), adjusted_rand_index(labels, &fit.assignments));
        scores.push((p, ari));
        let _ = writeln!(
            body,
            "| {what} | {} | {p:.3} | {ari:.3} | {:.1} | {} |",
            data.ncols(),
            fit.inertia,
            fit.iterations
        );
    }
    let describe = |order: &[(usize, usize, usize, usize)]| {
        order
            .iter()
            .map(|&(_, major, size, count)| format!("{major} ({count}/{size})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        body,
        "\nClusters of the codes by majority digit (majority count / size): {}.\n\nClusters of the \
         pixels: {}.\n",
        describe(&order),
        describe(&pixel_order)
    );
    let file = format!("{n}-centroids.png");
    let title = figure_title(n, "k-means centroids", "codes (decoded) and pixels");
    digit_rows(
        &ctx.out.join(&file),
        &title,
        &[("codes, decoded", decoded.as_slice()), ("pixels", pixel_images.as_slice())],
        8,
    )?;
    image(&mut body, &file, &title);
    let _ = writeln!(
        body,
        "The centroids are shown in order of their clusters' majority digit; a digit missing from \
         that order has no cluster of its own.\n"
    );
    let ours = format!(
        "codes: ARI {:.3}, purity {:.3}; pixels: ARI {:.3}, purity {:.3}",
        scores[0].1, scores[0].0, scores[1].1, scores[1].0
    );
    let _ = writeln!(
        body,
        "**Report**: beyond the report, which gives no figure we can compare. **Ours**: {ours}.\n"
    );
    Ok((
        body,
        SummaryRow {
            claim: "the report gives no figure we can compare".into(),
            ours,
            verdict: "nothing to compare".into(),
        },
    ))
}

fn pca_map(
    section: &Section,
    variant: &Variant,
    results: &mut HashMap<String, JobResult>,
    ctx: &Context<'_>,
) -> CliResult<(String, SummaryRow)> {
    let n = section.number;
    let labels = &ctx.split.test.labels;
    let trained = trained_mut(results, variant)?;
    let (codes, _) = codes(trained, ctx.split)?;
    let pixels = ctx.split.test.x.mapv(f64::from);
    let mut body = String::new();
    let _ = writeln!(
        body,
        "The {} test digits' codes from the linear auto-encoder (`{}`) projected on their first two \
         principal components (eigenvectors of the codes' covariance, by Jacobi rotations), one colour \
         per digit; the raw pixels beside them for comparison.\n",
        labels.len(),
        variant.spec.net.notation()
    );
    let mut shares = Vec::new();
    for (what, data, file, title) in [
        ("codes", &codes, format!("{n}-pca-codes.png"), format!("{n} PCA of the auto-encoder's test codes")),
        ("pixels", &pixels, format!("{n}-pca-pixels.png"), format!("{n} PCA of the test digits' pixels")),
    ] {
        let pca = Pca::fit(data.view(), 2);
        let projected = pca.project(data.view());
        let points: Vec<(f64, f64)> = projected.rows().into_iter().map(|r| (r[0], r[1])).collect();
        let (r1, r2) = (pca.variance_ratio[0] * 100.0, pca.variance_ratio[1] * 100.0);
        scatter_by_class(
            &ctx.out.join(&file),
            &title,
            &format!("PC 1 ({r1:.1}% of variance)"),
            &format!("PC 2 ({r2:.1}%)"),
            &points,
            labels,
        )?;
        image(&mut body, &file, &title);
        shares.push((what, r1 + r2));
    }
    let ours = format!(
        "PC 1 + PC 2 hold {:.1}% of the codes' variance ({:.1}% of the pixels')",
        shares[0].1, shares[1].1
    );
    let _ = writeln!(
        body,
        "**Report**: beyond the report, which gives no figure we can compare. **Ours**: {ours}.\n"
    );
    Ok((
        body,
        SummaryRow {
            claim: "the report gives no figure we can compare".into(),
            ours,
            verdict: "nothing to compare".into(),
        },
    ))
}

/// Draws the figures of `section` into the output directory and returns its part of REPORT.md.
///
/// # Errors
/// A figure that cannot be drawn or written; a shape error computing codes.
pub fn section(
    section: &Section,
    results: &mut HashMap<String, JobResult>,
    ctx: &Context<'_>,
) -> CliResult<SectionReport> {
    let (mut body, summary) = match &section.study {
        Study::Classifiers(variants) => classifiers(section, variants, results, ctx)?,
        Study::AutoEncoders(variants) => autoencoders(section, variants, results, ctx)?,
        Study::Stages { variant, .. } => stages(section, variant, results, ctx)?,
        Study::Clustering(variant) => clustering(section, variant, results, ctx)?,
        Study::Pca(variant) => pca_map(section, variant, results, ctx)?,
    };
    for note in &section.notes {
        let _ = writeln!(body, "{note}\n");
    }
    match &section.study {
        Study::Stages { variant, stages } => {
            let first = RunSpec {
                epochs: stages.first().copied().unwrap_or(variant.spec.epochs),
                ..variant.spec.clone()
            };
            let _ = writeln!(
                body,
                "Repeat the first stage alone (the same seed and split): `{}`.\n",
                command(&first)
            );
        }
        _ => {
            if let Some(first) = section.variants().first() {
                let _ = writeln!(
                    body,
                    "Repeat a run alone (the same seed and split), e.g. the first: `{}`.\n",
                    command(&first.spec)
                );
            }
        }
    }
    Ok(SectionReport {
        number: section.number.to_string(),
        title: section.title.to_string(),
        beyond: section.beyond,
        body,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repro::experiments::{Budget, sections};

    #[test]
    fn titles_fit_and_shorten_when_too_long() {
        assert_eq!(figure_title("3.2.3", "batch size", "test accuracy"), "3.2.3 batch size: test accuracy");
        let long = figure_title("3.3.4", "encoder and decoder hidden size", "test digits, reconstructed");
        assert_eq!(long, "3.3.4: test digits, reconstructed");
        assert_eq!(
            figure_title("3.3.4", "encoder and decoder hidden size", "reconstructions"),
            "3.3.4 encoder and decoder hidden size: reconstructions"
        );
        for section in sections(&Budget::new(true), 1437) {
            for what in ["test accuracy", "test loss", "train and test loss", "reconstructions"] {
                assert!(figure_title(section.number, section.title, what).chars().count() <= MAX_TITLE);
            }
        }
    }

    #[test]
    fn the_lowest_value_and_a_blow_up_are_found() {
        assert_eq!(lowest(&[3.0, 1.0, f64::NAN, 2.0]), Some((2, 1.0)));
        assert_eq!(lowest(&[]), None);
        assert_eq!(blow_up(&[20.0, 17.0, 16.5, 1700.0, 1728.0]), Some((4, 16.5, 1700.0)));
        assert_eq!(blow_up(&[20.0, 17.0, f64::NAN]).map(|b| b.0), Some(3));
        assert_eq!(blow_up(&[20.0, 17.0, 16.5, 100.0]), None, "less than 10 times the best");
    }

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(slug("conv AE, Adam"), "conv-ae-adam");
        assert_eq!(slug("lr = 0.1"), "lr-0.1");
    }

    #[test]
    fn commands_repeat_a_run_with_nn_train() {
        let all = sections(&Budget::new(false), 1437);
        let spec = |n: &str, i: usize| all.iter().find(|s| s.number == n).unwrap().variants()[i].spec.clone();
        assert_eq!(
            command(&spec("3.1.1", 0)),
            "nn train --net \"Linear(64, 100) -> ReLU() -> Linear(100, 10)\" --epochs 200"
        );
        assert!(command(&spec("3.2.1", 1)).ends_with("-> Sigmoid()\" --loss bce --epochs 200"));
        assert!(command(&spec("3.2.3", 0)).ends_with(" --batch-size 10 --epochs 200"));
        assert!(command(&spec("3.4.1", 0)).contains("--decoder \"Upsample1D(8) -> "));
        assert!(command(&spec("3.4.1", 0)).ends_with(" --optimizer adam --lr 0.002 --epochs 300"));
    }

    #[test]
    fn accuracy_claims_are_judged_to_half_a_point() {
        let (text, row) =
            accuracy_claim(Claim::Accuracy(0.99), &[("linear", Some(0.972)), ("conv", Some(0.987))]);
        assert!(text.contains("- linear: **report: 0.99; ours: 0.972** — not reproduced, 1.8 points lower."));
        assert!(text.contains("- conv: **report: 0.99; ours: 0.987** — reproduced."));
        assert_eq!(row.ours, "linear 0.972, conv 0.987");
        let (_, row) =
            accuracy_claim(Claim::GeneralRange, &[("a", Some(0.5)), ("b", Some(0.975)), ("c", None)]);
        assert_eq!(row.verdict, "reproduced (best variant in the range)");
        assert_eq!(row.ours, "best 0.975 (b)");
        let (text, row) = accuracy_claim(Claim::GeneralRange, &[("a", Some(0.9))]);
        assert_eq!(row.verdict, "not reproduced, best 7.0 points below 0.97");
        assert!(text.contains("outside the range: a (0.900)"));
        let (text, _) = accuracy_claim(Claim::Unknown, &[("a", Some(0.9))]);
        assert!(text.contains("the report gives no figure we can compare"));
    }

    #[test]
    fn clusters_are_ordered_by_majority_digit() {
        let fit = KMeans {
            centroids: Array2::zeros((3, 1)),
            assignments: vec![2, 2, 0, 1, 1, 1],
            inertia: 0.0,
            iterations: 1,
        };
        // cluster 2 holds digits {7, 7}; cluster 0 {3}; cluster 1 {3, 3, 5}.
        let order = by_majority(&fit, &[7, 7, 3, 3, 3, 5]);
        assert_eq!(order, vec![(1, 3, 3, 2), (0, 3, 1, 1), (2, 7, 2, 2)]);
    }
}
