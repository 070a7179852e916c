//! `auditlog verify`: checks the integrity chain.

use std::io::Write;

use auditlog_diesel::{escape_text, verify_with_progress};

use crate::db::Db;
use crate::error::{query, CliError};
use crate::output;
use crate::progress;
use crate::render::{entries, write_entry};
use crate::Outcome;

pub(crate) fn run<C: Db>(conn: &mut C) -> Result<Outcome, CliError> {
    let keyring = super::keyring("verify")?;
    // Counting costs a scan; only a visible progress bar needs the total.
    let total = if progress::visible() {
        conn.count_entries()
            .map_err(query("counting the entries"))?
    } else {
        0
    };
    let bar = progress::bar(u64::try_from(total).unwrap_or(0), "verifying");
    let report = verify_with_progress(conn, &keyring, |checked| bar.set_position(checked));
    bar.finish_and_clear();
    let report = report?;

    let mut out = output::stdout();
    let range = match (report.first_id, report.last_id) {
        (Some(first), Some(last)) => format!(" (ids {first} to {last})"),
        _ => String::new(),
    };
    let Some(broken) = report.broken else {
        writeln!(
            out,
            "intact: {} verified{range}, chain head matches",
            entries(report.entries)
        )?;
        out.flush()?;
        return Ok(Outcome::Clean);
    };
    writeln!(
        out,
        "TAMPERED: entry {}: {}",
        broken.id,
        escape_text(&broken.tampering.to_string())
    )?;
    writeln!(
        out,
        "{} checked{range} up to the first broken one",
        entries(report.entries)
    )?;
    match super::load_entry(conn, broken.id) {
        Ok(Some(entry)) => {
            writeln!(out, "\nthe entry as stored now:")?;
            write_entry(&mut out, &entry)?;
        }
        Ok(None) => writeln!(out, "entry {} is not in the log", broken.id)?,
        Err(e) => writeln!(
            out,
            "entry {} cannot be shown: {}",
            broken.id,
            escape_text(&e.to_string())
        )?,
    }
    out.flush()?;
    Ok(Outcome::Findings)
}
