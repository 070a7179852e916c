//! `auditlog migrate`: creates or upgrades the log table.

use std::io::Write;

use auditlog_diesel::run_migrations;

use crate::db::Db;
use crate::error::CliError;
use crate::output;
use crate::Outcome;

pub(crate) fn run<C: Db>(conn: &mut C) -> Result<Outcome, CliError> {
    let applied = run_migrations(conn)?;
    let mut out = output::stdout();
    if applied.is_empty() {
        writeln!(out, "the audit log table is up to date")?;
    }
    for version in applied {
        writeln!(out, "applied migration {version}")?;
    }
    out.flush()?;
    Ok(Outcome::Clean)
}
