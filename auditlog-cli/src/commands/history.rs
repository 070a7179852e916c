//! `auditlog history`: entries newest first, one page at a time.

use std::io::Write;

use auditlog_diesel::History;

use crate::cli::HistoryArgs;
use crate::db::Db;
use crate::error::{query, CliError};
use crate::output::{self, write_json_line};
use crate::render::write_table;
use crate::Outcome;

/// The most known types an "unknown object type" error lists.
const KNOWN_TYPES_SHOWN: usize = 30;

pub(crate) fn run<C: Db>(conn: &mut C, args: HistoryArgs) -> Result<Outcome, CliError> {
    if let Some(object_type) = &args.object_type {
        ensure_known_type(conn, object_type)?;
    }
    let limit = args.limit as usize;
    let mut history = History::new(conn).limit(limit);
    history = match (args.object_type, args.key) {
        (Some(t), Some(k)) => history.object(t, k),
        (Some(t), None) => history.object_type(t),
        (None, _) => history,
    };
    if let Some(actor) = args.actor {
        history = history.actor(actor);
    }
    if let Some(id) = args.correlation_id {
        history = history.correlation_id(id);
    }
    for action in args.actions {
        history = history.action(action);
    }
    if let Some(name) = args.event {
        history = history.event_name(name);
    }
    if let Some(severity) = args.min_severity {
        history = history.min_severity(severity);
    }
    if let Some(t) = args.since {
        history = history.since(t.0);
    }
    if let Some(t) = args.until {
        history = history.until(t.0);
    }
    if let Some(id) = args.before {
        history = history.before(id);
    }
    let entries = history.load()?;

    let mut out = output::stdout();
    if args.json {
        for entry in &entries {
            let value = serde_json::to_value(entry).unwrap_or_default();
            write_json_line(&mut out, &value)?;
        }
    } else if entries.is_empty() {
        writeln!(out, "no matching entries")?;
    } else {
        write_table(&mut out, &entries)?;
    }
    out.flush()?;
    if entries.len() == limit {
        if let Some(last) = entries.last() {
            // A hint only; nothing is lost when stderr is gone.
            let _ = writeln!(
                std::io::stderr(),
                "more entries may follow: repeat with --before {}",
                last.id
            );
        }
    }
    Ok(Outcome::Clean)
}

/// Refuses a type no entry is about, listing the types there are: a typo otherwise looks
/// like an object without history.
fn ensure_known_type<C: Db>(conn: &mut C, object_type: &str) -> Result<(), CliError> {
    let seen = History::new(conn)
        .object_type(object_type)
        .limit(1)
        .load()?;
    if !seen.is_empty() {
        return Ok(());
    }
    let types = conn
        .object_types()
        .map_err(query("listing the object types"))?;
    let mut known = if types.is_empty() {
        "none (the log holds no entry about an object)".to_owned()
    } else {
        types
            .iter()
            .take(KNOWN_TYPES_SHOWN)
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if types.len() > KNOWN_TYPES_SHOWN {
        known.push_str(&format!(" and {} more", types.len() - KNOWN_TYPES_SHOWN));
    }
    Err(CliError::UnknownObjectType {
        given: object_type.to_owned(),
        known,
    })
}
