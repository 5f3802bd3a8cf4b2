//! Progress bars on stderr, shown only when asked for and stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps named `what`, or `None` unless `enabled` and stderr is a terminal.
pub(crate) fn bar(enabled: bool, len: usize, what: &str) -> Option<ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len as u64);
    let template = format!("{what} {{pos}}/{{len}} [{{bar:40}}] {{elapsed_precise}} eta {{eta}} {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}
