//! Rows of grey-scale images, each row labelled: originals above their
//! reconstructions.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::PlotError;
use crate::render::{FONT, render_png, text_size};

/// Smallest side of a drawn image in pixels: an 8×8 digit is drawn with
/// 8×8-pixel squares, big enough to read.
pub const MIN_IMAGE_PIXELS: usize = 64;

const GAP: u32 = 12;
const MARGIN: u32 = 16;
const TITLE_FONT: f64 = 26.0;
const LABEL_FONT: f64 = 18.0;
const TITLE_BAND: u32 = 56;

/// Draws `rows` of square grey-scale images into a PNG at `path`, written
/// atomically: one row per `(label, images)` pair, the label on the left,
/// `title` on top.
///
/// Each image is `side × side` values, row-major, 0 = background (white) and
/// 1 = ink (black); values outside [0, 1] are clamped and NaN is drawn as
/// background. Each value is a square of `ceil(64 / side)` pixels, so every
/// image is at least [`MIN_IMAGE_PIXELS`] wide. The picture is as wide as the
/// longest row; rows may differ in length.
///
/// # Errors
/// - [`PlotError::ZeroSide`] if `side` is 0,
/// - [`PlotError::Nothing`] if there is no image at all,
/// - [`PlotError::ImageSize`] if an image does not have `side * side` values,
/// - [`PlotError::Write`] if the file cannot be written,
/// - [`PlotError::Draw`] if plotters fails.
pub fn digit_rows(
    path: &Path,
    title: &str,
    rows: &[(&str, &[Vec<f32>])],
    side: usize,
) -> Result<(), PlotError> {
    if side == 0 {
        return Err(PlotError::ZeroSide { path: path.to_path_buf() });
    }
    if rows.iter().all(|(_, images)| images.is_empty()) {
        return Err(PlotError::Nothing { path: path.to_path_buf(), what: "images" });
    }
    for (label, images) in rows {
        if let Some((index, image)) = images.iter().enumerate().find(|(_, im)| im.len() != side * side) {
            return Err(PlotError::ImageSize {
                path: path.to_path_buf(),
                row: (*label).to_string(),
                index,
                side,
                found: image.len(),
            });
        }
    }
    let layout = Layout::new(path, title, rows, side)?;
    render_png(path, layout.size(), |root| {
        let style = TextStyle::from((FONT, TITLE_FONT).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw_text(title, &style, (layout.width as i32 / 2, TITLE_BAND as i32 / 2))?;
        let label_style =
            TextStyle::from((FONT, LABEL_FONT).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        let cell = layout.cell() as i32;
        for (r, (label, images)) in rows.iter().enumerate() {
            let top = (TITLE_BAND + r as u32 * (layout.cell() + GAP)) as i32;
            let label_right = (MARGIN + layout.label_width) as i32 - GAP as i32;
            root.draw_text(label, &label_style, (label_right, top + cell / 2))?;
            for (c, image) in images.iter().enumerate() {
                let left = (MARGIN + layout.label_width + c as u32 * (layout.cell() + GAP)) as i32;
                draw_image(root, image, side, layout.scale as i32, (left, top))?;
            }
        }
        Ok(())
    })
}

/// One image with its top-left corner at `origin`, each value a
/// `scale`-pixel square, framed by a thin grey border.
fn draw_image<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    image: &[f32],
    side: usize,
    scale: i32,
    (left, top): (i32, i32),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let squares = image.iter().enumerate().map(|(k, &v)| {
        let (i, j) = ((k / side) as i32, (k % side) as i32);
        let shade = grey(v);
        let (x, y) = (left + j * scale, top + i * scale);
        Rectangle::new([(x, y), (x + scale, y + scale)], RGBColor(shade, shade, shade).filled())
    });
    for square in squares {
        area.draw(&square)?;
    }
    let extent = side as i32 * scale;
    let frame = [(left - 1, top - 1), (left + extent, top + extent)];
    area.draw(&Rectangle::new(frame, RGBColor(160, 160, 160).stroke_width(1)))
}

/// The shade of a value: 0 -> white, 1 -> black; clamped, NaN as 0.
fn grey(v: f32) -> u8 {
    let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
    (255.0 * (1.0 - v)).round() as u8
}

/// Pixel sizes of the figure, fixed before drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// Pixels per image value.
    scale: u32,
    side: u32,
    /// Width of the label column, including the gap before the images.
    label_width: u32,
    width: u32,
    height: u32,
}

impl Layout {
    fn new(path: &Path, title: &str, rows: &[(&str, &[Vec<f32>])], side: usize) -> Result<Self, PlotError> {
        let scale = MIN_IMAGE_PIXELS.div_ceil(side) as u32;
        let side = side as u32;
        let cell = side * scale;
        let mut label_width = 0;
        for (label, _) in rows {
            label_width = label_width.max(text_size(path, label, LABEL_FONT)?.0);
        }
        let label_width = if label_width == 0 { 0 } else { label_width + GAP };
        let columns = rows.iter().map(|(_, images)| images.len()).max().unwrap_or(0) as u32;
        let images_width = columns * cell + columns.saturating_sub(1) * GAP;
        let title_width = text_size(path, title, TITLE_FONT)?.0;
        let width = (label_width + images_width).max(title_width) + 2 * MARGIN;
        let n = rows.len() as u32;
        let height = TITLE_BAND + n * cell + n.saturating_sub(1) * GAP + MARGIN;
        Ok(Self { scale, side, label_width, width, height })
    }

    /// Side of one drawn image in pixels.
    fn cell(&self) -> u32 {
        self.side * self.scale
    }

    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::*;

    /// An 8×8 ring, like a zero, plus a stroke whose brightness depends on `k`.
    fn digit(k: usize) -> Vec<f32> {
        let mut image = vec![0.0; 64];
        for i in 0..8 {
            for j in 0..8 {
                let (di, dj) = (i as f32 - 3.5, j as f32 - 3.5);
                let r = (di * di / 9.0 + dj * dj / 4.0).sqrt();
                image[i * 8 + j] = (1.0 - (r - 1.0).abs() * 2.0).max(0.0);
            }
        }
        image[k % 64] = 1.0;
        image
    }

    #[test]
    fn digit_rows_writes_a_png_sized_by_its_layout() {
        let dir = scratch_dir("digits-size");
        let path = dir.join("digits.png");
        let originals: Vec<Vec<f32>> = (0..10).map(digit).collect();
        let rows: [(&str, &[Vec<f32>]); 2] = [("original", &originals), ("reconstructed", &originals)];
        digit_rows(&path, "auto-encoder", &rows, 8).unwrap();
        let layout = Layout::new(&path, "auto-encoder", &rows, 8).unwrap();
        assert_eq!(layout.cell(), 64);
        assert_eq!(png_size(&path), layout.size());
        // 10 images of 64 px with 9 gaps of 12, plus labels and margins.
        assert!(layout.width > 10 * 64 + 9 * 12 + 2 * MARGIN);
        assert_eq!(layout.height, TITLE_BAND + 2 * 64 + 12 + MARGIN);
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len > 3 * blank_png_len(&dir, layout.size()), "{len} bytes: nearly blank");
        assert!(leftovers(&dir).is_empty());
    }

    #[test]
    fn digit_rows_scales_small_and_large_images_to_at_least_64_pixels() {
        let dir = scratch_dir("digits-scale");
        let tiny = [vec![0.5; 9]];
        let big = [vec![0.5; 28 * 28]];
        assert_eq!(Layout::new(&dir.join("a.png"), "", &[("", &tiny)], 3).unwrap().cell(), 66);
        assert_eq!(Layout::new(&dir.join("a.png"), "", &[("", &big)], 28).unwrap().cell(), 84);
        assert_eq!(
            Layout::new(&dir.join("a.png"), "", &[("", &[vec![0.0; 10_000]])], 100).unwrap().cell(),
            100
        );
    }

    #[test]
    fn digit_rows_clamps_out_of_range_and_non_finite_values() {
        assert_eq!(grey(0.0), 255);
        assert_eq!(grey(1.0), 0);
        assert_eq!(grey(0.5), 128);
        assert_eq!(grey(-3.0), 255);
        assert_eq!(grey(7.0), 0);
        assert_eq!(grey(f32::NAN), 255);
        assert_eq!(grey(f32::INFINITY), 0);
        let dir = scratch_dir("digits-clamp");
        let path = dir.join("odd.png");
        let odd = [vec![f32::NAN, -1.0, 2.0, f32::INFINITY]];
        digit_rows(&path, "odd values", &[("odd", &odd), ("none", &[])], 2).unwrap();
        assert_eq!(
            png_size(&path),
            Layout::new(&path, "odd values", &[("odd", &odd), ("none", &[])], 2).unwrap().size()
        );
    }

    #[test]
    fn digit_rows_rejects_side_zero() {
        let err = digit_rows(Path::new("/nonexistent/d.png"), "t", &[("a", &[vec![]])], 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot plot /nonexistent/d.png: side is 0, images must be side × side with side >= 1"
        );
    }

    #[test]
    fn digit_rows_rejects_no_images() {
        let err = digit_rows(Path::new("/nonexistent/d.png"), "t", &[("a", &[])], 8).unwrap_err();
        assert_eq!(err.to_string(), "cannot plot /nonexistent/d.png: no images given");
        let err = digit_rows(Path::new("/nonexistent/d.png"), "t", &[], 8).unwrap_err();
        assert_eq!(err.to_string(), "cannot plot /nonexistent/d.png: no images given");
    }

    #[test]
    fn digit_rows_rejects_an_image_of_the_wrong_size() {
        let good = [digit(0), digit(1)];
        let bad = [digit(0), digit(1), vec![0.0; 60]];
        let err = digit_rows(
            Path::new("/nonexistent/d.png"),
            "t",
            &[("original", &good), ("reconstructed", &bad)],
            8,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot plot /nonexistent/d.png: image 2 of row \"reconstructed\" has 60 values, expected 64 (8 × 8)"
        );
    }

    /// Writes a sample figure to /tmp/nn-plot-samples for a human to look at.
    #[test]
    #[ignore = "writes samples to /tmp/nn-plot-samples"]
    fn digit_rows_samples() {
        let dir = Path::new("/tmp/nn-plot-samples");
        std::fs::create_dir_all(dir).unwrap();
        let originals: Vec<Vec<f32>> = (0..10).map(digit).collect();
        let blurred: Vec<Vec<f32>> =
            originals.iter().map(|im| im.iter().map(|v| 0.15 + 0.7 * v).collect()).collect();
        let rows: [(&str, &[Vec<f32>]); 2] = [("original", &originals), ("reconstructed", &blurred)];
        digit_rows(&dir.join("digits.png"), "Auto-encoder 64-16-64, test set", &rows, 8).unwrap();
    }
}
