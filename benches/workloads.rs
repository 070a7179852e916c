//! What auditing costs: the workloads of issue 7, each run with plain Diesel and through the
//! audited connection on fresh, identical data, on SQLite and on PostgreSQL.
//!
//! ```text
//! cargo bench --bench workloads                                  # SQLite
//! AUDITLOG_BENCH_PG_URL=postgres://user:pw@localhost/db cargo bench --bench workloads
//! AUDITLOG_BENCH_QUICK=1 cargo bench --bench workloads           # every size / 100 (CI)
//! AUDITLOG_BENCH_ONLY=3,6 cargo bench --bench workloads          # a subset of the workloads
//! AUDITLOG_BENCH_PROFILE=1 cargo bench --bench workloads         # where the audited time goes
//! AUDITLOG_BENCH_KEEP=1 cargo bench --bench workloads            # keep the last database
//! ```
//!
//! The workloads, on a `contracts` table (client id, title, status, price, masked notes) of
//! 5,000 rows unless stated:
//!
//! 1. create 5,000 rows one by one, inside one transaction;
//! 2. update 5,000 rows one by one (two fields each), inside one transaction;
//! 3. bulk update of 100,000 rows with one filtered update, and its floor: the plain update
//!    plus the database inserting the same entries itself (`INSERT ... SELECT`), which no
//!    log of one indexed row per changed row can beat;
//! 4. many-to-many: link 3 tiers to each of 1,000 contracts (`link_many`);
//! 5. delete 5,000 rows in one bulk delete;
//! 6. history: the first page (20 entries) of one object's history, median and 95th
//!    percentile of 100 lookups, with 100,000 and with 1,000,000 entries in the log, for an
//!    object whose entries are the oldest in the log;
//! 7. verification of the hash chain of the same log, at both sizes;
//! 8. peak resident set of a child process running an audited bulk update (`execute()`) of
//!    100,000 and of 1,000,000 rows (Linux: `VmHWM` of `/proc/self/status`).
//!
//! Audited runs use the production configuration: a masking key, an integrity keyring (every
//! entry sealed) and a full request context. Workloads 1 and 2 are also run without the
//! keyring, to show the hash chain's share. Every log the benchmark fills (workloads 6 and 7
//! included) is written through the library; the rows the workloads start from are loaded
//! with one unaudited `INSERT ... SELECT`.
//!
//! SQLite runs on a file in the temporary directory with default journal settings, recreated
//! for every measurement. PostgreSQL runs, when `AUDITLOG_BENCH_PG_URL` is set, in a schema of
//! its own (`bench_workloads_<pid>`), recreated for every measurement and dropped at the end.
//!
//! Prints one table of figures, targets and verdicts, then, last, one line of JSON with every
//! figure. Run without `--bench` (as a test: `cargo test --benches`) it runs in the quick
//! mode. A verdict shows the measured value as a multiple of the target's limit; "not
//! growing with the log size" is read as at most 1.5 times the figure at the smaller size,
//! "independent of the row count" as at most 1.25 times. The figures of workloads 1 to 5 are
//! the median of three runs each (one in the quick mode); the others come from one run, so
//! compare figures taken on a quiet machine. The exit status is 2 when a workload fails (a
//! database error, or a result that does not check out), whatever the verdicts.

// `diesel::table!` generates undocumented public items.
#![allow(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auditlog_diesel::{
    many_to_many, run_migrations, AuditConnection, AuditContext, Auditable, AuditedConnection,
    IntegrityKey, Keyring, MaskingKey,
};
use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;

diesel::table! {
    contracts (id) {
        id -> Integer,
        client_id -> Integer,
        title -> Text,
        status -> Text,
        price_cents -> BigInt,
        notes -> Nullable<Text>,
    }
}

diesel::table! {
    service_tiers (id) {
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    contract_tiers (contract_id, tier_id) {
        contract_id -> Integer,
        tier_id -> Integer,
    }
}

/// The audited model: notes are masked (people paste card numbers into them).
#[derive(Debug, Clone, Queryable, Auditable)]
#[diesel(table_name = contracts)]
struct Contract {
    id: i32,
    client_id: i32,
    title: String,
    status: String,
    price_cents: i64,
    #[audit(mask)]
    notes: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = contracts, treat_none_as_default_value = false)]
struct NewContract {
    client_id: i32,
    title: String,
    status: String,
    price_cents: i64,
    notes: Option<String>,
}

/// A service tier a contract can include.
#[derive(Debug, Clone, Queryable, Auditable)]
#[diesel(table_name = service_tiers)]
struct ServiceTier {
    id: i32,
    name: String,
}

many_to_many! {
    /// The service tiers a contract includes; changes are recorded on the contract.
    struct ContractTiers {
        relation: "service_tiers",
        join: contract_tiers,
        parent: Contract { id } => contract_id: i32,
        child: ServiceTier => tier_id: i32,
    }
}

type Res<T> = Result<T, Box<dyn Error>>;

// Sizes at full scale; the quick mode divides each by `QUICK_DIVISOR`.
const ROWS: usize = 5_000;
const BULK_ROWS: usize = 100_000;
const LINK_PARENTS: usize = 1_000;
const TIERS_PER_CONTRACT: usize = 3;
const LOG_SMALL: usize = 100_000;
const LOG_LARGE: usize = 1_000_000;
const MEMORY_SMALL: usize = 100_000;
const MEMORY_LARGE: usize = 1_000_000;
/// Contracts the history log is filled with (one bulk update of them adds this many entries).
const FILL_CONTRACTS: usize = 10_000;
const QUICK_DIVISOR: usize = 100;
/// Runs of each plain and audited variant of workloads 1 to 5 at full scale.
const RUNS_PER_FIGURE: usize = 3;

// Not scaled.
const LOOKUPS: usize = 100;
const WARM_UP_LOOKUPS: usize = 3;
const PAGE: usize = 20;
/// Updates of the looked-up contract, written before anything else: with its create entry,
/// its 31 entries are the oldest in the log.
const TARGET_UPDATES: usize = 30;
/// Rows per audited multi-row insert while filling (under SQLite's bind-parameter limit).
const INSERT_BATCH: usize = 1_000;

const MIB: f64 = 1024.0 * 1024.0;
const MEMORY_PROBE_ARG: &str = "--memory-probe";
const PG_URL_ENV: &str = "AUDITLOG_BENCH_PG_URL";

fn fail(message: &str) -> ! {
    eprintln!("workloads: {message}");
    std::process::exit(2)
}

/// What to run, from the environment.
#[derive(Debug)]
struct Config {
    quick: bool,
    profile: bool,
    keep: bool,
    only: BTreeSet<u8>,
    pg_url: Option<String>,
}

impl Config {
    /// The configuration from the environment; `benchmarking` is false when the program runs
    /// without `cargo bench`'s `--bench` flag (as a test, `cargo test --benches`), which
    /// selects the quick mode so that the test suite stays quick.
    fn from_env(benchmarking: bool) -> Res<Config> {
        let flag = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0");
        let mut only = BTreeSet::new();
        if let Ok(list) = std::env::var("AUDITLOG_BENCH_ONLY") {
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match item.parse::<u8>() {
                    Ok(n @ 1..=8) => only.insert(n),
                    _ => {
                        return Err(format!(
                            "AUDITLOG_BENCH_ONLY: `{item}` is not a workload (1 to 8)"
                        )
                        .into())
                    }
                };
            }
        }
        Ok(Config {
            quick: flag("AUDITLOG_BENCH_QUICK") || !benchmarking,
            profile: flag("AUDITLOG_BENCH_PROFILE"),
            keep: flag("AUDITLOG_BENCH_KEEP"),
            only,
            pg_url: std::env::var(PG_URL_ENV).ok().filter(|u| !u.is_empty()),
        })
    }

    /// A full-scale size, divided in quick mode.
    fn size(&self, full: usize) -> usize {
        if self.quick {
            (full / QUICK_DIVISOR).max(1)
        } else {
            full
        }
    }

    /// Runs behind each figure of workloads 1 to 5 (the median is reported): one run of a
    /// few milliseconds can catch a checkpoint or an autovacuum pass.
    fn runs_per_figure(&self) -> usize {
        if self.quick {
            1
        } else {
            RUNS_PER_FIGURE
        }
    }

    fn runs(&self, workload: u8) -> bool {
        self.only.is_empty() || self.only.contains(&workload)
    }
}

/// Where one backend's databases live: a SQLite file, or a PostgreSQL schema.
#[derive(Debug, Clone)]
struct Site {
    file: PathBuf,
    url: Option<String>,
    schema: String,
}

impl Site {
    fn new(url: Option<String>) -> Site {
        let pid = std::process::id();
        Site {
            file: std::env::temp_dir().join(format!("auditlog-bench-workloads-{pid}.db")),
            url,
            schema: format!("bench_workloads_{pid}"),
        }
    }
}

/// The application's tables besides `contracts`: the service tiers and the join table.
const APP_TABLES: &str = "
    CREATE TABLE service_tiers (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);
    CREATE TABLE contract_tiers (
        contract_id INTEGER NOT NULL,
        tier_id INTEGER NOT NULL,
        PRIMARY KEY (contract_id, tier_id)
    );
    INSERT INTO service_tiers (id, name)
    VALUES (1, 'Basic support'), (2, 'Premium support'), (3, 'Daily backup'), (4, 'Geo-redundancy');
";

/// `n` contracts, ids 1 to `n`, as [`new_contract`] describes them (bulk setup, not audited).
fn seed_sql(n: usize) -> String {
    format!(
        "WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < {n})
         INSERT INTO contracts (client_id, title, status, price_cents, notes)
         SELECT g % 500 + 1, 'Managed hosting, site ' || g, 'active', 10000 + g,
                CASE WHEN g % 3 = 0 THEN 'card on file, call the client before renewal' END
         FROM seq"
    )
}

/// The `i`th contract, as [`seed_sql`] writes it.
fn new_contract(i: usize) -> NewContract {
    NewContract {
        client_id: i32::try_from(i % 500 + 1).unwrap_or(1),
        title: format!("Managed hosting, site {i}"),
        status: "active".into(),
        price_cents: 10_000 + i64::try_from(i).unwrap_or(0),
        notes: i
            .is_multiple_of(3)
            .then(|| "card on file, call the client before renewal".into()),
    }
}

/// A database per backend: a fresh one per measurement, with the application's tables and
/// the log table.
trait BenchDb: Statements {
    /// The backend's name in the report.
    const NAME: &'static str;
    /// The backend's key in the JSON line and on the memory probe's command line.
    const KEY: &'static str;
    /// `CREATE TABLE contracts` with the backend's auto-increment key.
    const CONTRACTS_TABLE: &'static str;
    /// What a bulk load is followed by (statistics, as autovacuum would gather).
    const AFTER_LOAD: &'static str;

    /// Drops what a previous measurement left and opens an empty database.
    fn open_empty(site: &Site) -> Res<Self>;
    /// Opens the database [`BenchDb::fresh`] created (the memory probe's child process).
    fn reopen(site: &Site) -> Res<Self>;
    /// Removes the database.
    fn remove(site: &Site) -> Res<()>;
    /// Where the child process finds the database.
    fn location(site: &Site) -> String;

    /// An empty database with the application's tables and the log table.
    fn fresh(site: &Site) -> Res<Self> {
        let mut conn = Self::open_empty(site)?;
        conn.batch_execute(&format!("{}; {APP_TABLES}", Self::CONTRACTS_TABLE))?;
        run_migrations(&mut conn)?;
        Ok(conn)
    }

    /// A fresh database holding `rows` contracts.
    fn seeded(site: &Site, rows: usize) -> Res<Self> {
        let mut conn = Self::fresh(site)?;
        if rows > 0 {
            conn.batch_execute(&seed_sql(rows))?;
            conn.batch_execute(Self::AFTER_LOAD)?;
        }
        Ok(conn)
    }
}

impl BenchDb for SqliteConnection {
    const NAME: &'static str = "SQLite";
    const KEY: &'static str = "sqlite";
    const CONTRACTS_TABLE: &'static str =
        "CREATE TABLE contracts (id INTEGER PRIMARY KEY NOT NULL, \
         client_id INTEGER NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL, \
         price_cents BIGINT NOT NULL, notes TEXT)";
    const AFTER_LOAD: &'static str = "";

    fn open_empty(site: &Site) -> Res<Self> {
        Self::remove(site)?;
        Self::reopen(site)
    }

    fn reopen(site: &Site) -> Res<Self> {
        let path = site
            .file
            .to_str()
            .ok_or("the temporary directory's path is not UTF-8")?;
        Ok(SqliteConnection::establish(path)?)
    }

    fn remove(site: &Site) -> Res<()> {
        let journal = PathBuf::from(format!("{}-journal", site.file.display()));
        for file in [&site.file, &journal] {
            match std::fs::remove_file(file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    fn location(site: &Site) -> String {
        site.file.display().to_string()
    }
}

impl BenchDb for PgConnection {
    const NAME: &'static str = "PostgreSQL";
    const KEY: &'static str = "postgres";
    const CONTRACTS_TABLE: &'static str = "CREATE TABLE contracts (id SERIAL PRIMARY KEY, \
         client_id INTEGER NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL, \
         price_cents BIGINT NOT NULL, notes TEXT)";
    const AFTER_LOAD: &'static str = "VACUUM ANALYZE contracts";

    fn open_empty(site: &Site) -> Res<Self> {
        let mut conn = pg_connect(site)?;
        let schema = &site.schema;
        conn.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; \
             SET search_path TO {schema}"
        ))?;
        Ok(conn)
    }

    fn reopen(site: &Site) -> Res<Self> {
        let mut conn = pg_connect(site)?;
        conn.batch_execute(&format!("SET search_path TO {}", site.schema))?;
        Ok(conn)
    }

    fn remove(site: &Site) -> Res<()> {
        let mut conn = pg_connect(site)?;
        conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", site.schema))?;
        Ok(())
    }

    fn location(site: &Site) -> String {
        site.schema.clone()
    }
}

fn pg_connect(site: &Site) -> Res<PgConnection> {
    let url = site
        .url
        .as_deref()
        .ok_or("PostgreSQL needs AUDITLOG_BENCH_PG_URL")?;
    let mut conn = PgConnection::establish(url)?;
    conn.batch_execute("SET client_min_messages TO warning")?;
    Ok(conn)
}

/// The workloads' Diesel statements, plain and audited. Diesel types every statement for its
/// backend, so they are written once, in `impl_statements!`, and compiled per connection type.
trait Statements: AuditConnection {
    /// Inserts `rows` one statement each (returning the row), in one transaction.
    fn create_each(&mut self, rows: &[NewContract]) -> Res<usize>;
    /// [`Statements::create_each`], audited, in one `AuditedConnection::transaction`.
    fn audited_create_each(
        db: &mut AuditedConnection<'_, Self>,
        rows: &[NewContract],
    ) -> Res<usize>;
    /// Updates price and status of each contract in `ids`, one statement each, in one
    /// transaction.
    fn update_each(&mut self, ids: &[i32]) -> Res<usize>;
    /// [`Statements::update_each`], audited.
    fn audited_update_each(db: &mut AuditedConnection<'_, Self>, ids: &[i32]) -> Res<usize>;
    /// Raises the price of every active contract by 4%, in one statement.
    fn bulk_update(&mut self) -> Res<usize>;
    /// [`Statements::bulk_update`], audited.
    fn audited_bulk_update(db: &mut AuditedConnection<'_, Self>) -> Res<usize>;
    /// Inserts the join rows `(contract, tier)` in one multi-row statement.
    fn link(&mut self, links: &[(i32, i32)]) -> Res<usize>;
    /// Links every contract of `parents` to every tier of `tiers` with one `link_many`.
    fn audited_link(
        db: &mut AuditedConnection<'_, Self>,
        parents: &[Contract],
        tiers: &[i32],
    ) -> Res<usize>;
    /// Deletes every active contract, in one statement.
    fn bulk_delete(&mut self) -> Res<usize>;
    /// [`Statements::bulk_delete`], audited.
    fn audited_bulk_delete(db: &mut AuditedConnection<'_, Self>) -> Res<usize>;
    /// Inserts `rows` in one audited multi-row insert.
    fn audited_insert(db: &mut AuditedConnection<'_, Self>, rows: &[NewContract]) -> Res<usize>;
    /// Raises by one cent the price of the contracts with ids in `ids`, audited.
    fn audited_bump(db: &mut AuditedConnection<'_, Self>, ids: RangeInclusive<i32>) -> Res<usize>;
    /// The first `n` contracts by id.
    fn contracts(&mut self, n: usize) -> Res<Vec<Contract>>;
    /// The service tiers.
    fn tiers(&mut self) -> Res<Vec<ServiceTier>>;
    /// The number of entries in the log.
    fn log_entries(&mut self) -> Res<usize>;
    /// The database's version.
    fn version(&mut self) -> Res<String>;
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

macro_rules! impl_statements {
    ($conn:ty, $version_sql:literal) => {
        impl Statements for $conn {
            fn create_each(&mut self, rows: &[NewContract]) -> Res<usize> {
                self.transaction(|c| {
                    for row in rows {
                        let _: Contract = diesel::insert_into(contracts::table)
                            .values(row)
                            .get_result(c)?;
                    }
                    Ok(rows.len())
                })
            }

            fn audited_create_each(
                db: &mut AuditedConnection<'_, Self>,
                rows: &[NewContract],
            ) -> Res<usize> {
                db.transaction(|tx| {
                    for row in rows {
                        let _: Contract =
                            tx.insert_into(contracts::table).values(row).get_result()?;
                    }
                    Ok(rows.len())
                })
            }

            fn update_each(&mut self, ids: &[i32]) -> Res<usize> {
                self.transaction(|c| {
                    let mut updated = 0;
                    for &id in ids {
                        updated += diesel::update(contracts::table.find(id))
                            .set((
                                contracts::price_cents.eq(20_000 + i64::from(id)),
                                contracts::status.eq("renewed"),
                            ))
                            .execute(c)?;
                    }
                    Ok(updated)
                })
            }

            fn audited_update_each(
                db: &mut AuditedConnection<'_, Self>,
                ids: &[i32],
            ) -> Res<usize> {
                db.transaction(|tx| {
                    let mut updated = 0;
                    for &id in ids {
                        updated += tx
                            .update(contracts::table.find(id))
                            .set((
                                contracts::price_cents.eq(20_000 + i64::from(id)),
                                contracts::status.eq("renewed"),
                            ))
                            .execute()?;
                    }
                    Ok(updated)
                })
            }

            fn bulk_update(&mut self) -> Res<usize> {
                Ok(
                    diesel::update(contracts::table.filter(contracts::status.eq("active")))
                        .set(contracts::price_cents.eq(contracts::price_cents * 104 / 100))
                        .execute(self)?,
                )
            }

            fn audited_bulk_update(db: &mut AuditedConnection<'_, Self>) -> Res<usize> {
                Ok(db
                    .update(contracts::table.filter(contracts::status.eq("active")))
                    .set(contracts::price_cents.eq(contracts::price_cents * 104 / 100))
                    .execute()?)
            }

            fn link(&mut self, links: &[(i32, i32)]) -> Res<usize> {
                let rows: Vec<_> = links
                    .iter()
                    .map(|&(contract, tier)| {
                        (
                            contract_tiers::contract_id.eq(contract),
                            contract_tiers::tier_id.eq(tier),
                        )
                    })
                    .collect();
                Ok(diesel::insert_into(contract_tiers::table)
                    .values(rows)
                    .execute(self)?)
            }

            fn audited_link(
                db: &mut AuditedConnection<'_, Self>,
                parents: &[Contract],
                tiers: &[i32],
            ) -> Res<usize> {
                let links = parents
                    .iter()
                    .flat_map(|parent| tiers.iter().map(move |&tier| (parent, tier)));
                let added = db.link_many(ContractTiers, links)?;
                Ok(added.iter().map(|(_, keys)| keys.len()).sum())
            }

            fn bulk_delete(&mut self) -> Res<usize> {
                Ok(
                    diesel::delete(contracts::table.filter(contracts::status.eq("active")))
                        .execute(self)?,
                )
            }

            fn audited_bulk_delete(db: &mut AuditedConnection<'_, Self>) -> Res<usize> {
                Ok(db
                    .delete(contracts::table.filter(contracts::status.eq("active")))
                    .execute()?)
            }

            fn audited_insert(
                db: &mut AuditedConnection<'_, Self>,
                rows: &[NewContract],
            ) -> Res<usize> {
                Ok(db.insert_into(contracts::table).values(rows).execute()?)
            }

            fn audited_bump(
                db: &mut AuditedConnection<'_, Self>,
                ids: RangeInclusive<i32>,
            ) -> Res<usize> {
                Ok(db
                    .update(
                        contracts::table.filter(contracts::id.between(*ids.start(), *ids.end())),
                    )
                    .set(contracts::price_cents.eq(contracts::price_cents + 1))
                    .execute()?)
            }

            fn contracts(&mut self, n: usize) -> Res<Vec<Contract>> {
                Ok(contracts::table
                    .order(contracts::id)
                    .limit(i64::try_from(n)?)
                    .load(self)?)
            }

            fn tiers(&mut self) -> Res<Vec<ServiceTier>> {
                Ok(service_tiers::table.order(service_tiers::id).load(self)?)
            }

            fn log_entries(&mut self) -> Res<usize> {
                use auditlog_diesel::schema::audit_log;
                let n: i64 = audit_log::table.count().get_result(self)?;
                Ok(usize::try_from(n)?)
            }

            fn version(&mut self) -> Res<String> {
                Ok(diesel::sql_query($version_sql)
                    .get_result::<Version>(self)?
                    .version)
            }
        }
    };
}

impl_statements!(SqliteConnection, "SELECT sqlite_version() AS version");
impl_statements!(
    PgConnection,
    "SELECT current_setting('server_version') AS version"
);

/// The audited connection in the production configuration: masked values fingerprinted,
/// entries sealed (unless `sealed` is false), a full request context.
fn audited<C: AuditConnection>(conn: &mut C, sealed: bool) -> Res<AuditedConnection<'_, C>> {
    let mut db = AuditedConnection::wrap(conn)
        .with_masking_key(MaskingKey::new(*b"benchmark masking key, no secret")?);
    if sealed {
        db = db.with_integrity(keyring()?);
    }
    db.set_context(
        AuditContext::new()
            .actor("u-1001")
            .actor_display("alice.martin@acme-contracts.example")
            .remote_addr(SocketAddr::from(([203, 0, 113, 7], 51234)))
            .user_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Firefox/132.0")
            .session_id("sess-7f3a91")
            .correlation_id("req-bench-0001"),
    );
    Ok(db)
}

fn keyring() -> Res<Keyring> {
    Ok(Keyring::new(IntegrityKey::new("bench-2026", [42u8; 32])?))
}

fn timed<T>(f: impl FnOnce() -> Res<T>) -> Res<(T, Duration)> {
    let start = Instant::now();
    let value = f()?;
    Ok((value, start.elapsed()))
}

/// One plain-against-audited workload: the rows it starts from, what is prepared untimed, and
/// the two timed variants, which return the rows they changed.
struct Workload<'a, C, P> {
    seed_rows: usize,
    /// Entries the audited variant must write.
    entries: usize,
    prepare: &'a dyn Fn(&mut C) -> Res<P>,
    plain: &'a dyn Fn(&mut C, &P) -> Res<usize>,
    audited: &'a dyn Fn(&mut AuditedConnection<'_, C>, &P) -> Res<usize>,
}

/// The figures of one [`Workload`].
#[derive(Debug)]
struct Comparison {
    rows: usize,
    plain: Duration,
    audited: Duration,
    unsealed: Option<Duration>,
    profile: Option<(Duration, Profile)>,
}

/// Runs the plain variant, the audited one (and the audited one without sealing, if asked),
/// each [`Config::runs_per_figure`] times on a fresh database seeded identically, and keeps
/// the median of each; then, when profiling, the audited one again
/// with Diesel's instrumentation.
fn compare<C: BenchDb, P>(
    cfg: &Config,
    site: &Site,
    w: &Workload<'_, C, P>,
    with_unsealed: bool,
) -> Res<Comparison> {
    let plain_run = || -> Res<(usize, Duration)> {
        let mut conn = C::seeded(site, w.seed_rows)?;
        let prepared = (w.prepare)(&mut conn)?;
        timed(|| (w.plain)(&mut conn, &prepared))
    };
    let (rows, first_plain) = plain_run()?;
    let mut plains = vec![first_plain];
    for _ in 1..cfg.runs_per_figure() {
        plains.push(plain_run()?.1);
    }
    let plain = median(plains);

    let audited_run = |sealed: bool, profiled: bool| -> Res<(Duration, Option<Profile>)> {
        let mut conn = C::seeded(site, w.seed_rows)?;
        let prepared = (w.prepare)(&mut conn)?;
        let profile = profiled.then(|| instrument(&mut conn));
        let mut db = audited(&mut conn, sealed)?;
        let (audited_rows, elapsed) = timed(|| (w.audited)(&mut db, &prepared))?;
        let profile = profile.as_ref().and_then(collected);
        let entries = C::log_entries(db.unaudited())?;
        if audited_rows != rows || entries != w.entries {
            return Err(format!(
                "the audited run changed {audited_rows} rows and wrote {entries} entries; \
                 expected {rows} rows and {} entries",
                w.entries
            )
            .into());
        }
        Ok((elapsed, profile))
    };
    let median_of_runs = |sealed: bool| -> Res<Duration> {
        let times = (0..cfg.runs_per_figure())
            .map(|_| audited_run(sealed, false).map(|(elapsed, _)| elapsed))
            .collect::<Res<Vec<_>>>()?;
        Ok(median(times))
    };
    let audited = median_of_runs(true)?;
    let unsealed = if with_unsealed {
        Some(median_of_runs(false)?)
    } else {
        None
    };
    let profile = if cfg.profile {
        let (elapsed, profile) = audited_run(true, true)?;
        profile.map(|profile| (elapsed, profile))
    } else {
        None
    };
    Ok(Comparison {
        rows,
        plain,
        audited,
        unsealed,
        profile,
    })
}

/// The median of `times` (of the upper middle two for an even count); zero for none.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Statement counts and times by kind, gathered through Diesel's instrumentation.
#[derive(Debug, Clone, Default)]
struct Profile {
    kinds: BTreeMap<String, (u64, Duration)>,
    pending: Option<(String, Instant)>,
    /// Time spent classifying statements (not the library's).
    overhead: Duration,
}

fn instrument<C: Connection>(conn: &mut C) -> Arc<Mutex<Profile>> {
    let profile = Arc::new(Mutex::new(Profile::default()));
    let shared = Arc::clone(&profile);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        let Ok(mut p) = shared.lock() else { return };
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                let start = Instant::now();
                let kind = statement_kind(query);
                let now = Instant::now();
                p.overhead += now - start;
                p.pending = Some((kind, now));
            }
            InstrumentationEvent::FinishQuery { .. } => {
                if let Some((kind, start)) = p.pending.take() {
                    let slot = p.kinds.entry(kind).or_default();
                    slot.0 += 1;
                    slot.1 += start.elapsed();
                }
            }
            _ => {}
        }
    });
    profile
}

/// What an [`instrument`]ed connection gathered so far.
fn collected(profile: &Arc<Mutex<Profile>>) -> Option<Profile> {
    profile.lock().ok().map(|p| p.clone())
}

/// The SQL text of a query's `Display`, without the bind values Diesel appends.
struct SqlText(String);

impl fmt::Write for SqlText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match s.find(" -- binds:") {
            Some(cut) => {
                self.0.push_str(&s[..cut]);
                Err(fmt::Error)
            }
            None => {
                self.0.push_str(s);
                Ok(())
            }
        }
    }
}

/// A statement's kind: its verb, the table it works on, and `RETURNING` / `FOR UPDATE`.
fn statement_kind(query: &dyn fmt::Display) -> String {
    let mut text = SqlText(String::new());
    // Stopping at the binds is reported as an error by design.
    let _ = fmt::write(&mut text, format_args!("{query}"));
    let sql = text.0.trim();
    let verb = sql
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_ascii_uppercase();
    if matches!(
        verb.as_str(),
        "SAVEPOINT" | "RELEASE" | "ROLLBACK" | "BEGIN" | "COMMIT" | "SET"
    ) {
        return verb;
    }
    let mut table = None;
    let mut previous = "";
    for word in sql.split_whitespace() {
        if ["INTO", "UPDATE", "FROM"]
            .iter()
            .any(|k| previous.eq_ignore_ascii_case(k))
        {
            table = Some(word.trim_matches(|c: char| "\"`(),".contains(c)).to_owned());
            break;
        }
        previous = word;
    }
    let mut kind = format!("{verb} {}", table.unwrap_or_default());
    if sql.contains(" RETURNING ") {
        kind.push_str(" RETURNING");
    }
    if sql.ends_with("FOR UPDATE") {
        kind.push_str(" FOR UPDATE");
    }
    kind
}

/// A figure of the audited run: a time, or a peak resident set in bytes.
#[derive(Debug, Clone, Copy)]
enum Figure {
    Time(Duration),
    Memory(u64),
}

impl Figure {
    fn value(self) -> f64 {
        match self {
            Figure::Time(t) => t.as_secs_f64(),
            Figure::Memory(bytes) => bytes as f64,
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Figure::Time(t) => f.pad(&duration(t)),
            Figure::Memory(bytes) => f.pad(&format!("{:.1} MiB", bytes as f64 / MIB)),
        }
    }
}

/// A target of the issue, checked against one line.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// audited / plain at most this.
    RatioAtMost(f64),
    /// Audited rows per second at least this.
    RateAtLeast(f64),
    /// The audited figure below this.
    Below(Figure),
    /// The audited figure at most `limit` times `reference`, the same figure measured at the
    /// smaller size `at`.
    GrowthAtMost {
        limit: f64,
        reference: Figure,
        at: usize,
    },
}

/// A target's verdict: what was measured against which limit, and whether it is met.
#[derive(Debug)]
struct Verdict {
    target: String,
    measured: f64,
    /// `measured` for the reader, with its unit.
    shown: String,
    limit: f64,
    /// Whether the limit is a floor (a rate) rather than a ceiling.
    floor: bool,
}

impl Verdict {
    fn met(&self) -> bool {
        if self.floor {
            self.measured >= self.limit
        } else {
            self.measured <= self.limit
        }
    }

    /// `met` or `MISSED`, the measured value, and how far it is from the limit (as a
    /// multiple of it).
    fn status(&self) -> String {
        let verdict = if self.met() { "met" } else { "MISSED" };
        let factor = self.measured / self.limit;
        let of = if self.floor { "target" } else { "limit" };
        format!("{verdict}: {} = {factor:.2}x the {of}", self.shown)
    }
}

/// One line of the report.
#[derive(Debug)]
struct Line {
    workload: u8,
    what: String,
    backend: &'static str,
    rows: Option<usize>,
    plain: Option<Duration>,
    audited: Figure,
    targets: Vec<Target>,
}

impl Line {
    fn ratio(&self) -> Option<f64> {
        match (self.plain, self.audited) {
            (Some(plain), Figure::Time(audited)) if !plain.is_zero() => {
                Some(audited.as_secs_f64() / plain.as_secs_f64())
            }
            _ => None,
        }
    }

    fn rate(&self) -> Option<f64> {
        match (self.rows, self.audited) {
            (Some(rows), Figure::Time(t)) if !t.is_zero() => Some(rows as f64 / t.as_secs_f64()),
            _ => None,
        }
    }

    fn verdicts(&self) -> Vec<Verdict> {
        self.targets
            .iter()
            .filter_map(|target| {
                let verdict =
                    |target: String, measured: f64, shown: String, limit, floor| Verdict {
                        target,
                        measured,
                        shown,
                        limit,
                        floor,
                    };
                Some(match *target {
                    Target::RatioAtMost(limit) => {
                        let r = self.ratio()?;
                        verdict(
                            format!("ratio <= {limit}"),
                            r,
                            format!("{r:.2}"),
                            limit,
                            false,
                        )
                    }
                    Target::RateAtLeast(limit) => {
                        let r = self.rate()?;
                        let target = format!(">= {}/s", thousands(limit));
                        verdict(target, r, format!("{}/s", thousands(r)), limit, true)
                    }
                    Target::Below(limit) => {
                        let shown = self.audited.to_string();
                        let target = format!("< {limit}");
                        verdict(target, self.audited.value(), shown, limit.value(), false)
                    }
                    Target::GrowthAtMost {
                        limit,
                        reference,
                        at,
                    } => {
                        let growth = self.audited.value() / reference.value();
                        let shown = format!("{growth:.2}x of {reference}");
                        let target = format!("<= {limit}x of {}", count(at));
                        verdict(target, growth, shown, limit, false)
                    }
                })
            })
            .collect()
    }

    fn json(&self) -> serde_json::Value {
        let (audited_s, audited_bytes) = match self.audited {
            Figure::Time(t) => (Some(t.as_secs_f64()), None),
            Figure::Memory(bytes) => (None, Some(bytes)),
        };
        let targets: Vec<_> = self
            .verdicts()
            .into_iter()
            .map(|v| {
                serde_json::json!({
                    "target": v.target, "measured": v.measured, "limit": v.limit, "met": v.met(),
                })
            })
            .collect();
        serde_json::json!({
            "workload": self.workload,
            "what": self.what,
            "backend": self.backend,
            "rows": self.rows,
            "plain_s": self.plain.map(|p| p.as_secs_f64()),
            "audited_s": audited_s,
            "audited_bytes": audited_bytes,
            "ratio": self.ratio(),
            "rows_per_s": self.rate(),
            "targets": targets,
        })
    }
}

/// Everything measured, printed at the end.
#[derive(Debug, Default)]
struct Report {
    lines: Vec<Line>,
    profiles: Vec<(String, usize, Duration, Profile)>,
    versions: BTreeMap<&'static str, String>,
    notes: Vec<String>,
}

impl Report {
    /// The lines of a [`Comparison`]: sealed, and unsealed when measured.
    fn compared(
        &mut self,
        workload: u8,
        what: String,
        backend: &'static str,
        cmp: Comparison,
        targets: Vec<Target>,
    ) {
        if let Some(unsealed) = cmp.unsealed {
            self.lines.push(Line {
                workload,
                what: format!("{what}, unsealed"),
                backend,
                rows: Some(cmp.rows),
                plain: Some(cmp.plain),
                audited: Figure::Time(unsealed),
                targets: Vec::new(),
            });
        }
        if let Some((elapsed, profile)) = cmp.profile {
            self.profiles.push((
                format!("{workload}. {what} ({backend})"),
                cmp.rows,
                elapsed,
                profile,
            ));
        }
        self.lines.push(Line {
            workload,
            what,
            backend,
            rows: Some(cmp.rows),
            plain: Some(cmp.plain),
            audited: Figure::Time(cmp.audited),
            targets,
        });
    }

    fn print(&self, cfg: &Config) {
        println!();
        if cfg.quick {
            println!(
                "QUICK MODE: every size divided by {QUICK_DIVISOR}; targets are for full sizes."
            );
        }
        println!(
            "{:>2} | {:<50} | {:<10} | {:>10} | {:>10} | {:>6} | {:>10} | {:<20} | status",
            "#", "workload", "backend", "plain", "audited", "ratio", "rows/s", "target"
        );
        println!("{}", "-".repeat(164));
        for line in &self.lines {
            let verdicts = line.verdicts();
            let (target, status) = match verdicts.first() {
                Some(v) => (v.target.clone(), v.status()),
                None => (String::new(), String::new()),
            };
            println!(
                "{:>2} | {:<50} | {:<10} | {:>10} | {:>10} | {:>6} | {:>10} | {:<20} | {}",
                line.workload,
                line.what,
                line.backend,
                line.plain.map(duration).unwrap_or_else(|| "-".into()),
                line.audited,
                line.ratio()
                    .map(|r| format!("{r:.2}"))
                    .unwrap_or_else(|| "-".into()),
                line.rate().map(thousands).unwrap_or_else(|| "-".into()),
                target,
                status,
            );
            for v in verdicts.iter().skip(1) {
                println!(
                    "{:>2} | {:<50} | {:<10} | {:>10} | {:>10} | {:>6} | {:>10} | {:<20} | {}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    v.target,
                    v.status()
                );
            }
        }
        for note in &self.notes {
            println!("note: {note}");
        }
        for (what, rows, elapsed, profile) in &self.profiles {
            print_profile(what, *rows, *elapsed, profile);
        }
    }

    fn json(&self, cfg: &Config) -> serde_json::Value {
        serde_json::json!({
            "bench": "workloads",
            "quick": cfg.quick,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "versions": self.versions,
            "notes": self.notes,
            "figures": self.lines.iter().map(Line::json).collect::<Vec<_>>(),
        })
    }
}

fn print_profile(what: &str, rows: usize, elapsed: Duration, profile: &Profile) {
    println!(
        "\nwhere the audited time goes: {what}, {rows} rows, {}",
        duration(elapsed)
    );
    println!(
        "  {:<44} {:>8} {:>9} {:>11} {:>6}",
        "statement", "count", "per row", "total", "share"
    );
    let mut kinds: Vec<_> = profile.kinds.iter().collect();
    kinds.sort_by_key(|(_, (_, total))| std::cmp::Reverse(*total));
    let mut in_statements = Duration::ZERO;
    let share = |t: Duration| 100.0 * t.as_secs_f64() / elapsed.as_secs_f64().max(1e-9);
    for (kind, (count, total)) in kinds {
        in_statements += *total;
        println!(
            "  {:<44} {:>8} {:>9.2} {:>11} {:>5.1}%",
            kind,
            count,
            *count as f64 / rows.max(1) as f64,
            duration(*total),
            share(*total)
        );
    }
    let outside = elapsed.saturating_sub(in_statements + profile.overhead);
    println!(
        "  {:<44} {:>8} {:>9} {:>11} {:>5.1}%",
        "outside statements (library and Diesel in Rust)",
        "",
        "",
        duration(outside),
        share(outside)
    );
}

fn duration(t: Duration) -> String {
    let s = t.as_secs_f64();
    if s < 0.001 {
        format!("{:.3} ms", s * 1e3)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` with thousands separators.
fn count(n: usize) -> String {
    thousands(n as f64)
}

/// Workloads 1 to 5 on one backend.
fn comparisons<C: BenchDb>(cfg: &Config, site: &Site, report: &mut Report) -> Res<()> {
    let workloads: [(u8, ComparisonFn); 5] = [
        (1, create_one_by_one::<C>),
        (2, update_one_by_one::<C>),
        (3, bulk_update::<C>),
        (4, link_many::<C>),
        (5, bulk_delete::<C>),
    ];
    for (workload, run) in workloads {
        if cfg.runs(workload) {
            progress::<C>(workload);
            run(cfg, site, report)?;
        }
    }
    Ok(())
}

/// One of workloads 1 to 5, instantiated for a backend.
type ComparisonFn = fn(&Config, &Site, &mut Report) -> Res<()>;

/// Nothing to prepare.
fn nothing<C>(_: &mut C) -> Res<()> {
    Ok(())
}

/// Workload 1: creates rows one by one (`RETURNING` them), in one transaction.
fn create_one_by_one<C: BenchDb>(cfg: &Config, site: &Site, report: &mut Report) -> Res<()> {
    let n = cfg.size(ROWS);
    let rows: Vec<NewContract> = (1..=n).map(new_contract).collect();
    let workload = Workload {
        seed_rows: 0,
        entries: n,
        prepare: &nothing,
        plain: &|conn: &mut C, _| conn.create_each(&rows),
        audited: &|db: &mut AuditedConnection<'_, C>, _| C::audited_create_each(db, &rows),
    };
    let cmp = compare(cfg, site, &workload, true)?;
    let what = format!("create {} one by one, 1 tx", count(n));
    report.compared(1, what, C::NAME, cmp, vec![Target::RatioAtMost(1.5)]);
    Ok(())
}

/// Workload 2: updates two fields of each row, one row per statement, in one transaction.
fn update_one_by_one<C: BenchDb>(cfg: &Config, site: &Site, report: &mut Report) -> Res<()> {
    let n = cfg.size(ROWS);
    let ids: Vec<i32> = (1..=i32::try_from(n)?).collect();
    let workload = Workload {
        seed_rows: n,
        entries: n,
        prepare: &nothing,
        plain: &|conn: &mut C, _| conn.update_each(&ids),
        audited: &|db: &mut AuditedConnection<'_, C>, _| C::audited_update_each(db, &ids),
    };
    let cmp = compare(cfg, site, &workload, true)?;
    let what = format!("update {} one by one (2 fields), 1 tx", count(n));
    let limit = if C::KEY == "postgres" { 1.5 } else { 2.0 };
    report.compared(2, what, C::NAME, cmp, vec![Target::RatioAtMost(limit)]);
    Ok(())
}

/// Workload 3: one filtered update of every row.
fn bulk_update<C: BenchDb>(cfg: &Config, site: &Site, report: &mut Report) -> Res<()> {
    let n = cfg.size(BULK_ROWS);
    let workload = Workload {
        seed_rows: n,
        entries: n,
        prepare: &nothing,
        plain: &|conn: &mut C, _| conn.bulk_update(),
        audited: &|db: &mut AuditedConnection<'_, C>, _| C::audited_bulk_update(db),
    };
    let cmp = compare(cfg, site, &workload, false)?;
    let plain = cmp.plain;
    let mut targets = vec![Target::RatioAtMost(3.0)];
    if C::KEY == "postgres" {
        targets.push(Target::RateAtLeast(100_000.0));
    }
    let what = format!("bulk update, {} rows, one statement", count(n));
    report.compared(3, what, C::NAME, cmp, targets);

    // The floor of any log that keeps one indexed row per changed row: the plain update plus
    // the database inserting the same entries itself (one `INSERT ... SELECT`, nothing
    // computed, sent or sealed by a client).
    let mut conn = C::seeded(site, n)?;
    let ((), insert) = timed(|| Ok(conn.batch_execute(&floor_sql())?))?;
    let inserted = C::log_entries(&mut conn)?;
    if inserted != n {
        return Err(format!("the floor inserted {inserted} log rows, expected {n}").into());
    }
    report.lines.push(Line {
        workload: 3,
        what: "  floor: plain + the database inserting the entries".into(),
        backend: C::NAME,
        rows: Some(n),
        plain: Some(plain),
        audited: Figure::Time(plain + insert),
        targets: Vec::new(),
    });
    Ok(())
}

/// Workload 3's entries, one per contract, written by the database itself: the same columns
/// and about the same bytes as the library writes (context, a one-field change, seals).
fn floor_sql() -> String {
    let update = auditlog_diesel::Action::Update.code();
    let hash = "5f".repeat(32);
    format!(
        "INSERT INTO audit_log (logged_at, action, object_type, object_key, changes, actor_id,
             actor_display, remote_addr, remote_port, user_agent, session_id, correlation_id,
             key_id, prev_hash, entry_hash)
         SELECT '2026-12-04 09:00:00.000000', {update}, 'contracts', CAST(id AS TEXT),
                '[{{\"after\":' || (price_cents * 104 / 100) || ',\"before\":' || price_cents
                    || ',\"field\":\"price_cents\"}}]',
                'u-1001', 'alice.martin@acme-contracts.example', '203.0.113.7', 51234,
                'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Firefox/132.0', 'sess-7f3a91',
                'req-bench-0001', 'bench-2026', '{hash}', '{hash}'
         FROM contracts"
    )
}

/// Workload 4: links [`TIERS_PER_CONTRACT`] tiers to each of the first contracts; plainly,
/// one multi-row insert into the join table.
fn link_many<C: BenchDb>(cfg: &Config, site: &Site, report: &mut Report) -> Res<()> {
    let parents = cfg.size(LINK_PARENTS);
    let prepare = |conn: &mut C| -> Res<(Vec<Contract>, Vec<i32>)> {
        let tiers = conn
            .tiers()?
            .iter()
            .take(TIERS_PER_CONTRACT)
            .map(|t| t.id)
            .collect();
        Ok((conn.contracts(parents)?, tiers))
    };
    let plain = |conn: &mut C, (contracts, tiers): &(Vec<Contract>, Vec<i32>)| {
        let links: Vec<(i32, i32)> = contracts
            .iter()
            .flat_map(|c| tiers.iter().map(move |&t| (c.id, t)))
            .collect();
        conn.link(&links)
    };
    let workload = Workload {
        seed_rows: cfg.size(ROWS).max(parents),
        entries: parents,
        prepare: &prepare,
        plain: &plain,
        audited: &|db: &mut AuditedConnection<'_, C>, (contracts, tiers)| {
            C::audited_link(db, contracts, tiers)
        },
    };
    let cmp = compare(cfg, site, &workload, false)?;
    let what = format!(
        "link {TIERS_PER_CONTRACT} tiers to each of {} contracts",
        count(parents)
    );
    report.compared(4, what, C::NAME, cmp, vec![Target::RatioAtMost(2.0)]);
    Ok(())
}

/// Workload 5: one filtered delete of every row (the issue sets no target).
fn bulk_delete<C: BenchDb>(cfg: &Config, site: &Site, report: &mut Report) -> Res<()> {
    let n = cfg.size(ROWS);
    let workload = Workload {
        seed_rows: n,
        entries: n,
        prepare: &nothing,
        plain: &|conn: &mut C, _| conn.bulk_delete(),
        audited: &|db: &mut AuditedConnection<'_, C>, _| C::audited_bulk_delete(db),
    };
    let cmp = compare(cfg, site, &workload, false)?;
    let what = format!("bulk delete, {} rows, one statement", count(n));
    report.compared(5, what, C::NAME, cmp, Vec::new());
    Ok(())
}

fn progress<C: BenchDb>(workload: u8) {
    eprintln!("workloads: {} workload {workload}", C::NAME);
}

/// Workloads 6 and 7 on one backend: fills one log through the library, sealed, to the
/// small size and then to the large one; at each size, looks up the first history page of
/// the contract whose entries are the oldest, and verifies the chain.
fn history_and_verify<C: BenchDb>(cfg: &Config, site: &Site, report: &mut Report) -> Res<()> {
    progress::<C>(6);
    let mut conn = C::fresh(site)?;
    let mut db = audited(&mut conn, true)?;
    let others = cfg.size(FILL_CONTRACTS);
    let (mut entries, mut filling) = timed(|| start_log(&mut db, others))?;

    let mut small = None;
    for size in [cfg.size(LOG_SMALL), cfg.size(LOG_LARGE)] {
        let (added, elapsed) = timed(|| grow_log(&mut db, others, size.saturating_sub(entries)))?;
        entries += added;
        filling += elapsed;
        let stored = C::log_entries(db.unaudited())?;
        if stored != entries {
            return Err(format!("the log holds {stored} entries, expected {entries}").into());
        }
        eprintln!(
            "workloads: {} log filled to {} entries through the library in {}",
            C::NAME,
            count(entries),
            duration(filling)
        );
        let large = size == cfg.size(LOG_LARGE);
        if cfg.runs(6) {
            let median = history(&mut db, entries, small, report)?;
            small = Some((median, entries));
        }
        if cfg.runs(7) {
            verify_log(cfg, &mut db, entries, large, report)?;
        }
    }
    report.lines.push(Line {
        workload: 6,
        what: format!("fill the log through the library ({})", count(entries)),
        backend: C::NAME,
        rows: Some(entries),
        plain: None,
        audited: Figure::Time(filling),
        targets: Vec::new(),
    });
    Ok(())
}

/// The oldest entries of the log: contract 1 created and updated [`TARGET_UPDATES`] times;
/// then `others` more contracts created. Returns the entries written.
fn start_log<C: BenchDb>(db: &mut AuditedConnection<'_, C>, others: usize) -> Res<usize> {
    let mut entries = C::audited_insert(db, &[new_contract(1)])?;
    for _ in 0..TARGET_UPDATES {
        entries += C::audited_bump(db, 1..=1)?;
    }
    let rest: Vec<NewContract> = (2..=others + 1).map(new_contract).collect();
    for batch in rest.chunks(INSERT_BATCH) {
        entries += C::audited_insert(db, batch)?;
    }
    Ok(entries)
}

/// Adds `n` entries with audited bulk updates of the `others` contracts after contract 1.
fn grow_log<C: BenchDb>(db: &mut AuditedConnection<'_, C>, others: usize, n: usize) -> Res<usize> {
    let mut added = 0;
    while added < n {
        let rows = others.min(n - added);
        added += C::audited_bump(db, 2..=i32::try_from(rows + 1)?)?;
    }
    Ok(added)
}

/// Workload 6 at one log size; `small` is the median and log size of the smaller run, if
/// done. Returns the median.
fn history<C: BenchDb>(
    db: &mut AuditedConnection<'_, C>,
    entries: usize,
    small: Option<(Duration, usize)>,
    report: &mut Report,
) -> Res<Duration> {
    let mut times = lookups(db)?;
    times.sort();
    let median = (times[LOOKUPS / 2 - 1] + times[LOOKUPS / 2]) / 2;
    let p95 = times[LOOKUPS * 95 / 100 - 1];
    let mut targets = Vec::new();
    if let Some((reference, at)) = small {
        targets.push(Target::Below(Figure::Time(Duration::from_millis(1))));
        targets.push(Target::GrowthAtMost {
            limit: 1.5,
            reference: Figure::Time(reference),
            at,
        });
    }
    for (stat, figure, targets) in [("median", median, targets), ("p95", p95, Vec::new())] {
        report.lines.push(Line {
            workload: 6,
            what: format!("history page 1 ({PAGE}) {stat}, log {}", count(entries)),
            backend: C::NAME,
            rows: None,
            plain: None,
            audited: Figure::Time(figure),
            targets,
        });
    }
    Ok(median)
}

/// Workload 7 at one log size: verifies the chain (and again under Diesel's instrumentation
/// when profiling the large log).
fn verify_log<C: BenchDb>(
    cfg: &Config,
    db: &mut AuditedConnection<'_, C>,
    entries: usize,
    large: bool,
    report: &mut Report,
) -> Res<()> {
    progress::<C>(7);
    let keyring = keyring()?;
    let verify = |conn: &mut C| -> Res<usize> {
        let verified = auditlog_diesel::verify(conn, &keyring)?;
        if let Some(broken) = &verified.broken {
            return Err(format!("the benchmark's own log does not verify: {broken}").into());
        }
        let checked = usize::try_from(verified.entries)?;
        if checked != entries {
            return Err(format!("verified {checked} entries, the log holds {entries}").into());
        }
        Ok(checked)
    };
    let (checked, elapsed) = timed(|| verify(db.unaudited()))?;
    report.lines.push(Line {
        workload: 7,
        what: format!("verify the chain, log {}", count(entries)),
        backend: C::NAME,
        rows: Some(checked),
        plain: None,
        audited: Figure::Time(elapsed),
        targets: if large {
            vec![Target::RateAtLeast(500_000.0)]
        } else {
            Vec::new()
        },
    });
    if cfg.profile && large {
        let profile = instrument(db.unaudited());
        let (_, elapsed) = timed(|| verify(db.unaudited()))?;
        db.unaudited()
            .set_instrumentation(|_: InstrumentationEvent<'_>| {});
        if let Some(profile) = collected(&profile) {
            let what = format!("7. verify the chain ({})", C::NAME);
            report.profiles.push((what, checked, elapsed, profile));
        }
    }
    Ok(())
}

/// Times [`LOOKUPS`] loads of the first history page of contract 1, after a few untimed ones.
fn lookups<C: AuditConnection>(db: &mut AuditedConnection<'_, C>) -> Res<Vec<Duration>> {
    // Whether the page is full and holds only entries from the start of the log.
    let mut page = || -> Res<bool> {
        let entries = db.history().of::<Contract>("1").limit(PAGE).load()?;
        let first = i64::try_from(TARGET_UPDATES + 1)?;
        Ok(entries.len() == PAGE && entries.iter().all(|e| e.id <= first))
    };
    for _ in 0..WARM_UP_LOOKUPS {
        page()?;
    }
    let mut times = Vec::with_capacity(LOOKUPS);
    for _ in 0..LOOKUPS {
        let (oldest, elapsed) = timed(&mut page)?;
        if !oldest {
            return Err("the history page is not the looked-up contract's oldest entries".into());
        }
        times.push(elapsed);
    }
    Ok(times)
}

/// What the memory probe's child process reports.
#[derive(Debug)]
struct Probe {
    peak_bytes: u64,
    baseline_bytes: u64,
    rows: usize,
    elapsed: Duration,
}

/// Workload 8 on one backend: an audited bulk update of each size, in a child process whose
/// peak resident set is that update's (and the connection's).
fn memory<C: BenchDb>(cfg: &Config, site: &Site, report: &mut Report) -> Res<()> {
    progress::<C>(8);
    let mut small: Option<u64> = None;
    for full in [MEMORY_SMALL, MEMORY_LARGE] {
        let rows = cfg.size(full);
        drop(C::seeded(site, rows)?);
        let probe = run_probe::<C>(site, rows)?;
        let large = full == MEMORY_LARGE;
        let mut targets = Vec::new();
        if large {
            targets.push(Target::Below(Figure::Memory(256 * 1024 * 1024)));
            if let Some(small) = small {
                targets.push(Target::GrowthAtMost {
                    limit: 1.25,
                    reference: Figure::Memory(small),
                    at: cfg.size(MEMORY_SMALL),
                });
            }
        } else {
            small = Some(probe.peak_bytes);
        }
        let rows_text = count(probe.rows);
        report.lines.push(Line {
            workload: 8,
            what: format!("bulk update, {rows_text} rows (memory probe)"),
            backend: C::NAME,
            rows: Some(probe.rows),
            plain: None,
            audited: Figure::Time(probe.elapsed),
            targets: Vec::new(),
        });
        report.lines.push(Line {
            workload: 8,
            what: format!("peak RSS, bulk update, {rows_text} rows"),
            backend: C::NAME,
            rows: None,
            plain: None,
            audited: Figure::Memory(probe.peak_bytes),
            targets,
        });
        report.notes.push(format!(
            "{}: the memory probe's RSS before its update of {rows_text} rows was {}",
            C::NAME,
            Figure::Memory(probe.baseline_bytes)
        ));
    }
    Ok(())
}

fn run_probe<C: BenchDb>(site: &Site, rows: usize) -> Res<Probe> {
    let output = Command::new(std::env::current_exe()?)
        .args([
            MEMORY_PROBE_ARG,
            C::KEY,
            &C::location(site),
            &rows.to_string(),
        ])
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "the memory probe failed ({}): {stderr}{stdout}",
            output.status
        )
        .into());
    }
    let field = |name: &str| -> Res<f64> {
        stdout
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .ok_or_else(|| format!("the memory probe did not report {name}: {stdout}"))?
            .parse::<f64>()
            .map_err(Into::into)
    };
    Ok(Probe {
        peak_bytes: field("peak_kib")? as u64 * 1024,
        baseline_bytes: field("baseline_kib")? as u64 * 1024,
        rows: field("rows")? as usize,
        elapsed: Duration::from_secs_f64(field("seconds")?),
    })
}

/// The child process of workload 8: `--memory-probe <backend> <file or schema> <rows>`.
fn memory_probe(args: &[String]) -> Res<()> {
    let [backend, location, rows] = args else {
        return Err(
            format!("usage: {MEMORY_PROBE_ARG} <sqlite|postgres> <file or schema> <rows>").into(),
        );
    };
    let rows: usize = rows.parse()?;
    let mut site = Site::new(std::env::var(PG_URL_ENV).ok());
    let probe = match backend.as_str() {
        "sqlite" => {
            site.file = PathBuf::from(location);
            probe_update::<SqliteConnection>(&site)?
        }
        "postgres" => {
            site.schema = location.clone();
            probe_update::<PgConnection>(&site)?
        }
        other => return Err(format!("unknown backend `{other}`").into()),
    };
    if probe.rows != rows {
        return Err(format!("updated {} rows, expected {rows}", probe.rows).into());
    }
    println!(
        "peak_kib={} baseline_kib={} rows={} seconds={}",
        probe.peak_bytes / 1024,
        probe.baseline_bytes / 1024,
        probe.rows,
        probe.elapsed.as_secs_f64()
    );
    Ok(())
}

fn probe_update<C: BenchDb>(site: &Site) -> Res<Probe> {
    let mut conn = C::reopen(site)?;
    let mut db = audited(&mut conn, true)?;
    let baseline_bytes = peak_rss()?;
    let (rows, elapsed) = timed(|| C::audited_bulk_update(&mut db))?;
    Ok(Probe {
        peak_bytes: peak_rss()?,
        baseline_bytes,
        rows,
        elapsed,
    })
}

/// The process's peak resident set (`VmHWM`), in bytes. Linux only.
fn peak_rss() -> Res<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()?;
    Ok(kib * 1024)
}

/// Every selected workload on one backend.
fn run_backend<C: BenchDb>(cfg: &Config, site: &Site, report: &mut Report) -> Res<()> {
    let version = C::fresh(site)?.version()?;
    report.versions.insert(C::KEY, version);
    comparisons::<C>(cfg, site, report)?;
    if cfg.runs(6) || cfg.runs(7) {
        history_and_verify::<C>(cfg, site, report)?;
    }
    if cfg.runs(8) {
        if cfg!(target_os = "linux") {
            memory::<C>(cfg, site, report)?;
        } else {
            report
                .notes
                .push("workload 8 needs Linux (/proc/self/status)".into());
        }
    }
    Ok(())
}

/// Runs one backend and removes its database, whatever happened (unless asked to keep it).
fn run_and_clean<C: BenchDb>(cfg: &Config, site: &Site, report: &mut Report) -> Res<()> {
    let result = run_backend::<C>(cfg, site, report);
    if cfg.keep {
        report.notes.push(format!(
            "{}: the last measurement's database was kept: {}",
            C::NAME,
            C::location(site)
        ));
        return result;
    }
    let removed = C::remove(site);
    result.and(removed)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == MEMORY_PROBE_ARG) {
        if let Err(e) = memory_probe(&args[at + 1..]) {
            fail(&format!("memory probe: {e}"));
        }
        return;
    }
    let benchmarking = args.iter().any(|a| a == "--bench");
    let cfg = Config::from_env(benchmarking).unwrap_or_else(|e| fail(&e.to_string()));
    let site = Site::new(cfg.pg_url.clone());
    let mut report = Report::default();

    if let Err(e) = run_and_clean::<SqliteConnection>(&cfg, &site, &mut report) {
        fail(&format!("SQLite: {e}"));
    }
    if cfg.pg_url.is_some() {
        if let Err(e) = run_and_clean::<PgConnection>(&cfg, &site, &mut report) {
            fail(&format!("PostgreSQL: {e}"));
        }
    } else {
        report.notes.push(format!(
            "{PG_URL_ENV} is not set: PostgreSQL was not measured"
        ));
    }
    report.print(&cfg);
    println!("{}", report.json(&cfg));
}
