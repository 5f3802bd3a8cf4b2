//! The report's network notation: `Conv1D(3,1,32) -> MaxPool1D(2,2) -> Flatten -> Linear(992,10)`.
//!
//! Layers are joined by `->` or `→`; a layer without arguments may drop its
//! parentheses (`ReLU` or `ReLU()`); names are matched without regard to case.
//! Errors point at the offending token.

use std::fmt;
use std::ops::Range;

/// One layer of a parsed network, with the arguments it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerSpec {
    /// `Linear(in, out)`.
    Linear {
        /// Input features.
        input: usize,
        /// Output features.
        output: usize,
    },
    /// `Conv1D(k_size, chan_in, chan_out[, stride])`.
    Conv1D {
        /// Kernel size.
        k_size: usize,
        /// Input channels.
        chan_in: usize,
        /// Output channels.
        chan_out: usize,
        /// Stride, 1 when omitted.
        stride: usize,
    },
    /// `MaxPool1D(k_size[, stride])`, stride = k_size when omitted.
    MaxPool1D {
        /// Window size.
        k_size: usize,
        /// Stride.
        stride: usize,
    },
    /// `Upsample1D(scale)`.
    Upsample1D {
        /// Repeat factor along the length.
        scale: usize,
    },
    /// `Flatten`.
    Flatten,
    /// `Unflatten(length, channels)`: (batch, length·channels) -> (batch, length, channels).
    Unflatten {
        /// Positions of the sequence.
        length: usize,
        /// Channels at each position.
        channels: usize,
    },
    /// `TanH`.
    TanH,
    /// `Sigmoid`.
    Sigmoid,
    /// `ReLU`.
    ReLU,
    /// `Softmax`.
    Softmax,
}

/// Canonical names with their accepted argument counts.
const LAYERS: &[(&str, &[usize])] = &[
    ("Linear", &[2]),
    ("Conv1D", &[3, 4]),
    ("MaxPool1D", &[1, 2]),
    ("Upsample1D", &[1]),
    ("Flatten", &[0]),
    ("Unflatten", &[2]),
    ("TanH", &[0]),
    ("Sigmoid", &[0]),
    ("ReLU", &[0]),
    ("Softmax", &[0]),
];

/// Why a network description could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotationError {
    /// The whole description.
    pub source: String,
    /// Byte range of the offending token in `source`.
    pub span: Range<usize>,
    /// What is wrong with it.
    pub message: String,
}

impl std::error::Error for NotationError {}

impl fmt::Display for NotationError {
    /// `message at column N`, then the description with a caret under the token.
    ///
    /// A span past the end (nothing after a last arrow) puts the caret just
    /// after the text; one that is not on character boundaries is widened to
    /// them: whatever the span, this never panics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = self.source.as_str();
        let floor = |mut i: usize| {
            i = i.min(source.len());
            while !source.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let start = floor(self.span.start);
        let mut end = floor(self.span.end.max(start));
        if end < self.span.end.min(source.len()) {
            end = source[end..].chars().next().map_or(end, |c| end + c.len_utf8());
        }
        let column = source[..start].chars().count() + 1;
        let width = source[start..end].chars().count().max(1);
        writeln!(f, "{} at column {column}", self.message)?;
        writeln!(f, "  {}", self.source)?;
        write!(f, "  {}{}", " ".repeat(column - 1), "^".repeat(width))
    }
}

/// Parses a network description into its layers.
///
/// ```
/// use nn_cli::notation::{parse, LayerSpec};
/// let layers = parse("Linear(64,100) → ReLU -> Linear(100, 10)").unwrap();
/// assert_eq!(layers[1], LayerSpec::ReLU);
/// assert_eq!(layers[2], LayerSpec::Linear { input: 100, output: 10 });
/// ```
///
/// # Errors
/// [`NotationError`] for an empty description or layer, an unknown layer name
/// (with the closest known name), a wrong number of arguments, an argument that
/// is not a positive whole number, or stray characters.
pub fn parse(source: &str) -> Result<Vec<LayerSpec>, NotationError> {
    let error =
        |span: Range<usize>, message: String| NotationError { source: source.to_string(), span, message };
    if source.trim().is_empty() {
        return Err(error(0..source.len(), "the network is empty: write layers joined by ->".into()));
    }
    let mut layers = Vec::new();
    for (start, end) in segments(source) {
        layers.push(parse_layer(source, start, end).map_err(|(span, message)| error(span, message))?);
    }
    Ok(layers)
}

/// Byte ranges of the text between arrows.
fn segments(source: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < source.len() {
        let rest = &source[i..];
        let arrow = if rest.starts_with("->") {
            2
        } else if rest.starts_with('→') {
            '→'.len_utf8()
        } else {
            0
        };
        if arrow > 0 {
            out.push((start, i));
            i += arrow;
            start = i;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out.push((start, source.len()));
    out
}

type Located<T> = Result<T, (Range<usize>, String)>;

fn parse_layer(source: &str, start: usize, end: usize) -> Located<LayerSpec> {
    let text = &source[start..end];
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    let at = start + lead;
    if trimmed.is_empty() {
        // The caret goes under the blank between the arrows, or just after
        // the text when it ends in an arrow (an empty span at its end).
        let message = if end == source.len() {
            "missing layer after the last arrow"
        } else if start == 0 {
            "missing layer before the first arrow"
        } else {
            "missing layer between arrows"
        };
        return Err((start..end, message.into()));
    }
    let name_len = trimmed.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(trimmed.len());
    let name = &trimmed[..name_len];
    let name_span = at..at + name_len.max(1);
    if name.is_empty() {
        return Err((name_span, format!("expected a layer name, found '{}'", first_char(trimmed))));
    }
    let Some(&(canonical, arities)) = LAYERS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
        let known: Vec<&str> = LAYERS.iter().map(|(n, _)| *n).collect();
        let closest =
            known.iter().min_by_key(|k| edit_distance(&k.to_lowercase(), &name.to_lowercase())).copied();
        let hint = match closest {
            Some(c) if edit_distance(&c.to_lowercase(), &name.to_lowercase()) <= 3 => {
                format!("; did you mean {c}?")
            }
            _ => format!("; known layers: {}", known.join(", ")),
        };
        return Err((name_span, format!("unknown layer '{name}'{hint}")));
    };

    let rest = trimmed[name_len..].trim_start();
    let rest_at = at + (trimmed.len() - rest.len());
    let args = if rest.is_empty() {
        Vec::new()
    } else if let Some(inner) = rest.strip_prefix('(') {
        let Some(close) = inner.find(')') else {
            return Err((rest_at..rest_at + 1, format!("unclosed '(' after {canonical}")));
        };
        let after = &inner[close + 1..];
        if !after.trim().is_empty() {
            let off = rest_at + 1 + close + 1 + (after.len() - after.trim_start().len());
            return Err((
                off..off + first_char(after.trim()).len_utf8(),
                format!(
                    "unexpected '{}' after {canonical}(...); layers are joined by ->",
                    first_char(after.trim())
                ),
            ));
        }
        parse_args(&inner[..close], rest_at + 1, canonical)?
    } else {
        return Err((
            rest_at..rest_at + first_char(rest).len_utf8(),
            format!("unexpected '{}' after {canonical}; layers are joined by ->", first_char(rest)),
        ));
    };

    let counts: Vec<(usize, Range<usize>)> = args;
    if !arities.contains(&counts.len()) {
        let expected = arities.iter().map(usize::to_string).collect::<Vec<_>>().join(" or ");
        return Err((
            at..at + trimmed.len(),
            format!(
                "{canonical} takes {expected} argument(s) but {} were given{}",
                counts.len(),
                usage(canonical)
            ),
        ));
    }
    let v: Vec<usize> = counts.iter().map(|(v, _)| *v).collect();
    Ok(match canonical {
        "Linear" => LayerSpec::Linear { input: v[0], output: v[1] },
        "Conv1D" => LayerSpec::Conv1D {
            k_size: v[0],
            chan_in: v[1],
            chan_out: v[2],
            stride: v.get(3).copied().unwrap_or(1),
        },
        "MaxPool1D" => LayerSpec::MaxPool1D { k_size: v[0], stride: v.get(1).copied().unwrap_or(v[0]) },
        "Upsample1D" => LayerSpec::Upsample1D { scale: v[0] },
        "Flatten" => LayerSpec::Flatten,
        "Unflatten" => LayerSpec::Unflatten { length: v[0], channels: v[1] },
        "TanH" => LayerSpec::TanH,
        "Sigmoid" => LayerSpec::Sigmoid,
        "ReLU" => LayerSpec::ReLU,
        _ => LayerSpec::Softmax,
    })
}

fn usage(canonical: &str) -> &'static str {
    match canonical {
        "Linear" => ": Linear(in_features, out_features)",
        "Conv1D" => ": Conv1D(k_size, chan_in, chan_out[, stride])",
        "MaxPool1D" => ": MaxPool1D(k_size[, stride])",
        "Upsample1D" => ": Upsample1D(scale)",
        "Unflatten" => ": Unflatten(length, channels)",
        _ => "",
    }
}

/// Comma-separated positive integers; `at` is the byte offset of `inner` in the source.
fn parse_args(inner: &str, at: usize, canonical: &str) -> Located<Vec<(usize, Range<usize>)>> {
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut offset = 0;
    for piece in inner.split(',') {
        let lead = piece.len() - piece.trim_start().len();
        let token = piece.trim();
        let span = at + offset + lead..at + offset + lead + token.len().max(1);
        offset += piece.len() + 1;
        if token.is_empty() {
            return Err((span, format!("missing argument of {canonical}")));
        }
        match token.parse::<i64>() {
            Ok(v) if v > 0 => out.push((v as usize, span)),
            Ok(v) => return Err((span, format!("{canonical} sizes must be positive, found {v}"))),
            Err(_) => {
                return Err((span, format!("'{token}' is not a whole number (argument of {canonical})")));
            }
        }
    }
    Ok(out)
}

fn first_char(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

impl fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LayerSpec::Linear { input, output } => write!(f, "Linear({input}, {output})"),
            LayerSpec::Conv1D { k_size, chan_in, chan_out, stride: 1 } => {
                write!(f, "Conv1D({k_size}, {chan_in}, {chan_out})")
            }
            LayerSpec::Conv1D { k_size, chan_in, chan_out, stride } => {
                write!(f, "Conv1D({k_size}, {chan_in}, {chan_out}, {stride})")
            }
            LayerSpec::MaxPool1D { k_size, stride } => write!(f, "MaxPool1D({k_size}, {stride})"),
            LayerSpec::Upsample1D { scale } => write!(f, "Upsample1D({scale})"),
            LayerSpec::Flatten => f.write_str("Flatten()"),
            LayerSpec::Unflatten { length, channels } => write!(f, "Unflatten({length}, {channels})"),
            LayerSpec::TanH => f.write_str("TanH()"),
            LayerSpec::Sigmoid => f.write_str("Sigmoid()"),
            LayerSpec::ReLU => f.write_str("ReLU()"),
            LayerSpec::Softmax => f.write_str("Softmax()"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_report_convolution_network() {
        let layers =
            parse("Conv1D(3,1,32) -> MaxPool1D(2,2) -> Flatten -> Linear(992,100) -> ReLU -> Linear(100,10)")
                .unwrap();
        let text: Vec<String> = layers.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "Conv1D(3, 1, 32)",
                "MaxPool1D(2, 2)",
                "Flatten()",
                "Linear(992, 100)",
                "ReLU()",
                "Linear(100, 10)"
            ]
        );
    }

    #[test]
    fn parses_a_dense_code_unflattened_for_a_convolutional_decoder() {
        let layers = parse("Linear(32,496) -> Unflatten(31,16) -> Upsample1D(2) -> Conv1D(3,16,1)").unwrap();
        assert_eq!(layers[1], LayerSpec::Unflatten { length: 31, channels: 16 });
        assert_eq!(layers[1].to_string(), "Unflatten(31, 16)");
        assert_eq!(
            parse("Unflatten(496)").unwrap_err().message,
            "Unflatten takes 2 argument(s) but 1 were given: Unflatten(length, channels)"
        );
    }

    #[test]
    fn accepts_unicode_arrows_parentheses_and_any_case() {
        assert_eq!(parse("linear(64,10)→relu()→softmax").unwrap().len(), 3);
        assert_eq!(parse("MaxPool1D(3)").unwrap()[0], LayerSpec::MaxPool1D { k_size: 3, stride: 3 });
        assert_eq!(parse("Conv1D(5, 1, 10, 2)").unwrap()[0].to_string(), "Conv1D(5, 1, 10, 2)");
    }

    #[test]
    fn an_unknown_layer_points_at_its_name_and_suggests() {
        let err = parse("Linear(64,100) -> Relu2 -> Lineer(100,10)").unwrap_err();
        assert_eq!(err.message, "unknown layer 'Relu2'; did you mean ReLU?");
        assert_eq!(
            err.to_string(),
            "unknown layer 'Relu2'; did you mean ReLU? at column 19\n  Linear(64,100) -> Relu2 -> Lineer(100,10)\n                    ^^^^^"
        );
    }

    #[test]
    fn a_zero_or_negative_size_is_refused_at_its_token() {
        let err = parse("Linear(64, 0)").unwrap_err();
        assert_eq!(err.message, "Linear sizes must be positive, found 0");
        assert_eq!(&err.source[err.span.clone()], "0");
        let err = parse("Conv1D(3, -1, 8)").unwrap_err();
        assert_eq!(err.message, "Conv1D sizes must be positive, found -1");
        assert_eq!(&err.source[err.span.clone()], "-1");
    }

    #[test]
    fn wrong_argument_counts_and_syntax_are_refused() {
        assert_eq!(
            parse("Linear(64)").unwrap_err().message,
            "Linear takes 2 argument(s) but 1 were given: Linear(in_features, out_features)"
        );
        assert_eq!(parse("ReLU(2)").unwrap_err().message, "ReLU takes 0 argument(s) but 1 were given");
        assert_eq!(
            parse("Linear(64, x)").unwrap_err().message,
            "'x' is not a whole number (argument of Linear)"
        );
        assert_eq!(parse("Linear(64, 10").unwrap_err().message, "unclosed '(' after Linear");
        assert_eq!(
            parse("Linear(64,10) ReLU").unwrap_err().message,
            "unexpected 'R' after Linear(...); layers are joined by ->"
        );
        assert_eq!(parse("Linear(64,10) -> -> ReLU").unwrap_err().message, "missing layer between arrows");
        assert_eq!(parse("  ").unwrap_err().message, "the network is empty: write layers joined by ->");
    }

    #[test]
    fn a_trailing_or_leading_arrow_points_past_the_text_or_at_its_start() {
        for text in ["Linear(64,10) ->", "Linear(64,10)->", "Linear(64,10) →", "Linear(64,10) -> "] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.message, "missing layer after the last arrow", "{text}");
            let column = text[..err.span.start].chars().count();
            let shown = err.to_string();
            assert_eq!(shown.lines().last().unwrap(), format!("  {}^", " ".repeat(column)), "{shown}");
        }
        assert_eq!(
            parse("Linear(64,10) ->").unwrap_err().to_string(),
            "missing layer after the last arrow at column 17\n  Linear(64,10) ->\n                  ^"
        );
        assert_eq!(parse("-> ReLU").unwrap_err().message, "missing layer before the first arrow");
    }

    /// Display never panics, whatever the span: past the end, reversed, or
    /// inside a character.
    #[test]
    fn display_takes_any_span() {
        for (start, end) in [(0, 0), (3, 1), (9, 99), (1, 2), (2, 3), (100, 200)] {
            let err = NotationError { source: "a→b".into(), span: start..end, message: "m".into() };
            assert!(err.to_string().starts_with("m at column"));
        }
    }

    proptest::proptest! {
        /// Any text at all parses or gives an error that displays in three lines.
        #[test]
        fn any_text_parses_or_displays_its_error(text in "[-→>(),0-9a-zA-Z é{}]{0,40}") {
            if let Err(err) = parse(&text) {
                proptest::prop_assert_eq!(err.to_string().lines().count(), 3);
            }
        }
    }

    /// Every prefix of these notations (valid ones and broken ones), and each
    /// with stray text added, parses or gives an error that displays: none panics.
    #[test]
    fn no_prefix_of_a_notation_panics() {
        let texts = [
            "Conv1D(3,1,32) -> MaxPool1D(2,2) -> Flatten -> Linear(992,100) -> ReLU -> Linear(100,10)",
            "linear(64,10)→relu()→softmax",
            "Linear(32,496) -> Unflatten(31,16) -> Upsample1D(2) -> Conv1D(3,16,1,2) -> Sigmoid",
            "Linear(64,{h})->ReLU->Linear({h},10)->",
            " → é(-1, ,) -> TanH(",
        ];
        for text in texts {
            for (end, _) in text.char_indices().chain([(text.len(), ' ')]) {
                for extra in ["", "->", "→", " ", "é", ")", "(", ","] {
                    let input = format!("{}{extra}", &text[..end]);
                    if let Err(err) = parse(&input) {
                        let shown = err.to_string();
                        assert_eq!(shown.lines().count(), 3, "{input:?}: {shown}");
                    }
                }
            }
        }
    }
}
