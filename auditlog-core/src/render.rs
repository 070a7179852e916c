//! Rendering stored values safely for terminals and text logs.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every character that could change how it is displayed shown escaped:
/// control characters (newline, carriage return, escape, ...) and the invisible Unicode
/// formatting characters used to reorder or hide text (bidirectional overrides, zero-width
/// characters). A value containing a newline therefore cannot forge a second log line, and a
/// value containing `ESC [` cannot drive the terminal.
///
/// Backslashes are escaped too, so the output is unambiguous: `\n` in the output always means
/// an escaped newline, `\\n` a backslash followed by `n`.
///
/// ```
/// use auditlog_core::escape_text;
/// assert_eq!(escape_text("plain café"), "plain café");
/// assert_eq!(escape_text("a\nb\u{1b}[2J"), r"a\nb\u{1b}[2J");
/// ```
pub fn escape_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c == '\\' || is_display_hazard(c)
}

/// Whether `c` can change how text around it is displayed: a control character (newline,
/// carriage return, escape, ...) or an invisible Unicode formatting character used to reorder
/// or hide text (bidirectional overrides, zero-width characters). [`escape_text`] escapes
/// these, and the backslash.
pub fn is_display_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape_text("héllo wörld"), Cow::Borrowed(_)));
    }

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(escape_text("a\r\nb"), r"a\r\nb");
        assert_eq!(escape_text("x\u{202e}y"), r"x\u{202e}y");
        assert_eq!(escape_text("\u{7f}\u{0}"), r"\u{7f}\u{0}");
        assert_eq!(escape_text(r"back\slash"), r"back\\slash");
    }
}
