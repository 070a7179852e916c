//! The command line: every command, flag and its help text.

use clap::{Args, Parser, Subcommand};

use auditlog_diesel::{Action, Severity};

use crate::time::TimeArg;

/// Investigate and operate an audit log written by auditlog-diesel (SQLite or PostgreSQL).
///
/// Exit status: 0 success, 1 findings (tampering, deployment problems), 2 errors (usage,
/// connection, missing log table or key).
#[derive(Debug, Parser)]
#[command(name = "auditlog", version, propagate_version = true)]
pub(crate) struct Cli {
    /// The database: a postgres:// or postgresql:// URL, or a SQLite file path (optionally
    /// prefixed with sqlite://).
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        global = true,
        value_name = "URL"
    )]
    pub(crate) database_url: Option<String>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create or upgrade the log table (applies the pending migrations).
    Migrate,
    /// List entries, newest first, one page at a time.
    History(HistoryArgs),
    /// Show one entry in full, its changes field by field.
    Show(ShowArgs),
    /// Verify the integrity chain with the key in AUDITLOG_INTEGRITY_KEY.
    ///
    /// Exit status 0 when the chain is intact, 1 when tampering is found (the first broken
    /// entry and the reason are printed), 2 when it cannot run.
    Verify,
    /// Remove entries logged before a date, leaving a sealed checkpoint (needs the key).
    Prune(PruneArgs),
    /// Write entries as JSON Lines with Elastic Common Schema field names, oldest first.
    Export(ExportArgs),
    /// Validate a deployment: log table, migrations, indexes, append-only triggers, keys.
    ///
    /// Prints one line per check; exit status 1 when any check fails. Checking which keys
    /// sealed the entries reads the key id of every entry (one scan of the log table).
    Check,
}

/// Arguments of `history`.
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Only entries about objects of this type (e.g. a table name such as `contracts`).
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) object_type: Option<String>,

    /// Only the object with this key (needs --type).
    #[arg(long, value_name = "KEY", requires = "object_type")]
    pub(crate) key: Option<String>,

    /// Only entries written by this actor id.
    #[arg(long, value_name = "ID")]
    pub(crate) actor: Option<String>,

    /// Only entries of this request or operation.
    #[arg(long, value_name = "ID")]
    pub(crate) correlation_id: Option<String>,

    /// Only entries with this action; repeat to accept several.
    #[arg(long = "action", value_name = "ACTION", value_parser = parse_action)]
    pub(crate) actions: Vec<Action>,

    /// Only events (security events, accesses) with this name, e.g. `login_failed`.
    #[arg(long, value_name = "NAME")]
    pub(crate) event: Option<String>,

    /// Only events of at least this severity: info, notice, warning, error, critical.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub(crate) min_severity: Option<Severity>,

    /// Only entries logged at or after this time: RFC 3339, a date (midnight UTC) or an age
    /// such as 24h, 7d, 30m.
    #[arg(long, value_name = "WHEN")]
    pub(crate) since: Option<TimeArg>,

    /// Only entries logged before this time (same forms as --since).
    #[arg(long, value_name = "WHEN")]
    pub(crate) until: Option<TimeArg>,

    /// Entries per page (at most 10000).
    #[arg(long, default_value_t = 50, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) limit: u32,

    /// Continue after a page: only entries with an id lower than this one.
    #[arg(long, value_name = "ID")]
    pub(crate) before: Option<i64>,

    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Arguments of `show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The entry's id.
    #[arg(value_name = "ID")]
    pub(crate) id: i64,

    /// The entry as one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Arguments of `prune`.
#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Remove the entries logged before this time (RFC 3339, a date, or an age such as 90d).
    #[arg(long, value_name = "WHEN")]
    pub(crate) before: TimeArg,

    /// Only report what would be removed.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Rows deleted per statement.
    #[arg(long, default_value_t = 1_000, value_name = "ROWS",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) batch: u32,

    /// The actor id recorded on the checkpoint entry (who ran the retention).
    #[arg(long, value_name = "ID")]
    pub(crate) actor: Option<String>,

    /// The reason recorded on the checkpoint entry.
    #[arg(long, value_name = "TEXT")]
    pub(crate) reason: Option<String>,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Entries logged at or after this time (RFC 3339, a date, or an age such as 24h).
    #[arg(long, value_name = "WHEN")]
    pub(crate) since: TimeArg,

    /// Entries logged before this time (default: now).
    #[arg(long, value_name = "WHEN")]
    pub(crate) until: Option<TimeArg>,
}

fn parse_action(text: &str) -> Result<Action, String> {
    Action::from_name(text).ok_or_else(|| {
        let known: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        format!("unknown action; expected one of: {}", known.join(", "))
    })
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::from_name(text).ok_or_else(|| {
        let known: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown severity; expected one of: {}", known.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn actions_and_severities_are_parsed_by_name() {
        assert_eq!(parse_action("m2m_add"), Ok(Action::M2mAdd));
        assert!(parse_action("upsert")
            .unwrap_err()
            .contains("create, update"));
        assert_eq!(parse_severity("warning"), Ok(Severity::Warning));
    }
}
