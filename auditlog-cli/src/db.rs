//! Opening the database named on the command line, and the few queries this tool needs
//! beyond the library's API: catalog checks, which differ per backend, and small reads of the
//! log table written once for both backends.

use auditlog_diesel::schema::{audit_log, audit_log_head};
use auditlog_diesel::{AuditConnection, ChainHead};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::{PgConnection, SqliteConnection};

use crate::error::CliError;

/// The database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A SQLite file.
    Sqlite(String),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl Target {
    /// `postgres://` and `postgresql://` URLs are PostgreSQL; anything else is a SQLite path,
    /// with or without a `sqlite://` prefix.
    pub(crate) fn parse(url: &str) -> Target {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Target::Postgres(url.to_owned());
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Target::Sqlite(path.to_owned())
    }

    /// The database for messages, without its password.
    pub(crate) fn describe(&self) -> String {
        match self {
            Target::Sqlite(path) => format!("SQLite database `{path}`"),
            Target::Postgres(url) => format!("PostgreSQL database `{}`", redact_password(url)),
        }
    }
}

/// `url` with the password of its user info replaced by `***`.
fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &authority[..colon],
            &url[scheme_end + at..]
        ),
        _ => url.to_owned(),
    }
}

/// Whether an append-only trigger fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TriggerState {
    /// It fires for ordinary sessions.
    Enabled,
    /// `ALTER TABLE ... DISABLE TRIGGER`.
    Disabled,
    /// It fires only in replica sessions, so not for ordinary ones.
    ReplicaOnly,
}

/// One trigger on the log table.
#[derive(Debug, Clone)]
pub(crate) struct Trigger {
    pub(crate) name: String,
    pub(crate) state: TriggerState,
}

/// One index on the log table.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct Index {
    #[diesel(sql_type = Text)]
    pub(crate) name: String,
    /// False for an index left unusable (a failed `CREATE INDEX CONCURRENTLY`).
    #[diesel(sql_type = Bool)]
    pub(crate) valid: bool,
}

/// Whether retention's gate in the append-only triggers is open outside retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Closed: only the library's retention opens it, inside its own transaction.
    Closed,
    /// Open for every session: deletes are not refused. Says how.
    Open(String),
    /// Its table is missing (SQLite).
    Missing,
}

/// What `prune` would remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrunePreview {
    pub(crate) from_id: i64,
    pub(crate) through_id: i64,
    pub(crate) entries: i64,
    pub(crate) last_pruned_hash: Option<String>,
}

/// A database this tool works on: the library's connection plus this tool's own queries.
pub(crate) trait Db: AuditConnection {
    /// The append-only triggers this backend's migrations create.
    const EXPECTED_TRIGGERS: &'static [(&'static str, &'static str)];

    /// Opens `target`, which `Target::parse` gave for this backend; with `create`, a missing
    /// SQLite file is created.
    fn open(target: &Target, create: bool) -> Result<Self, CliError>;

    /// Whether a table (or view) of this name is visible (on PostgreSQL, through the search
    /// path).
    fn has_table(&mut self, name: &str) -> QueryResult<bool>;

    /// The versions recorded in Diesel's migration table (which must exist).
    fn applied_migrations(&mut self) -> QueryResult<Vec<String>>;

    /// The indexes on `audit_log`.
    fn log_indexes(&mut self) -> QueryResult<Vec<Index>>;

    /// The triggers on `audit_log`.
    fn log_triggers(&mut self) -> QueryResult<Vec<Trigger>>;

    /// The state of retention's gate.
    fn retention_gate(&mut self) -> QueryResult<Gate>;

    /// The number of entries.
    fn count_entries(&mut self) -> QueryResult<i64>;

    /// The object types the log holds, sorted (events without an object are left out).
    fn object_types(&mut self) -> QueryResult<Vec<String>>;

    /// The lowest and highest id logged in `[since, until)`.
    fn id_range(
        &mut self,
        since: NaiveDateTime,
        until: NaiveDateTime,
    ) -> QueryResult<Option<(i64, i64)>>;

    /// The chain head, if its row exists.
    fn chain_head(&mut self) -> QueryResult<Option<ChainHead>>;

    /// How many entries each key id sealed (`None`: unsealed entries).
    fn seal_key_ids(&mut self) -> QueryResult<Vec<(Option<String>, i64)>>;

    /// What retention with this cut-off would remove, computed as the library's `prune` does.
    fn prune_preview(&mut self, before: NaiveDateTime) -> QueryResult<Option<PrunePreview>>;
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct RawTrigger {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    enabled: String,
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
}

/// The reads of the log table, the same Diesel statements on every backend.
macro_rules! log_queries {
    () => {
        fn count_entries(&mut self) -> QueryResult<i64> {
            audit_log::table.count().get_result(self)
        }

        fn object_types(&mut self) -> QueryResult<Vec<String>> {
            audit_log::table
                .select(audit_log::object_type)
                .filter(audit_log::object_type.ne(""))
                .distinct()
                .order(audit_log::object_type)
                .load(self)
        }

        fn id_range(
            &mut self,
            since: NaiveDateTime,
            until: NaiveDateTime,
        ) -> QueryResult<Option<(i64, i64)>> {
            let (low, high): (Option<i64>, Option<i64>) = audit_log::table
                .select((
                    diesel::dsl::min(audit_log::id),
                    diesel::dsl::max(audit_log::id),
                ))
                .filter(audit_log::logged_at.ge(since))
                .filter(audit_log::logged_at.lt(until))
                .get_result(self)?;
            Ok(low.zip(high))
        }

        fn chain_head(&mut self) -> QueryResult<Option<ChainHead>> {
            audit_log_head::table
                .find(1i16)
                .select((
                    audit_log_head::last_id,
                    audit_log_head::last_hash,
                    audit_log_head::key_id,
                    audit_log_head::head_mac,
                ))
                .first::<(i64, String, Option<String>, Option<String>)>(self)
                .optional()
                .map(|row| {
                    row.map(|(l, h, k, m)| ChainHead {
                        last_id: l,
                        last_hash: h,
                        key_id: k,
                        head_mac: m,
                    })
                })
        }

        fn seal_key_ids(&mut self) -> QueryResult<Vec<(Option<String>, i64)>> {
            audit_log::table
                .group_by(audit_log::key_id)
                .select((audit_log::key_id, diesel::dsl::count_star()))
                .order(audit_log::key_id)
                .load(self)
        }

        fn prune_preview(&mut self, before: NaiveDateTime) -> QueryResult<Option<PrunePreview>> {
            let Some(head) = self.chain_head()? else {
                return Ok(None);
            };
            let first_recent: Option<i64> = audit_log::table
                .select(diesel::dsl::min(audit_log::id))
                .filter(audit_log::logged_at.ge(before))
                .get_result(self)?;
            let through = match first_recent {
                Some(id) => (id - 1).min(head.last_id),
                None => head.last_id,
            };
            let first: Option<i64> = audit_log::table
                .select(diesel::dsl::min(audit_log::id))
                .get_result(self)?;
            let Some(from_id) = first.filter(|f| *f <= through) else {
                return Ok(None);
            };
            let entries = audit_log::table
                .filter(audit_log::id.le(through))
                .count()
                .get_result(self)?;
            let last_pruned_hash = audit_log::table
                .find(through)
                .select(audit_log::entry_hash)
                .first::<Option<String>>(self)
                .optional()?
                .flatten();
            Ok(Some(PrunePreview {
                from_id,
                through_id: through,
                entries,
                last_pruned_hash,
            }))
        }
    };
}

impl Db for SqliteConnection {
    const EXPECTED_TRIGGERS: &'static [(&'static str, &'static str)] =
        crate::expected::SQLITE_TRIGGERS;

    fn open(target: &Target, create: bool) -> Result<Self, CliError> {
        let Target::Sqlite(path) = target else {
            return Err(CliError::NoDatabase);
        };
        if !create && path != ":memory:" && !std::path::Path::new(path).exists() {
            return Err(CliError::NoSuchFile { path: path.clone() });
        }
        let connect = |reason: String| CliError::Connect {
            target: target.describe(),
            reason,
        };
        let mut conn = SqliteConnection::establish(path).map_err(|e| connect(e.to_string()))?;
        // Wait for the application's writers instead of failing with SQLITE_BUSY at once; the
        // first real statement also tells a file that is not a database.
        diesel::sql_query("PRAGMA busy_timeout = 5000")
            .execute(&mut conn)
            .map_err(|e| connect(e.to_string()))?;
        diesel::sql_query("SELECT COUNT(*) AS n FROM sqlite_master")
            .get_result::<Count>(&mut conn)
            .map_err(|e| connect(e.to_string()))?;
        Ok(conn)
    }

    fn has_table(&mut self, name: &str) -> QueryResult<bool> {
        diesel::sql_query(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?",
        )
        .bind::<Text, _>(name)
        .get_result::<Count>(self)
        .map(|c| c.n > 0)
    }

    fn applied_migrations(&mut self) -> QueryResult<Vec<String>> {
        diesel::sql_query("SELECT version AS name FROM __diesel_schema_migrations")
            .load::<Name>(self)
            .map(|rows| rows.into_iter().map(|r| r.name).collect())
    }

    fn log_indexes(&mut self) -> QueryResult<Vec<Index>> {
        diesel::sql_query(
            "SELECT name, 1 AS valid FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = 'audit_log'",
        )
        .load(self)
    }

    fn log_triggers(&mut self) -> QueryResult<Vec<Trigger>> {
        // SQLite has no way to disable a trigger short of dropping it.
        diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'",
        )
        .load::<Name>(self)
        .map(|rows| {
            rows.into_iter()
                .map(|r| Trigger {
                    name: r.name,
                    state: TriggerState::Enabled,
                })
                .collect()
        })
    }

    fn retention_gate(&mut self) -> QueryResult<Gate> {
        if !self.has_table("audit_log_gate")? {
            return Ok(Gate::Missing);
        }
        let open = diesel::sql_query(
            "SELECT CAST(open AS TEXT) AS value FROM audit_log_gate WHERE id = 1",
        )
        .get_result::<Setting>(self)
        .optional()?
        .and_then(|s| s.value);
        Ok(match open.as_deref() {
            Some("1") => Gate::Open("audit_log_gate.open is 1 outside a retention run".into()),
            _ => Gate::Closed,
        })
    }

    log_queries!();
}

impl Db for PgConnection {
    const EXPECTED_TRIGGERS: &'static [(&'static str, &'static str)] =
        crate::expected::POSTGRES_TRIGGERS;

    fn open(target: &Target, _create: bool) -> Result<Self, CliError> {
        let Target::Postgres(url) = target else {
            return Err(CliError::NoDatabase);
        };
        PgConnection::establish(url).map_err(|e| CliError::Connect {
            target: target.describe(),
            // libpq's messages span lines; one line reads better after `error:`.
            reason: e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })
    }

    fn has_table(&mut self, name: &str) -> QueryResult<bool> {
        diesel::sql_query("SELECT COUNT(to_regclass($1)) AS n")
            .bind::<Text, _>(name)
            .get_result::<Count>(self)
            .map(|c| c.n > 0)
    }

    fn applied_migrations(&mut self) -> QueryResult<Vec<String>> {
        diesel::sql_query("SELECT version::text AS name FROM __diesel_schema_migrations")
            .load::<Name>(self)
            .map(|rows| rows.into_iter().map(|r| r.name).collect())
    }

    fn log_indexes(&mut self) -> QueryResult<Vec<Index>> {
        diesel::sql_query(
            "SELECT c.relname::text AS name, i.indisvalid AS valid \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = to_regclass('audit_log')",
        )
        .load(self)
    }

    fn log_triggers(&mut self) -> QueryResult<Vec<Trigger>> {
        diesel::sql_query(
            "SELECT tgname::text AS name, tgenabled::text AS enabled FROM pg_trigger \
             WHERE tgrelid = to_regclass('audit_log') AND NOT tgisinternal",
        )
        .load::<RawTrigger>(self)
        .map(|rows| {
            rows.into_iter()
                .map(|r| Trigger {
                    // 'O' fires in ordinary sessions, 'A' always, 'R' in replicas only.
                    state: match r.enabled.as_str() {
                        "D" => TriggerState::Disabled,
                        "R" => TriggerState::ReplicaOnly,
                        _ => TriggerState::Enabled,
                    },
                    name: r.name,
                })
                .collect()
        })
    }

    fn retention_gate(&mut self) -> QueryResult<Gate> {
        // Retention sets `auditlog.retention` for its own transaction only; a default set on
        // the database or the role opens the gate for every session.
        let value =
            diesel::sql_query("SELECT current_setting('auditlog.retention', true) AS value")
                .get_result::<Setting>(self)?
                .value;
        Ok(match value.as_deref() {
            Some("on") => Gate::Open(
                "the setting auditlog.retention is `on` for every session (ALTER DATABASE or ALTER ROLE ... SET); reset it".into(),
            ),
            _ => Gate::Closed,
        })
    }

    log_queries!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert!(matches!(
            Target::parse("postgres://u@h/db"),
            Target::Postgres(_)
        ));
        assert!(matches!(
            Target::parse("postgresql://h/db"),
            Target::Postgres(_)
        ));
        assert_eq!(
            Target::parse("sqlite:///tmp/a.db"),
            Target::Sqlite("/tmp/a.db".into())
        );
        assert_eq!(Target::parse("audit.db"), Target::Sqlite("audit.db".into()));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_password("postgres://alice:s3cr3t@db:5432/app?sslmode=require"),
            "postgres://alice:***@db:5432/app?sslmode=require"
        );
        assert_eq!(
            redact_password("postgres://alice@db/app"),
            "postgres://alice@db/app"
        );
        assert_eq!(
            redact_password("postgres://db/app?options=a:b@c"),
            "postgres://db/app?options=a:b@c"
        );
    }
}
