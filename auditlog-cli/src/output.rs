//! Writing to standard output: buffered, and JSON that is safe on a terminal.

use std::io::{self, BufWriter, StdoutLock, Write};

// The characters `escape_text` escapes, but the backslash, which JSON escapes its own way.
use auditlog_diesel::is_display_hazard;

/// Standard output, locked and buffered; flushed by [`Out::finish`].
pub(crate) type Out = BufWriter<StdoutLock<'static>>;

/// Buffered standard output.
pub(crate) fn stdout() -> Out {
    BufWriter::new(io::stdout().lock())
}

/// Writes `value` as one line of JSON.
///
/// `serde_json` escapes the C0 control characters; this also escapes, as `\uXXXX`, every
/// other character that could change how the line displays: DEL, the C1 controls (some
/// terminals take U+009B as an escape sequence), bidirectional overrides and invisible
/// formatting characters. Any JSON reader decodes them back to the same value.
pub(crate) fn write_json_line(out: &mut impl Write, value: &serde_json::Value) -> io::Result<()> {
    let text = value.to_string();
    let mut line = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if is_display_hazard(c) {
            // Every hazard is in the Basic Multilingual Plane, so one `\uXXXX` suffices.
            line.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            line.push(c);
        }
    }
    line.push('\n');
    out.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_lines_hold_no_raw_control_or_bidi_characters() {
        let value = json!({"actor": "a\nb\u{1b}[31m\r\u{202e}x\u{7f}\u{9b}\\"});
        let mut out = Vec::new();
        write_json_line(&mut out, &value).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert_eq!(line.lines().count(), 1);
        assert!(!line.trim_end().chars().any(is_display_hazard), "{line:?}");
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, value);
    }
}
