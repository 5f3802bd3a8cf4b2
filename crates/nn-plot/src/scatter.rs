//! Scatter plots of 2-D points coloured by class: a PCA map of latent codes.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::PlotError;
use crate::axis::{linear_range, linear_tick_format};
use crate::render::{FONT, PALETTE, Y_TICK_AREA, draw_y_name, render_png, titled_frame};

/// Width and height of a scatter plot, in pixels.
pub const SCATTER_SIZE: (u32, u32) = (900, 680);

/// Number of classes [`scatter_by_class`] can tell apart by colour.
pub const MAX_CLASSES: usize = 10;

/// Width of the legend column right of the plot.
const LEGEND_WIDTH: u32 = 90;
/// Vertical distance between legend entries.
const LEGEND_STEP: i32 = 26;

/// Draws `points` (x, y) as dots coloured by `classes` (one class in 0..=9 per
/// point) into a [`SCATTER_SIZE`] PNG at `path`, written atomically, with a
/// legend `0`..`9` listing the classes present.
///
/// Dots are drawn in the given order, slightly transparent, so no class
/// hides another wholesale; both ranges span the finite points with a small
/// margin. Points with a NaN or infinite coordinate are skipped.
///
/// # Errors
/// - [`PlotError::Nothing`] if `points` is empty,
/// - [`PlotError::ClassCount`] if `classes` and `points` differ in length,
/// - [`PlotError::ClassRange`] if a class is 10 or more,
/// - [`PlotError::NoFinitePoint`] if no point has two finite coordinates,
/// - [`PlotError::Write`] if the file cannot be written,
/// - [`PlotError::Draw`] if plotters fails.
pub fn scatter_by_class(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
    classes: &[usize],
) -> Result<(), PlotError> {
    if points.is_empty() {
        return Err(PlotError::Nothing { path: path.to_path_buf(), what: "points" });
    }
    if classes.len() != points.len() {
        return Err(PlotError::ClassCount {
            path: path.to_path_buf(),
            points: points.len(),
            classes: classes.len(),
        });
    }
    if let Some((index, &class)) = classes.iter().enumerate().find(|&(_, &c)| c >= MAX_CLASSES) {
        return Err(PlotError::ClassRange { path: path.to_path_buf(), index, class });
    }
    let finite: Vec<((f64, f64), usize)> = points
        .iter()
        .zip(classes)
        .filter(|((x, y), _)| x.is_finite() && y.is_finite())
        .map(|(&p, &c)| (p, c))
        .collect();
    if finite.is_empty() {
        return Err(PlotError::NoFinitePoint { path: path.to_path_buf() });
    }
    let bounds = |coord: fn(&(f64, f64)) -> f64| {
        let lo = finite.iter().map(|(p, _)| coord(p)).fold(f64::INFINITY, f64::min);
        let hi = finite.iter().map(|(p, _)| coord(p)).fold(f64::NEG_INFINITY, f64::max);
        linear_range(lo, hi)
    };
    let (x_lo, x_hi) = bounds(|p| p.0);
    let (y_lo, y_hi) = bounds(|p| p.1);
    let mut present = [false; MAX_CLASSES];
    for &(_, c) in &finite {
        present[c] = true;
    }
    render_png(path, SCATTER_SIZE, |root| {
        let (strip, below) = titled_frame(root, title)?;
        let (plot, legend) = below.split_horizontally(SCATTER_SIZE.0 - LEGEND_WIDTH);
        let mut chart = ChartBuilder::on(&plot)
            .margin(16)
            .margin_top(4)
            .x_label_area_size(50)
            .y_label_area_size(Y_TICK_AREA)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
        let (x_format, y_format) = (linear_tick_format(x_lo, x_hi), linear_tick_format(y_lo, y_hi));
        chart
            .configure_mesh()
            .x_desc(x_label)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 18))
            .bold_line_style(BLACK.mix(0.15))
            .light_line_style(BLACK.mix(0.05))
            .max_light_lines(4)
            .x_label_formatter(&|v| x_format(*v))
            .y_label_formatter(&|v| y_format(*v))
            .draw()?;
        let (_, y_pixels) = chart.plotting_area().get_pixel_range();
        draw_y_name(&strip, chart.plotting_area().get_pixel_range().0.start, y_label)?;
        // Points beyond the axes (only absurd ones, see `axis::LIMIT`) sit on
        // their edge: far-off points overflow plotters' pixel arithmetic.
        let inside = |(x, y): (f64, f64)| (x.clamp(x_lo, x_hi), y.clamp(y_lo, y_hi));
        chart.draw_series(
            finite.iter().map(|&(p, c)| Circle::new(inside(p), 3, PALETTE[c].mix(0.75).filled())),
        )?;

        // The legend, beside the plot so it never hides points; its first
        // entry level with the top of the plotting area.
        let top = y_pixels.start - legend.get_base_pixel().1 + 12;
        let text = TextStyle::from((FONT, 17).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        let classes_present = (0..MAX_CLASSES).filter(|&c| present[c]);
        for (row, class) in classes_present.enumerate() {
            let y = top + row as i32 * LEGEND_STEP;
            legend.draw(&Circle::new((14, y), 6, PALETTE[class].filled()))?;
            legend.draw_text(&class.to_string(), &text, (28, y))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::*;

    /// Ten clusters on a circle, `per_class` noisy points each, classes interleaved.
    fn clusters(per_class: usize) -> (Vec<(f64, f64)>, Vec<usize>) {
        let mut points = Vec::new();
        let mut classes = Vec::new();
        for i in 0..per_class {
            for c in 0..10 {
                let angle = c as f64 * std::f64::consts::TAU / 10.0;
                let (dx, dy) = ((i as f64 * 1.7 + c as f64).sin(), (i as f64 * 2.3 + c as f64).cos());
                points.push((4.0 * angle.cos() + dx, 3.0 * angle.sin() + 0.8 * dy));
                classes.push(c);
            }
        }
        (points, classes)
    }

    #[test]
    fn scatter_by_class_writes_a_png_of_scatter_size() {
        let dir = scratch_dir("scatter-size");
        let path = dir.join("pca.png");
        let (points, classes) = clusters(30);
        scatter_by_class(&path, "PCA of codes", "PC 1", "PC 2", &points, &classes).unwrap();
        assert_eq!(png_size(&path), SCATTER_SIZE);
        let len = std::fs::metadata(&path).unwrap().len();
        let blank = blank_png_len(&dir, SCATTER_SIZE);
        assert!(len > 3 * blank, "{len} bytes, blank {blank} bytes: nearly blank");
        assert!(leftovers(&dir).is_empty());
    }

    #[test]
    fn scatter_by_class_skips_non_finite_points() {
        let dir = scratch_dir("scatter-nan");
        let path = dir.join("nan.png");
        let points = [(0.0, 1.0), (f64::NAN, 2.0), (1.0, f64::INFINITY), (2.0, 0.5)];
        scatter_by_class(&path, "gaps", "x", "y", &points, &[0, 1, 2, 3]).unwrap();
        assert_eq!(png_size(&path), SCATTER_SIZE);
        // A single point: the ranges get a band around it.
        scatter_by_class(&path, "one", "x", "y", &[(1.0, 1.0)], &[9]).unwrap();
        assert_eq!(png_size(&path), SCATTER_SIZE);
    }

    #[test]
    fn scatter_by_class_survives_extreme_values() {
        let dir = scratch_dir("scatter-extreme");
        let path = dir.join("extreme.png");
        let cases: [&[(f64, f64)]; 4] = [
            &[(f64::MAX, -f64::MAX), (-f64::MAX, f64::MAX)],
            &[(f64::MAX, 1.0), (f64::MAX, 1.0)],
            &[(1e-300, 5e-324), (0.0, 1.0)],
            &[(1.0, 1.0), (1.0 + 1e-15, 1.0 - 1e-15)],
        ];
        for points in cases {
            scatter_by_class(&path, "extreme", "x", "y", points, &vec![0; points.len()])
                .unwrap_or_else(|e| panic!("{points:?}: {e}"));
        }
    }

    #[test]
    fn scatter_by_class_rejects_no_points() {
        let err = scatter_by_class(Path::new("/nonexistent/s.png"), "t", "x", "y", &[], &[]).unwrap_err();
        assert_eq!(err.to_string(), "cannot plot /nonexistent/s.png: no points given");
    }

    #[test]
    fn scatter_by_class_rejects_a_class_count_mismatch() {
        let err = scatter_by_class(Path::new("/nonexistent/s.png"), "t", "x", "y", &[(0.0, 0.0); 5], &[0; 4])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot plot /nonexistent/s.png: 5 points but 4 classes, give one class per point"
        );
    }

    #[test]
    fn scatter_by_class_rejects_a_class_beyond_9() {
        let err =
            scatter_by_class(Path::new("/nonexistent/s.png"), "t", "x", "y", &[(0.0, 0.0); 3], &[0, 12, 10])
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot plot /nonexistent/s.png: point 1 has class 12, classes must be 0 to 9"
        );
    }

    #[test]
    fn scatter_by_class_rejects_all_non_finite_points() {
        let points = [(f64::NAN, 0.0), (0.0, f64::NEG_INFINITY)];
        let err =
            scatter_by_class(Path::new("/nonexistent/s.png"), "t", "x", "y", &points, &[0, 1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot plot /nonexistent/s.png: no point has finite coordinates (all NaN or infinite)"
        );
    }

    /// Writes a sample figure to /tmp/nn-plot-samples for a human to look at.
    #[test]
    #[ignore = "writes samples to /tmp/nn-plot-samples"]
    fn scatter_by_class_samples() {
        let dir = Path::new("/tmp/nn-plot-samples");
        std::fs::create_dir_all(dir).unwrap();
        let (points, classes) = clusters(180);
        scatter_by_class(
            &dir.join("pca.png"),
            "PCA of the 16-d codes, test set",
            "PC 1",
            "PC 2",
            &points,
            &classes,
        )
        .unwrap();
        let few: Vec<usize> = classes.iter().map(|c| c % 3).collect();
        scatter_by_class(
            &dir.join("pca-3-classes.png"),
            "Three classes",
            "component 1",
            "component 2",
            &points,
            &few,
        )
        .unwrap();
    }
}
