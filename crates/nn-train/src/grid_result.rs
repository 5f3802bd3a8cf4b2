//! What [`grid_search`](crate::grid_search) returns: a score per (point,
//! fold), the points ranked, and CSV / JSON-lines files of the rows.

use std::fmt::Write as _;
use std::path::Path;

use nn_plot::{Series, line_chart};

use crate::atomic::write_atomic;
use crate::{Metric, Point, TrainError};

/// One (point, fold) job: its score on the fold's validation part, or why it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldResult {
    /// The fold, counting from 0.
    pub fold: usize,
    /// The metric on the fold's validation part; `None` if the job failed.
    pub score: Option<f64>,
    /// The training loss of each epoch run (up to the failure, if any).
    pub train_loss_history: Vec<f64>,
    /// Epochs run.
    pub epochs_run: usize,
    /// Wall-clock seconds of the job: the only field that differs between runs.
    pub seconds: f64,
    /// Why the job failed (the error's message); `None` if it succeeded.
    pub error: Option<String>,
}

impl FoldResult {
    /// `ok`, or `failed: <message>`.
    pub fn status(&self) -> String {
        match &self.error {
            None => "ok".to_string(),
            Some(message) => format!("failed: {message}"),
        }
    }

    /// The last training loss, if an epoch completed.
    pub fn final_train_loss(&self) -> Option<f64> {
        self.train_loss_history.last().copied()
    }
}

/// A point with its folds, and the mean and standard deviation of its scores.
#[derive(Debug, Clone, PartialEq)]
pub struct PointResult {
    /// The point (its index is its position in the grid's order).
    pub point: Point,
    /// Mean score over the folds; `None` if a fold failed.
    pub mean: Option<f64>,
    /// Population standard deviation of the scores; `None` if a fold failed.
    pub std: Option<f64>,
    /// One result per fold, in fold order.
    pub folds: Vec<FoldResult>,
}

impl PointResult {
    /// Whether every fold succeeded.
    pub fn succeeded(&self) -> bool {
        self.mean.is_some()
    }
}

/// The outcome of a grid search: the points ranked best first.
#[derive(Debug, Clone, PartialEq)]
pub struct GridResult {
    /// The metric ranked by.
    pub metric: Metric,
    /// Number of folds.
    pub cv: usize,
    /// The grid's parameter names, in order (the CSV's parameter columns).
    pub param_names: Vec<String>,
    /// Points ranked best first: successful points by mean score (highest
    /// first for accuracy, lowest first for MSE; ties by point index), then
    /// every point with a failed fold, by index.
    pub points: Vec<PointResult>,
}

impl GridResult {
    /// The result of a search from each point's folds (in fold order): the
    /// mean and population standard deviation of each point's scores (`None`
    /// if a fold failed), the points ranked as [`GridResult::points`] says.
    /// [`grid_search`](crate::grid_search) ends with it, and it puts together
    /// the folds of a search run in shards (see
    /// [`GridOptions::jobs`](crate::GridOptions::jobs)): the same folds give
    /// the same result, bit for bit.
    pub fn from_folds(
        metric: Metric,
        cv: usize,
        param_names: Vec<String>,
        points: Vec<(Point, Vec<FoldResult>)>,
    ) -> Self {
        let mut points: Vec<PointResult> = points
            .into_iter()
            .map(|(point, folds)| {
                let scores: Option<Vec<f64>> = folds.iter().map(|f| f.score).collect();
                let (mean, std) = match scores {
                    Some(s) if !s.is_empty() => {
                        let mean = s.iter().sum::<f64>() / s.len() as f64;
                        let var = s.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / s.len() as f64;
                        (Some(mean), Some(var.sqrt()))
                    }
                    _ => (None, None),
                };
                PointResult { point, mean, std, folds }
            })
            .collect();
        rank(&mut points, metric);
        GridResult { metric, cv, param_names, points }
    }

    /// Draws one PNG per point into `dir`: the training-loss curve of each
    /// fold, named by [`Point::file_stem`] with the index padded to the digits
    /// of the largest index (at least 2), e.g. `point-03_hidden=100_lr=0.1.png`.
    /// Folds without a finite loss are left out; a point with none gets no file.
    ///
    /// # Errors
    /// [`TrainError::Plot`] naming the picture that cannot be drawn.
    pub fn draw_loss_graphs(&self, dir: impl AsRef<Path>) -> Result<(), TrainError> {
        let last = self.points.iter().map(|p| p.point.index()).max().unwrap_or(0);
        let width = last.to_string().len().max(2);
        for p in self.in_grid_order() {
            let series: Vec<Series> = p
                .folds
                .iter()
                .filter(|f| f.train_loss_history.iter().any(|v| v.is_finite()))
                .map(|f| Series::new(format!("fold {}", f.fold), f.train_loss_history.clone()))
                .collect();
            if series.is_empty() {
                continue;
            }
            let path = dir.as_ref().join(format!("{}.png", p.point.file_stem(width)));
            let title = format!("point {}: {}", p.point.index(), p.point);
            line_chart(&path, &title, "epoch", "training loss", &series, true)
                .map_err(|source| TrainError::Plot { path: path.clone(), source: Box::new(source) })?;
        }
        Ok(())
    }

    /// The best point, unless every point has a failed fold.
    pub fn best(&self) -> Option<&PointResult> {
        self.points.first().filter(|p| p.succeeded())
    }

    /// The points in grid order (by index), not ranked.
    pub fn in_grid_order(&self) -> Vec<&PointResult> {
        let mut points: Vec<&PointResult> = self.points.iter().collect();
        points.sort_by_key(|p| p.point.index());
        points
    }

    /// One CSV row per (point, fold), in grid order then fold order. Header:
    /// `point,<each parameter>,fold,score,final_train_loss,epochs_run,status,seconds`;
    /// empty cells for a missing score or loss; fields with a comma or a quote are quoted.
    pub fn to_csv_string(&self) -> String {
        let mut out = String::from("point");
        for name in &self.param_names {
            out.push(',');
            out.push_str(&csv_field(name));
        }
        out.push_str(",fold,score,final_train_loss,epochs_run,status,seconds\n");
        let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for p in self.in_grid_order() {
            for f in &p.folds {
                let _ = write!(out, "{}", p.point.index());
                for (_, value) in p.point.values() {
                    let _ = write!(out, ",{}", csv_field(&value.to_string()));
                }
                let _ = writeln!(
                    out,
                    ",{},{},{},{},{},{}",
                    f.fold,
                    cell(f.score),
                    cell(f.final_train_loss()),
                    f.epochs_run,
                    csv_field(&f.status()),
                    f.seconds
                );
            }
        }
        out
    }

    /// One JSON object per line per (point, fold), in grid order then fold
    /// order: `{"point":0,"params":{"hidden":100,"lr":0.1},"fold":0,"score":0.97,
    /// "final_train_loss":0.05,"epochs_run":30,"status":"ok","seconds":1.5}`
    /// (`null` for a missing score or loss; parameters in grid order).
    pub fn to_jsonl_string(&self) -> String {
        let mut out = String::new();
        for p in self.in_grid_order() {
            for f in &p.folds {
                let _ = write!(out, "{{\"point\":{},\"params\":{{", p.point.index());
                for (i, (name, value)) in p.point.values().iter().enumerate() {
                    let sep = if i > 0 { "," } else { "" };
                    let _ = write!(out, "{sep}{}:{}", json(name), json(value));
                }
                let _ = writeln!(
                    out,
                    "}},\"fold\":{},\"score\":{},\"final_train_loss\":{},\"epochs_run\":{},\"status\":{},\"seconds\":{}}}",
                    f.fold,
                    json(&f.score),
                    json(&f.final_train_loss()),
                    f.epochs_run,
                    json(&f.status()),
                    json(&f.seconds)
                );
            }
        }
        out
    }

    /// Writes [`to_csv_string`](GridResult::to_csv_string) to `path` atomically.
    ///
    /// # Errors
    /// [`TrainError::Io`] naming `path`.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<(), TrainError> {
        write_atomic(path.as_ref(), self.to_csv_string().as_bytes())
    }

    /// Writes [`to_jsonl_string`](GridResult::to_jsonl_string) to `path` atomically.
    ///
    /// # Errors
    /// [`TrainError::Io`] naming `path`.
    pub fn write_jsonl(&self, path: impl AsRef<Path>) -> Result<(), TrainError> {
        write_atomic(path.as_ref(), self.to_jsonl_string().as_bytes())
    }
}

/// Successful points by mean (best first, ties by index), then failed ones by index.
fn rank(points: &mut [PointResult], metric: Metric) {
    points.sort_by(|a, b| match (a.mean, b.mean) {
        (Some(x), Some(y)) => {
            let order = if metric.higher_is_better() { y.total_cmp(&x) } else { x.total_cmp(&y) };
            order.then(a.point.index().cmp(&b.point.index()))
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.point.index().cmp(&b.point.index()),
    });
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// JSON text of a name, value, number or option (NaN and infinities become `null`).
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serializing strings, numbers and options cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamGrid;

    fn result() -> GridResult {
        let points = ParamGrid::new().add("lr", [0.1, 10.0]).add("opt", ["a,b"]).points().unwrap();
        let ok = |fold, score| FoldResult {
            fold,
            score: Some(score),
            train_loss_history: vec![1.0, 0.5],
            epochs_run: 2,
            seconds: 0.25,
            error: None,
        };
        let failed = FoldResult {
            fold: 1,
            score: None,
            train_loss_history: vec![],
            epochs_run: 0,
            seconds: 0.5,
            error: Some("training diverged at epoch 1, batch 1: loss is NaN".into()),
        };
        GridResult {
            metric: Metric::Accuracy,
            cv: 2,
            param_names: vec!["lr".into(), "opt".into()],
            points: vec![
                PointResult {
                    point: points[0].clone(),
                    mean: Some(0.9),
                    std: Some(0.0),
                    folds: vec![ok(0, 0.9), ok(1, 0.9)],
                },
                PointResult {
                    point: points[1].clone(),
                    mean: None,
                    std: None,
                    folds: vec![ok(0, 0.5), failed],
                },
            ],
        }
    }

    #[test]
    fn csv_has_one_row_per_point_and_fold() {
        let csv = result().to_csv_string();
        let expected = "point,lr,opt,fold,score,final_train_loss,epochs_run,status,seconds\n\
            0,0.1,\"a,b\",0,0.9,0.5,2,ok,0.25\n\
            0,0.1,\"a,b\",1,0.9,0.5,2,ok,0.25\n\
            1,10,\"a,b\",0,0.5,0.5,2,ok,0.25\n\
            1,10,\"a,b\",1,,,0,\"failed: training diverged at epoch 1, batch 1: loss is NaN\",0.5\n";
        assert_eq!(csv, expected);
    }

    #[test]
    fn jsonl_has_one_object_per_point_and_fold() {
        let jsonl = result().to_jsonl_string();
        let lines: Vec<&str> = jsonl.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            r#"{"point":0,"params":{"lr":0.1,"opt":"a,b"},"fold":0,"score":0.9,"final_train_loss":0.5,"epochs_run":2,"status":"ok","seconds":0.25}"#
        );
        let last: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
        assert_eq!(last["score"], serde_json::Value::Null);
        assert_eq!(last["status"], "failed: training diverged at epoch 1, batch 1: loss is NaN");
    }

    #[test]
    fn from_folds_computes_mean_and_std_and_ranks() {
        let points = ParamGrid::new().add("lr", [0.1, 0.2, 0.3]).points().unwrap();
        let fold = |fold, score: Option<f64>| FoldResult {
            fold,
            score,
            train_loss_history: vec![1.0],
            epochs_run: 1,
            seconds: 0.0,
            error: score.is_none().then(|| "broken".to_string()),
        };
        let r = GridResult::from_folds(
            Metric::Accuracy,
            2,
            vec!["lr".into()],
            vec![
                (points[0].clone(), vec![fold(0, Some(0.5)), fold(1, Some(0.7))]),
                (points[1].clone(), vec![fold(0, Some(0.9)), fold(1, None)]),
                (points[2].clone(), vec![fold(0, Some(0.8)), fold(1, Some(0.8))]),
            ],
        );
        let order: Vec<usize> = r.points.iter().map(|p| p.point.index()).collect();
        assert_eq!(order, [2, 0, 1], "best mean first, the failed point last");
        assert_eq!(r.points[1].mean, Some(0.6));
        assert!((r.points[1].std.unwrap() - 0.1).abs() < 1e-12);
        assert_eq!((r.points[2].mean, r.points[2].std), (None, None));
        let mse = GridResult::from_folds(
            Metric::Mse,
            2,
            vec!["lr".into()],
            vec![
                (points[0].clone(), vec![fold(0, Some(0.5)), fold(1, Some(0.7))]),
                (points[2].clone(), vec![fold(0, Some(0.8)), fold(1, Some(0.8))]),
            ],
        );
        assert_eq!(mse.best().unwrap().point.index(), 0, "lower is better for MSE");
    }

    #[test]
    fn best_is_the_first_successful_point() {
        let mut r = result();
        assert_eq!(r.best().unwrap().point.index(), 0);
        r.points.remove(0);
        assert!(r.best().is_none());
    }
}
