//! The commands, each written once for both backends.

mod check;
mod export;
mod history;
mod migrate;
mod prune;
mod show;
mod verify;

use auditlog_diesel::{Keyring, LogEntry};
use diesel::{PgConnection, SqliteConnection};

use crate::cli::{Cli, Command};
use crate::db::{Db, Target};
use crate::error::{query, CliError};
use crate::expected::MIGRATIONS;
use crate::Outcome;

/// Runs the command line's command against its database.
pub(crate) fn run(cli: Cli) -> Result<Outcome, CliError> {
    let url = cli
        .database_url
        .filter(|url| !url.trim().is_empty())
        .ok_or(CliError::NoDatabase)?;
    let target = Target::parse(url.trim());
    match target {
        Target::Sqlite(_) => dispatch::<SqliteConnection>(&target, cli.command),
        Target::Postgres(_) => dispatch::<PgConnection>(&target, cli.command),
    }
}

fn dispatch<C: Db>(target: &Target, command: Command) -> Result<Outcome, CliError> {
    let mut conn = C::open(target, matches!(command, Command::Migrate))?;
    if !matches!(command, Command::Migrate | Command::Check) {
        require_log_table(&mut conn, target)?;
    }
    match command {
        Command::Migrate => migrate::run(&mut conn),
        Command::Check => check::run(&mut conn),
        Command::History(args) => history::run(&mut conn, args),
        Command::Show(args) => show::run(&mut conn, args),
        Command::Verify => verify::run(&mut conn),
        Command::Prune(args) => prune::run(&mut conn, args),
        Command::Export(args) => export::run(&mut conn, args),
    }
}

/// Refuses a database without the log table, or with its migrations half applied (when
/// Diesel's migration table says so; a log table created by other means is taken as is).
fn require_log_table<C: Db>(conn: &mut C, target: &Target) -> Result<(), CliError> {
    let reading = query("reading the database catalog");
    if !conn.has_table("audit_log").map_err(reading)? {
        return Err(CliError::NoLogTable {
            target: target.describe(),
        });
    }
    if !conn
        .has_table("__diesel_schema_migrations")
        .map_err(reading)?
    {
        return Ok(());
    }
    let pending = pending_migrations(conn).map_err(reading)?;
    if pending.is_empty() {
        return Ok(());
    }
    Err(CliError::PendingMigrations {
        target: target.describe(),
        versions: pending.join(", "),
    })
}

/// The log table's migrations Diesel's migration table does not list (it must exist).
fn pending_migrations<C: Db>(conn: &mut C) -> diesel::QueryResult<Vec<String>> {
    let applied = conn.applied_migrations()?;
    Ok(MIGRATIONS
        .iter()
        .filter(|(version, _)| !applied.iter().any(|a| a == version))
        .map(|(version, name)| format!("{version} ({name})"))
        .collect())
}

/// The keyring from `AUDITLOG_INTEGRITY_KEY` and `AUDITLOG_INTEGRITY_OLD_KEYS`.
fn keyring(command: &'static str) -> Result<Keyring, CliError> {
    Keyring::from_env()
        .map_err(CliError::BadKey)?
        .ok_or(CliError::NoKey { command })
}

/// The entry with id `id`, if it exists.
fn load_entry<C: Db>(conn: &mut C, id: i64) -> Result<Option<LogEntry>, CliError> {
    let page = auditlog_diesel::History::new(conn)
        .before(id.saturating_add(1))
        .limit(1)
        .load()?;
    Ok(page.into_iter().find(|e| e.id == id))
}
