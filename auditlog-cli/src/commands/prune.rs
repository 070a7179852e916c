//! `auditlog prune --before DATE`: retention through the library, leaving a checkpoint.

use std::io::Write;

use auditlog_diesel::{
    escape_text, rfc3339_utc, Action, AuditContext, AuditedConnection, Keyring, LogEntry,
};

use crate::cli::PruneArgs;
use crate::db::Db;
use crate::error::{query, CliError};
use crate::output::{self, Out};
use crate::progress;
use crate::render::entries;
use crate::Outcome;

pub(crate) fn run<C: Db>(conn: &mut C, args: PruneArgs) -> Result<Outcome, CliError> {
    let before = args.before.0;
    let cutoff = rfc3339_utc(&before);
    let mut out = output::stdout();
    if args.dry_run {
        dry_run(conn, &mut out, &cutoff, before.naive_utc())?;
        out.flush()?;
        return Ok(Outcome::Clean);
    }

    let keyring = super::keyring("prune")?;
    let mut context = AuditContext::new().actor_display("auditlog prune").reason(
        args.reason
            .unwrap_or_else(|| format!("retention: entries logged before {cutoff}")),
    );
    if let Some(actor) = args.actor {
        context = context.actor(actor);
    }
    let spinner = progress::spinner(format!("pruning entries logged before {cutoff}"));
    let report = prune_with(conn, keyring, context, args.batch, before);
    spinner.finish_and_clear();
    let report = report?;

    let Some(through) = report.through_id else {
        writeln!(
            out,
            "nothing to prune: no sealed entry was logged before {cutoff}"
        )?;
        out.flush()?;
        return Ok(Outcome::Clean);
    };
    writeln!(
        out,
        "removed {} logged before {cutoff} (through id {through})",
        entries(report.pruned)
    )?;
    if let Some(checkpoint) = newest_checkpoint(conn)? {
        write_checkpoint(&mut out, &checkpoint)?;
    }
    out.flush()?;
    Ok(Outcome::Clean)
}

fn prune_with<C: Db>(
    conn: &mut C,
    keyring: Keyring,
    context: AuditContext,
    batch: u32,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<auditlog_diesel::PruneReport, CliError> {
    let mut audited = AuditedConnection::wrap(conn).with_integrity(keyring);
    audited.set_context(context);
    Ok(audited.prune(before, batch as usize)?)
}

/// Reports what a prune would remove, without removing anything (needs no key).
fn dry_run<C: Db>(
    conn: &mut C,
    out: &mut Out,
    cutoff: &str,
    before: chrono::NaiveDateTime,
) -> Result<(), CliError> {
    let preview = conn
        .prune_preview(before)
        .map_err(query("computing what retention would remove"))?;
    let Some(p) = preview else {
        writeln!(
            out,
            "dry run: nothing to prune: no sealed entry was logged before {cutoff}"
        )?;
        return Ok(());
    };
    writeln!(
        out,
        "dry run: would remove {} logged before {cutoff} (ids {} to {})",
        entries(p.entries),
        p.from_id,
        p.through_id
    )?;
    let seal = p.last_pruned_hash.as_deref().unwrap_or("(none: unsealed)");
    writeln!(
        out,
        "the checkpoint left behind would resume the chain from the seal of entry {}: {}",
        p.through_id,
        escape_text(seal)
    )?;
    Ok(())
}

fn newest_checkpoint<C: Db>(conn: &mut C) -> Result<Option<LogEntry>, CliError> {
    let page = auditlog_diesel::History::new(conn)
        .action(Action::Checkpoint)
        .limit(1)
        .load()?;
    Ok(page.into_iter().next())
}

/// The checkpoint entry: where the range went and where the chain resumes.
fn write_checkpoint(out: &mut Out, checkpoint: &LogEntry) -> std::io::Result<()> {
    let details = checkpoint.event.as_ref().and_then(|e| e.details.as_ref());
    let field = |name: &str| {
        details
            .and_then(|d| d.get(name))
            .map(crate::render::value_text)
            .unwrap_or_else(|| "?".to_owned())
    };
    writeln!(
        out,
        "checkpoint left behind: entry {} records the pruned ids {} to {} ({} in all)",
        checkpoint.id,
        field("pruned_from_id"),
        field("pruned_through_id"),
        field("pruned_entries")
    )?;
    writeln!(
        out,
        "the chain now resumes from the last pruned seal {}; `auditlog verify` checks from there",
        field("last_pruned_hash")
    )
}
