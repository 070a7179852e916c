//! `auditlog export`: JSON Lines with Elastic Common Schema names, oldest first.
//!
//! The library's history queries go newest first, with keyset pagination downwards
//! (`History::before`); it has no ascending order. Export therefore finds the id range of
//! `[since, until)` once, then walks it upwards in windows of `PAGE` ids: for each window it
//! asks for the `PAGE` entries just below the window's end, keeps those inside the window and
//! the time range, and writes them oldest first. A window spans at most `PAGE` ids, so that one
//! page holds all of it; memory stays at one page whatever the range.
//!
//! The page query has no time filter on purpose: `id < end ORDER BY id DESC LIMIT n` is a
//! range scan of the primary key that stops after `n` rows on every backend, whereas adding
//! the time filter lets a planner scan the whole time range through its index for every
//! window (quadratic in the range). Entries whose time lies outside the range, which can sit
//! between the range's ids, are dropped here instead.
//!
//! The range is fixed when the export starts: entries written meanwhile are left for the next
//! export.

use std::io::Write;

use auditlog_diesel::{History, LogEntry};
use chrono::Utc;

use crate::cli::ExportArgs;
use crate::db::Db;
use crate::ecs;
use crate::error::{query, CliError};
use crate::output::{self, write_json_line};
use crate::progress;
use crate::Outcome;

/// Ids per window, and entries per query.
const PAGE: i64 = 1_000;

pub(crate) fn run<C: Db>(conn: &mut C, args: ExportArgs) -> Result<Outcome, CliError> {
    let since = args.since.0;
    let until = args.until.map_or_else(Utc::now, |t| t.0);
    if until <= since {
        return Err(CliError::Usage(format!(
            "--until ({}) must be later than --since ({})",
            auditlog_diesel::rfc3339_utc(&until),
            auditlog_diesel::rfc3339_utc(&since)
        )));
    }
    let range = conn
        .id_range(since.naive_utc(), until.naive_utc())
        .map_err(query("finding the entries to export"))?;
    let Some((first, last)) = range else {
        return Ok(Outcome::Clean);
    };

    let bar = progress::bar(u64::try_from(last - first + 1).unwrap_or(0), "exporting");
    let mut out = output::stdout();
    let mut start = first;
    while start <= last {
        let end = start.saturating_add(PAGE).min(last.saturating_add(1));
        let page = History::new(conn).before(end).limit(PAGE as usize).load()?;
        let in_range = |e: &&LogEntry| e.id >= start && since <= e.timestamp && e.timestamp < until;
        for entry in page.iter().rev().filter(in_range) {
            write_json_line(&mut out, &ecs::document(entry))?;
        }
        bar.set_position(u64::try_from(end - first).unwrap_or(0));
        if end <= start {
            break; // only at the very end of the id space
        }
        start = end;
    }
    bar.finish_and_clear();
    out.flush()?;
    Ok(Outcome::Clean)
}
