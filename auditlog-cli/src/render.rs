//! Entries for people: the history table and the full view of one entry. Every stored text
//! goes through `escape_text` before it is written, so it stays on its line and in its cell.

use std::io::{self, Write};

use auditlog_diesel::{canonical_json, escape_text, rfc3339_utc, Action, LogEntry};
use serde_json::Value;

/// The widest a table cell may be, per column; longer values end with `…`.
const OBJECT_WIDTH: usize = 32;
const ACTOR_WIDTH: usize = 32;
const SUMMARY_WIDTH: usize = 72;

/// A stored value as one line of text: strings unquoted (unless empty), everything else as
/// canonical JSON; escaped either way.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) if !s.is_empty() => escape_text(s).into_owned(),
        other => escape_text(&canonical_json(other)).into_owned(),
    }
}

/// `n` with its noun: `1 entry`, `7 entries`.
pub(crate) fn entries(n: impl Into<i128>) -> String {
    match n.into() {
        1 => "1 entry".to_owned(),
        n => format!("{n} entries"),
    }
}

/// `text` cut to `width` characters, the last one an ellipsis when anything was cut.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Who made the change, as the table shows it.
fn actor(entry: &LogEntry) -> String {
    let ctx = &entry.context;
    match (&ctx.actor_display, &ctx.actor_id) {
        (Some(display), _) => escape_text(display).into_owned(),
        (None, Some(id)) => escape_text(id).into_owned(),
        (None, None) => "-".to_owned(),
    }
}

/// The object, as the table shows it.
fn object(entry: &LogEntry) -> String {
    if entry.object.object_type.is_empty() {
        return "-".to_owned();
    }
    format!(
        "{} {}",
        escape_text(&entry.object.object_type),
        escape_text(&entry.object.object_key)
    )
}

/// What the entry says, in one line: the changed fields, the event, the links, the snapshot.
fn summary(entry: &LogEntry) -> String {
    if let Some(change) = &entry.association {
        return change.to_string();
    }
    if let Some(event) = &entry.event {
        let mut text = format!("{} ({})", escape_text(&event.name), event.severity);
        if let Some(details) = &event.details {
            text.push(' ');
            text.push_str(&value_text(details));
        }
        return text;
    }
    if !entry.changes.is_empty() {
        let parts: Vec<String> = entry
            .changes
            .0
            .iter()
            .map(|c| {
                format!(
                    "{}: {} -> {}",
                    escape_text(&c.field),
                    value_text(&c.before),
                    value_text(&c.after)
                )
            })
            .collect();
        return parts.join("; ");
    }
    match &entry.snapshot {
        Some(snapshot) => {
            let parts: Vec<String> = snapshot
                .0
                .iter()
                .map(|v| format!("{}={}", escape_text(&v.field), value_text(&v.value)))
                .collect();
            parts.join(", ")
        }
        None => String::new(),
    }
}

/// Writes a page of entries as a table: one line per entry, cells escaped and cut to their
/// column's width, so no value can break the layout.
pub(crate) fn write_table(out: &mut impl Write, entries: &[LogEntry]) -> io::Result<()> {
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                e.id.to_string(),
                e.timestamp.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                e.action.to_string(),
                truncate(&object(e), OBJECT_WIDTH),
                truncate(&actor(e), ACTOR_WIDTH),
                truncate(&summary(e), SUMMARY_WIDTH),
            ]
        })
        .collect();
    let header = ["ID", "TIME", "ACTION", "OBJECT", "ACTOR", "SUMMARY"];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    write_row(out, &header.map(str::to_owned), &widths)?;
    for row in &rows {
        write_row(out, row, &widths)?;
    }
    Ok(())
}

fn write_row(out: &mut impl Write, cells: &[String; 6], widths: &[usize; 6]) -> io::Result<()> {
    let mut line = format!("{:>w$}", cells[0], w = widths[0]);
    for (cell, width) in cells.iter().zip(widths).skip(1) {
        line.push_str("  ");
        let pad = width.saturating_sub(cell.chars().count());
        line.push_str(cell);
        line.extend(std::iter::repeat_n(' ', pad));
    }
    writeln!(out, "{}", line.trim_end())
}

/// Writes one entry in full: every field labelled, values complete and escaped, each changed
/// field with its value before and after.
pub(crate) fn write_entry(out: &mut impl Write, entry: &LogEntry) -> io::Result<()> {
    let ctx = &entry.context;
    writeln!(out, "entry {}", entry.id)?;
    let mut field = |label: &str, value: String| writeln!(out, "  {label:<12} {value}");
    field("time", rfc3339_utc(&entry.timestamp))?;
    field("action", entry.action.to_string())?;
    if !entry.object.object_type.is_empty() {
        field("object", object(entry))?;
    }
    if let Some(repr) = &entry.object.object_repr {
        field("shown as", escape_text(repr).into_owned())?;
    }
    match (&ctx.actor_id, &ctx.actor_display) {
        (Some(id), Some(display)) => field(
            "actor",
            format!("{} <{}>", escape_text(display), escape_text(id)),
        )?,
        (Some(id), None) => field("actor", escape_text(id).into_owned())?,
        (None, Some(display)) => field("actor", escape_text(display).into_owned())?,
        (None, None) => field("actor", "unknown".to_owned())?,
    }
    if let Some(ip) = ctx.remote_addr {
        let source = match ctx.remote_port {
            Some(port) => std::net::SocketAddr::new(ip, port).to_string(),
            None => ip.to_string(),
        };
        field("source", source)?;
    }
    for (label, value) in [
        ("user agent", &ctx.user_agent),
        ("session", &ctx.session_id),
        ("correlation", &ctx.correlation_id),
        ("reason", &ctx.reason),
    ] {
        if let Some(v) = value {
            field(label, escape_text(v).into_owned())?;
        }
    }
    if let Some(data) = &ctx.additional_data {
        field("data", value_text(&Value::Object(data.clone())))?;
    }
    if let Some(event) = &entry.event {
        field(
            "event",
            format!("{} ({})", escape_text(&event.name), event.severity),
        )?;
        if let Some(details) = &event.details {
            field("details", value_text(details))?;
        }
    }
    if let Some(change) = &entry.association {
        let verb = match entry.action {
            Action::M2mAdd => "linked",
            Action::M2mRemove => "unlinked",
            _ => "cleared",
        };
        field(
            verb,
            format!("{change} ({})", escape_text(&change.related_type)),
        )?;
    }
    write_changes(out, entry)?;
    if let Some(snapshot) = &entry.snapshot {
        writeln!(out, "snapshot ({} fields)", snapshot.0.len())?;
        for v in &snapshot.0 {
            let masked = v.mask.map(|_| "  (masked)".to_owned()).unwrap_or_default();
            writeln!(
                out,
                "  {}: {}{masked}",
                escape_text(&v.field),
                value_text(&v.value)
            )?;
        }
    }
    Ok(())
}

fn write_changes(out: &mut impl Write, entry: &LogEntry) -> io::Result<()> {
    if entry.changes.is_empty() {
        return Ok(());
    }
    writeln!(out, "changes ({} fields)", entry.changes.len())?;
    for change in &entry.changes.0 {
        let masked = change
            .mask
            .map(|_| "  (masked)".to_owned())
            .unwrap_or_default();
        writeln!(out, "  {}{masked}", escape_text(&change.field))?;
        writeln!(out, "    before  {}", value_text(&change.before))?;
        writeln!(out, "    after   {}", value_text(&change.after))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_cells_end_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcd", 4), "abcd");
        assert_eq!(truncate("日本語テキスト", 3), "日本…");
    }

    #[test]
    fn values_are_one_escaped_line() {
        assert_eq!(
            value_text(&Value::from("a\nb\u{1b}[31m")),
            r"a\nb\u{1b}[31m"
        );
        assert_eq!(value_text(&Value::from("")), r#""""#);
        assert_eq!(
            value_text(&serde_json::json!({"k": "\r"})),
            r#"{"k":"\\r"}"#
        );
    }
}
