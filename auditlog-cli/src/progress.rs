//! Progress on stderr, shown only when stderr is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Whether progress is shown at all: only when stderr is a terminal.
pub(crate) fn visible() -> bool {
    std::io::stderr().is_terminal()
}

/// A progress bar over `total` entries, or a hidden one when stderr is not a terminal
/// (scripts and CI get no progress noise).
pub(crate) fn bar(total: u64, message: &'static str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total).with_message(message);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} entries ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A spinner for work of unknown length, or a hidden one when stderr is not a terminal.
pub(crate) fn spinner(message: String) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let spinner = ProgressBar::new_spinner().with_message(message);
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}
