//! Line charts of one value per epoch: train against test loss, or one curve
//! per run (e.g. four learning rates).

use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordi32;
use plotters::prelude::*;

use crate::PlotError;
use crate::axis::{format_tick, linear_range, linear_tick_format, log_range, log_ticks};
use crate::render::{Area, DrawResult, FONT, PALETTE, Y_TICK_AREA, draw_y_name, render_png, titled_frame};

/// Width and height of a line chart, in pixels.
pub const LINE_CHART_SIZE: (u32, u32) = (900, 560);

/// One curve: `values[i]` is the y of epoch `i + 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry, e.g. `train` or `lr = 0.1`.
    pub name: String,
    /// One y per epoch; NaN and ±inf are gaps in the line.
    pub values: Vec<f64>,
}

impl Series {
    /// A series named `name` with one value per epoch.
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self { name: name.into(), values }
    }
}

/// Draws `series` as lines against the epoch (x = 1..=n) into a
/// [`LINE_CHART_SIZE`] PNG at `path`, written atomically.
///
/// Each series gets its own colour (10 distinct ones, then they repeat) and a
/// legend entry. The y range spans the finite values with a small margin.
/// Non-finite values are skipped and leave a gap. `log_y` asks for a
/// logarithmic y axis, as suits losses; it falls back to a linear axis when a
/// finite value is zero or negative.
///
/// # Errors
/// - [`PlotError::Nothing`] if `series` is empty,
/// - [`PlotError::EmptySeries`] if a series has no values,
/// - [`PlotError::NoFiniteValue`] if a series has only NaN or infinite values,
/// - [`PlotError::Write`] if the file cannot be written (e.g. no such directory),
/// - [`PlotError::Draw`] if plotters fails.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<(), PlotError> {
    if series.is_empty() {
        return Err(PlotError::Nothing { path: path.to_path_buf(), what: "series" });
    }
    for s in series {
        if s.values.is_empty() {
            return Err(PlotError::EmptySeries { path: path.to_path_buf(), series: s.name.clone() });
        }
        if !s.values.iter().any(|v| v.is_finite()) {
            return Err(PlotError::NoFiniteValue { path: path.to_path_buf(), series: s.name.clone() });
        }
    }
    let finite = || series.iter().flat_map(|s| s.values.iter().copied()).filter(|v| v.is_finite());
    let lo = finite().fold(f64::INFINITY, f64::min);
    let hi = finite().fold(f64::NEG_INFINITY, f64::max);
    let epochs = series.iter().map(|s| s.values.len()).max().unwrap_or(1);
    let labels = Labels { title, x_label, y_label };
    render_png(path, LINE_CHART_SIZE, |root| {
        if log_y && lo > 0.0 {
            let (lo, hi) = log_range(lo, hi);
            draw(
                root,
                &labels,
                series,
                epochs,
                (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
                &format_tick,
            )
        } else {
            let (lo, hi) = linear_range(lo, hi);
            draw(root, &labels, series, epochs, lo..hi, &linear_tick_format(lo, hi))
        }
    })
}

/// The texts of a chart.
struct Labels<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
}

/// Font size of legend entries.
const LEGEND_FONT: f64 = 16.0;

fn draw<Y>(
    root: &Area<'_>,
    labels: &Labels<'_>,
    series: &[Series],
    epochs: usize,
    y_spec: Y,
    y_format: &dyn Fn(f64) -> String,
) -> DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let (strip, plot) = titled_frame(root, labels.title)?;
    // An integer x axis: ticks fall on whole epochs.
    let x_max = i32::try_from(epochs.max(2)).unwrap_or(i32::MAX);
    let mut chart = ChartBuilder::on(&plot)
        .margin(16)
        .margin_top(4)
        .x_label_area_size(50)
        .y_label_area_size(Y_TICK_AREA)
        .build_cartesian_2d(1..x_max, y_spec)?;
    chart
        .configure_mesh()
        .x_desc(labels.x_label)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 18))
        .bold_line_style(BLACK.mix(0.15))
        .light_line_style(BLACK.mix(0.05))
        .max_light_lines(4)
        .y_label_formatter(&|v| y_format(*v))
        .draw()?;
    draw_y_name(&strip, chart.plotting_area().get_pixel_range().0.start, labels.y_label)?;

    // Values beyond the axis (only absurd ones, see `axis::LIMIT`) sit on its
    // edge: far-off points overflow plotters' pixel arithmetic.
    let y_range = chart.y_range();
    let segments: Vec<Vec<Vec<(i32, f64)>>> = series
        .iter()
        .map(|s| {
            let mut parts = finite_segments(&s.values);
            for (_, v) in parts.iter_mut().flatten() {
                *v = v.clamp(y_range.start, y_range.end);
            }
            parts
        })
        .collect();
    let position = legend_corner(&chart, series, &segments)?;
    for (k, (s, parts)) in series.iter().zip(&segments).enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let mut labelled = false;
        for points in parts {
            let drawn = if points.len() == 1 {
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?
            } else {
                chart.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
            };
            if !labelled {
                drawn
                    .label(s.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
                labelled = true;
            }
        }
    }
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, LEGEND_FONT))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.5))
        .draw()?;
    Ok(())
}

/// The corner of the plot where the legend covers the fewest data: upper
/// right unless the curves pass there (e.g. a rising accuracy).
fn legend_corner<Y>(
    chart: &ChartContext<'_, BitMapBackend<'_>, Cartesian2d<RangedCoordi32, Y>>,
    series: &[Series],
    segments: &[Vec<Vec<(i32, f64)>>],
) -> Result<SeriesLabelPosition, Box<dyn std::error::Error>>
where
    Y: Ranged<ValueType = f64>,
{
    // The legend's size as plotters lays it out: text, a 30 px sample line,
    // 10 px margins, 1.25 line height.
    let font = (FONT, LEGEND_FONT).into_font();
    let mut text_w = 0;
    for s in series {
        text_w = text_w.max(font.box_size(&s.name)?.0 as i32);
    }
    let n = series.len() as i32;
    let (w, h) = (text_w + 30 + 20, n * (LEGEND_FONT * 1.25) as i32 + 20);
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let left = (xs.start + 5 - 6, xs.start + 5 + w + 6);
    let right = (xs.end - 5 - w - 6, xs.end - 5 + 6);
    let top = (ys.start + 5 - 6, ys.start + 5 + h + 6);
    let bottom = (ys.end - 5 - h - 6, ys.end - 5 + 6);
    let corners = [
        (SeriesLabelPosition::UpperRight, right, top),
        (SeriesLabelPosition::LowerRight, right, bottom),
        (SeriesLabelPosition::UpperLeft, left, top),
        (SeriesLabelPosition::LowerLeft, left, bottom),
    ];
    let mut covered = [0usize; 4];
    for points in segments.iter().flatten() {
        let pixels: Vec<(i32, i32)> = points.iter().map(|p| chart.backend_coord(p)).collect();
        let mut visit = |(x, y): (i32, i32)| {
            for (count, (_, (x0, x1), (y0, y1))) in covered.iter_mut().zip(&corners) {
                if (*x0..=*x1).contains(&x) && (*y0..=*y1).contains(&y) {
                    *count += 1;
                }
            }
        };
        visit(pixels[0]);
        // Sample each line piece every few pixels, so a steep line counts too.
        for pair in pixels.windows(2) {
            let ((ax, ay), (bx, by)) = (pair[0], pair[1]);
            let steps = ((bx - ax).abs().max((by - ay).abs()) / 3).max(1);
            for t in 1..=steps {
                visit((ax + (bx - ax) * t / steps, ay + (by - ay) * t / steps));
            }
        }
    }
    let best = (0..corners.len()).min_by_key(|&i| covered[i]).unwrap_or(0);
    Ok(corners[best].0.clone())
}

/// Runs of consecutive finite values, as (epoch, value) points.
fn finite_segments(values: &[f64]) -> Vec<Vec<(i32, f64)>> {
    let mut segments = Vec::new();
    let mut current = Vec::new();
    for (i, &v) in values.iter().enumerate() {
        if v.is_finite() {
            current.push((i32::try_from(i + 1).unwrap_or(i32::MAX), v));
        } else if !current.is_empty() {
            segments.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::*;

    /// A loss falling like 1/epoch, with some wiggle.
    fn loss(n: usize, scale: f64) -> Vec<f64> {
        (1..=n).map(|e| scale * (0.05 + 2.0 / e as f64) * (1.0 + 0.05 * (e as f64).sin())).collect()
    }

    fn train_test() -> Vec<Series> {
        vec![Series::new("train", loss(50, 1.0)), Series::new("test", loss(50, 1.2))]
    }

    #[test]
    fn line_chart_writes_a_png_of_line_chart_size() {
        let dir = scratch_dir("curves-size");
        let path = dir.join("loss.png");
        line_chart(&path, "loss", "epoch", "MSE", &train_test(), false).unwrap();
        assert_eq!(png_size(&path), LINE_CHART_SIZE);
        let len = std::fs::metadata(&path).unwrap().len();
        let blank = blank_png_len(&dir, LINE_CHART_SIZE);
        assert!(len > 3 * blank, "{len} bytes, blank {blank} bytes: nearly blank");
        assert!(leftovers(&dir).is_empty());
    }

    #[test]
    fn line_chart_skips_nan_and_infinite_values() {
        let dir = scratch_dir("curves-nan");
        let path = dir.join("nan.png");
        let mut values = loss(30, 1.0);
        values[3] = f64::NAN;
        values[10] = f64::INFINITY;
        values[11] = f64::NEG_INFINITY;
        values[29] = f64::NAN;
        line_chart(&path, "with gaps", "epoch", "loss", &[Series::new("train", values)], true).unwrap();
        assert_eq!(png_size(&path), LINE_CHART_SIZE);
    }

    #[test]
    fn line_chart_log_scale_falls_back_to_linear_on_non_positive_values() {
        let dir = scratch_dir("curves-log-fallback");
        let path = dir.join("fallback.png");
        let s = Series::new("centred", vec![-1.0, 0.0, 0.5, 2.0]);
        line_chart(&path, "signed", "epoch", "value", &[s], true).unwrap();
        assert_eq!(png_size(&path), LINE_CHART_SIZE);
    }

    #[test]
    fn line_chart_draws_single_and_constant_values() {
        let dir = scratch_dir("curves-single");
        let path = dir.join("single.png");
        let series = [Series::new("one epoch", vec![0.5]), Series::new("flat", vec![0.5, 0.5, 0.5])];
        line_chart(&path, "tiny", "epoch", "loss", &series, true).unwrap();
        line_chart(&path, "tiny", "epoch", "loss", &series, false).unwrap();
        line_chart(&path, "zero", "epoch", "loss", &[Series::new("z", vec![0.0; 3])], false).unwrap();
        assert_eq!(png_size(&path), LINE_CHART_SIZE);
    }

    #[test]
    fn line_chart_survives_extreme_values() {
        let dir = scratch_dir("curves-extreme");
        let path = dir.join("extreme.png");
        let cases: [&[f64]; 6] = [
            &[f64::MAX, -f64::MAX],
            &[f64::MAX, f64::MAX],
            &[-f64::MAX],
            &[1e-300, 1e300],
            &[f64::MIN_POSITIVE, 5e-324],
            &[1.0, 1.0 + 1e-15],
        ];
        for values in cases {
            for log_y in [false, true] {
                line_chart(&path, "extreme", "epoch", "y", &[Series::new("s", values.to_vec())], log_y)
                    .unwrap_or_else(|e| panic!("{values:?} log {log_y}: {e}"));
            }
        }
    }

    #[test]
    fn line_chart_rejects_no_series() {
        let path = Path::new("/nonexistent/loss.png");
        let err = line_chart(path, "t", "x", "y", &[], false).unwrap_err();
        assert_eq!(err.to_string(), "cannot plot /nonexistent/loss.png: no series given");
    }

    #[test]
    fn line_chart_rejects_an_empty_series() {
        let path = Path::new("/nonexistent/loss.png");
        let series = [Series::new("train", vec![1.0]), Series::new("test", vec![])];
        let err = line_chart(path, "t", "x", "y", &series, false).unwrap_err();
        assert_eq!(err.to_string(), "cannot plot /nonexistent/loss.png: series \"test\" has no values");
    }

    #[test]
    fn line_chart_rejects_an_all_nan_series() {
        let path = Path::new("/nonexistent/loss.png");
        let series = [Series::new("train", vec![f64::NAN, f64::INFINITY, f64::NAN])];
        let err = line_chart(path, "t", "x", "y", &series, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot plot /nonexistent/loss.png: series \"train\" has no finite value (all NaN or infinite)"
        );
    }

    #[test]
    fn finite_segments_split_at_non_finite_values() {
        let v = [1.0, f64::NAN, 2.0, 3.0, f64::INFINITY];
        assert_eq!(finite_segments(&v), vec![vec![(1, 1.0)], vec![(3, 2.0), (4, 3.0)]]);
        assert!(finite_segments(&[f64::NAN]).is_empty());
    }

    /// Writes sample charts to /tmp/nn-plot-samples for a human to look at.
    #[test]
    #[ignore = "writes samples to /tmp/nn-plot-samples"]
    fn line_chart_samples() {
        let dir = Path::new("/tmp/nn-plot-samples");
        std::fs::create_dir_all(dir).unwrap();
        line_chart(
            &dir.join("loss-linear.png"),
            "MLP 64-100-10, MSE loss",
            "epoch",
            "loss",
            &train_test(),
            false,
        )
        .unwrap();
        line_chart(
            &dir.join("loss-log.png"),
            "MLP 64-100-10, MSE loss",
            "epoch",
            "loss",
            &train_test(),
            true,
        )
        .unwrap();
        let runs: Vec<Series> = [1.0, 0.1, 0.01, 0.001]
            .iter()
            .enumerate()
            .map(|(k, lr)| Series::new(format!("lr = {lr}"), loss(100, 1.0 + 0.7 * k as f64)))
            .collect();
        line_chart(&dir.join("lr-compare.png"), "Learning rates", "epoch", "test loss", &runs, true).unwrap();
        let accuracy: Vec<Series> = (0..10)
            .map(|k| {
                let v = (1..=20).map(|e| 1.0 - 0.9 / (e as f64 + k as f64 * 0.5)).collect();
                Series::new(format!("run {k}"), v)
            })
            .collect();
        line_chart(&dir.join("ten-series.png"), "Accuracy", "epoch", "accuracy", &accuracy, false).unwrap();
        let mut values = loss(30, 1.0);
        values[3] = f64::NAN;
        values[10] = f64::INFINITY;
        values[12] = f64::NAN;
        let signed = Series::new("centred", (1..=12).map(|e| (e as f64 * 0.6).sin() * 3.0).collect());
        line_chart(
            &dir.join("log-fallback.png"),
            "Log asked, values <= 0",
            "epoch",
            "mean squared error (test set)",
            &[signed],
            true,
        )
        .unwrap();
        line_chart(
            &dir.join("long-title.png"),
            "Conv1D(3, 1, 32) -> ReLU() -> MaxPool1D(2, 2) -> Flatten() -> Linear(992, 10), \
             CrossEntropyLoss(), SGD lr = 0.05, batch 32",
            "epoch",
            "loss",
            &train_test(),
            true,
        )
        .unwrap();
        line_chart(
            &dir.join("gaps.png"),
            "With NaN gaps",
            "epoch",
            "loss",
            &[Series::new("train", values)],
            true,
        )
        .unwrap();
    }
}
