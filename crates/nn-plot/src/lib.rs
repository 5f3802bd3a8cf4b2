//! PNG figures for the report, drawn in pure Rust: loss curves, rows of
//! digit images, and scatter plots of 2-D codes by class.
//!
//! Text uses DejaVu Sans embedded in the binary (registered once with
//! plotters' ab_glyph renderer), so no system font library is needed. Every
//! figure is rendered to a temporary file beside its target and renamed into
//! place, so a crash never leaves a half-written PNG. The crate takes plain
//! Rust data and depends on no other `nn` crate.
//!
//! ```no_run
//! use nn_plot::{Series, line_chart};
//! let train = Series::new("train", vec![2.3, 1.1, 0.6, 0.4]);
//! let test = Series::new("test", vec![2.2, 1.2, 0.8, 0.7]);
//! line_chart("loss.png".as_ref(), "MSE loss", "epoch", "loss", &[train, test], true)?;
//! # Ok::<(), nn_plot::PlotError>(())
//! ```

mod axis;
mod curves;
mod digits;
mod error;
mod render;
mod scatter;

pub use curves::{LINE_CHART_SIZE, Series, line_chart};
pub use digits::{MIN_IMAGE_PIXELS, digit_rows};
pub use error::PlotError;
pub use scatter::{MAX_CLASSES, SCATTER_SIZE, scatter_by_class};
