//! What every figure shares: the embedded font, the colour palette and the
//! atomic write of a PNG file.

use std::error::Error;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::PlotError;

/// The family name under which DejaVu Sans is registered with plotters.
pub(crate) const FONT: &str = "sans-serif";

/// The root area every figure draws on.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What a drawing closure returns: plotters errors, boxed.
pub(crate) type DrawResult = Result<(), Box<dyn Error>>;

/// Ten distinct colours (Tableau 10, matplotlib's `tab10`), one per class or series.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Height of the strip above a chart that holds the y-axis name: ab_glyph
/// cannot rotate text, and a horizontal name beside the axis would run into
/// the tick labels.
pub(crate) const Y_NAME_STRIP: u32 = 30;

/// Width of the column left of a chart holding the y tick labels.
pub(crate) const Y_TICK_AREA: u32 = 70;

/// Font size of a figure title, when it fits the width.
pub(crate) const TITLE_FONT: f64 = 26.0;

/// Smallest font size a long title is shrunk to; beyond that it is clipped.
const MIN_TITLE_FONT: f64 = 12.0;

/// Height of the band holding the title of a chart, whatever the title's
/// font size: the charts below keep their place.
const TITLE_BAND: u32 = 44;

/// Draws `title` centred at the top of `root`, shrinking its font if it is
/// wider than the figure; returns the strip for the y-axis name
/// ([`Y_NAME_STRIP`] high) and the area below it for the chart.
pub(crate) fn titled_frame<'a>(root: &Area<'a>, title: &str) -> Result<(Area<'a>, Area<'a>), Box<dyn Error>> {
    let (width, _) = root.dim_in_pixel();
    let size = fitting_font_size(title, TITLE_FONT, f64::from(width.saturating_sub(24)))?;
    let style = TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw_text(title, &style, (width as i32 / 2, TITLE_BAND as i32 / 2 + 4))?;
    let (_, below_title) = root.split_vertically(TITLE_BAND);
    Ok(below_title.split_vertically(Y_NAME_STRIP))
}

/// The font size, at most `size` and at least [`MIN_TITLE_FONT`], at which
/// `text` is at most `max_width` pixels wide.
pub(crate) fn fitting_font_size(text: &str, size: f64, max_width: f64) -> Result<f64, Box<dyn Error>> {
    let width = f64::from((FONT, size).into_font().box_size(text)?.0);
    if width <= max_width {
        return Ok(size);
    }
    // Glyph widths scale with the size; round down so the text fits.
    Ok((size * max_width / width).floor().max(MIN_TITLE_FONT))
}

/// Writes the y-axis name horizontally in `strip`, starting above the tick
/// labels of a chart whose plotting area begins at pixel column `plot_left`.
pub(crate) fn draw_y_name(strip: &Area<'_>, plot_left: i32, name: &str) -> DrawResult {
    let left = (plot_left - Y_TICK_AREA as i32 + 8).max(4);
    let style = TextStyle::from((FONT, 18).into_font()).pos(Pos::new(HPos::Left, VPos::Bottom));
    strip.draw_text(name, &style, (left, Y_NAME_STRIP as i32 - 2))?;
    Ok(())
}

/// Registers DejaVu Sans as `sans-serif`, once per process: ab_glyph then
/// renders text with no system font library.
fn register_font() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    })
}

/// [`register_font`], as an error naming the figure at `path`.
fn ensure_font(path: &Path) -> Result<(), PlotError> {
    if register_font() {
        Ok(())
    } else {
        Err(PlotError::Draw {
            path: path.to_path_buf(),
            message: "the embedded DejaVu Sans font could not be loaded".to_string(),
        })
    }
}

/// Width and height in pixels of `text` at font `size`, to lay out a figure
/// before drawing it.
pub(crate) fn text_size(path: &Path, text: &str, size: f64) -> Result<(u32, u32), PlotError> {
    ensure_font(path)?;
    (FONT, size)
        .into_font()
        .box_size(text)
        .map_err(|e| PlotError::Draw { path: path.to_path_buf(), message: e.to_string() })
}

/// Renders a `size` (width, height) PNG to `path` with `draw`, on a white
/// background.
///
/// The picture goes to a temporary file beside `path` (same directory, so
/// the rename cannot cross file systems) and is renamed over `path` only once
/// complete: a crash or an error leaves no half-written PNG behind.
pub(crate) fn render_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> DrawResult,
) -> Result<(), PlotError> {
    ensure_font(path)?;
    let tmp = temp_path(path)?;
    let drawn = draw_to(&tmp, size, draw);
    // On a drawing error the backend still saves what it has when dropped:
    // remove that partial file too.
    let result = match drawn {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|source| write_error(path, source)),
        Err(Failure::Draw(message)) => Err(PlotError::Draw { path: path.to_path_buf(), message }),
        Err(Failure::Save(message)) => Err(write_error(path, io::Error::other(message))),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Why [`draw_to`] failed: while drawing, or while saving the PNG.
enum Failure {
    Draw(String),
    Save(String),
}

fn draw_to(tmp: &Path, size: (u32, u32), draw: impl FnOnce(&Area<'_>) -> DrawResult) -> Result<(), Failure> {
    let root = BitMapBackend::new(tmp, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| Failure::Draw(e.to_string()))?;
    draw(&root).map_err(|e| Failure::Draw(e.to_string()))?;
    root.present().map_err(|e| Failure::Save(e.to_string()))
}

/// `dir/.name.tmp-<pid>-<n>.png` beside `path`; the `.png` ending makes the
/// bitmap backend encode PNG, `<n>` keeps threads of one process apart.
fn temp_path(path: &Path) -> Result<PathBuf, PlotError> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let Some(name) = path.file_name() else {
        let source = io::Error::new(io::ErrorKind::InvalidInput, "the path names no file");
        return Err(write_error(path, source));
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // Check the directory first: the backend would only fail at the very end.
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            let source = io::Error::new(io::ErrorKind::NotADirectory, "the parent is not a directory");
            return Err(write_error(path, source));
        }
        Err(source) => return Err(write_error(path, source)),
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp_name = format!(".{}.tmp-{}-{n}.png", name.to_string_lossy(), std::process::id());
    Ok(dir.join(tmp_name))
}

fn write_error(path: &Path, source: io::Error) -> PlotError {
    PlotError::Write { path: path.to_path_buf(), source }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the figure tests: a scratch directory and PNG header checks.

    use std::path::{Path, PathBuf};

    /// A fresh, empty directory under the system temp dir, unique per test.
    pub(crate) fn scratch_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nn-plot-test-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// (width, height) from the IHDR chunk, after checking the PNG signature.
    pub(crate) fn png_size(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
        assert_eq!(&bytes[12..16], b"IHDR");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        (width, height)
    }

    /// Size in bytes of a blank white PNG of `size`: a figure must be well above it.
    pub(crate) fn blank_png_len(dir: &Path, size: (u32, u32)) -> u64 {
        let path = dir.join("blank.png");
        super::render_png(&path, size, |_| Ok(())).unwrap();
        std::fs::metadata(&path).unwrap().len()
    }

    /// Files left in `dir` whose name contains `.tmp-`: must be none.
    pub(crate) fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".tmp-"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn render_png_writes_a_png_of_the_given_size_and_no_temp_file() {
        let dir = scratch_dir("render-size");
        let path = dir.join("blank.png");
        render_png(&path, (123, 45), |_| Ok(())).unwrap();
        assert_eq!(png_size(&path), (123, 45));
        assert!(leftovers(&dir).is_empty());
    }

    #[test]
    fn render_png_into_a_missing_directory_is_a_write_error() {
        let dir = scratch_dir("render-missing");
        let path = dir.join("no-such-dir").join("a.png");
        let err = render_png(&path, (10, 10), |_| Ok(())).unwrap_err();
        assert!(matches!(err, PlotError::Write { .. }));
        let message = err.to_string();
        assert!(message.starts_with(&format!("cannot write {}: ", path.display())), "{message}");
    }

    #[test]
    fn render_png_drawing_error_leaves_neither_target_nor_temp_file() {
        let dir = scratch_dir("render-fail");
        let path = dir.join("fail.png");
        let err = render_png(&path, (10, 10), |_| Err("boom".into())).unwrap_err();
        assert_eq!(err.to_string(), format!("cannot plot {}: drawing failed: boom", path.display()));
        assert!(!path.exists());
        assert!(leftovers(&dir).is_empty());
    }

    #[test]
    fn long_titles_shrink_to_fit_down_to_a_minimum() {
        assert!(register_font());
        assert_eq!(fitting_font_size("loss", TITLE_FONT, 800.0).unwrap(), TITLE_FONT);
        let long = "a title far too long for the figure, ".repeat(2);
        let size = fitting_font_size(&long, TITLE_FONT, 500.0).unwrap();
        assert!((MIN_TITLE_FONT..TITLE_FONT).contains(&size), "{size}");
        assert!((FONT, size).into_font().box_size(&long).unwrap().0 <= 500);
        assert_eq!(fitting_font_size(&long.repeat(10), TITLE_FONT, 500.0).unwrap(), MIN_TITLE_FONT);
    }

    #[test]
    fn render_png_replaces_an_existing_file() {
        let dir = scratch_dir("render-replace");
        let path = dir.join("a.png");
        std::fs::write(&path, b"old").unwrap();
        render_png(&path, (20, 10), |_| Ok(())).unwrap();
        assert_eq!(png_size(&path), (20, 10));
    }
}
