//! A day on a contract platform, audited end to end, then the investigator's report.
//!
//! ```text
//! cargo run --example contracts                      # SQLite file in the temp directory
//! cargo run --example contracts -- --database-url postgres://user:pw@localhost/db
//! DATABASE_URL=/tmp/audit.db cargo run --example contracts
//! ```
//!
//! The database is left behind so the log can be inspected afterwards (`sqlite3 FILE
//! 'SELECT * FROM audit_log'`). On PostgreSQL the example works in a schema of its own,
//! `auditlog_example`, recreated on every run.

// `diesel::table!` generates undocumented public items.
#![allow(missing_docs)]

use std::error::Error;
use std::net::{IpAddr, SocketAddr};

use auditlog_diesel::{
    many_to_many, run_migrations, Action, AuditConnection, AuditContext, Auditable,
    AuditedConnection, IntegrityKey, Keyring, LogEntry, MaskingKey, SecurityEvent, Severity,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

diesel::table! {
    clients (id) {
        id -> Integer,
        name -> Text,
        email -> Text,
    }
}

diesel::table! {
    contracts (id) {
        id -> Integer,
        client_id -> Integer,
        title -> Text,
        status -> Text,
        price_cents -> BigInt,
        notes -> Nullable<Text>,
        internal_margin -> Integer,
        renewed_at -> Nullable<Timestamp>,
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

/// A service tier a contract can include.
#[derive(Debug, Clone, Queryable, Insertable, Auditable)]
#[diesel(table_name = service_tiers)]
#[audit(repr_display)]
struct ServiceTier {
    id: i32,
    name: String,
}

impl std::fmt::Display for ServiceTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
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

/// A client of the platform.
#[derive(Debug, Clone, Queryable, Identifiable, AsChangeset, Auditable)]
#[diesel(table_name = clients)]
#[audit(repr_display)]
struct Client {
    id: i32,
    name: String,
    email: String,
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <{}>", self.name, self.email)
    }
}

/// A contract: the notes are masked (people paste card numbers into them), the internal
/// margin is never logged.
#[derive(Debug, Clone, Queryable, Identifiable, AsChangeset, Auditable)]
#[diesel(table_name = contracts)]
#[audit(repr = "contract_repr")]
struct Contract {
    id: i32,
    client_id: i32,
    title: String,
    status: String,
    price_cents: i64,
    #[audit(mask)]
    notes: Option<String>,
    #[audit(exclude)]
    internal_margin: i32,
    renewed_at: Option<NaiveDateTime>,
}

fn contract_repr(c: &Contract) -> String {
    format!("{} (client {})", c.title, c.client_id)
}

#[derive(Insertable)]
#[diesel(table_name = clients)]
struct NewClient<'a> {
    name: &'a str,
    email: &'a str,
}

#[derive(Insertable, Clone)]
#[diesel(table_name = contracts, treat_none_as_default_value = false)]
struct NewContract {
    client_id: i32,
    title: String,
    status: String,
    price_cents: i64,
    notes: Option<String>,
    internal_margin: i32,
    renewed_at: Option<NaiveDateTime>,
}

/// The people (and the job) who touch the data today.
fn alice() -> AuditContext {
    AuditContext::new()
        .actor("u-1001")
        .actor_display("alice.martin@acme-contracts.example")
        .remote_addr(SocketAddr::from(([203, 0, 113, 7], 51234)))
        .user_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Firefox/132.0")
        .session_id("sess-7f3a91")
}

fn bob() -> AuditContext {
    AuditContext::new()
        .actor("u-1002")
        .actor_display("bob.okafor@acme-contracts.example")
        .remote_addr(SocketAddr::from(([198, 51, 100, 23], 40022)))
        .user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0")
        .session_id("sess-c41d07")
}

fn intruder() -> AuditContext {
    AuditContext::new()
        .remote_addr(SocketAddr::from(([192, 0, 2, 200], 61_022)))
        .user_agent("python-requests/2.32")
        .correlation_id("req-login-0007")
}

fn pricing_job() -> AuditContext {
    AuditContext::new()
        .actor("svc-pricing")
        .actor_display("nightly pricing job")
        .remote_ip(IpAddr::from([10, 0, 4, 17]))
        .correlation_id("job-price-index-2026-12")
        .reason("annual price indexation, +4%")
}

/// Opening a database and creating the application's tables, per backend.
trait ExampleDb: AuditConnection {
    fn open(url: &str) -> Result<Self, Box<dyn Error>>;
    fn schema() -> &'static [&'static str];
    fn run(&mut self, sql: &str) -> QueryResult<usize>;
}

impl ExampleDb for SqliteConnection {
    fn open(url: &str) -> Result<Self, Box<dyn Error>> {
        let _ = std::fs::remove_file(url);
        Ok(SqliteConnection::establish(url)?)
    }

    fn run(&mut self, sql: &str) -> QueryResult<usize> {
        diesel::sql_query(sql).execute(self)
    }

    fn schema() -> &'static [&'static str] {
        &[
            "CREATE TABLE clients (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL)",
            "CREATE TABLE contracts (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, client_id INTEGER NOT NULL REFERENCES clients(id), title TEXT NOT NULL, status TEXT NOT NULL, price_cents BIGINT NOT NULL, notes TEXT, internal_margin INTEGER NOT NULL, renewed_at TIMESTAMP)",
            "CREATE TABLE service_tiers (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL)",
            "CREATE TABLE contract_tiers (contract_id INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE, tier_id INTEGER NOT NULL REFERENCES service_tiers(id), PRIMARY KEY (contract_id, tier_id))",
        ]
    }
}

impl ExampleDb for PgConnection {
    fn open(url: &str) -> Result<Self, Box<dyn Error>> {
        let mut conn = PgConnection::establish(url)?;
        diesel::sql_query("DROP SCHEMA IF EXISTS auditlog_example CASCADE").execute(&mut conn)?;
        diesel::sql_query("CREATE SCHEMA auditlog_example").execute(&mut conn)?;
        diesel::sql_query("SET search_path TO auditlog_example").execute(&mut conn)?;
        Ok(conn)
    }

    fn run(&mut self, sql: &str) -> QueryResult<usize> {
        diesel::sql_query(sql).execute(self)
    }

    fn schema() -> &'static [&'static str] {
        &[
            "CREATE TABLE clients (id SERIAL PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)",
            "CREATE TABLE contracts (id SERIAL PRIMARY KEY, client_id INTEGER NOT NULL REFERENCES clients(id), title TEXT NOT NULL, status TEXT NOT NULL, price_cents BIGINT NOT NULL, notes TEXT, internal_margin INTEGER NOT NULL, renewed_at TIMESTAMP)",
            "CREATE TABLE service_tiers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
            "CREATE TABLE contract_tiers (contract_id INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE, tier_id INTEGER NOT NULL REFERENCES service_tiers(id), PRIMARY KEY (contract_id, tier_id))",
        ]
    }
}

fn setup<C: ExampleDb>(url: &str) -> Result<C, Box<dyn Error>> {
    let mut conn = C::open(url)?;
    for statement in C::schema() {
        conn.run(statement)?;
    }
    run_migrations(&mut conn)?;
    Ok(conn)
}

/// The day's work, written once for both backends (Diesel's statements are typed per
/// backend, so the body is instantiated for each connection type).
macro_rules! play_the_day {
    ($conn:expr) => {{
        // In production the key comes from a secret store; see MaskingKey::from_env.
        let key = MaskingKey::new(*b"example masking key, not secret!")?;
        let mut db = AuditedConnection::wrap($conn)
            .with_masking_key(key)
            .with_integrity(integrity_keyring()?);

        // 08:55 Someone tries Bob's account from an unknown address.
        db.set_context(intruder());
        db.record_event(
            SecurityEvent::new("login_failed")
                .severity(Severity::Warning)
                .details(serde_json::json!({"username": "bob.okafor", "reason": "bad password", "attempt": 3})),
        )?;

        // 09:00 The catalogue of service tiers (set up by a migration job, not audited).
        let tiers: Vec<ServiceTier> = [(1, "Basic support"), (2, "Premium support"), (3, "Daily backup"), (4, "Geo-redundancy")]
            .into_iter()
            .map(|(id, name)| ServiceTier { id, name: name.into() })
            .collect();
        diesel::insert_into(service_tiers::table).values(&tiers).execute(db.unaudited())?;

        // 09:02 Alice onboards a client and drafts three contracts.
        db.set_context(alice().correlation_id("req-onboard-5521"));
        let client: Client = db
            .insert_into(clients::table)
            .values(&NewClient {
                name: "Northwind Traders",
                email: "ops@northwind.example",
            })
            .get_result()?;
        let drafts: Vec<NewContract> = ["Managed hosting", "24/7 support", "Backup vault"]
            .iter()
            .zip([120_000, 45_000, 18_000])
            .map(|(title, price)| NewContract {
                client_id: client.id,
                title: title.to_string(),
                status: "draft".into(),
                price_cents: price,
                notes: None,
                internal_margin: 32,
                renewed_at: None,
            })
            .collect();
        let contracts: Vec<Contract> = db
            .insert_into(contracts::table)
            .values(&drafts)
            .get_results()?;
        let hosting = contracts[0].clone();
        db.link(ContractTiers, &hosting, [1, 3])?;

        // 09:30 Alice grants Bob the billing role.
        db.record_event(
            SecurityEvent::new("role_granted")
                .details(serde_json::json!({"user": "u-1002", "role": "billing_admin"})),
        )?;

        // 10:15 Bob activates the hosting contract and, against policy, pastes the
        // customer's card token into the notes.
        db.set_context(
            bob()
                .correlation_id("req-activate-8812")
                .reason("signed order form received"),
        );
        db.update(contracts::table.find(hosting.id))
            .set((
                contracts::status.eq("active"),
                contracts::notes.eq("pay with card tok_visa_4242424242424242"),
                contracts::internal_margin.eq(35),
            ))
            .execute()?;

        // 11:40 Alice renegotiates: loads the contract, changes it, saves it.
        db.set_context(alice().correlation_id("req-renegotiate-9034"));
        let mut loaded: Contract = contracts::table.find(hosting.id).first(db.unaudited())?;
        loaded.price_cents = 110_000;
        loaded.title = "Managed hosting (premium)".into();
        loaded.renewed_at =
            NaiveDateTime::parse_from_str("2026-12-03 11:40:00", "%Y-%m-%d %H:%M:%S").ok();
        db.save(&loaded).get_result()?;

        // 14:05 The client upgrades: premium support and geo-redundancy in, basic support out.
        db.set_context(alice().correlation_id("req-upgrade-9120").reason("upgrade order #77"));
        db.replace_links(ContractTiers, &loaded, [2, 3, 4])?;

        // 16:20 Bob opens the contract to answer a billing question.
        db.set_context(bob().correlation_id("req-view-9540"));
        db.record_access(&loaded, Some(serde_json::json!({"view": "contract_detail"})))?;

        // 23:00 The pricing job raises every active or draft price by 4% in one statement.
        let more: Vec<NewContract> = (1..=40)
            .map(|i| NewContract {
                client_id: client.id,
                title: format!("Edge node #{i}"),
                status: "active".into(),
                price_cents: 9_900 + i * 10,
                notes: None,
                internal_margin: 20,
                renewed_at: None,
            })
            .collect();
        db.unaudited().transaction(|c| {
            diesel::insert_into(contracts::table)
                .values(&more)
                .execute(c)
        })?;
        db.set_context(pricing_job());
        let raised = db
            .update(contracts::table.filter(contracts::status.eq_any(["active", "draft"])))
            .set(contracts::price_cents.eq(contracts::price_cents * 104 / 100))
            .execute()?;

        // 23:30 Bob deletes the backup vault contract the client cancelled.
        db.set_context(
            bob()
                .correlation_id("req-cancel-9921")
                .reason("client cancelled by phone"),
        );
        db.delete(contracts::table.find(contracts[2].id))
            .execute()?;

        report(&mut db, hosting.id, contracts[2].id, raised)
    }};
}

fn report<C: AuditConnection>(
    db: &mut AuditedConnection<'_, C>,
    hosting: i32,
    cancelled: i32,
    raised: usize,
) -> Result<(), Box<dyn Error>> {
    println!(
        "== History of {} {hosting}, newest first",
        Contract::OBJECT_TYPE
    );
    for entry in db.history().of::<Contract>(hosting.to_string()).load()? {
        print_entry(&entry);
    }

    println!("\n== Tier changes of {} {hosting}", Contract::OBJECT_TYPE);
    let tier_changes = db
        .history()
        .of::<Contract>(hosting.to_string())
        .action(Action::M2mAdd)
        .action(Action::M2mRemove)
        .action(Action::M2mClear)
        .load()?;
    for entry in tier_changes.iter().rev() {
        if let Some(change) = &entry.association {
            println!(
                "  #{} {} {} {:?} ({} by {})",
                entry.id,
                entry.action,
                change.relation,
                change.keys,
                change.related_type,
                entry.context.actor_display.as_deref().unwrap_or("?")
            );
        }
    }

    println!("\n== The pricing job (correlation id job-price-index-2026-12)");
    let job = db
        .history()
        .correlation_id("job-price-index-2026-12")
        .load_all()?;
    println!(
        "{raised} rows matched, {} update entries written; the first three:",
        job.len()
    );
    for entry in job.iter().rev().take(3) {
        print_entry(entry);
    }

    println!("\n== The cancelled contract {cancelled} (deleted; its history remains)");
    for entry in db.history().of::<Contract>(cancelled.to_string()).load()? {
        print_entry(&entry);
    }

    println!("\n== Security events of warning severity or worse, and all role changes");
    for entry in db.history().min_severity(Severity::Warning).load()? {
        print_entry(&entry);
    }
    for entry in db.history().event_name("role_granted").load()? {
        print_entry(&entry);
    }

    println!("\n== Who looked at {} {hosting}", Contract::OBJECT_TYPE);
    for entry in db
        .history()
        .of::<Contract>(hosting.to_string())
        .action(Action::Access)
        .load()?
    {
        print_entry(&entry);
    }

    if let Some(keyring) = db.keyring().cloned() {
        let report = auditlog_diesel::verify(db.unaudited(), &keyring)?;
        match &report.broken {
            None => println!(
                "\n== Integrity: {} entries verified, chain intact",
                report.entries
            ),
            Some(broken) => println!("\n== Integrity: BROKEN at {broken}"),
        }
    }

    println!("\n== Everything Bob changed or deleted today");
    let bobs = db
        .history()
        .actor("u-1002")
        .action(Action::Update)
        .action(Action::Delete)
        .load()?;
    for entry in bobs {
        println!(
            "#{} {} {} {} {}",
            entry.id,
            auditlog_diesel::rfc3339_utc(&entry.timestamp),
            entry.action,
            entry.object.object_type,
            entry.object.object_key
        );
    }
    Ok(())
}

fn print_entry(entry: &LogEntry) {
    for line in entry.to_string().lines() {
        println!("  {line}");
    }
}

fn database_url() -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--database-url" {
            if let Some(url) = args.next() {
                return url;
            }
        } else if let Some(url) = arg.strip_prefix("--database-url=") {
            return url.to_owned();
        }
    }
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        std::env::temp_dir()
            .join("auditlog-contracts-example.db")
            .display()
            .to_string()
    })
}

/// The demo's integrity key. In production it comes from a secret store, through
/// `AUDITLOG_INTEGRITY_KEY` (`Keyring::from_env`); the demo falls back to a fixed key so that
/// `auditlog verify` can be tried on its database.
const DEMO_INTEGRITY_KEY: &str =
    "demo-2026:6578616d706c6520696e74656772697479206b65792c206e6f742073656372657421";

fn integrity_keyring() -> Result<Keyring, Box<dyn Error>> {
    match Keyring::from_env()? {
        Some(ring) => Ok(ring),
        None => Ok(Keyring::new(IntegrityKey::parse(DEMO_INTEGRITY_KEY)?)),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let url = database_url();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        println!(
            "Database: PostgreSQL, schema auditlog_example ({})\n",
            redact_password(&url)
        );
        let mut conn: PgConnection = setup(&url)?;
        play_the_day!(&mut conn)
    } else {
        println!("Database: SQLite file {url}\n");
        let mut conn: SqliteConnection = setup(&url)?;
        play_the_day!(&mut conn)?;
        println!("\nInspect it: sqlite3 {url} 'SELECT id, action, object_type, object_key, changes FROM audit_log'");
        if std::env::var_os(auditlog_diesel::INTEGRITY_KEY_ENV).is_none() {
            println!(
                "Entries are sealed with the demo key: export {}={DEMO_INTEGRITY_KEY}",
                auditlog_diesel::INTEGRITY_KEY_ENV
            );
        }
        Ok(())
    }
}

fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
