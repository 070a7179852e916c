//! `auditlog check`: validates a deployment, one line per check.

use std::io::Write;

use auditlog_diesel::{escape_text, Keyring, INTEGRITY_KEY_ENV, INTEGRITY_OLD_KEYS_ENV};

use crate::db::{Db, Gate, TriggerState};
use crate::error::{query, CliError};
use crate::expected::{INDEXES, MIGRATIONS};
use crate::output::{self, Out};
use crate::Outcome;

/// The check's lines and its problem count.
struct Report {
    out: Out,
    problems: usize,
}

impl Report {
    fn ok(&mut self, text: &str) -> std::io::Result<()> {
        writeln!(self.out, "ok       {}", escape_text(text))
    }

    fn problem(&mut self, text: &str) -> std::io::Result<()> {
        self.problems += 1;
        writeln!(self.out, "PROBLEM  {}", escape_text(text))
    }
}

pub(crate) fn run<C: Db>(conn: &mut C) -> Result<Outcome, CliError> {
    let mut report = Report {
        out: output::stdout(),
        problems: 0,
    };
    let catalog = query("reading the database catalog");
    let has_table = conn.has_table("audit_log").map_err(catalog)?;
    if has_table {
        report.ok("log table audit_log exists")?;
    } else {
        report.problem("log table audit_log is missing: run `auditlog migrate` (on PostgreSQL, also check the schema search_path)")?;
    }
    let integrity_applied = check_migrations(conn, &mut report, has_table)?;
    if has_table {
        check_indexes(conn, &mut report)?;
    }
    if has_table && integrity_applied {
        check_triggers(conn, &mut report)?;
    }
    let keyring = check_key(&mut report)?;
    if let (true, true, Some(keyring)) = (has_table, integrity_applied, &keyring) {
        check_key_ids(conn, &mut report, keyring)?;
    }

    let Report { mut out, problems } = report;
    match problems {
        0 => writeln!(out, "\nall checks passed")?,
        1 => writeln!(out, "\n1 problem found")?,
        n => writeln!(out, "\n{n} problems found")?,
    }
    out.flush()?;
    Ok(if problems == 0 {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// Every migration of the log table applied; returns whether the integrity migration (the
/// last one, which adds the seal columns, the chain head and the triggers) is.
fn check_migrations<C: Db>(
    conn: &mut C,
    report: &mut Report,
    has_table: bool,
) -> Result<bool, CliError> {
    let catalog = query("reading Diesel's migration table");
    let applied = if conn
        .has_table("__diesel_schema_migrations")
        .map_err(catalog)?
    {
        Some(conn.applied_migrations().map_err(catalog)?)
    } else {
        None
    };
    let Some(applied) = applied else {
        if has_table {
            // Created without Diesel's migration harness: judge by what is there.
            let integrity = conn
                .has_table("audit_log_head")
                .map_err(query("reading the database catalog"))?;
            report.ok("no Diesel migration table: the log table was created by other means; checking what is there")?;
            if !integrity {
                report.problem("table audit_log_head is missing: the integrity migration (20261202000001) was not applied; run `auditlog migrate`")?;
            }
            return Ok(integrity);
        }
        for (version, name) in MIGRATIONS {
            report.problem(&format!(
                "migration {version} ({name}) is pending: run `auditlog migrate`"
            ))?;
        }
        return Ok(false);
    };
    let mut all = true;
    for (version, name) in MIGRATIONS {
        if !applied.iter().any(|a| a == version) {
            all = false;
            report.problem(&format!(
                "migration {version} ({name}) is pending: run `auditlog migrate`"
            ))?;
        }
    }
    if all {
        let versions: Vec<&str> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        report.ok(&format!("migrations applied ({})", versions.join(", ")))?;
    }
    let integrity = MIGRATIONS
        .last()
        .is_some_and(|(v, _)| applied.iter().any(|a| a == v));
    Ok(integrity)
}

fn check_indexes<C: Db>(conn: &mut C, report: &mut Report) -> Result<(), CliError> {
    let present = conn
        .log_indexes()
        .map_err(query("listing the log table's indexes"))?;
    let mut all = true;
    for (name, columns) in INDEXES {
        match present.iter().find(|i| i.name == *name) {
            None => {
                all = false;
                report.problem(&format!(
                    "index {name} on audit_log {columns} is missing: history queries that use it scan the whole table; create it as in auditlog-diesel/migrations"
                ))?;
            }
            Some(index) if !index.valid => {
                all = false;
                report.problem(&format!(
                    "index {name} is invalid (an interrupted concurrent build) and is not used: REINDEX INDEX {name}"
                ))?;
            }
            Some(_) => {}
        }
    }
    if all {
        report.ok(&format!(
            "all {} indexes on audit_log present",
            INDEXES.len()
        ))?;
    }
    Ok(())
}

fn check_triggers<C: Db>(conn: &mut C, report: &mut Report) -> Result<(), CliError> {
    let present = conn
        .log_triggers()
        .map_err(query("listing the log table's triggers"))?;
    let mut all = true;
    for (name, refuses) in C::EXPECTED_TRIGGERS {
        let problem = match present.iter().find(|t| t.name == *name).map(|t| &t.state) {
            None => format!(
                "append-only trigger {name} (refuses {refuses}) is missing: entries can be changed or removed without the database refusing; run the integrity migration's statement again"
            ),
            Some(TriggerState::Disabled) => format!(
                "append-only trigger {name} (refuses {refuses}) is disabled: ALTER TABLE audit_log ENABLE TRIGGER {name}"
            ),
            Some(TriggerState::ReplicaOnly) => format!(
                "append-only trigger {name} (refuses {refuses}) fires only in replica sessions: ALTER TABLE audit_log ENABLE TRIGGER {name}"
            ),
            Some(TriggerState::Enabled) => continue,
        };
        all = false;
        report.problem(&problem)?;
    }
    match conn
        .retention_gate()
        .map_err(query("reading the retention gate"))?
    {
        Gate::Closed => {}
        Gate::Open(how) => {
            all = false;
            report.problem(&format!(
                "the append-only triggers let every DELETE through: {how}"
            ))?;
        }
        Gate::Missing => {
            all = false;
            report.problem("table audit_log_gate is missing: the delete trigger fails every delete, retention included; run the integrity migration's statements again")?;
        }
    }
    if all {
        report.ok(&format!(
            "append-only triggers present and enabled ({})",
            C::EXPECTED_TRIGGERS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
    }
    Ok(())
}

/// The keyring from the environment, reported.
fn check_key(report: &mut Report) -> Result<Option<Keyring>, CliError> {
    match Keyring::from_env() {
        Ok(Some(keyring)) => {
            report.ok(&format!(
                "integrity key `{}` configured ({INTEGRITY_KEY_ENV})",
                keyring.current().id()
            ))?;
            Ok(Some(keyring))
        }
        Ok(None) => {
            report.problem(&format!(
                "no integrity key configured: set {INTEGRITY_KEY_ENV} to the `id:hex` key the application seals entries with (and {INTEGRITY_OLD_KEYS_ENV} to retired keys)"
            ))?;
            Ok(None)
        }
        Err(e) => {
            report.problem(&format!(
                "the integrity key in the environment is invalid: {e}"
            ))?;
            Ok(None)
        }
    }
}

/// `1 entry is`, `7 entries are`.
fn entries_are(count: i64) -> String {
    let verb = if count == 1 { "is" } else { "are" };
    format!("{} {verb}", crate::render::entries(count))
}

/// Every seal in the log, and the chain head's, made with a key the keyring holds.
fn check_key_ids<C: Db>(
    conn: &mut C,
    report: &mut Report,
    keyring: &Keyring,
) -> Result<(), CliError> {
    let mut all = true;
    let sealers = conn
        .seal_key_ids()
        .map_err(query("reading the key ids of the entries"))?;
    for (key_id, count) in sealers {
        match key_id {
            Some(id) if keyring.get(&id).is_none() => {
                all = false;
                report.problem(&format!(
                    "{} sealed with key id `{id}`, which the configured keyring lacks: add that key to {INTEGRITY_OLD_KEYS_ENV}",
                    entries_are(count)
                ))?;
            }
            Some(_) => {}
            None => {
                all = false;
                report.problem(&format!(
                    "{} unsealed: written without an integrity key (configure the application's key); `auditlog verify` reports them",
                    entries_are(count)
                ))?;
            }
        }
    }
    let head = conn.chain_head().map_err(query("reading the chain head"))?;
    match head {
        None => {
            all = false;
            report.problem("the chain head row (audit_log_head, id 1) is missing: `auditlog verify` cannot succeed")?;
        }
        Some(head) => match &head.key_id {
            Some(id) if keyring.get(id).is_none() => {
                all = false;
                report.problem(&format!(
                    "the chain head is sealed with key id `{id}`, which the configured keyring lacks: configure the key the application uses"
                ))?;
            }
            _ if !head.is_authentic(keyring) => {
                all = false;
                report.problem("the chain head's seal does not verify with the configured key: the secret differs from the application's, or the head was modified (run `auditlog verify`)")?;
            }
            _ => {}
        },
    }
    if all {
        report.ok("every entry and the chain head are sealed with a configured key")?;
    }
    Ok(())
}
