//! `auditlog`: the command line for investigating and operating an audit log written by
//! `auditlog-diesel`, on SQLite or PostgreSQL.
//!
//! The database is named by `--database-url` or `DATABASE_URL`: a `postgres://` or
//! `postgresql://` URL opens PostgreSQL (use `?options=-csearch_path%3Dmy_schema` to reach a
//! log in another schema); anything else is a SQLite file path, with an optional `sqlite://`
//! prefix. Every command but `migrate` refuses a SQLite file that does not exist rather than
//! creating an empty one.
//!
//! # Commands
//!
//! | command | what it does |
//! |---|---|
//! | `migrate` | applies the log table's migrations |
//! | `history` | entries filtered by object, actor, correlation id, action, event, time; newest first, one page at a time; a table, or JSON Lines with `--json` |
//! | `show ID` | one entry in full, its changes field by field |
//! | `verify` | checks the integrity chain with the key from `AUDITLOG_INTEGRITY_KEY` |
//! | `prune --before DATE` | retention: removes older entries, leaves a sealed checkpoint (`--dry-run` only counts) |
//! | `export --since DATE` | JSON Lines with Elastic Common Schema field names, oldest first, constant memory |
//! | `check` | validates a deployment: table, migrations, indexes, triggers, keys |
//!
//! Dates are RFC 3339 (`2026-12-03T10:15:00Z`), plain dates (`2026-12-03`, midnight UTC) or
//! an age: `30m`, `24h`, `7d`, `2w` before now.
//!
//! Every stored value shown on the terminal is escaped (control characters, terminal escape
//! sequences, bidirectional overrides), so a hostile value can neither forge output lines nor
//! drive the terminal; JSON output escapes the same characters as `\uXXXX`.
//!
//! # Exit status
//!
//! - `0`: success (the chain is intact, the deployment checks out);
//! - `1`: the command ran and found something wrong: `verify` found tampering, `check` found
//!   problems;
//! - `2`: the command could not run: bad usage or input, unreachable database, missing log
//!   table, missing key. The message starts with `error:`.

mod cli;
mod commands;
mod db;
mod ecs;
mod error;
mod expected;
mod output;
mod progress;
mod render;
mod time;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::CliError;

/// What a command concluded, when it ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Nothing wrong.
    Clean,
    /// The command found problems (tampering, a misconfigured deployment).
    Findings,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            // The reader went away (`| head`): not an error of ours.
            ExitCode::SUCCESS
        }
        Err(e) => {
            error::report(&e);
            ExitCode::from(2)
        }
    }
}
