//! `auditlog show ID`: one entry in full.

use std::io::Write;

use crate::cli::ShowArgs;
use crate::db::Db;
use crate::error::CliError;
use crate::output::{self, write_json_line};
use crate::render::write_entry;
use crate::Outcome;

pub(crate) fn run<C: Db>(conn: &mut C, args: ShowArgs) -> Result<Outcome, CliError> {
    let entry = super::load_entry(conn, args.id)?.ok_or(CliError::NoSuchEntry(args.id))?;
    let mut out = output::stdout();
    if args.json {
        let value = serde_json::to_value(&entry).unwrap_or_default();
        write_json_line(&mut out, &value)?;
    } else {
        write_entry(&mut out, &entry)?;
    }
    out.flush()?;
    Ok(Outcome::Clean)
}
