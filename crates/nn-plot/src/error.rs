//! The error every figure returns: which file, and what went wrong.

use std::path::PathBuf;

/// A figure that could not be drawn or written.
///
/// Every variant names the output `path`. Non-finite values (NaN, ±inf) are
/// not errors by themselves: they are skipped. Only a series or a point set
/// left with nothing finite to draw is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// No series, points or images were given.
    #[error("cannot plot {}: no {what} given", .path.display())]
    Nothing {
        /// The figure that was asked for.
        path: PathBuf,
        /// What is missing: `series`, `points` or `images`.
        what: &'static str,
    },
    /// A series of [`line_chart`](crate::line_chart) has no value at all.
    #[error("cannot plot {}: series \"{series}\" has no values", .path.display())]
    EmptySeries {
        /// The figure that was asked for.
        path: PathBuf,
        /// The name of the empty series.
        series: String,
    },
    /// Every value of a series is NaN or infinite.
    #[error("cannot plot {}: series \"{series}\" has no finite value (all NaN or infinite)", .path.display())]
    NoFiniteValue {
        /// The figure that was asked for.
        path: PathBuf,
        /// The name of the series.
        series: String,
    },
    /// Every point of a scatter plot has a NaN or infinite coordinate.
    #[error("cannot plot {}: no point has finite coordinates (all NaN or infinite)", .path.display())]
    NoFinitePoint {
        /// The figure that was asked for.
        path: PathBuf,
    },
    /// `points` and `classes` of [`scatter_by_class`](crate::scatter_by_class)
    /// differ in length.
    #[error("cannot plot {}: {points} points but {classes} classes, give one class per point", .path.display())]
    ClassCount {
        /// The figure that was asked for.
        path: PathBuf,
        /// Number of points.
        points: usize,
        /// Number of classes.
        classes: usize,
    },
    /// A class label beyond the 10 colours of the palette.
    #[error("cannot plot {}: point {index} has class {class}, classes must be 0 to 9", .path.display())]
    ClassRange {
        /// The figure that was asked for.
        path: PathBuf,
        /// Index of the first offending point.
        index: usize,
        /// Its class.
        class: usize,
    },
    /// [`digit_rows`](crate::digit_rows) was given `side == 0`.
    #[error("cannot plot {}: side is 0, images must be side × side with side >= 1", .path.display())]
    ZeroSide {
        /// The figure that was asked for.
        path: PathBuf,
    },
    /// An image of [`digit_rows`](crate::digit_rows) is not side × side.
    #[error(
        "cannot plot {}: image {index} of row \"{row}\" has {found} values, expected {} ({side} × {side})",
        .path.display(), side * side
    )]
    ImageSize {
        /// The figure that was asked for.
        path: PathBuf,
        /// Label of the row holding the image.
        row: String,
        /// Index of the image within its row, from 0.
        index: usize,
        /// Side of the square images.
        side: usize,
        /// Number of values the image has.
        found: usize,
    },
    /// plotters failed while drawing (font or backend).
    #[error("cannot plot {}: drawing failed: {message}", .path.display())]
    Draw {
        /// The figure that was asked for.
        path: PathBuf,
        /// plotters' description of the failure.
        message: String,
    },
    /// The PNG could not be written or moved into place.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The figure that was asked for.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}
